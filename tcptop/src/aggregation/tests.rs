//! Tests of grouping and summing.
use super::*;
use crate::{
    attribution::{AttributedClose, AttributedFolded, Attribution},
    collector::{CloseEvent, Counters, FoldedTotals},
    testdata::event,
};

fn owner(ns: &str, az: &str) -> Attribution {
    Attribution {
        namespace: ns.into(),
        pod: format!("{ns}-pod").into(),
        node: "node-1".into(),
        az: az.into(),
        service: crate::attribution::NO_SERVICE.into(),
        workload: crate::attribution::NO_WORKLOAD.into(),
        port: None,
        process: None,
    }
}

fn close(local: &str, peer: &str, tx: u64, srtt: u32, failed: bool) -> CloseEvent {
    let counters = Counters {
        connections: u64::from(!failed),
        failed_connects: u64::from(failed),
        bytes_sent: tx,
        bytes_received: 2 * tx,
        retransmits: 1,
        rto_timeouts: 1,
        rto_recoveries: 1,
        rto_time_ms: 5,
        ..Counters::default()
    };
    event(local, peer, counters, srtt)
}

#[test]
fn groups_by_both_ends() {
    let mut agg = Aggregator::new(parse_dimensions("namespace,az").unwrap());
    let (a, b) = (owner("shop", "az-1"), owner("db", "az-2"));
    for (l, p, tx) in [
        ("10.0.0.1:1", "10.0.0.2:80", 10),
        ("10.0.0.3:2", "10.0.0.2:80", 20),
    ] {
        agg.add(&AttributedClose {
            event: close(l, p, tx, 100, false),
            local: a.clone(),
            peer: b.clone(),
        });
    }
    agg.add(&AttributedClose {
        event: close("10.0.0.2:80", "10.0.0.1:1", 5, 0, true),
        local: b.clone(),
        peer: a.clone(),
    });
    assert_eq!(agg.len(), 2);
    let (key, m) = agg.groups().find(|(k, _)| &*k.local[0] == "shop").unwrap();
    assert_eq!(&*key.peer[1], "az-2");
    let c = &m.counters;
    assert_eq!(
        (
            c.connections,
            c.failed_connects,
            c.bytes_sent,
            c.bytes_received
        ),
        (2, 0, 30, 60)
    );
    assert_eq!(c.rto_timeouts, 2);
    assert_eq!(m.srtt.len(), 2);
    let (_, m) = agg.groups().find(|(k, _)| &*k.local[0] == "db").unwrap();
    assert_eq!((m.counters.connections, m.counters.failed_connects), (0, 1));
    assert!(m.srtt.is_empty(), "failed connects carry no srtt");
}

#[test]
fn ip_dimension_uses_addresses() {
    let mut agg = Aggregator::new(vec![Dimension::Ip]);
    let u = Attribution::unknown();
    agg.add(&AttributedClose {
        event: close("[fd00::1]:5", "10.9.9.9:80", 1, 1, false),
        local: u.clone(),
        peer: u,
    });
    let (k, _) = agg.groups().next().unwrap();
    assert_eq!((&*k.local[0], &*k.peer[0]), ("fd00::1", "10.9.9.9"));
}

#[test]
fn folded_totals_count_without_srtt() {
    let mut agg = Aggregator::new(vec![Dimension::Ip]);
    let f = FoldedTotals {
        local: "10.0.0.1".parse().unwrap(),
        peer: "10.0.0.2".parse().unwrap(),
        counters: Counters {
            connections: 3,
            failed_connects: 2,
            bytes_sent: 100,
            bytes_received: 50,
            retransmits: 3,
            lost: 1,
            ..Counters::default()
        },
    };
    agg.add_folded(&AttributedFolded {
        totals: f,
        local: Attribution::unknown(),
        peer: Attribution::unknown(),
        srtt: Default::default(),
    });
    let (_, m) = agg.groups().next().unwrap();
    let c = &m.counters;
    assert_eq!(
        (
            c.connections,
            c.failed_connects,
            c.bytes(),
            c.retransmits,
            c.lost
        ),
        (3, 2, 150, 3, 1)
    );
    assert!(m.srtt.is_empty());
}

#[test]
fn dimension_lists_are_checked() {
    assert_eq!(parse_dimensions("ip").unwrap(), vec![Dimension::Ip]);
    assert!(parse_dimensions("namespace,zone")
        .unwrap_err()
        .contains("unknown dimension 'zone'"));
    assert!(parse_dimensions("az,az").unwrap_err().contains("twice"));
    assert!(parse_dimensions("").is_err());
}

/// A close between 10.0.x.y and 10.1.0.1 with `tx` bytes sent.
fn distinct(i: u32, tx: u64) -> AttributedClose {
    let local = format!("10.0.{}.{}:1000", i / 256, i % 256);
    AttributedClose {
        event: close(&local, "10.1.0.1:80", tx, 100 + i % 50, false),
        local: Attribution::unknown(),
        peer: Attribution::unknown(),
    }
}

#[test]
fn idle_rows_fold_into_other_exactly() {
    let mut agg = Aggregator::with_limit(vec![Dimension::Ip], 100);
    let mut sent = 0;
    for i in 0..10_000u32 {
        agg.add(&distinct(i, u64::from(i)));
        sent += u64::from(i);
        // Pair 0 stays busy: it is never the idle one.
        agg.add(&distinct(0, 1));
        sent += 1;
    }
    assert!(agg.len() <= 100, "{} rows", agg.len());
    let total: Counters = agg.groups().fold(Counters::default(), |mut acc, (_, m)| {
        acc += m.counters;
        acc
    });
    assert_eq!((total.bytes_sent, total.connections), (sent, 20_000));
    let samples: u64 = agg.groups().map(|(_, m)| m.srtt.len()).sum();
    assert_eq!(samples, 20_000, "srtt samples move with their rows");
    let other = agg.get(&agg.other_key()).expect("an other row");
    assert!(other.counters.connections > 9_000);
    assert!(agg.folded() >= 9_900, "{}", agg.folded());
    let busy = agg.key_of(&distinct(0, 0));
    assert!(agg.get(&busy).is_some(), "the busy pair keeps its row");
    let newest = agg.key_of(&distinct(9_999, 0));
    assert!(agg.get(&newest).is_some(), "the newest pair keeps its row");
}

#[test]
fn without_a_limit_nothing_folds() {
    let mut agg = Aggregator::new(vec![Dimension::Ip]);
    for i in 0..1_000 {
        agg.add(&distinct(i, 1));
    }
    assert_eq!((agg.len(), agg.folded()), (1_000, 0));
}

#[test]
fn a_borrowed_key_finds_the_row_its_owned_key_made() {
    use std::hash::BuildHasher;

    use hashbrown::Equivalent;

    let all = Dimension::ALL;
    assert_eq!(all[0], Dimension::Ip);
    assert_eq!(&all[7..], [Dimension::Port, Dimension::Process]);
    let mut server = owner("db", "az-b");
    server.port = Some(5432);
    server.process = Some("postgres".into());
    let client = owner("api", "az-a");
    let ends = [
        ("10.0.0.1".parse().unwrap(), &client),
        ("::ffff:10.0.0.2".parse().unwrap(), &server),
        ("fd00:213:7::1234:5678:9abc".parse().unwrap(), &server),
    ];
    let hasher = foldhash::fast::RandomState::default();
    for dims in [&all[..], &all[..1], &all[7..]] {
        for (i, &a) in ends.iter().enumerate() {
            for (j, &b) in ends.iter().enumerate() {
                let borrowed = KeyRef::new(dims, a, b);
                let owned = borrowed.to_key();
                assert!(borrowed.equivalent(&owned), "{owned:?}");
                assert_eq!(hasher.hash_one(borrowed), hasher.hash_one(&owned));
                let other = KeyRef::new(dims, b, a).to_key();
                assert_eq!(borrowed.equivalent(&other), i == j || other == owned);
            }
        }
    }
    // The aggregator adds to the same row either way.
    let dims = vec![Dimension::Ip, Dimension::Port];
    let mut agg = Aggregator::new(dims.clone());
    let rec = AttributedClose {
        event: close("10.0.0.1:40000", "10.0.0.2:5432", 10, 100, false),
        local: client.clone(),
        peer: server.clone(),
    };
    agg.add(&rec);
    agg.add(&rec);
    assert_eq!(agg.len(), 1);
    let key = agg.key_of(&rec);
    assert_eq!(agg.get(&key).unwrap().counters.bytes_sent, 20);
}

#[test]
fn addresses_read_as_display_writes_them() {
    use std::net::{IpAddr, Ipv4Addr};

    use super::dimension::ValueRef;

    for ip in [0, 1, 9, 10, 99, 100, 199, 255].map(|o| Ipv4Addr::new(o, 255 - o, o / 2, 7)) {
        let text = ValueRef::Ip(IpAddr::V4(ip)).with_str(str::to_string);
        assert_eq!(text, ip.to_string());
    }
}
