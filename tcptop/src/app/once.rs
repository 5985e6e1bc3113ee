//! `--once`: load the collector, collect for `--duration`, print one snapshot.
use std::{
    io::{self, Write},
    time::Instant,
};

use anyhow::{Context, Result};
use tokio::io::unix::AsyncFd;

use super::host;
use crate::{
    aggregation::Aggregator,
    attribution::{AttributedClose, Resolver},
    cli::Args,
    collector::kernel::{KernelCollector, LoadOptions, DRAIN_INTERVAL},
    output,
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

/// Loads the program, collects for the window, and builds the snapshot.
pub async fn collect(args: &Args, resolver: &dyn Resolver) -> Result<Snapshot> {
    let opts = LoadOptions {
        ring_bytes: args.ring_bytes,
        ..LoadOptions::default()
    };
    let collector = KernelCollector::load(&args.btf, &opts)?;
    let rto = collector.features().rto;
    let mut agg = Aggregator::new(args.group_by.clone());
    let started = Instant::now();
    eprintln!(
        "tcptop: attached to inet_sock_set_state, collecting for {}",
        humantime::format_duration(args.duration)
    );
    // SAFETY: the collector owns the ring buffer's descriptor, which stays open for as
    // long as the AsyncFd holds the collector.
    let mut ring = unsafe { AsyncFd::register(collector) }
        .map_err(|e| anyhow::anyhow!("cannot poll the ring buffer: {e}"))?;
    let deadline = tokio::time::sleep(args.duration);
    tokio::pin!(deadline);
    let mut poll = tokio::time::interval(DRAIN_INTERVAL);
    loop {
        tokio::select! {
            guard = ring.readable_mut() => {
                let mut guard = guard.context("cannot poll the ring buffer")?;
                guard.get_inner_mut().drain_events(|e| agg.add(&AttributedClose::new(e, resolver)));
                guard.clear_ready();
            }
            _ = poll.tick() => {
                let c = ring.get_mut();
                c.drain_events(|e| agg.add(&AttributedClose::new(e, resolver)));
                drain_overflow(c, &mut agg, resolver);
            }
            _ = &mut deadline => break,
        }
    }
    let collector = ring.get_mut();
    collector.drain_events(|e| agg.add(&AttributedClose::new(e, resolver)));
    drain_overflow(collector, &mut agg, resolver);
    let drops = collector.drops();
    let spec = TableSpec {
        sort: args.sort,
        descending: true,
        top: args.top,
    };
    Ok(Snapshot {
        node: host::node_name(),
        kernel: host::kernel_release(),
        window_secs: started.elapsed().as_secs_f64(),
        group_by: args.group_by.clone(),
        events_dropped: drops.dropped(),
        events_lost: drops.lost_entirely(),
        rows: view::rows(&agg, &spec, rto),
    })
}

fn drain_overflow(c: &mut KernelCollector, agg: &mut Aggregator, resolver: &dyn Resolver) {
    c.drain_overflow(|f| {
        agg.add_folded(&f, &resolver.resolve(f.local), &resolver.resolve(f.peer));
    });
}
