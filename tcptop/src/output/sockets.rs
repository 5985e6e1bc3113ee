//! The `connections` list of a JSON row (`--connections`): one object per socket, its
//! identity and congestion state around the same metric fields rows have.
use serde::{ser::SerializeMap, Serialize, Serializer};

use super::fields::{metric_values, Field};
use crate::view::{
    metric::Num,
    sockets::{Socket, GAUGES},
    MetricId,
};

/// One socket, serialised.
pub struct SocketFields<'a>(pub &'a Socket);

/// Writes `field` under `name`.
pub fn entry<M: SerializeMap>(m: &mut M, name: &str, field: Field) -> Result<(), M::Error> {
    match field {
        Field::Text(t) => m.serialize_entry(name, t),
        Field::Number(None) => m.serialize_entry(name, &()),
        Field::Number(Some(Num::Int(n))) => m.serialize_entry(name, &n),
        Field::Number(Some(Num::Real(x))) => m.serialize_entry(name, &x),
    }
}

impl Serialize for SocketFields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let k = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("state", k.state)?;
        m.serialize_entry("direction", &k.direction)?;
        m.serialize_entry("local", &k.local.to_string())?;
        m.serialize_entry("peer", &k.peer.to_string())?;
        m.serialize_entry("age_secs", &k.age.map(|a| a.as_secs_f64()))?;
        m.serialize_entry("lifetime_us", &k.lifetime_us)?;
        for (id, v) in MetricId::fields().zip(metric_values(&k.stats)) {
            entry(&mut m, id.name(), v)?;
        }
        for g in &GAUGES {
            entry(&mut m, g.name, Field::Number((g.value)(k)))?;
        }
        m.end()
    }
}
