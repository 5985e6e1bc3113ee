//! `--once`: collect for `--duration` (or play a whole `--replay` recording, or read
//! the daemon's history of `--since` ago until now), print one snapshot. SIGINT, SIGTERM and SIGHUP end the window early: the snapshot of what was
//! collected is printed, with its real length, and stderr says it was cut short.
use std::{
    collections::HashMap,
    io::{self, Write},
    time::Duration,
};

use anyhow::{Context, Result};

use super::kube::Labels;
use super::source::{Feed, KernelSource, Pulled, ReplaySource, Source, SourceInfo};
use super::{
    attach::{self, Request},
    stops::Stops,
};
use crate::{
    aggregation::{Aggregator, ClosedSockets, Dimension, GroupKey, OpenSockets, Unlabelled},
    attribution::{IpOnly, Item, Resolver},
    cli::Args,
    collector::{
        cost::Cost,
        kernel::{KernelCollector, LoadOptions},
        DropCounters,
    },
    output,
    record::Recorder,
    view::{self, sockets::Socket, Known, Row, Snapshot, TableSpec},
};

/// Runs a `--once` collection and writes the snapshot to stdout.
pub fn run(args: &Args) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // The cache syncs while the window collects (what arrives before is labelled once
    // it has). A replay never contacts a cluster: its records are attributed already.
    let labels = match (&args.replay, args.since) {
        (Some(_), _) | (_, Some(_)) => Labels::IpOnly(IpOnly::default()),
        (None, None) => rt.block_on(super::kube::start(args))?,
    };
    let window = rt.block_on(collect(args, &labels))?;
    if let Some(line) = labels.status_line() {
        eprintln!("{line}");
    }
    if let Some(why) = labels.nat_problem() {
        eprintln!("tcptop: {why}");
    }
    if let Some(w) = &window.warning {
        eprintln!("tcptop: {w}");
    }
    if let Some(signal) = window.cut_short_by {
        eprintln!(
            "tcptop: {signal}: the window was cut short after {:.1}s; this is what was collected",
            window.snapshot.window_secs
        );
    }
    let mut out = io::stdout().lock();
    output::write(&window.snapshot, args.output, &mut out)?;
    out.flush()?;
    Ok(())
}

/// A finished window.
pub struct Window {
    /// What it saw.
    pub snapshot: Snapshot,
    /// The signal that ended it before its time, if one did.
    pub cut_short_by: Option<&'static str>,
    /// What was wrong with the source's end (a torn recording), if anything.
    pub warning: Option<String>,
}

/// Opens the source `args` ask for: the recording of `--replay`, played as fast as it
/// reads, or the kernel collector, loaded and attached.
pub fn open_source<'r>(args: &Args, resolver: &'r dyn Resolver) -> Result<Source<'r>> {
    if let Some(path) = &args.replay {
        return Ok(Source::Replay(ReplaySource::open(path, false)?));
    }
    if let Some(since) = args.since {
        let req = Request {
            since_secs: since.as_secs().max(1),
            follow: false,
            until_secs: 0,
        };
        return Ok(Source::Replay(attach::open(&args.socket, req, None)?));
    }
    let opts = LoadOptions {
        ring_bytes: args.ring_bytes,
        live: !args.no_live,
        ..LoadOptions::default()
    };
    let collector = KernelCollector::load(&args.btf, &opts)?;
    Ok(Source::Kernel(KernelSource::new(collector, resolver)?))
}

/// Collects for the window, or plays the whole recording, and builds the snapshot.
pub async fn collect(args: &Args, labels: &Labels) -> Result<Window> {
    let mut stops = Stops::new(true)?;
    let resolver = labels.resolver();
    let mut source = open_source(args, resolver)?;
    // tcptop's own cost is counted from here: the window's passes included.
    let cost_from = source.cost();
    let mut recorder = match &args.record {
        Some(path) => Some(Recorder::create(path, &source.info().header())?),
        None => None,
    };
    let live = matches!(source, Source::Kernel(_));
    let mut tally = Tally::new(args, labels.from_cluster());
    let mut batch = Vec::new();
    // The window starts with a pass over the open sockets, their baseline: it is said
    // to have started once that is done.
    source.pass(&mut batch)?;
    if live {
        eprintln!(
            "tcptop: attached to inet_sock_set_state, collecting for {}",
            humantime::format_duration(args.duration)
        );
        if let Some(why) = &source.info().live_off {
            eprintln!(
                "tcptop: only closed connections are counted, open ones are not sampled: {why}"
            );
        }
    }
    let deadline = tokio::time::sleep(args.duration);
    tokio::pin!(deadline);
    // Records reach the file at least this often.
    let mut flush = tokio::time::interval(args.interval);
    let mut passes = tokio::time::interval_at(tokio::time::Instant::now() + PASS, PASS);
    let settled = labels.settle(crate::cli::MAX_WINDOW);
    tokio::pin!(settled);
    let mut cut_short_by = None;
    let mut ended_with = None;
    let result: Result<()> = loop {
        let more = tokio::select! {
            pulled = source.pull(&mut batch) => match pulled {
                Ok(Pulled::Ended(warning)) => {
                    ended_with = warning;
                    false
                }
                Ok(_) => true,
                Err(e) => break Err(e),
            },
            _ = &mut deadline, if live => false,
            name = stops.recv() => {
                cut_short_by = Some(name);
                false
            }
            _ = flush.tick() => match recorder.as_mut().map(Recorder::flush) {
                Some(Err(e)) => break Err(e.into()),
                _ => true,
            },
            _ = passes.tick(), if live => match source.pass(&mut batch) {
                Ok(()) => true,
                Err(e) => break Err(e),
            },
            _ = &mut settled, if tally.unlabelled() => {
                tally.label(resolver);
                true
            }
        };
        if let Err(e) = take(&mut batch, &source, &mut tally, recorder.as_mut()) {
            break Err(e);
        }
        if !more {
            break Ok(());
        }
    };
    // Whatever happened, what was recorded reaches the file.
    if result.is_ok() {
        source.finish(&mut batch);
        source.pass(&mut batch)?;
        take(&mut batch, &source, &mut tally, recorder.as_mut())?;
    }
    if let Some(r) = recorder.as_mut() {
        r.flush()?;
    }
    result?;
    // A little longer for the cache, unless a signal asked to stop now.
    if tally.unlabelled() && cut_short_by.is_none() {
        tokio::select! {
            _ = &mut settled => {}
            _ = tokio::time::sleep(LABEL_GRACE) => {}
            name = stops.recv() => cut_short_by = Some(name),
        }
    }
    tally.label(resolver);
    let spec = TableSpec {
        sort: args.sort,
        descending: true,
        top: args.top,
    };
    let cost = cost_from
        .zip(source.cost())
        .map(|(a, b)| Cost::between(&a, &b));
    let info = source.info();
    let snapshot = tally.snapshot(info, source.elapsed(), &spec, cost);
    Ok(Window {
        snapshot,
        cut_short_by,
        warning: ended_with,
    })
}

/// How much longer than its window `--once` waits for the Kubernetes cache to sync,
/// when it has not, before it labels what it saw with what the cache knows.
pub const LABEL_GRACE: Duration = Duration::from_millis(500);

/// How often `--once` samples the open sockets between the window's start and end.
const PASS: Duration = Duration::from_secs(1);

/// What a window counted.
struct Tally {
    group_by: Vec<Dimension>,
    agg: Aggregator,
    /// What arrived before the Kubernetes cache settled, by address pair.
    unlabelled: Option<Unlabelled>,
    /// Address pairs folded while unlabelled.
    folded_unlabelled: u64,
    open: OpenSockets,
    /// The window's closed sockets, one by one, when rows list their sockets.
    closed: Option<ClosedSockets>,
    drops: DropCounters,
}

/// Most closed sockets `--connections` lists; beyond, they are counted
/// (`sockets_dropped`).
pub const CLOSED_LISTED: usize = 100_000;

impl Tally {
    /// An empty tally; with `wait_for_labels`, rows are kept by address pair until
    /// [`Tally::label`].
    fn new(args: &Args, wait_for_labels: bool) -> Self {
        Self {
            group_by: args.group_by.clone(),
            agg: Aggregator::with_limit(args.group_by.clone(), args.max_rows),
            unlabelled: wait_for_labels.then(|| Unlabelled::with_limit(args.max_rows)),
            folded_unlabelled: 0,
            open: OpenSockets::new(args.max_rows),
            closed: args.connections.then(|| ClosedSockets::new(CLOSED_LISTED)),
            drops: DropCounters::default(),
        }
    }

    fn add(&mut self, item: &Item) {
        if let Some(c) = &mut self.closed {
            c.add(item, &self.open);
        }
        self.open.add(item);
        match (item, &mut self.unlabelled) {
            (Item::Drops(d), _) => self.drops = *d,
            (other, Some(u)) => u.add_item(other),
            (other, None) => self.agg.add_item(other),
        }
    }

    /// True while rows wait for their labels.
    fn unlabelled(&self) -> bool {
        self.unlabelled.is_some()
    }

    /// Labels what waited with `resolver` as it is now; what comes later is labelled
    /// on arrival.
    fn label(&mut self, resolver: &dyn Resolver) {
        if let Some(u) = self.unlabelled.take() {
            u.label_into(&mut self.agg, resolver);
            self.folded_unlabelled = u.folded();
            self.open.relabel(resolver);
            if let Some(c) = &mut self.closed {
                c.relabel(resolver);
            }
        }
    }

    /// The snapshot. Every socket active in the window counts once in the srtt
    /// percentiles: a closed one at its close, an open one with its latest srtt.
    fn snapshot(
        mut self,
        info: &SourceInfo,
        elapsed: Duration,
        spec: &TableSpec,
        cost: Option<Cost>,
    ) -> Snapshot {
        for s in self.open.iter().filter(|s| s.active) {
            let key = self.agg.key_of_live(&s.last);
            self.agg.entry(key).srtt.record(s.last.delta.srtt_us);
        }
        let open = self.open.count_by(&self.group_by);
        let mut rows = view::rows(&self.agg, spec, info.known, &open);
        let sockets_dropped = self.closed.as_ref().map(|c| {
            self.list_sockets(&mut rows, info.known);
            c.dropped()
        });
        Snapshot {
            node: info.node.clone(),
            kernel: info.kernel.clone(),
            window_secs: elapsed.as_secs_f64(),
            group_by: self.group_by.clone(),
            events_dropped: self.drops.dropped(),
            events_lost: self.drops.lost_entirely(),
            rows_folded: self.agg.folded() + self.folded_unlabelled,
            live_sampling_off: info.live_off.clone(),
            cost,
            sockets_dropped,
            rows,
        }
    }

    /// Lists every socket, open or closed in the window, under its row.
    fn list_sockets(&self, rows: &mut [Row], known: Known) {
        let row_of = |key: GroupKey| match self.agg.get(&key) {
            Some(_) => key,
            None => self.agg.other_key(),
        };
        let mut by_row: HashMap<GroupKey, Vec<Socket>> = HashMap::new();
        let now_ns = self.open.now_ns();
        for s in self.open.iter() {
            let key = row_of(self.agg.key_of_live(&s.last));
            by_row
                .entry(key)
                .or_default()
                .push(Socket::open(s, known, now_ns));
        }
        for c in self.closed.iter().flat_map(ClosedSockets::iter) {
            let key = row_of(self.agg.key_of(c));
            by_row
                .entry(key)
                .or_default()
                .push(Socket::closed(c, known));
        }
        for row in rows {
            let key = GroupKey {
                local: row.local.clone().into(),
                peer: row.peer.clone().into(),
            };
            row.sockets = by_row.remove(&key).unwrap_or_default();
        }
    }
}

/// Records and tallies a batch, emptying it.
fn take(
    batch: &mut Vec<Item>,
    source: &Source,
    tally: &mut Tally,
    mut recorder: Option<&mut Recorder>,
) -> Result<()> {
    let t = source.elapsed();
    for item in batch.drain(..) {
        if let Some(r) = recorder.as_deref_mut() {
            r.write(t, &item)?;
        }
        tally.add(&item);
    }
    Ok(())
}
