//! `--daemon`: the DaemonSet's main process. It loads the program once and collects all
//! the time, closes and live samples, attributed from the Kubernetes watch cache, into
//! cumulative series that it serves to Prometheus on `--metrics-address`, and into the
//! flight recorder that UIs in the pod attach to over `--socket`.
//!
//! On a node where it cannot trace, it says why in one line and keeps serving its own
//! health (`tcptop_attached 0`), so that the pod stays up for `kubectl exec` and the
//! reason shows where the operator looks. As PID 1 of a container it handles SIGTERM
//! and SIGINT itself (the kernel drops signals PID 1 has no handler for) and exits 0.
use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context, Result};
use tokio::net::TcpListener;

use super::{
    recorder::{self, Flight},
    serve,
    source::{Feed, KernelSource, Pulled, Source},
    stops::Stops,
};
use crate::{
    aggregation::{history::History, Layout, OpenSockets, Scope, SeriesStore},
    build_info::{BuildInfo, KernelSupport},
    cli::{Args, Compat},
    collector::kernel::{KernelCollector, LoadOptions},
    output::prometheus::{compat, Exported, Health},
    view::Known,
};

/// How long the first drain waits for the watch cache, so that what closed since the
/// program attached is labelled (the ring buffer, and past it the kernel's overflow
/// map, hold it meanwhile).
const SETTLE: Duration = Duration::from_secs(10);

/// How often open sockets are sampled, and the health refreshed.
const PASS: Duration = Duration::from_secs(1);

/// Most open sockets tracked for `tcptop_open_connections`.
const OPEN_TRACKED: usize = 100_000;

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(args: &Args) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(daemon(args))
}

/// The state a scrape reads, empty.
fn exported(args: &Args, known: Known) -> Exported {
    let main = SeriesStore::new(
        args.metrics_group_by.clone(),
        Layout::Seconds,
        Scope::All,
        args.metrics_max_series,
    );
    let compat = args.metrics_compat.map(|Compat::EbpfExporter| {
        SeriesStore::new(
            compat::GROUP_BY.to_vec(),
            Layout::Exp2Millis,
            Scope::Ipv4,
            args.metrics_max_series,
        )
    });
    Exported {
        main,
        compat,
        open: OpenSockets::new(OPEN_TRACKED),
        known,
        health: Health {
            max_series: args.metrics_max_series,
            ..Health::default()
        },
    }
}

/// Listens at `addr`; every IPv6 address (`:PORT`) falls back to every IPv4 one where
/// the pod has no IPv6.
async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    match TcpListener::bind(addr).await {
        Err(e) if addr.ip() == IpAddr::from(Ipv6Addr::UNSPECIFIED) => {
            TcpListener::bind((Ipv4Addr::UNSPECIFIED, addr.port()))
                .await
                .map_err(|_| e)
        }
        other => other,
    }
}

async fn daemon(args: &Args) -> Result<()> {
    // Handlers first: a SIGTERM sent once the first line is out is never lost.
    let mut stops = Stops::new(false)?;
    let listener = bind(args.metrics_address).await.with_context(|| {
        format!(
            "cannot serve metrics on {}: choose another --metrics-address",
            args.metrics_address
        )
    })?;
    let addr = listener.local_addr().context("the metrics listener")?;
    let labels = super::kube::start(args).await?;
    let state = Arc::new(Mutex::new(exported(args, Known::default())));
    tokio::spawn(serve::serve(listener, state.clone()));
    let info = BuildInfo::detect(&args.btf);
    let loaded = match &info.support {
        KernelSupport::Ready(_) => {
            let opts = LoadOptions {
                ring_bytes: args.ring_bytes,
                live: !args.no_live,
                ..LoadOptions::default()
            };
            KernelCollector::load(&args.btf, &opts).map_err(anyhow::Error::from)
        }
        other => Err(anyhow::anyhow!("{}", other.long())),
    };
    let collector = match loaded {
        Ok(c) => c,
        Err(e) => {
            say!("tcptop {} ({}) cannot trace on this node (kernel {}): {e:#}; serving only its health on http://{addr}/metrics until stopped",
                info.version, info.revision, info.kernel
            );
            let name = stops.recv().await;
            say!("{name}: stopping");
            return Ok(());
        }
    };
    let resolver = labels.resolver();
    let mut source = Source::Kernel(KernelSource::new(collector, resolver)?);
    let known = source.info().known;
    let flight = Arc::new(Mutex::new(Flight::new(
        History::new(args.history, args.history_memory),
        source.info().clone(),
    )));
    let socket = match recorder::listen(&args.socket) {
        Ok(l) => {
            tokio::spawn(recorder::serve(l, args.socket.clone(), flight.clone()));
            format!(
                " and the last {} at {}",
                humantime::format_duration(args.history),
                args.socket.display()
            )
        }
        Err(e) => format!("; no history for UIs ({e:#})"),
    };
    {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.known = known;
        s.health.attached = true;
    }
    say!(
        "{}; attached, serving metrics on http://{addr}/metrics{socket}",
        info.header()
    );
    if let Some(why) = &source.info().live_off {
        say!("only closed connections are counted, open ones are not sampled: {why}");
    }
    tokio::select! {
        _ = labels.settle(SETTLE) => {}
        name = stops.recv() => {
            say!("{name}: stopping");
            return Ok(());
        }
    }
    if let Some(line) = labels.status_line() {
        say!("{}", line.trim_start_matches("tcptop: "));
    }
    if let Some(why) = labels.nat_problem() {
        say!("{why}");
    }
    let mut batch = Vec::new();
    let mut passes = tokio::time::interval(PASS);
    let name = loop {
        // A pass ends a second: its items go into that second, which is then sealed.
        let second_ends = tokio::select! {
            pulled = source.pull(&mut batch) => match pulled? {
                Pulled::Ended(_) => break "the source ended",
                Pulled::Items | Pulled::Attached(_) => false,
            },
            _ = passes.tick() => {
                source.pass(&mut batch)?;
                true
            }
            name = stops.recv() => break name,
        };
        let mut f = flight.lock().unwrap_or_else(|e| e.into_inner());
        f.add(&batch);
        if second_ends {
            f.history.seal(recorder::unix_ms() / 1000);
        }
        let (history, clients, lagged) = (f.history.held(), f.clients, f.lagged);
        drop(f);
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        for item in batch.drain(..) {
            s.add(&item);
        }
        if second_ends {
            let (kube, nat_evicted) = labels.health();
            s.health.history = Some(history);
            s.health.clients = clients as u64;
            s.health.lagged = lagged;
            s.health.cost = source.cost();
            s.health.kube = kube;
            s.health.nat_evicted = nat_evicted;
        }
    };
    say!("{name}: stopping");
    Ok(())
}
