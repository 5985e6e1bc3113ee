//! `--once --connections`, "ss, but aggregated": a pair's row lists exactly the sockets
//! the test opened, open and closed alike, with the values `ss -ti` (iproute2) prints
//! for the open ones and TCP_INFO read before close for the closed ones. Needs root.
mod support;

use std::{collections::HashMap, process::Command, sync::Arc, thread};

use serde_json::Value;
use support::{
    long::LongLived,
    netns::NetPair,
    once::{self, row},
    require_root, traffic,
};

/// What `ss -ti` says of one established socket.
#[derive(Debug, Default)]
struct Ss {
    bytes_sent: u64,
    bytes_received: u64,
    retrans: u64,
    cwnd: u64,
    rtt_ms: f64,
}

/// Parses `ss -tinH state established` output: a line per socket (queues, local, peer)
/// followed by an indented line of `key:value` fields. `ss` leaves out fields that are
/// zero.
fn parse_ss(text: &str) -> HashMap<(String, String), Ss> {
    let mut out = HashMap::new();
    let mut lines = text.lines().peekable();
    while let Some(head) = lines.next() {
        let cols: Vec<&str> = head.split_whitespace().collect();
        if cols.len() < 4 || head.starts_with(char::is_whitespace) {
            continue;
        }
        let mut s = Ss::default();
        if let Some(info) = lines.next_if(|l| l.starts_with(char::is_whitespace)) {
            for field in info.split_whitespace() {
                let Some((k, v)) = field.split_once(':') else {
                    continue;
                };
                match k {
                    "bytes_sent" => s.bytes_sent = v.parse().unwrap(),
                    "bytes_received" => s.bytes_received = v.parse().unwrap(),
                    "cwnd" => s.cwnd = v.parse().unwrap(),
                    "retrans" => s.retrans = v.split('/').nth(1).unwrap().parse().unwrap(),
                    "rtt" => s.rtt_ms = v.split('/').next().unwrap().parse().unwrap(),
                    _ => {}
                }
            }
        }
        out.insert((cols[2].to_string(), cols[3].to_string()), s);
    }
    out
}

fn listed(r: &Value) -> &Vec<Value> {
    r["connections"].as_array().expect("a connections list")
}

#[test]
fn a_pairs_connections_are_its_sockets_with_the_values_ss_prints() {
    if !require_root() {
        return;
    }
    let pair = Arc::new(NetPair::new(68));
    let child = once::start(&["--duration", "3s", "--connections"]);
    let mut long: Vec<LongLived> = (0..4).map(|_| LongLived::open(&pair, 4)).collect();
    for (i, l) in long.iter_mut().enumerate() {
        l.exchange(10_000 * (i + 1), 200_000 + i * 999);
    }
    let p = pair.clone();
    let closed =
        thread::spawn(move || traffic::exchange(&p, 4, &[(3000, 70_000), (50_000, 10), (1, 1)], 1))
            .join()
            .unwrap();
    let doc = once::finish(child);
    let ss = Command::new("ip")
        .args([
            "netns",
            "exec",
            &pair.ns[0],
            "ss",
            "-tinH",
            "state",
            "established",
        ])
        .output()
        .expect("run ss");
    assert!(ss.status.success(), "ss failed");
    let ss = parse_ss(&String::from_utf8_lossy(&ss.stdout));
    let (a, b) = (pair.addr(0, 4), pair.addr(1, 4));
    let conns = listed(row(&doc, a, b));
    // Exactly the client sockets: four open, three closed.
    let mut want: Vec<String> = long
        .iter()
        .map(|l| l.client.local_addr().unwrap().to_string())
        .chain(
            closed
                .iter()
                .filter(|r| r.local.ip() == a)
                .map(|r| r.local.to_string()),
        )
        .collect();
    let mut got: Vec<String> = conns
        .iter()
        .map(|c| c["local"].as_str().unwrap().to_string())
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "the row's sockets");
    for c in conns {
        let (local, peer) = (c["local"].as_str().unwrap(), c["peer"].as_str().unwrap());
        assert_eq!(c["direction"], "out", "{c}");
        if let Some(s) = ss.get(&(local.to_string(), peer.to_string())) {
            eprintln!("{local} -> {peer}: ss {s:?}");
            assert_eq!(c["state"], "ESTAB", "{c}");
            assert_eq!(c["open"], 1, "{c}");
            assert_eq!(c["bytes_sent"], s.bytes_sent, "{c}");
            assert_eq!(c["bytes_received"], s.bytes_received, "{c}");
            assert_eq!(c["retransmits"], s.retrans, "{c}");
            assert_eq!(c["cwnd"], s.cwnd, "{c}");
            let srtt = c["srtt_us"].as_f64().unwrap();
            assert!(
                (srtt - s.rtt_ms * 1000.0).abs() < 0.5,
                "rtt {srtt} us, ss {s:?}"
            );
        } else {
            let r = closed
                .iter()
                .find(|r| r.local.to_string() == local)
                .unwrap_or_else(|| panic!("{local} is neither open nor one the test closed"));
            assert_eq!(c["state"], "CLOSED", "{c}");
            assert_eq!(c["bytes_sent"], r.info.bytes_sent, "{c}");
            assert_eq!(c["bytes_received"], r.info.bytes_received, "{c}");
            assert_eq!(c["retransmits"], r.info.total_retrans, "{c}");
            assert_eq!(c["data_segs_out"], r.info.data_segs_out, "{c}");
            assert_eq!(c["srtt_us"], r.info.rtt_us, "{c}");
            assert!(c["lifetime_us"].as_u64().unwrap() > 0, "{c}");
        }
    }
    // The server's row lists its accepted sockets, inbound.
    let back = listed(row(&doc, b, a));
    assert_eq!(back.len(), 7, "{back:?}");
    assert!(back.iter().all(|c| c["direction"] == "in"), "{back:?}");
    drop(long);
}

#[test]
fn connections_need_json() {
    let out = Command::new(env!("CARGO_BIN_EXE_tcptop"))
        .args(["--once", "--connections"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--output json"), "{err}");
}
