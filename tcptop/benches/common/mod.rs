//! Shared by the UI benchmarks: synthetic records, recordings, and the real binary run
//! on a pseudo-terminal (so it starts its UI exactly as in `kubectl exec -it`).
#![allow(dead_code)] // Each benchmark uses a part.

#[path = "../../tests/support_kube/pty.rs"]
pub mod pty;

use std::{path::Path, time::Duration};

use tcptop::{
    aggregation::Dimension,
    attribution::{AttributedClose, Attribution, Item},
    collector::{CloseEvent, Counters, Origin},
    record::{Header, Recorder},
    ui::{state::App, theme::Level, HeaderInfo, Kube, Session, Theme},
    view::{live::Ledger, MetricId},
};

/// `per_pair` closes for each of `pairs` namespace pairs (one row each when grouped by
/// namespace,az), with varied bytes and srtt.
pub fn synthetic(pairs: usize, per_pair: usize) -> Vec<AttributedClose> {
    let zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
    let mut out = Vec::with_capacity(pairs * per_pair);
    for i in 0..pairs {
        let owner = |ns: String, pod: String, az: &str| Attribution {
            namespace: ns.into(),
            pod: pod.into(),
            node: "node-a".into(),
            az: az.into(),
            service: tcptop::attribution::NO_SERVICE.into(),
            workload: tcptop::attribution::NO_WORKLOAD.into(),
            port: None,
            process: None,
        };
        let local = owner(format!("team-{i:05}"), format!("api-{i:05}-x2kq"), zones[0]);
        let peer = owner("db".into(), format!("db-{}", i % 7), zones[i % 3]);
        for j in 0..per_pair {
            let n = (i * per_pair + j) as u64;
            out.push(AttributedClose {
                event: CloseEvent {
                    local: format!("10.{}.{}.1:{}", i >> 8 & 255, i & 255, 40_000 + j)
                        .parse()
                        .unwrap(),
                    peer: format!("10.200.{}.{}:5432", i % 7, 10 + i % 3)
                        .parse()
                        .unwrap(),
                    counters: Counters {
                        connections: u64::from(!n.is_multiple_of(50)),
                        failed_connects: u64::from(n.is_multiple_of(50)),
                        bytes_sent: 1_000 + n * 37 % 100_000,
                        bytes_received: 5_000 + n * 91 % 1_000_000,
                        retransmits: n % 5,
                        data_segs_out: 1 + n * 37 % 100_000 / 1448,
                        lost: n % 3,
                        ..Counters::default()
                    },
                    srtt_us: 80 + (n * 7919 % 5_000) as u32,
                    origin: Origin::Connect,
                    lifetime_us: Some(100_000),
                    id: None,
                    gauges: Default::default(),
                    cgroup: None,
                    process: None,
                },
                local: local.clone(),
                peer: peer.clone(),
            });
        }
    }
    out
}

/// A UI session grouped by namespace,az over [`synthetic`]`(pairs, per_pair)`, keeping
/// at most `limit` rows, one interval completed.
pub fn session(pairs: usize, per_pair: usize, limit: usize) -> Session {
    let app = App::new(&[Dimension::Namespace, Dimension::Az], MetricId::BYTES);
    let known = tcptop::collector::Known {
        rto: true,
        live: false,
    };
    let mut ledger = Ledger::new(known, app.group_by(), 10_000, limit);
    for c in synthetic(pairs, per_pair) {
        ledger.add(Item::Close(c), Duration::ZERO);
    }
    ledger.roll(Duration::from_secs(1));
    let info = HeaderInfo {
        version: "0.1.0".into(),
        node: "bench-node".into(),
        kernel: "6.18.0".into(),
        kube: Kube::disabled(),
        notes: vec![("REPLAY bench".into(), Level::Off)],
        cost: None,
    };
    Session::new(app, ledger, info, Theme::new(true))
}

/// Writes `closes` as a recording at `path`, all arriving at once.
pub fn write_recording(path: &Path, closes: &[AttributedClose]) {
    let header = Header::new(
        "bench-node".into(),
        "6.18.0".into(),
        tcptop::collector::Known {
            rto: true,
            live: false,
        },
    );
    let mut r = Recorder::create(path, &header).expect("create recording");
    for c in closes {
        r.write(Duration::ZERO, &Item::Close(c.clone()))
            .expect("write");
    }
    r.flush().expect("flush");
}

/// True when running as root.
pub fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Prints a figure against its target; returns whether it met it.
pub fn report(what: &str, value: f64, unit: &str, target: f64) -> bool {
    let ok = value <= target;
    println!(
        "{what}: {value:.3} {unit} (target <= {target} {unit}) {}",
        if ok { "ok" } else { "MISSED" }
    );
    ok
}
