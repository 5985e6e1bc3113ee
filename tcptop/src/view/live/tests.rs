//! Tests of the live store: periods, focus changes, header sums, the ring.
use std::time::Duration;

use super::*;
use crate::{
    aggregation::{Aggregator, GroupKey},
    attribution::{AttributedFolded, Attribution},
    collector::{Counters, FoldedTotals},
    testdata::{close, owner},
    view::{Known, RowStats},
};

const NS_AZ: [Dimension; 2] = [Dimension::Namespace, Dimension::Az];

fn known(rto: bool) -> Known {
    Known { rto, live: false }
}

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn owners() -> (Attribution, Attribution, Attribution) {
    (
        owner("web", "web-1", "n1", "az-a"),
        owner("db", "db-0", "n2", "az-b"),
        owner("web", "web-2", "n1", "az-a"),
    )
}

fn key(l: &[&str], p: &[&str]) -> GroupKey {
    GroupKey {
        local: l.iter().map(|v| (*v).into()).collect(),
        peer: p.iter().map(|v| (*v).into()).collect(),
    }
}

fn row<'a>(ledger: &'a Ledger, period: Period, k: &GroupKey) -> &'a RowStats {
    ledger.table(period).stats(k).expect("row exists")
}

#[test]
fn intervals_roll_and_totals_accumulate() {
    let (web, db, _) = owners();
    let mut l = Ledger::new(known(true), &NS_AZ, 100, usize::MAX);
    l.add(
        Item::Close(close(
            "10.0.0.1:1",
            "10.0.1.1:5432",
            (&web, &db),
            100,
            1000,
            3,
            400,
        )),
        s(0),
    );
    l.roll(s(1));
    l.add(
        Item::Close(close(
            "10.0.0.1:2",
            "10.0.1.1:5432",
            (&web, &db),
            50,
            10,
            0,
            800,
        )),
        s(1),
    );
    l.add(
        Item::Drops(DropCounters {
            folded: 2,
            lost: 1,
            missed: 0,
            unnoted: 0,
        }),
        s(1),
    );
    l.roll(s(3));
    l.refresh(Period::Last);
    l.refresh(Period::Total);
    let k = key(&["web", "az-a"], &["db", "az-b"]);
    let last = row(&l, Period::Last, &k);
    assert_eq!(
        (
            last.counters.connections,
            last.counters.bytes_sent,
            last.counters.retransmits
        ),
        (1, 50, 0)
    );
    assert_eq!(last.srtt_p50_us, Some(800));
    let total = row(&l, Period::Total, &k);
    assert_eq!(
        (
            total.counters.connections,
            total.counters.bytes_sent,
            total.counters.retransmits
        ),
        (2, 150, 3)
    );
    assert_eq!(l.last_interval(), s(2));
    let sum = l.summary(Period::Last, s(3));
    assert_eq!(
        (sum.counters.closes(), sum.counters.bytes(), sum.secs),
        (1, 60, 2.0)
    );
    assert_eq!(sum.per_sec(sum.counters.bytes()), 30.0);
    assert_eq!((sum.drops.folded, sum.drops.lost), (2, 1));
    let sum = l.summary(Period::Total, s(3));
    assert_eq!(
        (
            sum.counters.closes(),
            sum.counters.bytes(),
            sum.counters.retransmits
        ),
        (2, 1160, 3)
    );
    assert_eq!(sum.counters.rto_timeouts, 1);
    // Drops are per interval in the last span: nothing new since the previous roll.
    l.roll(s(4));
    assert_eq!(l.summary(Period::Last, s(4)).drops, DropCounters::default());
    assert_eq!(l.summary(Period::Total, s(4)).drops.folded, 2);
}

#[test]
fn refresh_updates_only_what_changed_and_sees_new_records() {
    let (web, db, web2) = owners();
    let mut l = Ledger::new(known(false), &[Dimension::Pod], 100, usize::MAX);
    l.add(
        Item::Close(close(
            "10.0.0.1:1",
            "10.0.1.1:1",
            (&web, &db),
            10,
            0,
            0,
            100,
        )),
        s(0),
    );
    l.refresh(Period::Last);
    l.refresh(Period::Total);
    let k1 = key(&["web-1"], &["db-0"]);
    assert_eq!(row(&l, Period::Total, &k1).counters.bytes_sent, 10);
    l.add(
        Item::Close(close("10.0.0.1:2", "10.0.1.1:1", (&web, &db), 5, 0, 0, 100)),
        s(0),
    );
    l.add(
        Item::Close(close(
            "10.0.0.2:1",
            "10.0.1.1:1",
            (&web2, &db),
            7,
            0,
            0,
            100,
        )),
        s(0),
    );
    l.refresh(Period::Last);
    l.refresh(Period::Total);
    assert_eq!(row(&l, Period::Total, &k1).counters.bytes_sent, 15);
    assert_eq!(
        row(&l, Period::Total, &key(&["web-2"], &["db-0"]))
            .counters
            .bytes_sent,
        7
    );
    assert_eq!(l.table(Period::Total).rows().count(), 2);
}

#[test]
fn refocusing_rolls_up_every_span_exactly() {
    let (web, db, web2) = owners();
    let recs = [
        close("10.0.0.1:1", "10.0.1.1:1", (&web, &db), 10, 1, 1, 100),
        close("10.0.0.2:1", "10.0.1.1:1", (&web2, &db), 20, 2, 2, 300),
        close("10.0.1.1:1", "10.0.0.1:1", (&db, &web), 40, 4, 0, 900),
    ];
    let mut l = Ledger::new(known(true), &NS_AZ, 100, usize::MAX);
    l.add(Item::Close(recs[0].clone()), s(0));
    l.roll(s(1));
    l.add(Item::Close(recs[1].clone()), s(1));
    l.add(Item::Close(recs[2].clone()), s(1));
    let filter = KeyFilter::all().and(Dimension::Namespace, "web".into(), "db".into());
    l.set_focus(&[Dimension::Pod], &filter);
    l.add(Item::Close(recs[1].clone()), s(1));
    l.roll(s(2));
    l.refresh(Period::Last);
    l.refresh(Period::Total);
    let mut direct = Aggregator::new(vec![Dimension::Pod]);
    for r in [&recs[0], &recs[1], &recs[2], &recs[1]] {
        if filter.matches(r) {
            direct.add(r);
        }
    }
    let total = l.table(Period::Total);
    assert_eq!(total.len(), direct.len());
    for (k, m) in direct.groups() {
        assert_eq!(total.stats(k), Some(&RowStats::new(m, known(true), 0)));
    }
    let k2 = key(&["web-2"], &["db-0"]);
    assert_eq!(row(&l, Period::Last, &k2).counters.connections, 2);
    // Quiet in the last interval, but seen a moment ago: listed, with nothing in it.
    let quiet = l.table(Period::Last).stats(&key(&["web-1"], &["db-0"]));
    assert!(quiet.is_some_and(RowStats::is_quiet), "{quiet:?}");
}

#[test]
fn folded_totals_count_in_tables_and_header() {
    let (web, db, _) = owners();
    let mut l = Ledger::new(known(false), &NS_AZ, 100, usize::MAX);
    let f = FoldedTotals {
        local: "10.0.0.1".parse().unwrap(),
        peer: "10.0.1.1".parse().unwrap(),
        counters: Counters {
            connections: 2,
            failed_connects: 1,
            bytes_sent: 100,
            ..Counters::default()
        },
    };
    l.add(
        Item::Folded(AttributedFolded {
            totals: f,
            local: web,
            peer: db,
            srtt: Default::default(),
        }),
        s(0),
    );
    l.refresh(Period::Last);
    l.refresh(Period::Total);
    let r = row(&l, Period::Total, &key(&["web", "az-a"], &["db", "az-b"]));
    assert_eq!(
        (
            r.counters.connections,
            r.counters.failed_connects,
            r.counters.bytes_sent
        ),
        (2, 1, 100)
    );
    let sum = l.summary(Period::Total, s(1));
    assert_eq!(
        (sum.counters.closes(), sum.counters.failed_connects),
        (3, 1)
    );
    assert!(l.recent().is_empty(), "folded totals carry no connections");
}

#[test]
fn cross_az_share_counts_known_zones_only() {
    let (web, db, web2) = owners();
    let nowhere = owner("x", "x", "x", crate::attribution::UNKNOWN);
    let mut l = Ledger::new(known(false), &NS_AZ, 100, usize::MAX);
    for (o, tx) in [
        ((&web, &db), 300),
        ((&web, &web2), 100),
        ((&web, &nowhere), 5000),
    ] {
        l.add(
            Item::Close(close("10.0.0.1:1", "10.0.1.1:1", o, tx, 0, 0, 1)),
            s(0),
        );
    }
    let sum = l.summary(Period::Total, s(1));
    assert_eq!((sum.cross_az_bytes, sum.zoned_bytes), (300, 400));
    assert_eq!(sum.cross_az_pct(), Some(75.0));
    assert_eq!(
        Ledger::new(known(false), &NS_AZ, 1, usize::MAX)
            .summary(Period::Total, s(1))
            .cross_az_pct(),
        None
    );
}

#[test]
fn the_ring_keeps_the_newest_and_counts_the_rest() {
    let (web, db, _) = owners();
    let mut l = Ledger::new(known(false), &NS_AZ, 3, usize::MAX);
    for i in 0..5u64 {
        let c = close(
            &format!("10.0.0.1:{}", i + 1),
            "10.0.1.1:1",
            (&web, &db),
            i,
            0,
            0,
            1,
        );
        l.add(Item::Close(c), s(i));
    }
    let r = l.recent();
    assert_eq!((r.len(), r.evicted(), r.capacity()), (3, 2, 3));
    let seqs: Vec<u64> = r.newest_first().map(|c| c.seq).collect();
    assert_eq!(seqs, [4, 3, 2]);
    assert_eq!(r.newest_first().next().unwrap().at, s(4));
}

#[test]
fn the_ledger_stays_within_its_row_limit_with_exact_totals() {
    let (web, db, _) = owners();
    let mut l = Ledger::new(known(false), &[Dimension::Ip], 10, 50);
    for i in 0..5_000u64 {
        let local = format!("10.9.{}.{}:1", i / 256, i % 256);
        l.add(
            Item::Close(close(&local, "10.0.1.1:1", (&web, &db), i, 0, 0, 100)),
            s(0),
        );
        if i % 1000 == 999 {
            l.roll(s(i / 1000 + 1));
        }
    }
    l.refresh(Period::Total);
    let table = l.table(Period::Total);
    assert!(table.len() <= 50, "{}", table.len());
    let sent: u64 = table.rows().map(|(_, r)| r.counters.bytes_sent).sum();
    assert_eq!(sent, (0..5_000).sum::<u64>());
    assert_eq!(
        table.rows().count(),
        table.len(),
        "no stale rows are listed"
    );
    assert!(l.folded() > 4_900, "{}", l.folded());
    // Another grouping rolls up from the bounded fine rows, as exactly.
    l.set_focus(&NS_AZ, &KeyFilter::all());
    l.refresh(Period::Total);
    let sent: u64 = l
        .table(Period::Total)
        .rows()
        .map(|(_, r)| r.counters.bytes_sent)
        .sum();
    assert_eq!(sent, (0..5_000).sum::<u64>());
}
