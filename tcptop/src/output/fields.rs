//! The row schema JSON and CSV share: `local_<dim>`, `peer_<dim>`, then the metric
//! fields of the metric table, in its order. Rows are handed out field by field, so a
//! large snapshot is written without building it in memory first.
use crate::view::{metric::Num, MetricId, Row, RowStats, Snapshot};

/// One field's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Field<'a> {
    /// A key value: a namespace, a pod, an IP.
    Text(&'a str),
    /// A metric, `None` when not known.
    Number(Option<Num>),
}

/// The column names of a row, in order.
pub fn field_names(snap: &Snapshot) -> Vec<String> {
    ["local", "peer"]
        .iter()
        .flat_map(|side| snap.group_by.iter().map(move |d| format!("{side}_{d}")))
        .chain(MetricId::fields().map(|f| f.name().to_string()))
        .collect()
}

/// The values of `row`, in the order of [`field_names`].
pub fn row_values<'a>(row: &'a Row) -> impl Iterator<Item = Field<'a>> + 'a {
    row.local
        .iter()
        .chain(row.peer.iter())
        .map(|v| Field::Text(v))
        .chain(metric_values(&row.stats))
}

/// The metric fields of `stats`, named by [`MetricId::fields`], in that order.
pub fn metric_values<'a>(stats: &'a RowStats) -> impl Iterator<Item = Field<'a>> + 'a {
    MetricId::fields().map(|id| {
        let (unit, v) = (id.metric().unit, id.value(stats));
        match v {
            Some(v) if unit.is_text() => Field::Text(unit.text(v)),
            v => Field::Number(v),
        }
    })
}
