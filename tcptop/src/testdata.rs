//! Records for unit tests: a builder for attributed closes, and the demo recording
//! committed under `tests/fixtures/`.
use std::{path::Path, time::Duration};

use crate::{
    attribution::{AttributedClose, Attribution, Item},
    collector::{CloseEvent, Counters, Origin},
    record::{Header, Replay},
};

/// An owner: namespace, pod, node, zone.
pub fn owner(ns: &str, pod: &str, node: &str, az: &str) -> Attribution {
    Attribution {
        namespace: ns.into(),
        pod: pod.into(),
        node: node.into(),
        az: az.into(),
        service: crate::attribution::NO_SERVICE.into(),
        workload: crate::attribution::NO_WORKLOAD.into(),
        port: None,
        process: None,
    }
}

/// A close between `local` and `peer` (socket addresses) with these owners, `tx`
/// bytes sent, `rx` received, `retrans` retransmits and srtt `srtt_us`.
pub fn close(
    local: &str,
    peer: &str,
    owners: (&Attribution, &Attribution),
    tx: u64,
    rx: u64,
    retrans: u64,
    srtt_us: u32,
) -> AttributedClose {
    AttributedClose {
        event: event(
            local,
            peer,
            Counters {
                connections: 1,
                bytes_sent: tx,
                bytes_received: rx,
                retransmits: retrans,
                lost: retrans / 2,
                rto_timeouts: retrans / 3,
                rto_recoveries: retrans / 3,
                rto_time_ms: 200 * (retrans / 3),
                ..Counters::default()
            },
            srtt_us,
        ),
        local: owners.0.clone(),
        peer: owners.1.clone(),
    }
}

/// A connect()ed socket between `local` and `peer` (socket addresses) that closed with
/// `counters` and srtt `srtt_us`.
pub fn event(local: &str, peer: &str, counters: Counters, srtt_us: u32) -> CloseEvent {
    CloseEvent {
        local: local.parse().expect("socket address"),
        peer: peer.parse().expect("socket address"),
        counters,
        srtt_us,
        origin: Origin::Connect,
        lifetime_us: Some(1_500_000),
        id: None,
        gauges: Default::default(),
        cgroup: None,
        process: None,
    }
}

/// The demo recording's header and items with their arrival times.
pub fn fixture() -> (Header, Vec<(Duration, Item)>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo.jsonl");
    let mut r = Replay::open(&path).expect("the demo fixture opens");
    let mut items = Vec::new();
    while let Some(l) = r.next_line().expect("the demo fixture reads") {
        items.push((Duration::from_millis(l.t_ms), l.item));
    }
    (r.header().clone(), items)
}
