//! Where attributed records come from: the kernel collector, or a recording played
//! back. Both hand out batches of [`Item`]s, so `--once` and the UI share one loop shape
//! and a recording replays exactly what was seen live.
use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use tokio::{io::unix::AsyncFd, time::Interval};

use super::host;
use crate::{
    attribution::{AttributedClose, AttributedFolded, Resolver},
    collector::{
        kernel::{KernelCollector, DRAIN_INTERVAL},
        DropCounters,
    },
    record::{Header, Item, Line, Replay},
};

/// Most items handed out per call, so that a caller stays responsive during a replay.
const BATCH: usize = 4096;

/// What a source describes itself as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceInfo {
    /// The node the records come from.
    pub node: String,
    /// Its kernel release.
    pub kernel: String,
    /// Whether that kernel has RTO counters.
    pub rto: bool,
}

impl SourceInfo {
    /// A recording header describing this source.
    pub fn header(&self) -> Header {
        Header::new(self.node.clone(), self.kernel.clone(), self.rto)
    }
}

/// A source of attributed records.
// One Source lives per run, so the size of the kernel variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Source<'r> {
    /// The kernel, live.
    Kernel(KernelSource<'r>),
    /// A recording.
    Replay(ReplaySource),
}

impl Source<'_> {
    /// Waits for the next records and appends them to `out`. Returns false once the
    /// source has nothing more to give (a recording's end); `out` may still have got
    /// its last items. Cancel-safe: dropping the future loses nothing.
    pub async fn next(&mut self, out: &mut Vec<Item>) -> Result<bool> {
        match self {
            Source::Kernel(k) => k.next(out).await.map(|()| true),
            Source::Replay(r) => r.next(out).await,
        }
    }

    /// Appends whatever is still waiting, without blocking, and the final drop
    /// counters. Call once, at the end.
    pub fn finish(&mut self, out: &mut Vec<Item>) {
        if let Source::Kernel(k) = self {
            k.finish(out);
        }
    }

    /// Time on the source's clock: since attaching, or the recording's time so far.
    pub fn elapsed(&self) -> Duration {
        match self {
            Source::Kernel(k) => k.started.elapsed(),
            Source::Replay(r) => Duration::from_millis(r.last_t_ms),
        }
    }

    /// What the source describes itself as.
    pub fn info(&self) -> &SourceInfo {
        match self {
            Source::Kernel(k) => &k.info,
            Source::Replay(r) => &r.info,
        }
    }
}

/// Records from the loaded eBPF program, attributed on arrival.
pub struct KernelSource<'r> {
    ring: AsyncFd<KernelCollector>,
    resolver: &'r dyn Resolver,
    poll: Interval,
    drops: DropCounters,
    started: Instant,
    info: SourceInfo,
}

impl<'r> KernelSource<'r> {
    /// Starts reading `collector`, attributing with `resolver`. Needs a tokio runtime.
    pub fn new(collector: KernelCollector, resolver: &'r dyn Resolver) -> Result<Self> {
        let info = SourceInfo {
            node: host::node_name(),
            kernel: host::kernel_release(),
            rto: collector.features().rto,
        };
        // SAFETY: the collector owns the ring buffer's descriptor, which stays open for as
        // long as the AsyncFd holds the collector.
        let ring = unsafe { AsyncFd::register(collector) }
            .map_err(|e| anyhow::anyhow!("cannot poll the ring buffer: {e}"))?;
        Ok(Self {
            ring,
            resolver,
            poll: tokio::time::interval(DRAIN_INTERVAL),
            drops: DropCounters::default(),
            started: Instant::now(),
            info,
        })
    }

    async fn next(&mut self, out: &mut Vec<Item>) -> Result<()> {
        tokio::select! {
            guard = self.ring.readable_mut() => {
                let mut guard = guard.context("cannot poll the ring buffer")?;
                let resolver = self.resolver;
                guard.get_inner_mut().drain_events(|e| {
                    out.push(Item::Close(AttributedClose::new(e, resolver)));
                });
                guard.clear_ready();
            }
            // The program wakes the reader only for a batch: drain the rest on a timer.
            _ = self.poll.tick() => self.drain_all(out),
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Item>) {
        self.drain_all(out);
        out.push(Item::Drops(self.drops));
    }

    /// Everything waiting: ring buffer records, folded totals and drop counters.
    fn drain_all(&mut self, out: &mut Vec<Item>) {
        let resolver = self.resolver;
        self.ring
            .get_mut()
            .drain_events(|e| out.push(Item::Close(AttributedClose::new(e, resolver))));
        self.drain_overflow(out);
    }

    /// Folded overflow totals, and the drop counters when they changed.
    fn drain_overflow(&mut self, out: &mut Vec<Item>) {
        let resolver = self.resolver;
        let collector = self.ring.get_mut();
        collector.drain_overflow(|f| out.push(Item::Folded(AttributedFolded::new(f, resolver))));
        let drops = collector.drops();
        if drops != self.drops {
            self.drops = drops;
            out.push(Item::Drops(drops));
        }
    }
}

/// Records from a recording, either as fast as they can be read or at the pace they
/// were recorded.
pub struct ReplaySource {
    replay: Replay,
    paced_from: Option<Instant>,
    pending: Option<Line>,
    last_t_ms: u64,
    info: SourceInfo,
}

impl ReplaySource {
    /// Opens the recording at `path` (its header is checked here). With `paced`, items
    /// come out at the times they were recorded, counted from now.
    pub fn open(path: &Path, paced: bool) -> Result<Self> {
        let replay = Replay::open(path)?;
        let h = replay.header();
        let info = SourceInfo {
            node: h.node.clone(),
            kernel: h.kernel.clone(),
            rto: h.rto,
        };
        Ok(Self {
            replay,
            paced_from: paced.then(Instant::now),
            pending: None,
            last_t_ms: 0,
            info,
        })
    }

    /// What the recording's header says.
    pub fn info(&self) -> &SourceInfo {
        &self.info
    }

    async fn next(&mut self, out: &mut Vec<Item>) -> Result<bool> {
        loop {
            let line = match self.pending.take() {
                Some(l) => l,
                None => match self.replay.next_line()? {
                    Some(l) => l,
                    None => return Ok(false),
                },
            };
            if let Some(start) = self.paced_from {
                let due = start + Duration::from_millis(line.t_ms);
                if due > Instant::now() {
                    self.pending = Some(line);
                    if !out.is_empty() {
                        return Ok(true);
                    }
                    tokio::time::sleep_until(due.into()).await;
                    continue;
                }
            }
            self.last_t_ms = self.last_t_ms.max(line.t_ms);
            out.push(line.item);
            if out.len() >= BATCH {
                return Ok(true);
            }
        }
    }
}
