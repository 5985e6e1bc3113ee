//! Memory per pair (target: 500 B or less with few samples): distinct IP pairs go into
//! the `--once` aggregator (`--group-by ip`), the UI's fine aggregator and the whole UI
//! ledger; a counting allocator measures what each holds. Side by side, one row's
//! HdrHistogram as the aggregator kept before.
//!
//! `cargo bench -p tcptop --bench row_memory`
mod counting;

use std::time::Duration;

use tcptop::{
    aggregation::{Aggregator, Dimension, FineAggregator, DEFAULT_MAX_ROWS},
    attribution::{AttributedClose, Attribution, Item},
    collector::{CloseEvent, Counters, Origin},
    view::live::Ledger,
};

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

const PAIRS: u32 = 100_000;

/// A close of client `i` to one of 20 servers, attributed as pods of two namespaces.
fn close(i: u32, owners: &[Attribution; 2]) -> Item {
    let ip = |a: u32, b: u32| format!("10.{}.{}.{}", a, b >> 8 & 255, b & 255);
    Item::Close(AttributedClose {
        event: CloseEvent {
            local: format!("{}:40000", ip(1, i)).parse().expect("address"),
            peer: format!("{}:443", ip(2, i % 20)).parse().expect("address"),
            counters: Counters {
                connections: 1,
                bytes_sent: 1000,
                bytes_received: 5000,
                ..Counters::default()
            },
            srtt_us: 100 + i % 900,
            origin: Origin::Connect,
            lifetime_us: None,
            id: None,
            gauges: Default::default(),
            cgroup: None,
            process: None,
        },
        local: owners[0].clone(),
        peer: owners[1].clone(),
    })
}

/// Bytes per pair that `fill` leaves allocated, with `samples` closes per pair.
fn per_pair<T>(samples: u32, fill: impl FnOnce(&[Item]) -> T) -> f64 {
    let owner = |ns: &str| Attribution {
        namespace: ns.into(),
        pod: format!("{ns}-7d9f8b6c5-x2kq").into(),
        node: "ip-10-0-1-23".into(),
        az: "eu-west-1a".into(),
        service: tcptop::attribution::NO_SERVICE.into(),
        workload: tcptop::attribution::NO_WORKLOAD.into(),
        port: None,
        process: None,
    };
    let owners = [owner("shop"), owner("payments")];
    let items: Vec<Item> = (0..PAIRS)
        .flat_map(|i| (0..samples).map(move |_| i))
        .map(|i| close(i, &owners))
        .collect();
    let before = counting::bytes();
    let kept = fill(&items);
    let bytes = counting::bytes() - before;
    drop(kept);
    bytes as f64 / f64::from(PAIRS)
}

fn main() {
    println!("| what is kept, {PAIRS} distinct IP pairs | samples per pair | bytes per pair |");
    println!("|---|---|---|");
    for samples in [1, 3] {
        let once = per_pair(samples, |items| {
            let mut agg = Aggregator::new(vec![Dimension::Ip]);
            items.iter().for_each(|i| agg.add_item(i));
            agg
        });
        println!("| `--once --group-by ip` aggregator | {samples} | {once:.0} |");
        let fine = per_pair(samples, |items| {
            let mut agg = FineAggregator::default();
            items.iter().for_each(|i| agg.add_item(i));
            agg
        });
        println!("| the UI's fine aggregator (every dimension) | {samples} | {fine:.0} |");
        let ledger = per_pair(samples, |items| {
            let mut l = Ledger::new(
                tcptop::collector::Known {
                    rto: true,
                    live: false,
                },
                &[Dimension::Ip],
                10_000,
                usize::MAX,
            );
            items.iter().for_each(|i| l.add(i.clone(), Duration::ZERO));
            l.roll(Duration::from_secs(1));
            l
        });
        println!(
            "| the whole UI ledger, `--group-by ip`, after a roll-over | {samples} | {ledger:.0} |"
        );
    }
    let before = counting::bytes();
    let mut h = hdrhistogram::Histogram::<u32>::new(2).expect("2 significant figures");
    h.record(850).expect("in range");
    println!(
        "| before: one row's HdrHistogram (2 significant figures, one sample) | 1 | {} |",
        counting::bytes() - before
    );
    drop(h);
    let limit = DEFAULT_MAX_ROWS;
    let capped = per_pair(1, |items| {
        let mut l = Ledger::new(
            tcptop::collector::Known {
                rto: true,
                live: false,
            },
            &[Dimension::Ip],
            10_000,
            limit,
        );
        items.iter().for_each(|i| l.add(i.clone(), Duration::ZERO));
        l
    });
    println!(
        "| the UI ledger with the default --max-rows {limit}: {:.1} MB in all | 1 | {capped:.0} (of all {PAIRS} pairs) |",
        capped * f64::from(PAIRS) / 1e6
    );
}
