//! Snapshot tests of the output formats.
use super::*;
use crate::{
    aggregation::Dimension,
    collector::{
        cost::{BpfStats, Cost},
        Counters,
    },
    view::{Row, RowStats},
};

fn snapshot() -> Snapshot {
    let row = |l: [&str; 2], p: [&str; 2], conns: u64, tx: u64, rto: Option<u64>| Row {
        local: l.iter().map(|s| (*s).into()).collect(),
        peer: p.iter().map(|s| (*s).into()).collect(),
        stats: RowStats {
            counters: Counters {
                connections: conns,
                failed_connects: 1,
                bytes_sent: tx,
                bytes_received: tx / 3,
                retransmits: 7,
                lost: 2,
                rto_timeouts: rto.unwrap_or(0),
                rto_recoveries: rto.unwrap_or(0),
                rto_time_ms: rto.unwrap_or(0) * 200,
                refused: 1,
                resets_received: 1,
                data_segs_out: tx / 1448 + 7,
                busy_us: tx,
                rwnd_limited_us: tx * 3 / 4,
                ..Counters::default()
            },
            srtt_p50_us: Some(850),
            srtt_p90_us: Some(12_300),
            srtt_p99_us: Some(1_200_000),
            srtt_max_us: Some(1_500_000),
            open: 0,
            known: crate::collector::Known {
                rto: rto.is_some(),
                live: false,
            },
        },
        sockets: Vec::new(),
    };
    Snapshot {
        node: "node-a".into(),
        kernel: "6.18.0".into(),
        window_secs: 5.0,
        group_by: vec![Dimension::Namespace, Dimension::Az],
        events_dropped: 3,
        events_lost: 0,
        rows_folded: 0,
        live_sampling_off: Some("this kernel has no BTF iterators".into()),
        sockets_dropped: None,
        cost: Some(Cost {
            wall: std::time::Duration::from_secs(5),
            bpf: Some(BpfStats {
                run_count: 6_000,
                run_time_ns: 900_000,
            }),
            cpu: Some(std::time::Duration::from_millis(20)),
        }),
        rows: vec![
            row(
                ["shop", "eu-west-1a"],
                ["db", "eu-west-1b"],
                120,
                5_000_000,
                Some(4),
            ),
            row(
                ["shop", "eu-west-1a"],
                ["external", "external"],
                3,
                1_500,
                None,
            ),
        ],
    }
}

fn render(format: Format) -> String {
    let mut out = Vec::new();
    write(&snapshot(), format, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn json() {
    insta::assert_snapshot!(render(Format::Json));
}

#[test]
fn csv() {
    insta::assert_snapshot!(render(Format::Csv));
}

#[test]
fn table() {
    insta::assert_snapshot!(render(Format::Table));
}

#[test]
fn json_and_csv_share_the_row_schema() {
    let doc: serde_json::Value = serde_json::from_str(&render(Format::Json)).unwrap();
    let json_keys: Vec<String> = doc["rows"][0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let csv = render(Format::Csv);
    let header: Vec<String> = csv
        .lines()
        .next()
        .unwrap()
        .split(',')
        .map(String::from)
        .collect();
    assert_eq!(json_keys, header);
    assert_eq!(doc["rows"][1]["rto"], serde_json::Value::Null);
    // The second row's `rto` is empty in CSV too.
    let rto = header.iter().position(|h| h == "rto").unwrap();
    assert_eq!(csv.lines().nth(2).unwrap().split(',').nth(rto), Some(""));
    assert_eq!(doc["rows"][0]["limit"], "rwnd");
}

#[test]
fn json_cost_figures_are_null_without_bpf_stats_and_absent_in_a_replay() {
    let json = |cost: Option<Cost>| -> serde_json::Value {
        let mut out = Vec::new();
        write(&Snapshot { cost, ..snapshot() }, Format::Json, &mut out).unwrap();
        serde_json::from_slice(&out).unwrap()
    };
    let off = Cost {
        wall: std::time::Duration::from_secs(5),
        bpf: None,
        cpu: Some(std::time::Duration::from_millis(20)),
    };
    assert_eq!(
        json(Some(off))["cost"],
        serde_json::json!({
            "bpf_stats_enabled": false,
            "bpf_run_count": null,
            "bpf_run_time_ns": null,
            "cpu_secs": 0.02,
        })
    );
    assert_eq!(json(None)["cost"], serde_json::Value::Null);
}

#[test]
fn formats_parse() {
    assert_eq!("csv".parse::<Format>().unwrap(), Format::Csv);
    assert!("xml"
        .parse::<Format>()
        .unwrap_err()
        .contains("table, json or csv"));
}

#[test]
fn the_table_shows_control_characters_escaped() {
    let mut snap = snapshot();
    snap.rows[0].local[0] = "evil\u{1b}[2J".into();
    snap.node = "n\u{7}".into();
    let mut out = Vec::new();
    write(&snap, Format::Table, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
    assert!(
        text.contains("evil\\u{1b}[2J") && text.contains("n\\u{7}"),
        "{text}"
    );
}
