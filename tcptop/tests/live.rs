//! Live sampling against the kernel's own TCP_INFO: long-lived connections, some open
//! before tcptop starts and some opened in its window, all open past its end, move
//! known bytes over a lossy path; each row counts exactly what they did in the window.
//! Needs root (CI runs it as root).
mod support;

use std::{collections::HashMap, net::IpAddr, process::Child, thread, time::Duration};

use serde_json::Value;
use support::{
    long::{delta, LongLived},
    netns::NetPair,
    once, require_root,
    tcpinfo::TcpInfo,
    traffic,
};

/// The rows of a `--once --group-by ip` snapshot by (local, peer).
fn rows(child: Child) -> (Value, HashMap<(String, String), Value>) {
    let doc = once::finish(child);
    let rows = doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let key = (
                r["local_ip"].as_str().unwrap().to_string(),
                r["peer_ip"].as_str().unwrap().to_string(),
            );
            (key, r.clone())
        })
        .collect();
    (doc, rows)
}

/// What the sockets of one direction did: sums of bytes sent, bytes received,
/// retransmits, and the number of sockets.
#[derive(Debug, Default)]
struct Expect {
    sent: u64,
    received: u64,
    retrans: u64,
    sockets: u64,
    opened: u64,
}

impl Expect {
    fn add(&mut self, end: &TcpInfo, start: &TcpInfo, opened: bool) {
        let (s, r, x) = delta(end, start);
        self.sent += s;
        self.received += r;
        self.retrans += x;
        self.sockets += 1;
        self.opened += u64::from(opened);
    }
}

/// Checks row `local -> peer` against `want`: bytes exact, retransmits at least, and
/// `open` (still open at the end) and `opened` exact.
fn check(
    rows: &HashMap<(String, String), Value>,
    local: IpAddr,
    peer: IpAddr,
    want: &Expect,
    open: u64,
) {
    let row = rows
        .get(&(local.to_string(), peer.to_string()))
        .unwrap_or_else(|| panic!("no row {local} -> {peer}"));
    let n = |f: &str| {
        row[f]
            .as_u64()
            .unwrap_or_else(|| panic!("{f} of {local} -> {peer}: {row}"))
    };
    assert_eq!(n("bytes_sent"), want.sent, "bytes_sent {local} -> {peer}");
    assert_eq!(
        n("bytes_received"),
        want.received,
        "bytes_received {local} -> {peer}"
    );
    assert!(
        n("retransmits") >= want.retrans,
        "retransmits {local} -> {peer}: {row} < {want:?}"
    );
    assert_eq!(n("open"), open, "open {local} -> {peer}");
    assert_eq!(n("opened"), want.opened, "opened {local} -> {peer}");
}

#[test]
fn long_lived_connections_count_exactly_what_they_did_in_the_window() {
    if !require_root() {
        return;
    }
    let pair = NetPair::new(53);
    pair.add_loss(0, 3);
    pair.add_loss(1, 3);
    let mut retransmitted = 0;
    for family in [4u8, 6] {
        // Open before tcptop, busy before it starts, then quiet until its window.
        let mut before: Vec<LongLived> = (0..3).map(|_| LongLived::open(&pair, family)).collect();
        before.iter_mut().for_each(|c| c.exchange(50_000, 20_000));
        let base: Vec<(TcpInfo, TcpInfo)> = before.iter().map(LongLived::infos).collect();
        let child = once::start(&["--duration", "5s", "--no-kube"]);
        let mut during: Vec<LongLived> = (0..2).map(|_| LongLived::open(&pair, family)).collect();
        // Two rounds, a pass or more apart, on every connection.
        for round in 0..2 {
            for (i, c) in before.iter_mut().chain(during.iter_mut()).enumerate() {
                c.exchange(30_000 + 1_000 * i + round, 70_000 - 500 * i);
            }
            thread::sleep(Duration::from_millis(1_300));
        }
        let (mut client, mut server) = (Expect::default(), Expect::default());
        for (c, (bc, bs)) in before.iter().zip(&base) {
            let (ec, es) = c.infos();
            client.add(&ec, bc, false);
            server.add(&es, bs, false);
        }
        for c in &during {
            let (ec, es) = c.infos();
            client.add(&ec, &TcpInfo::default(), true);
            server.add(&es, &TcpInfo::default(), true);
        }
        // Everything stays open past the window's end.
        let (_, rows) = rows(child);
        let (a, b) = (pair.addr(0, family), pair.addr(1, family));
        check(&rows, a, b, &client, 5);
        check(&rows, b, a, &server, 5);
        retransmitted += client.retrans + server.retrans;
        drop((before, during));
    }
    assert!(
        retransmitted > 0,
        "3% loss retransmitted nothing: the test proves little"
    );
}

#[test]
fn a_socket_sampled_then_closed_counts_once() {
    if !require_root() {
        return;
    }
    let pair = NetPair::new(54);
    pair.add_loss(1, 3);
    let mut c = LongLived::open(&pair, 4);
    c.exchange(10_000, 10_000);
    let (bc, bs) = c.infos();
    let child = once::start(&["--duration", "4s", "--no-kube"]);
    c.exchange(40_000, 80_000);
    // A pass sees it open...
    thread::sleep(Duration::from_millis(1_500));
    c.exchange(60_000, 5_000);
    // ...then it closes in the window: counted once, up to its close.
    let (ec, es) = c.close();
    let (_, rows) = rows(child);
    let (mut client, mut server) = (Expect::default(), Expect::default());
    client.add(&ec, &bc, false);
    server.add(&es, &bs, false);
    let (a, b) = (pair.addr(0, 4), pair.addr(1, 4));
    check(&rows, a, b, &client, 0);
    check(&rows, b, a, &server, 0);
    let row = &rows[&(a.to_string(), b.to_string())];
    assert_eq!(row["connections"], 1, "{row}");
}

#[test]
fn sockets_in_three_network_namespaces_are_all_found() {
    if !require_root() {
        return;
    }
    let pairs: Vec<NetPair> = (55..58).map(NetPair::new).collect();
    // Opened before tcptop: only the walk of open files can find them.
    let mut conns: Vec<LongLived> = pairs.iter().map(|p| LongLived::open(p, 4)).collect();
    let base: Vec<(TcpInfo, TcpInfo)> = conns.iter().map(LongLived::infos).collect();
    let child = once::start(&["--duration", "3s", "--no-kube"]);
    conns.iter_mut().for_each(|c| c.exchange(12_345, 54_321));
    let ends: Vec<(TcpInfo, TcpInfo)> = conns.iter().map(LongLived::infos).collect();
    let (doc, rows) = rows(child);
    assert_eq!(
        doc["live_sampling"], true,
        "{}",
        doc["live_sampling_reason"]
    );
    for ((p, (bc, bs)), (ec, es)) in pairs.iter().zip(&base).zip(&ends) {
        let (mut client, mut server) = (Expect::default(), Expect::default());
        client.add(ec, bc, false);
        server.add(es, bs, false);
        check(&rows, p.addr(0, 4), p.addr(1, 4), &client, 1);
        check(&rows, p.addr(1, 4), p.addr(0, 4), &server, 1);
    }
    drop(conns);
}

#[test]
fn without_live_sampling_only_closed_connections_count_and_it_says_why() {
    if !require_root() {
        return;
    }
    let pair = NetPair::new(58);
    let mut open = LongLived::open(&pair, 4);
    let child = once::start(&["--duration", "2s", "--no-kube", "--no-live"]);
    open.exchange(20_000, 20_000);
    let reports = traffic::exchange(&pair, 4, &[(1_000, 2_000)], 1);
    let doc = once::finish(child);
    assert_eq!(doc["live_sampling"], false);
    assert!(
        doc["live_sampling_reason"]
            .as_str()
            .unwrap()
            .contains("--no-live"),
        "{doc}"
    );
    let (a, b) = (pair.addr(0, 4), pair.addr(1, 4));
    let row = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["local_ip"] == a.to_string().as_str() && r["peer_ip"] == b.to_string().as_str())
        .expect("the closed connection's row");
    let (_, sent, _, _) = traffic::sums(&reports, a, b);
    assert_eq!(
        row["bytes_sent"].as_u64(),
        Some(sent),
        "the open connection is not counted"
    );
    assert_eq!(
        (row["open"].clone(), row["opened"].clone()),
        (Value::Null, Value::Null)
    );
    drop(open);
}
