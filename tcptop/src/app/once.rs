//! `--once`: collect for `--duration` (or play a whole `--replay` recording), print one
//! snapshot.
use std::io::{self, Write};

use anyhow::{Context, Result};

use super::source::{KernelSource, ReplaySource, Source};
use crate::{
    aggregation::Aggregator,
    attribution::Resolver,
    cli::Args,
    collector::{
        kernel::{KernelCollector, LoadOptions},
        DropCounters,
    },
    output,
    record::{Item, Recorder},
    view::{self, Snapshot, TableSpec},
};

/// Runs a `--once` collection and writes the snapshot to stdout.
pub fn run(args: &Args) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // Labels first, so that a short window is attributed from a synced cache.
    let labels = rt.block_on(super::kube::start(args, super::kube::SYNC_WAIT))?;
    let snap = rt.block_on(collect(args, labels.resolver()))?;
    labels.report();
    let mut out = io::stdout().lock();
    output::write(&snap, args.output, &mut out)?;
    out.flush()?;
    Ok(())
}

/// Opens the source `args` ask for: the recording of `--replay`, played as fast as it
/// reads, or the kernel collector, loaded and attached.
pub fn open_source<'r>(args: &Args, resolver: &'r dyn Resolver) -> Result<Source<'r>> {
    if let Some(path) = &args.replay {
        return Ok(Source::Replay(ReplaySource::open(path, false)?));
    }
    let opts = LoadOptions {
        ring_bytes: args.ring_bytes,
        ..LoadOptions::default()
    };
    let collector = KernelCollector::load(&args.btf, &opts)?;
    Ok(Source::Kernel(KernelSource::new(collector, resolver)?))
}

/// Collects for the window, or plays the whole recording, and builds the snapshot.
pub async fn collect(args: &Args, resolver: &dyn Resolver) -> Result<Snapshot> {
    let mut source = open_source(args, resolver)?;
    let mut recorder = match &args.record {
        Some(path) => Some(Recorder::create(path, &source.info().header())?),
        None => None,
    };
    let live = matches!(source, Source::Kernel(_));
    if live {
        eprintln!(
            "tcptop: attached to inet_sock_set_state, collecting for {}",
            humantime::format_duration(args.duration)
        );
    }
    let mut agg = Aggregator::new(args.group_by.clone());
    let mut drops = DropCounters::default();
    let mut batch = Vec::new();
    let deadline = tokio::time::sleep(args.duration);
    tokio::pin!(deadline);
    loop {
        let more = tokio::select! {
            more = source.next(&mut batch) => more?,
            _ = &mut deadline, if live => false,
        };
        take(&mut batch, &source, &mut agg, &mut drops, recorder.as_mut())?;
        if !more {
            break;
        }
    }
    source.finish(&mut batch);
    take(&mut batch, &source, &mut agg, &mut drops, recorder.as_mut())?;
    if let Some(r) = recorder.as_mut() {
        r.flush()?;
    }
    let spec = TableSpec {
        sort: args.sort,
        descending: true,
        top: args.top,
    };
    let info = source.info();
    Ok(Snapshot {
        node: info.node.clone(),
        kernel: info.kernel.clone(),
        window_secs: source.elapsed().as_secs_f64(),
        group_by: args.group_by.clone(),
        events_dropped: drops.dropped(),
        events_lost: drops.lost_entirely(),
        rows: view::rows(&agg, &spec, info.rto),
    })
}

/// Records and aggregates a batch, emptying it.
fn take(
    batch: &mut Vec<Item>,
    source: &Source,
    agg: &mut Aggregator,
    drops: &mut DropCounters,
    mut recorder: Option<&mut Recorder>,
) -> Result<()> {
    let t = source.elapsed();
    for item in batch.drain(..) {
        if let Some(r) = recorder.as_deref_mut() {
            r.write(t, &item)?;
        }
        match item {
            Item::Close(c) => agg.add(&c),
            Item::Folded(f) => agg.add_folded(&f.totals, &f.local, &f.peer),
            Item::Drops(d) => *drops = d,
        }
    }
    Ok(())
}
