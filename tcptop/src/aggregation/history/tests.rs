//! Tests of the flight recorder: exact round trips, the span, the memory cap.
use super::*;
use crate::{
    attribution::{AttributedClose, IpOnly},
    collector::Counters,
    testdata::event,
};

fn close(local: &str, peer: &str, tx: u64, srtt: u32) -> Item {
    let counters = Counters {
        connections: 1,
        bytes_sent: tx,
        bytes_received: 3 * tx,
        retransmits: 2,
        rto_time_ms: 7,
        busy_us: 1_234_567,
        ..Counters::default()
    };
    Item::Close(AttributedClose::new(
        event(local, peer, counters, srtt),
        &IpOnly::default(),
    ))
}

#[test]
fn rows_round_trip_exactly() {
    let mut m = Metrics::default();
    for (tx, srtt) in [(10, 90), (1 << 40, 300_000), (5, 91)] {
        if let Item::Close(c) = close("10.0.0.1:1", "10.0.0.2:80", tx, srtt) {
            m.add_event(&c.event);
        }
    }
    let mut data = Vec::new();
    codec::put_row(&mut data, 7, &m);
    codec::put_row(&mut data, 1 << 20, &Metrics::default());
    let mut at = 0;
    let (id, back) = codec::take_row(&data, &mut at).unwrap();
    assert_eq!((id, &back.counters), (7, &m.counters));
    assert_eq!(back.srtt, m.srtt);
    assert_eq!(back.srtt.max(), Some(300_000));
    let (id, empty) = codec::take_row(&data, &mut at).unwrap();
    assert_eq!((id, empty.counters), (1 << 20, Counters::default()));
    assert!(codec::take_row(&data, &mut at).is_none());
    assert!(
        data.len() < 40,
        "compact: {} bytes for two rows",
        data.len()
    );
}

#[test]
fn seconds_come_back_with_their_pairs_and_numbers() {
    let mut h = History::new(Duration::from_secs(60), 1 << 20);
    h.add(&close("10.0.0.1:1", "10.0.0.2:80", 100, 50));
    h.add(&close("10.0.0.1:2", "10.0.0.2:80", 200, 70));
    h.seal(1000);
    h.add(&close("10.0.0.3:1", "10.0.0.2:80", 5, 10));
    h.seal(1001);
    h.add(&close("10.0.0.3:1", "10.0.0.2:80", 6, 10));
    let secs: Vec<_> = h.seconds(0, u64::MAX).collect();
    assert_eq!(secs.len(), 2);
    let (t, rows) = &secs[0];
    assert_eq!((*t, rows.len()), (1000, 1));
    assert_eq!(rows[0].totals.counters.bytes_sent, 300);
    assert_eq!(rows[0].totals.counters.connections, 2);
    assert_eq!(rows[0].srtt.len(), 2);
    assert_eq!(rows[0].local.pod.as_ref(), "unknown");
    assert_eq!(h.seconds(1000, u64::MAX).count(), 1, "after 1000 only");
    assert_eq!(h.seconds(0, 1000).count(), 1, "up to 1000 only");
    assert_eq!(h.current()[0].totals.counters.bytes_sent, 6);
    assert_eq!(h.held().pairs, 2);
    // Summed per pair over the seconds.
    h.add(&close("10.0.0.1:1", "10.0.0.2:80", 1000, 90));
    h.seal(1002);
    let snap = h.snapshot(0, u64::MAX);
    assert_eq!((snap.oldest(), snap.newest()), (Some(1000), Some(1002)));
    let mut merged = snap.merged();
    merged.sort_by_key(|r| r.totals.local);
    assert_eq!(merged.len(), 2);
    assert_eq!(merged[0].totals.counters.bytes_sent, 1300);
    assert_eq!(merged[0].totals.counters.connections, 3);
    assert_eq!(merged[0].srtt.len(), 3);
    assert_eq!(merged[1].totals.counters.bytes_sent, 11);
}

#[test]
fn seconds_older_than_the_span_go_and_their_pairs_with_them() {
    let mut h = History::new(Duration::from_secs(10), 1 << 20);
    for t in 0..30u64 {
        h.add(&close(
            &format!("10.0.{}.{}:1", t / 200, t % 200 + 1),
            "10.0.9.9:80",
            1,
            5,
        ));
        h.seal(1000 + t);
    }
    let held = h.held();
    assert_eq!(held.seconds, 10);
    assert_eq!(held.oldest, Some(1020));
    assert_eq!(held.pairs, 10, "the pairs of dropped seconds are released");
    assert_eq!(held.evicted, 0);
}

#[test]
fn the_memory_cap_holds_under_a_churn_of_distinct_pairs() {
    let cap = 200_000;
    let mut h = History::new(Duration::from_secs(1800), cap);
    for t in 0..600u64 {
        for i in 0..50u64 {
            let n = t * 50 + i;
            h.add(&close(
                &format!("10.{}.{}.{}:1", n >> 16 & 255, n >> 8 & 255, n & 255),
                "10.255.0.1:80",
                n,
                100,
            ));
        }
        h.seal(t);
        assert!(h.bytes() <= cap, "{} bytes at {t}", h.bytes());
    }
    let held = h.held();
    assert!(held.evicted > 0 && held.seconds < 600, "{held:?}");
    // What is held is the most recent, whole.
    let last: Vec<_> = h.seconds(598, 599).collect();
    assert_eq!(last[0].1.len(), 50);
}
