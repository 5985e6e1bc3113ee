//! Where attributed records come from: the kernel collector, or a recording played
//! back. Both hand out batches of [`Item`]s through the [`Feed`] seam, so `--once` and
//! the UI share one loop shape, tests feed the UI loop from a script, and a recording
//! replays exactly what was seen live. [`replay`] reads a recording, or the daemon's
//! stream (a recording too) over its socket.
pub mod feed;
pub mod replay;

pub use feed::{Feed, Pulled, SourceInfo};
pub use replay::ReplaySource;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::{io::unix::AsyncFd, task::JoinHandle, time::Interval};

use crate::{
    attribution::{AttributedClose, AttributedFolded, AttributedLive, Item, Resolver},
    collector::{
        cost::CostSample,
        kernel::{KernelCollector, LoadError, DRAIN_INTERVAL},
        live::Tracker,
        DropCounters, Known, Record,
    },
    host,
};

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

impl Feed for Source<'_> {
    async fn pull(&mut self, out: &mut Vec<Item>) -> Result<Pulled> {
        match self {
            Source::Kernel(k) => k.next(out).await.map(|()| Pulled::Items),
            Source::Replay(r) => r.next(out).await,
        }
    }

    fn finish(&mut self, out: &mut Vec<Item>) {
        if let Source::Kernel(k) = self {
            k.finish(out);
        }
    }

    fn pass(&mut self, out: &mut Vec<Item>) -> Result<()> {
        match self {
            Source::Kernel(k) => k.pass(out),
            Source::Replay(_) => Ok(()),
        }
    }

    fn cost(&self) -> Option<CostSample> {
        match self {
            Source::Kernel(k) => Some(k.ring.get_ref().cost()),
            Source::Replay(_) => None,
        }
    }
}

/// The kernel collector, loaded in the background (the UI draws meanwhile), then read.
// One lives per run, so the size of the ready variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Loading<'r> {
    /// Loading and attaching, with the resolver to attribute with once loaded.
    Pending(
        JoinHandle<Result<KernelCollector, LoadError>>,
        &'r dyn Resolver,
    ),
    /// Loaded, or a recording from the start.
    Ready(Source<'r>),
}

impl<'r> Loading<'r> {
    /// Starts loading the collector with `load` on a blocking thread.
    pub fn start(
        load: impl FnOnce() -> Result<KernelCollector, LoadError> + Send + 'static,
        resolver: &'r dyn Resolver,
    ) -> Self {
        Loading::Pending(tokio::task::spawn_blocking(load), resolver)
    }
}

impl Feed for Loading<'_> {
    async fn pull(&mut self, out: &mut Vec<Item>) -> Result<Pulled> {
        match self {
            Loading::Ready(s) => s.pull(out).await,
            Loading::Pending(handle, resolver) => {
                let collector = match handle.await {
                    Ok(c) => c?,
                    Err(e) => anyhow::bail!("loading the eBPF program failed: {e}"),
                };
                let source = Source::Kernel(KernelSource::new(collector, *resolver)?);
                let info = source.info().clone();
                *self = Loading::Ready(source);
                Ok(Pulled::Attached(info))
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<Item>) {
        if let Loading::Ready(s) = self {
            s.finish(out);
        }
    }

    fn pass(&mut self, out: &mut Vec<Item>) -> Result<()> {
        match self {
            Loading::Ready(s) => s.pass(out),
            Loading::Pending(..) => Ok(()),
        }
    }

    fn cost(&self) -> Option<CostSample> {
        match self {
            Loading::Ready(s) => s.cost(),
            Loading::Pending(..) => None,
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
    tracker: Tracker,
}

impl<'r> KernelSource<'r> {
    /// Starts reading `collector`, attributing with `resolver`. Needs a tokio runtime.
    pub fn new(collector: KernelCollector, resolver: &'r dyn Resolver) -> Result<Self> {
        let features = collector.features();
        let live_off = collector.live_sampling().err();
        let info = SourceInfo {
            node: host::node_name(),
            kernel: host::kernel_release(),
            known: Known {
                rto: features.rto,
                live: live_off.is_none(),
            },
            live_off,
            features: Some(features),
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
            tracker: Tracker::new(),
        })
    }

    /// A pass over the open sockets, where the kernel samples them.
    fn pass(&mut self, out: &mut Vec<Item>) -> Result<()> {
        if !self.info.known.live {
            return Ok(());
        }
        let resolver = self.resolver;
        let tracker = &mut self.tracker;
        tracker.begin_pass();
        let now_ns = self
            .ring
            .get_mut()
            .sample_open(|s| {
                if let Some(d) = tracker.sample(&s) {
                    out.push(Item::Live(AttributedLive::new(d, resolver)));
                }
            })
            .map_err(|e| anyhow::anyhow!("live sampling failed: {e}"))?;
        let end = tracker.end_pass();
        if !end.gone.is_empty() {
            out.push(Item::Gone(end.gone));
        }
        out.push(Item::Pass(now_ns));
        Ok(())
    }

    async fn next(&mut self, out: &mut Vec<Item>) -> Result<()> {
        tokio::select! {
            guard = self.ring.readable_mut() => {
                let mut guard = guard.context("cannot poll the ring buffer")?;
                let (resolver, tracker) = (self.resolver, &mut self.tracker);
                guard
                    .get_inner_mut()
                    .drain_events(|r| out.push(item(r, tracker, resolver)));
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
        let (resolver, tracker) = (self.resolver, &mut self.tracker);
        let collector = self.ring.get_mut();
        collector.drain_events(|r| out.push(item(r, tracker, resolver)));
        collector.drain_overflow(|f| out.push(Item::Folded(AttributedFolded::new(f, resolver))));
        let drops = collector.drops();
        if drops != self.drops {
            self.drops = drops;
            out.push(Item::Drops(drops));
        }
    }
}

/// A ring buffer record as an item: a close counts only what live passes had not.
fn item(record: Record, tracker: &mut Tracker, resolver: &dyn Resolver) -> Item {
    match record {
        Record::Close(mut e) => {
            tracker.close(&mut e);
            Item::Close(AttributedClose::new(e, resolver))
        }
        Record::Reset(t) => Item::Folded(AttributedFolded::new(t, resolver)),
    }
}
