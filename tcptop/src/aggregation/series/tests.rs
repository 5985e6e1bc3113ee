//! Tests of the cumulative label sets: caps, folding and the two srtt layouts.
use super::*;
use crate::{
    aggregation::parse_dimensions,
    attribution::{AttributedClose, IpOnly},
    collector::Counters,
    testdata::event,
};

fn close(local: &str, peer: &str, tx: u64, srtt_us: u32) -> Item {
    let counters = Counters {
        connections: 1,
        bytes_sent: tx,
        ..Counters::default()
    };
    Item::Close(AttributedClose::new(
        event(local, peer, counters, srtt_us),
        &IpOnly::default(),
    ))
}

fn store(cap: usize) -> SeriesStore {
    SeriesStore::new(
        parse_dimensions("ip").unwrap(),
        Layout::Seconds,
        Scope::All,
        cap,
    )
}

#[test]
fn seconds_buckets_are_upper_inclusive() {
    let l = Layout::Seconds;
    assert_eq!(l.place(1), (0, 1));
    assert_eq!(l.place(100), (0, 100));
    assert_eq!(l.place(101), (1, 101));
    assert_eq!(l.place(2_500_000).0, 13);
    assert_eq!(l.place(2_500_001).0, 14);
    assert_eq!(l.bound(3), Some(0.001));
    assert_eq!(l.bound(14), None);
    assert_eq!(l.sum(1_500_000), 1.5);
}

#[test]
fn exp2_buckets_are_ebpf_exporters() {
    // floor(log2(srtt_us / 1000)), 0 for 0 and 1 ms, at most 11; the sum is of ms.
    let l = Layout::Exp2Millis;
    assert_eq!(l.place(999), (0, 0));
    assert_eq!(l.place(1_999), (0, 1));
    assert_eq!(l.place(2_000), (1, 2));
    assert_eq!(l.place(3_999), (1, 3));
    assert_eq!(l.place(1_024_000), (10, 1024));
    assert_eq!(l.place(60_000_000), (11, 60_000));
    assert_eq!(l.buckets(), 12);
    assert_eq!(l.bound(11), Some(2048.0));
}

#[test]
fn sums_per_label_set_with_histograms() {
    let mut s = store(10);
    s.add(&close("10.0.0.1:1", "10.0.0.2:80", 10, 90));
    s.add(&close("10.0.0.1:2", "10.0.0.2:80", 20, 300));
    s.add(&close("10.0.0.3:2", "10.0.0.2:80", 5, 0));
    assert_eq!(s.len(), 2);
    let (_, a) = s.iter().find(|(k, _)| &*k.local[0] == "10.0.0.1").unwrap();
    assert_eq!(a.counters.bytes_sent, 30);
    assert_eq!(a.srtt.count, 2);
    assert_eq!(a.srtt.sum, 390);
    assert_eq!((a.srtt.counts[0], a.srtt.counts[2]), (1, 1));
    let (_, b) = s.iter().find(|(k, _)| &*k.local[0] == "10.0.0.3").unwrap();
    assert_eq!(b.srtt.count, 0, "no srtt measured, no sample");
}

#[test]
fn beyond_the_cap_new_label_sets_fold_into_other_and_old_ones_keep_growing() {
    let mut s = store(3);
    for i in 1..=5 {
        s.add(&close(&format!("10.0.0.{i}:1"), "10.0.1.1:80", 100, 50));
    }
    // Two kept, the third set is `other`: exactly the cap.
    assert_eq!(s.len(), 3);
    assert_eq!(s.folded(), 3);
    s.add(&close("10.0.0.1:9", "10.0.1.1:80", 1, 50));
    let other = s.other_key();
    let total: u64 = s.iter().map(|(_, v)| v.counters.bytes_sent).sum();
    assert_eq!(total, 501, "totals stay exact");
    assert_eq!(
        s.iter()
            .find(|(k, _)| **k == other)
            .unwrap()
            .1
            .counters
            .bytes_sent,
        300
    );
    let (_, first) = s.iter().find(|(k, _)| &*k.local[0] == "10.0.0.1").unwrap();
    assert_eq!(first.counters.bytes_sent, 101);
}

#[test]
fn ipv4_scope_skips_ipv6() {
    let mut s = SeriesStore::new(
        parse_dimensions("ip").unwrap(),
        Layout::Exp2Millis,
        Scope::Ipv4,
        10,
    );
    s.add(&close("[fd00::1]:1", "[fd00::2]:80", 10, 5_000));
    s.add(&close("10.0.0.1:1", "10.0.0.2:80", 7, 5_000));
    assert_eq!(s.len(), 1);
    let (_, v) = s.iter().next().unwrap();
    assert_eq!(
        (v.counters.bytes_sent, v.srtt.counts[2], v.srtt.sum),
        (7, 1, 5)
    );
}

#[test]
fn open_sockets_take_a_label_set_while_there_is_room() {
    let mut s = store(3);
    s.add(&close("10.0.0.1:1", "10.0.1.1:80", 100, 50));
    let key = |l: &str| GroupKey {
        local: vec![std::sync::Arc::from(l)].into(),
        peer: vec![std::sync::Arc::from("10.0.1.1")].into(),
    };
    let counts = HashMap::from([
        (key("10.0.0.1"), 2),
        (key("10.0.0.7"), 1),
        (key("10.0.0.8"), 4),
    ]);
    let g = s.gauge(counts);
    assert_eq!(g.values().sum::<u64>(), 7);
    assert_eq!(g.len(), 3);
    assert!(g.contains_key(&s.other_key()));
    assert_eq!(
        s.len(),
        2,
        "the gauge made one new label set, the other folded"
    );
}
