//! Userspace cost per closed socket without the kernel: attribution and aggregation of
//! synthetic close records, and the allocations each record makes once its row exists
//! (target: 0) (`cargo bench -p tcptop --bench pipeline`).
mod counting;

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Instant,
};

use tcptop::{
    aggregation::{Aggregator, Dimension, KeyFilter},
    attribution::{AttributedClose, IpOnly, Item},
    collector::{CloseEvent, Counters, Origin},
    view::live::LiveTable,
};

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

fn event(i: u32) -> CloseEvent {
    let ip = |n: u32| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n));
    CloseEvent {
        local: SocketAddr::new(ip(i % 50), 40_000 + (i % 20_000) as u16),
        peer: SocketAddr::new(ip(1000 + i % 20), 443),
        counters: Counters {
            connections: u64::from(!i.is_multiple_of(100)),
            failed_connects: u64::from(i.is_multiple_of(100)),
            bytes_sent: 1000 + u64::from(i % 7),
            bytes_received: 20_000,
            retransmits: u64::from(i % 3),
            ..Counters::default()
        },
        srtt_us: 100 + i % 5000,
        origin: Origin::Connect,
        lifetime_us: Some(1000),
        id: None,
        gauges: Default::default(),
        cgroup: None,
        process: None,
    }
}

fn main() {
    let events: Vec<CloseEvent> = (0..1_000_000).map(event).collect();
    let resolver = IpOnly::default();
    for dims in [
        vec![Dimension::Namespace, Dimension::Az],
        vec![Dimension::Ip],
    ] {
        let mut agg = Aggregator::new(dims.clone());
        let start = Instant::now();
        for e in &events {
            agg.add(&AttributedClose::new(e.clone(), &resolver));
        }
        let ns = start.elapsed().as_nanos() as f64 / events.len() as f64;
        // Every row exists now: the same records again, counting allocations.
        let made = counting::made();
        for e in &events {
            agg.add(&AttributedClose::new(e.clone(), &resolver));
        }
        let per = (counting::made() - made) as f64 / events.len() as f64;
        // The UI's table of the same grouping, fed the same records.
        let mut table = LiveTable::new(&dims, &KeyFilter::all(), usize::MAX);
        let items: Vec<Item> = events
            .iter()
            .take(100_000)
            .map(|e| Item::Close(AttributedClose::new(e.clone(), &resolver)))
            .collect();
        items.iter().for_each(|i| table.add(i));
        let made = counting::made();
        items.iter().for_each(|i| table.add(i));
        let ui = (counting::made() - made) as f64 / items.len() as f64;
        let names: Vec<_> = dims.iter().map(|d| d.name()).collect();
        println!(
            "| the UI's table, --group-by {} | {ui:.2} allocations per record of an existing row (target 0) |",
            names.join(",")
        );
        println!(
            "| attribute + aggregate, --group-by {} ({} rows) | {ns:.0} ns per close, {per:.2} allocations per record of an existing row (target 0) |",
            names.join(","),
            agg.len()
        );
    }
}
