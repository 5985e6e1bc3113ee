//! The row schema JSON and CSV share: `local_<dim>`, `peer_<dim>`, then the metric
//! fields of the metric table, in its order.
use serde_json::{Map, Value};

use crate::view::{metric::Num, MetricId, Row, Snapshot};

/// One row as ordered `(field, value)` pairs: `local_<dim>` for each grouped dimension,
/// then `peer_<dim>`, then the metric fields ([`MetricId::fields`]). Missing values are
/// null.
pub fn row_fields(snap: &Snapshot, row: &Row) -> Map<String, Value> {
    let mut m = Map::new();
    for (name, values) in [("local", &row.local), ("peer", &row.peer)] {
        for (dim, v) in snap.group_by.iter().zip(values.iter()) {
            m.insert(format!("{name}_{dim}"), Value::from(&**v));
        }
    }
    for id in MetricId::fields() {
        let value = match id.value(&row.stats) {
            None => Value::Null,
            Some(Num::Int(n)) => Value::from(n),
            Some(Num::Real(x)) => Value::from(x),
        };
        m.insert(id.name().to_string(), value);
    }
    m
}

/// The column names of a row, as [`row_fields`] names them.
pub fn field_names(snap: &Snapshot) -> Vec<String> {
    ["local", "peer"]
        .iter()
        .flat_map(|side| snap.group_by.iter().map(move |d| format!("{side}_{d}")))
        .chain(MetricId::fields().map(|f| f.name().to_string()))
        .collect()
}
