//! The seam between a source and the loops: [`Feed`], what a pull comes to
//! ([`Pulled`]), and what a source describes itself as ([`SourceInfo`]).
use std::future::Future;

use anyhow::Result;

use crate::{
    attribution::Item,
    collector::{cost::CostSample, offsets::Features, Known},
    record::Header,
};

/// Most items handed out per call, so that a caller stays responsive during a replay.
pub(crate) const BATCH: usize = 4096;

/// What a source describes itself as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceInfo {
    /// The node the records come from.
    pub node: String,
    /// Its kernel release.
    pub kernel: String,
    /// Which counters it knows.
    pub known: Known,
    /// Why open sockets are not sampled, when they are not.
    pub live_off: Option<String>,
    /// What the kernel offers, where it is the running one.
    pub features: Option<Features>,
}

impl SourceInfo {
    /// A recording header describing this source.
    pub fn header(&self) -> Header {
        Header::new(self.node.clone(), self.kernel.clone(), self.known)
    }
}

/// What one [`Feed::pull`] came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Pulled {
    /// Items were appended (perhaps none).
    Items,
    /// The source is ready now (the kernel program attached), and describes itself so.
    Attached(SourceInfo),
    /// The source has nothing more to give; the last items may have been appended.
    /// A warning says what was wrong with its end, if anything was.
    Ended(Option<String>),
}

/// A source of attributed records, as the loops see it.
pub trait Feed {
    /// Waits for the next records and appends them to `out`. Cancel-safe: dropping the
    /// future loses nothing.
    fn pull(&mut self, out: &mut Vec<Item>) -> impl Future<Output = Result<Pulled>>;

    /// Appends whatever is still waiting, without blocking, and the final drop
    /// counters. Call once, at the end.
    fn finish(&mut self, out: &mut Vec<Item>);

    /// Runs a pass over the open sockets, appending their activity since the previous
    /// pass (a recording replays its passes as they come).
    fn pass(&mut self, _out: &mut Vec<Item>) -> Result<()> {
        Ok(())
    }

    /// tcptop's own cost counters now; `None` unless the source is the kernel.
    fn cost(&self) -> Option<CostSample> {
        None
    }
}
