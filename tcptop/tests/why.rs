//! "Why is it slow", from the real `tcptop --once` binary against the kernel's own
//! TCP_INFO over real sockets in network namespaces: RETR% per data segment under
//! loss, what limited each pair (and the busy and limited times behind it), refused and
//! timed-out connects, and resets. Needs root.
mod support;

use std::{
    io::{ErrorKind, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::Arc,
    thread,
    time::Duration,
};

use serde_json::Value;
use support::{
    netns::NetPair,
    once::{self, row},
    require_root,
    shaped::{self, Shape},
    traffic::{self, SocketReport},
};

#[test]
fn retransmit_share_is_exact_per_data_segment_under_loss() {
    if !require_root() {
        return;
    }
    let pair = Arc::new(NetPair::new(62));
    pair.add_loss(0, 3);
    pair.add_loss(1, 3);
    let child = once::start(&["--duration", "5s"]);
    let p = pair.clone();
    let reports = thread::spawn(move || {
        let sizes: Vec<(usize, usize)> = (0..24).map(|i| (60_000 + i * 5000, 30_000)).collect();
        traffic::exchange(&p, 4, &sizes, 6)
    })
    .join()
    .unwrap();
    let doc = once::finish(child);
    let mut seen_retrans = 0;
    for (l, p) in [(0, 1), (1, 0)] {
        let (local, peer) = (pair.addr(l, 4), pair.addr(p, 4));
        let mine: Vec<&SocketReport> = reports
            .iter()
            .filter(|r| r.local.ip() == local && r.peer.ip() == peer)
            .collect();
        let segs: u64 = mine.iter().map(|r| u64::from(r.info.data_segs_out)).sum();
        let retrans: u64 = mine.iter().map(|r| u64::from(r.info.total_retrans)).sum();
        let r = row(&doc, local, peer);
        assert_eq!(r["data_segs_out"], segs, "data segments {local} -> {peer}");
        assert_eq!(r["retransmits"], retrans, "retransmits {local} -> {peer}");
        eprintln!(
            "{local} -> {peer}: RETR% {:.2} = {retrans} / {segs} segments",
            retrans as f64 * 100.0 / segs as f64
        );
        seen_retrans += retrans;
    }
    assert!(seen_retrans > 0, "3% loss must cause retransmissions");
}

/// The row of the client's side of `pair` must name `limit`, with exactly the busy and
/// limited times of the client's TCP_INFO; the server's row those of its own.
fn check_limit(
    doc: &Value,
    pair: &NetPair,
    (client, server): (SocketReport, SocketReport),
    limit: &str,
) {
    for (r, sock) in [(0, &client), (1, &server)] {
        let row = row(doc, pair.addr(r, 4), pair.addr(1 - r, 4));
        let i = &sock.info;
        eprintln!(
            "{} -> {}: busy {} us, rwnd {} us, sndbuf {} us; tcptop says {}",
            sock.local,
            sock.peer,
            i.busy_time_us,
            i.rwnd_limited_us,
            i.sndbuf_limited_us,
            row["limit"]
        );
        assert_eq!(
            row["busy_ms"],
            i.busy_time_us / 1000,
            "busy of {}",
            sock.local
        );
        assert_eq!(
            row["rwnd_limited_ms"],
            i.rwnd_limited_us / 1000,
            "rwnd of {}",
            sock.local
        );
        assert_eq!(
            row["sndbuf_limited_ms"],
            i.sndbuf_limited_us / 1000,
            "sndbuf of {}",
            sock.local
        );
    }
    let row = row(doc, pair.addr(0, 4), pair.addr(1, 4));
    assert_eq!(row["limit"], limit, "{row}");
}

#[test]
fn limit_names_what_held_each_pair_back() {
    if !require_root() {
        return;
    }
    let (rwnd, sndbuf, network) = (
        Arc::new(NetPair::new(63)),
        Arc::new(NetPair::new(64)),
        Arc::new(NetPair::new(65)),
    );
    // Behind a 50 Mbit/s link, 8 KiB in flight (twice the 4 KiB asked) is not enough.
    // Without segmentation offload, so that one write cannot queue a 64 KiB segment
    // past the buffer's limit.
    sndbuf.bottleneck(0, "50mbit");
    let dev = sndbuf.dev[0].clone();
    sndbuf.exec(
        0,
        &["ip", "link", "set", "dev", &dev, "gso_max_size", "1500"],
    );
    network.bottleneck(0, "20mbit");
    network.add_loss(1, 3);
    let child = once::start(&["--duration", "6s"]);
    let run = |pair: &Arc<NetPair>, shape: Shape| {
        let p = pair.clone();
        thread::spawn(move || shaped::transfer(&p, shape))
    };
    // A receiver that reads 512 bytes a millisecond from a 4 KiB buffer.
    let slow_reader = run(
        &rwnd,
        Shape {
            bytes: 400_000,
            rcvbuf: Some(4096),
            write_chunk: 64 * 1024,
            read_chunk: 512,
            read_pause: Duration::from_millis(1),
            ..Shape::default()
        },
    );
    // A sender whose 64 KiB bursts never fit its 4 KiB buffer.
    let small_buffer = run(
        &sndbuf,
        Shape {
            bytes: 2_000_000,
            sndbuf: Some(4096),
            write_chunk: 64 * 1024,
            read_chunk: 64 * 1024,
            ..Shape::default()
        },
    );
    // A bulk transfer through a 20 Mbit/s bottleneck with 3% loss.
    let bulk = run(
        &network,
        Shape {
            bytes: 3_000_000,
            write_chunk: 64 * 1024,
            read_chunk: 64 * 1024,
            ..Shape::default()
        },
    );
    let (slow_reader, small_buffer, bulk) = (
        slow_reader.join().unwrap(),
        small_buffer.join().unwrap(),
        bulk.join().unwrap(),
    );
    let doc = once::finish(child);
    check_limit(&doc, &rwnd, slow_reader, "rwnd");
    check_limit(&doc, &sndbuf, small_buffer, "sndbuf");
    check_limit(&doc, &network, bulk, "network");
}

#[test]
fn refused_and_timed_out_connects_and_their_resets_are_counted_apart() {
    if !require_root() {
        return;
    }
    let pair = Arc::new(NetPair::new(66));
    // SYNs to port 7 vanish; a connect there gives up after one retry (1 s + 2 s).
    pair.exec(1, &["nft", "add", "table", "inet", "syn"]);
    pair.exec(
        1,
        &[
            "nft",
            "add",
            "chain",
            "inet",
            "syn",
            "in",
            "{ type filter hook input priority 0; }",
        ],
    );
    pair.exec(
        1,
        &[
            "nft", "add", "rule", "inet", "syn", "in", "tcp", "dport", "7", "drop",
        ],
    );
    pair.exec(
        0,
        &["sh", "-c", "echo 1 > /proc/sys/net/ipv4/tcp_syn_retries"],
    );
    let child = once::start(&["--duration", "6s"]);
    traffic::refused_connects(&pair, 4, 3);
    let to = SocketAddr::new(pair.addr(1, 4), 7);
    let timeouts: Vec<_> = (0..2)
        .map(|_| {
            pair.run_in(0, move || {
                let err = TcpStream::connect(to).expect_err("SYNs to port 7 are dropped");
                assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
            })
        })
        .collect();
    timeouts.into_iter().for_each(|t| t.join().unwrap());
    let doc = once::finish(child);
    let (a, b) = (pair.addr(0, 4), pair.addr(1, 4));
    let out = row(&doc, a, b);
    assert_eq!(
        (&out["failed_connects"], &out["refused"], &out["timed_out"]),
        (&5.into(), &3.into(), &2.into()),
        "{out}"
    );
    // Each refusal is a reset b sent and a received.
    assert_eq!(out["resets_received"], 3, "{out}");
    assert_eq!(out["resets_sent"], 0, "{out}");
    let back = row(&doc, b, a);
    assert_eq!(
        (&back["resets_sent"], &back["resets_received"]),
        (&3.into(), &0.into()),
        "{back}"
    );
}

#[test]
fn closing_with_unread_data_resets_and_both_ends_count_it() {
    if !require_root() {
        return;
    }
    let pair = Arc::new(NetPair::new(67));
    let server_ip = pair.addr(1, 4);
    let listener = pair
        .run_in(1, move || {
            TcpListener::bind(SocketAddr::new(server_ip, 0)).unwrap()
        })
        .join()
        .unwrap();
    let to = listener.local_addr().unwrap();
    const N: usize = 4;
    let child = once::start(&["--duration", "3s"]);
    let server = thread::spawn(move || {
        for _ in 0..N {
            let (s, _) = listener.accept().unwrap();
            // Wait for the client's bytes, then close without reading them.
            let mut peek = [0u8; 1];
            s.peek(&mut peek).unwrap();
            drop(s);
        }
    });
    pair.run_in(0, move || {
        for _ in 0..N {
            let mut s = TcpStream::connect(to).unwrap();
            s.write_all(&[1u8; 1000]).unwrap();
            let mut buf = [0u8; 16];
            let err = s.read(&mut buf).expect_err("the server resets");
            assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
        }
    })
    .join()
    .unwrap();
    server.join().unwrap();
    let doc = once::finish(child);
    let (a, b) = (pair.addr(0, 4), pair.addr(1, 4));
    let client = row(&doc, a, b);
    let server = row(&doc, b, a);
    assert_eq!(
        (&client["resets_received"], &client["resets_sent"]),
        (&N.into(), &0.into()),
        "{client}"
    );
    assert_eq!(
        (&server["resets_sent"], &server["resets_received"]),
        (&N.into(), &0.into()),
        "{server}"
    );
}
