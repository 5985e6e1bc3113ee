//! Aggregation: groups attributed close records by the chosen [`Dimension`]s of both
//! ends, summing their [`Counters`](crate::collector::Counters) into [`Metrics`]. Pure
//! logic, no I/O. [`dimension`] names what rows group by, [`group`] sums rows,
//! [`rollup`] derives any grouping from the finest one, [`pending`] keeps rows by
//! address until they can be labelled, [`open`] and [`closed`] keep sockets one by one,
//! [`series`] keeps cumulative totals for a Prometheus scrape.
pub mod closed;
pub mod dimension;
pub mod group;
pub mod history;
pub mod metrics;
pub mod open;
pub mod pending;
pub mod rollup;
pub mod series;

pub use closed::ClosedSockets;
pub use dimension::{parse_dimensions, Dimension};
pub use group::{Aggregator, GroupKey, KeyMap, KeyRef, RowKey, DEFAULT_MAX_ROWS, OTHER};
pub use metrics::Metrics;
pub use open::{OpenSocket, OpenSockets};
pub use pending::Unlabelled;
pub use rollup::{project, FineAggregator, KeyFilter};
pub use series::{Layout, Scope, SeriesStore};

#[cfg(test)]
mod tests;
