//! Writes the demo recording used by the UI's snapshot tests and `cargo xtask
//! screenshots`: twelve seconds of a small three-zone cluster seen from one node, with
//! one unhappy pair (payments -> db across zones, with loss and RTO stalls).
//! Deterministic: the same file every time.
//!
//! `cargo run -p tcptop --example demo_recording -- tcptop/tests/fixtures/demo.jsonl`
use std::{net::SocketAddr, path::PathBuf, time::Duration};

use tcptop::{
    attribution::{AttributedClose, AttributedFolded, Attribution, Item},
    collector::{CloseEvent, Counters, DropCounters, FoldedTotals, Gauges, Origin},
    record::{Header, Recorder, FORMAT, VERSION},
};

/// The collector's drop counters after the burst.
const DROPS: DropCounters = DropCounters {
    folded: 3,
    lost: 0,
    missed: 0,
    unnoted: 0,
};

/// A pod (or the node, or an outside address): its owner and address.
struct End {
    owner: Attribution,
    ip: &'static str,
}

/// The controller a pod's name tells of: `api-7c9f8b-qx4s` is `Deployment/api`,
/// `redis-0` is `StatefulSet/redis`; anything else owns itself.
fn workload(pod: &str) -> String {
    let parts: Vec<&str> = pod.rsplitn(3, '-').collect();
    match parts.as_slice() {
        [_, _, name] => format!("Deployment/{name}"),
        [n, name] if n.parse::<u32>().is_ok() => format!("StatefulSet/{name}"),
        _ => pod.to_string(),
    }
}

fn end(ns: &str, pod: &str, node: &str, az: &str, ip: &'static str) -> End {
    End {
        owner: Attribution {
            namespace: ns.into(),
            pod: pod.into(),
            node: node.into(),
            az: az.into(),
            service: tcptop::attribution::NO_SERVICE.into(),
            workload: workload(pod).into(),
            port: None,
            process: None,
        },
        ip,
    }
}

/// A deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
}

/// One kind of traffic between two ends.
struct Flow {
    from: usize,
    to: usize,
    port: u16,
    per_sec: f64,
    tx: (u64, u64),
    rx: (u64, u64),
    srtt_us: u32,
    /// Chance that a connection retransmits, and how much.
    retrans: (f64, u64),
    /// Chance of an RTO stall (srtt and lifetime grow).
    rto: f64,
    /// Chance that the connect fails.
    fail: f64,
}

fn main() -> anyhow::Result<()> {
    let path: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| "tcptop/tests/fixtures/demo.jsonl".into());
    let (a, b, c) = ("eu-west-1a", "eu-west-1b", "eu-west-1c");
    let (na, nb, nc) = ("ip-10-0-1-23", "ip-10-0-2-41", "ip-10-0-3-17");
    let ends = [
        end("shop", "frontend-6d9f7c-x2kq", na, a, "10.0.1.10"),
        end("shop", "cart-5b8d4f-rr2m", na, a, "10.0.1.12"),
        end("payments", "api-7c9f8b-qx4s", na, a, "10.0.1.20"),
        end("db", "redis-0", na, a, "10.0.1.31"),
        end("db", "postgres-0", nb, b, "10.0.2.30"),
        end("db", "redis-1", nc, c, "10.0.3.32"),
        end("kube-system", "coredns-5d78c9-kq2tz", nc, c, "10.0.3.40"),
        end("monitoring", "prometheus-0", nb, b, "10.0.2.50"),
        end("unknown", "unknown", "unknown", "unknown", "52.94.133.131"),
        end("shop", "frontend-6d9f7c-p8zt", nb, b, "10.0.2.11"),
    ];
    let flow = |from, to, port, per_sec, tx, rx, srtt_us| Flow {
        from,
        to,
        port,
        per_sec,
        tx,
        rx,
        srtt_us,
        retrans: (0.0, 0),
        rto: 0.0,
        fail: 0.0,
    };
    let flows = [
        flow(0, 1, 8080, 5.0, (800, 4_000), (2_000, 60_000), 90),
        flow(0, 2, 8443, 4.0, (1_500, 6_000), (500, 3_000), 110),
        Flow {
            retrans: (0.05, 2),
            ..flow(1, 4, 5432, 3.0, (2_000, 40_000), (10_000, 900_000), 1_100)
        },
        Flow {
            retrans: (0.35, 4),
            rto: 0.08,
            ..flow(2, 4, 5432, 2.5, (5_000, 80_000), (20_000, 2_000_000), 1_400)
        },
        Flow {
            fail: 0.15,
            ..flow(2, 5, 6379, 2.0, (300, 2_000), (300, 4_000), 1_250)
        },
        flow(1, 3, 6379, 3.0, (200, 1_500), (200, 8_000), 45),
        flow(2, 6, 53, 1.5, (60, 120), (100, 400), 950),
        flow(7, 0, 9090, 0.5, (20_000, 60_000), (200, 300), 700),
        Flow {
            retrans: (0.1, 1),
            ..flow(0, 8, 443, 0.8, (2_000, 9_000), (5_000, 300_000), 18_000)
        },
        flow(9, 1, 8080, 2.0, (800, 4_000), (2_000, 60_000), 680),
    ];
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        tcptop: env!("CARGO_PKG_VERSION").into(),
        node: na.into(),
        kernel: "6.18.4-cloud-amd64".into(),
        rto: true,
        live: false,
        started_unix_ms: 1_767_225_600_000,
    };
    let mut rec = Recorder::create(&path, &header)?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut port = 40_000u16;
    let mut items: Vec<(u64, Item)> = Vec::new();
    for ms in (0..12_000u64).step_by(100) {
        // The unhappy pair gets worse in the last four seconds.
        let surge = if ms >= 8_000 { 2.0 } else { 1.0 };
        for (i, f) in flows.iter().enumerate() {
            let boost = if i == 3 { surge } else { 1.0 };
            if rng.unit() >= f.per_sec * boost / 10.0 {
                continue;
            }
            port = port.wrapping_add(1).max(40_000);
            let t = ms + rng.range(0, 100);
            let (from, to) = (&ends[f.from], &ends[f.to]);
            let failed = rng.unit() < f.fail;
            let stalled = !failed && rng.unit() < f.rto * boost;
            let retrans = if failed {
                rng.range(2, 6)
            } else if rng.unit() < f.retrans.0 * boost {
                rng.range(1, f.retrans.1 + 1)
            } else {
                0
            } + u64::from(stalled) * rng.range(1, 4);
            let jitter = 0.6
                + 0.8 * rng.unit()
                + if rng.unit() < 0.03 {
                    8.0 * rng.unit()
                } else {
                    0.0
                };
            let srtt = if failed {
                0
            } else {
                (f64::from(f.srtt_us) * jitter) as u32 + u32::from(stalled) * 40_000
            };
            let (tx, rx) = if failed {
                (0, 0)
            } else {
                (rng.range(f.tx.0, f.tx.1), rng.range(f.rx.0, f.rx.1))
            };
            let rto_timeouts = u64::from(stalled) + u64::from(failed) * retrans;
            let rto_time_ms = if stalled { rng.range(200, 1_600) } else { 0 };
            let lifetime = if failed {
                3_000_000
            } else {
                rng.range(2_000, 900_000) + rto_time_ms * 1000
            };
            let event = |local: &End, peer: &End, lport, pport, tx: u64, rx: u64, origin| {
                let failed_connect = failed && origin == Origin::Connect;
                // Busy for as long as the bytes take at 100 Mbit/s, plus stalls; bulk
                // senders wait on their receiver for most of it when they connected,
                // on their own writes when they accepted.
                let busy_us = tx / 12 + rto_time_ms * 1000;
                let bulk = tx > 2 * rx.max(1);
                let (rwnd, sndbuf) = match (bulk, origin) {
                    (false, _) => (0, 0),
                    (true, Origin::Connect) => (busy_us * 3 / 5, 0),
                    (true, _) => (0, busy_us * 3 / 5),
                };
                // Ten segments and one more per 10 segments sent, halved by loss.
                let cwnd = (10 + tx / 14_480).min(60) as u32;
                let (cwnd, ssthresh) = match retrans {
                    0 => (cwnd, 0x7fff_ffff),
                    _ => ((cwnd / 2).max(2), (cwnd / 2).max(2)),
                };
                let gauges = match failed {
                    true => Gauges::default(),
                    false => Gauges {
                        rttvar_us: (srtt / 4).max(30),
                        cwnd,
                        ssthresh,
                        unacked: 0,
                        delivery_rate: (tx * 1_000_000).checked_div(busy_us).unwrap_or(0),
                        mss: 1448,
                    },
                };
                CloseEvent {
                    local: SocketAddr::new(local.ip.parse().unwrap(), lport),
                    peer: SocketAddr::new(peer.ip.parse().unwrap(), pport),
                    counters: {
                        Counters {
                            connections: u64::from(!failed_connect),
                            failed_connects: u64::from(failed_connect),
                            refused: u64::from(failed_connect && retrans < 4),
                            timed_out: u64::from(failed_connect && retrans >= 4),
                            bytes_sent: tx,
                            bytes_received: rx + u64::from(!failed),
                            data_segs_out: tx.div_ceil(1448) + retrans,
                            retransmits: retrans,
                            lost: retrans / 2,
                            rto_timeouts,
                            rto_recoveries: u64::from(stalled),
                            rto_time_ms,
                            busy_us,
                            rwnd_limited_us: rwnd,
                            sndbuf_limited_us: sndbuf,
                            ..Counters::default()
                        }
                    },
                    srtt_us: srtt,
                    origin,
                    lifetime_us: Some(lifetime),
                    id: None,
                    gauges,
                    cgroup: None,
                    process: None,
                }
            };
            let close = |e: CloseEvent, l: &End, p: &End| {
                Item::Close(AttributedClose {
                    event: e,
                    local: l.owner.clone(),
                    peer: p.owner.clone(),
                })
            };
            // Sockets of pods on this node are seen; a pair of local pods shows twice.
            let local_from = from.owner.node.as_ref() == na;
            let local_to = to.owner.node.as_ref() == na;
            if local_from {
                items.push((
                    t,
                    close(
                        event(from, to, port, f.port, tx, rx, Origin::Connect),
                        from,
                        to,
                    ),
                ));
            }
            if local_to && !failed {
                items.push((
                    t,
                    close(
                        event(to, from, f.port, port, rx, tx, Origin::Accept),
                        to,
                        from,
                    ),
                ));
            }
        }
        if ms == 9_000 {
            // A burst overflowed the ring buffer: three closes kept only as totals.
            let (api, pg) = (&ends[2], &ends[4]);
            let totals = FoldedTotals {
                local: api.ip.parse().expect("fixture IP"),
                peer: pg.ip.parse().expect("fixture IP"),
                counters: Counters {
                    connections: 3,
                    bytes_sent: 61_440,
                    bytes_received: 1_572_864,
                    retransmits: 4,
                    lost: 2,
                    ..Counters::default()
                },
            };
            let folded = AttributedFolded {
                totals,
                local: api.owner.clone(),
                peer: pg.owner.clone(),
                srtt: Default::default(),
            };
            items.push((ms, Item::Folded(folded)));
            items.push((ms, Item::Drops(DROPS)));
        }
    }
    items.sort_by_key(|(t, _)| *t);
    for (t, item) in &items {
        rec.write(Duration::from_millis(*t), item)?;
    }
    rec.write(Duration::from_millis(12_000), &Item::Drops(DROPS))?;
    rec.flush()?;
    eprintln!("wrote {} items to {}", items.len() + 1, path.display());
    Ok(())
}
