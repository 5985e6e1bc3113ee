//! `--metrics-compat ebpf-exporter`: the series a scrape of ebpf_exporter with its
//! tcp-life config produced, so that existing dashboards and alerts keep working. Its
//! program summed `tcp_sock` counters at close per IPv4 pair, labelled `local_ip`,
//! `local_namespace`, `local_az`, `peer_ip`, `peer_namespace` and `peer_az`, and kept an
//! exp2 histogram of srtt in milliseconds (named `_usec`). Like ebpf_exporter, tcptop
//! serves the classic text format, where these counters keep their names without
//! `_total`.
use prometheus::proto::MetricType;

use super::build::{family, label_names, labels, sample, srtt_family, Families};
use crate::{
    aggregation::{Dimension, SeriesStore},
    view::{metric::Num, Known, MetricId, RowStats},
};

/// ebpf_exporter's prefix.
pub const PREFIX: &str = "ebpf_exporter";

/// What the old series were grouped by.
pub const GROUP_BY: [Dimension; 3] = [Dimension::Ip, Dimension::Namespace, Dimension::Az];

/// The old counters, each with the metric it is.
pub const COUNTERS: [(&str, &str, &str); 4] = [
    (
        "tcp_ipv4_bytes_sent",
        "bytes_sent",
        "Bytes sent over IPv4 TCP.",
    ),
    (
        "tcp_ipv4_bytes_recv",
        "bytes_received",
        "Bytes received over IPv4 TCP.",
    ),
    (
        "tcp_ipv4_retrans",
        "retransmits",
        "Segments retransmitted over IPv4 TCP.",
    ),
    ("tcp_ipv4_lost", "lost", "Segments lost over IPv4 TCP."),
];

/// The old histogram.
pub const SRTT: &str = "tcp_ipv4_srtt_usec";

/// The old families from `store` (grouped by [`GROUP_BY`], IPv4 only, srtt in
/// [`crate::aggregation::Layout::Exp2Millis`]).
pub fn families(out: &mut Families, store: &SeriesStore) {
    let names = label_names(store);
    for (old, metric, help) in COUNTERS {
        let id = MetricId::named(metric).expect("a metric of the table");
        let mut f = family(format!("{PREFIX}_{old}"), help, MetricType::COUNTER);
        for (key, s) in store.iter() {
            let stats = RowStats::totals(s.counters, 0, Known::default());
            if let Some(Num::Int(n)) = id.value(&stats) {
                f.mut_metric()
                    .push(sample(labels(&names, key), MetricType::COUNTER, n as f64));
            }
        }
        out.push(f);
    }
    out.push(srtt_family(
        format!("{PREFIX}_{SRTT}"),
        "Smoothed RTT of IPv4 TCP connections at close, in milliseconds.",
        store,
    ));
}
