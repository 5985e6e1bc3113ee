//! Tests of the exposition: names derived from the metric table, labels, escaping,
//! families left out when unknown, and the old exporter's series.
use std::sync::Mutex;

use super::*;
use crate::aggregation::Layout;
use crate::{
    aggregation::{parse_dimensions, Scope},
    attribution::{AttributedClose, Attribution, NO_SERVICE, NO_WORKLOAD},
    collector::Counters,
    testdata::event,
};

fn end(ns: &str) -> Attribution {
    Attribution {
        namespace: ns.into(),
        pod: "p".into(),
        node: "n".into(),
        az: "az-1".into(),
        service: NO_SERVICE.into(),
        workload: NO_WORKLOAD.into(),
        port: None,
        process: None,
    }
}

fn state(known: Known, compat: bool) -> Mutex<Exported> {
    let dims = parse_dimensions("namespace").unwrap();
    let mut e = Exported {
        main: SeriesStore::new(dims, Layout::Seconds, Scope::All, 100),
        compat: compat.then(|| {
            SeriesStore::new(
                compat::GROUP_BY.to_vec(),
                Layout::Exp2Millis,
                Scope::Ipv4,
                100,
            )
        }),
        open: OpenSockets::new(10),
        known,
        health: Health::default(),
    };
    let counters = Counters {
        connections: 1,
        bytes_sent: 1000,
        busy_us: 2500,
        ..Counters::default()
    };
    e.add(&Item::Close(AttributedClose {
        event: event("10.0.0.1:5000", "10.0.0.2:80", counters, 1500),
        local: end("we\"b\\"),
        peer: end("db"),
    }));
    Mutex::new(e)
}

#[test]
fn families_come_from_the_metric_table_with_local_and_peer_labels() {
    let text = scrape(&state(
        Known {
            rto: true,
            live: true,
        },
        false,
    ))
    .unwrap();
    let labels = r#"{local_namespace="we\"b\\",peer_namespace="db"}"#;
    assert!(
        text.contains(&format!("tcptop_bytes_sent_total{labels} 1000\n")),
        "{text}"
    );
    assert!(text.contains(&format!("tcptop_connections_total{labels} 1\n")));
    assert!(text.contains(&format!("tcptop_busy_seconds_total{labels} 0.002\n")));
    assert!(text.contains("# TYPE tcptop_open_connections gauge\n"));
    assert!(text.contains("tcptop_rto_total"));
    // srtt 1.5 ms: in the 2.5 ms bucket, not the 1 ms one.
    let bucket = |le: &str| {
        format!(
            r#"tcptop_srtt_seconds_bucket{{local_namespace="we\"b\\",peer_namespace="db",le="{le}"}}"#
        )
    };
    assert!(text.contains(&format!("{} 0\n", bucket("0.001"))), "{text}");
    assert!(text.contains(&format!("{} 1\n", bucket("0.0025"))));
    assert!(text.contains(&format!("{} 1\n", bucket("+Inf"))));
    assert!(text.contains(&format!("tcptop_srtt_seconds_sum{labels} 0.0015\n")));
    assert!(text.contains("tcptop_attached 0\n"));
    assert!(!text.contains("ebpf_exporter"));
}

#[test]
fn what_the_source_cannot_know_is_left_out() {
    let text = scrape(&state(Known::default(), false)).unwrap();
    assert!(!text.contains("tcptop_rto_total"), "{text}");
    assert!(!text.contains("tcptop_open_connections"));
    assert!(!text.contains("tcptop_opened_total"));
}

#[test]
fn the_old_exporters_series_keep_their_names_and_buckets() {
    let text = scrape(&state(Known::default(), true)).unwrap();
    let labels = r#"local_ip="10.0.0.1",local_namespace="we\"b\\",local_az="az-1",peer_ip="10.0.0.2",peer_namespace="db",peer_az="az-1""#;
    assert!(
        text.contains("# TYPE ebpf_exporter_tcp_ipv4_bytes_sent counter\n"),
        "{text}"
    );
    assert!(text.contains(&format!(
        "ebpf_exporter_tcp_ipv4_bytes_sent{{{labels}}} 1000\n"
    )));
    // 1.5 ms is 1 whole ms: bucket 0, le="1"; the sum is of whole ms.
    assert!(text.contains(&format!(
        "ebpf_exporter_tcp_ipv4_srtt_usec_bucket{{{labels},le=\"1\"}} 1\n"
    )));
    assert!(text.contains(&format!(
        "ebpf_exporter_tcp_ipv4_srtt_usec_bucket{{{labels},le=\"2048\"}} 1\n"
    )));
    assert!(text.contains(&format!(
        "ebpf_exporter_tcp_ipv4_srtt_usec_sum{{{labels}}} 1\n"
    )));
}
