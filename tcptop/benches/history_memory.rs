//! What the flight recorder costs: bytes per minute of history per active pair, and
//! the time to seal a second, for pairs that each close a few connections a second
//! (the counters a close sets, srtt samples) and for pairs of live traffic only.
//! `cargo bench -p tcptop --bench history_memory`
use std::time::{Duration, Instant};

use tcptop::{
    aggregation::history::History,
    attribution::{AttributedClose, Attribution, Item},
    collector::{CloseEvent, Counters, Origin},
};

fn close(pair: u32, n: u64) -> Item {
    let counters = Counters {
        connections: 1,
        bytes_sent: 1000 + n * 37,
        bytes_received: 20_000 + n * 11,
        data_segs_out: 3 + n % 5,
        retransmits: n % 7 / 6,
        busy_us: 900 + n,
        ..Counters::default()
    };
    let owner = |side: u32| {
        let mut a = Attribution::all("unknown");
        a.namespace = format!("ns-{}", pair % 40 + side).into();
        a.pod = format!("pod-{pair}-{side}").into();
        a.az = format!("az-{}", (pair + side) % 3).into();
        a
    };
    Item::Close(AttributedClose {
        event: CloseEvent {
            local: format!(
                "10.1.{}.{}:{}",
                pair / 250,
                pair % 250 + 1,
                40_000 + n % 20_000
            )
            .parse()
            .unwrap(),
            peer: format!("10.2.{}.{}:443", pair / 250, pair % 250 + 1)
                .parse()
                .unwrap(),
            counters,
            srtt_us: 200 + (n % 50) as u32 * 13,
            origin: Origin::Connect,
            lifetime_us: Some(5_000),
            id: None,
            gauges: Default::default(),
            cgroup: None,
            process: None,
        },
        local: owner(0),
        peer: owner(1),
    })
}

fn main() {
    println!(
        "| active pairs | closes per pair per second | bytes per pair-minute | seal per second |"
    );
    println!("|---|---|---|---|");
    for (pairs, per_sec) in [(100u32, 1u64), (1000, 1), (1000, 5), (10_000, 1)] {
        let mut h = History::new(Duration::from_secs(1800), usize::MAX);
        let mut sealing = Duration::ZERO;
        let mut n = 0;
        for t in 0..60u64 {
            for p in 0..pairs {
                for _ in 0..per_sec {
                    h.add(&close(p, n));
                    n += 1;
                }
            }
            let start = Instant::now();
            h.seal(t);
            sealing += start.elapsed();
        }
        let held = h.held();
        println!(
            "| {pairs} | {per_sec} | {:.0} B | {:.2} ms |",
            held.bytes as f64 / f64::from(pairs),
            sealing.as_secs_f64() * 1000.0 / 60.0
        );
    }
}
