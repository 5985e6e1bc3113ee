//! Where attributed records come from: the kernel collector, or a recording played
//! back. Both hand out batches of [`Item`]s through the [`Feed`] seam, so `--once` and
//! the UI share one loop shape, tests feed the UI loop from a script, and a recording
//! replays exactly what was seen live.
use std::{
    future::Future,
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use tokio::{io::unix::AsyncFd, sync::mpsc, task::JoinHandle, time::Interval};

use crate::{
    attribution::{AttributedClose, AttributedFolded, AttributedLive, Item, Resolver},
    collector::{
        cost::CostSample,
        kernel::{KernelCollector, LoadError, DRAIN_INTERVAL},
        live::Tracker,
        offsets::Features,
        DropCounters, Known, Record,
    },
    host,
    record::{Header, Line, RecordError, Replay},
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

/// Lines read ahead of the consumer, in batches: a reader thread never blocks the loop,
/// even on a pipe that stalls.
const READ_AHEAD: usize = 4;

/// What the reader thread hands over.
enum Chunk {
    /// Lines, in order.
    Lines(Vec<Line>),
    /// The recording ended in this line, cut short.
    Torn(u64),
}

/// Records from a recording, either as fast as they can be read or at the pace they
/// were recorded. A thread of its own reads the file.
pub struct ReplaySource {
    lines: mpsc::Receiver<Result<Chunk, RecordError>>,
    path: std::path::PathBuf,
    torn: Option<u64>,
    batch: std::vec::IntoIter<Line>,
    paced_from: Option<tokio::time::Instant>,
    pending: Option<Line>,
    last_t_ms: u64,
    info: SourceInfo,
}

impl ReplaySource {
    /// Opens the recording at `path` (its header is checked here). With `paced`, items
    /// come out at the times they were recorded, counted from now. Needs a tokio
    /// runtime.
    pub fn open(path: &Path, paced: bool) -> Result<Self> {
        let mut replay = Replay::open(path)?;
        let h = replay.header();
        let info = SourceInfo {
            node: h.node.clone(),
            kernel: h.kernel.clone(),
            known: h.known(),
            live_off: (!h.live).then(|| "the recording has closed connections only".into()),
            features: None,
        };
        let (tx, lines) = mpsc::channel(READ_AHEAD);
        std::thread::Builder::new()
            .name("tcptop-replay".into())
            .spawn(move || loop {
                let mut batch = Vec::with_capacity(BATCH);
                let end = loop {
                    match replay.next_line() {
                        Ok(Some(l)) => batch.push(l),
                        Ok(None) => break Ok(true),
                        Err(e) => break Err(e),
                    }
                    if batch.len() == BATCH {
                        break Ok(false);
                    }
                };
                let sent = match end {
                    Ok(false) => tx.blocking_send(Ok(Chunk::Lines(batch))).is_ok(),
                    Ok(true) => {
                        let _ = tx.blocking_send(Ok(Chunk::Lines(batch)));
                        if let Some(line) = replay.torn() {
                            let _ = tx.blocking_send(Ok(Chunk::Torn(line)));
                        }
                        false
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Ok(Chunk::Lines(batch)));
                        let _ = tx.blocking_send(Err(e));
                        false
                    }
                };
                if !sent {
                    break;
                }
            })
            .context("cannot start the replay reader")?;
        Ok(Self {
            lines,
            path: path.to_owned(),
            torn: None,
            batch: Vec::new().into_iter(),
            paced_from: paced.then(tokio::time::Instant::now),
            pending: None,
            last_t_ms: 0,
            info,
        })
    }

    /// What the recording's header says.
    pub fn info(&self) -> &SourceInfo {
        &self.info
    }

    /// The next line, waiting for the reader; `None` at the end.
    async fn line(&mut self) -> Result<Option<Line>> {
        loop {
            if let Some(l) = self.pending.take().or_else(|| self.batch.next()) {
                return Ok(Some(l));
            }
            match self.lines.recv().await.transpose()? {
                Some(Chunk::Lines(batch)) => self.batch = batch.into_iter(),
                Some(Chunk::Torn(line)) => self.torn = Some(line),
                None => return Ok(None),
            }
        }
    }

    async fn next(&mut self, out: &mut Vec<Item>) -> Result<Pulled> {
        loop {
            let Some(line) = self.line().await? else {
                let torn = self.torn.map(|line| {
                    format!(
                        "{} ends in line {line}, cut short while recording: replayed what came before it",
                        self.path.display()
                    )
                });
                return Ok(Pulled::Ended(torn));
            };
            if let Some(start) = self.paced_from {
                let due = start + Duration::from_millis(line.t_ms);
                if due > tokio::time::Instant::now() {
                    self.pending = Some(line);
                    if !out.is_empty() {
                        return Ok(Pulled::Items);
                    }
                    tokio::time::sleep_until(due).await;
                    continue;
                }
            }
            self.last_t_ms = self.last_t_ms.max(line.t_ms);
            out.push(line.item);
            if out.len() >= BATCH {
                return Ok(Pulled::Items);
            }
        }
    }
}
