//! `tcptop --daemon`: a real Prometheus server scrapes it every second while known
//! traffic runs between network namespaces, and PromQL sums equal the kernel's own
//! TCP_INFO; the label-set cap folds exactly; promtool finds no problem in the
//! exposition; and the process lives as a DaemonSet's PID 1 must (one line, SIGTERM
//! and SIGINT exit 0, a node it cannot trace keeps it up with its health).
mod support;
mod support_prom;

use std::{
    collections::HashMap,
    io::Write,
    net::{IpAddr, SocketAddr, TcpStream},
    process::{Command, Stdio},
    sync::Mutex,
    time::Duration,
};

use support::{netns::NetPair, require_root, traffic};
use support_prom::{sum, Daemon, Prometheus};

/// Every daemon sees every socket on the machine: the tests that count run one at a
/// time (other test binaries never run beside this one).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn alone() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// `promtool check metrics` on `exposition`: its exit status and what it printed.
fn promtool(exposition: &str) -> (Option<i32>, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

fn sizes(n: usize, seed: usize) -> Vec<(usize, usize)> {
    (0..n)
        .map(|i| {
            (
                1000 + (i * 7919 + seed) % 200_000,
                500 + (i * 104_729) % 300_000,
            )
        })
        .collect()
}

#[test]
fn prometheus_sums_equal_tcp_info_and_the_old_exporters_series_agree() {
    if !require_root() {
        return;
    }
    let _alone = alone();
    let pair = NetPair::new(80);
    pair.add_loss(1, 3);
    let daemon = Daemon::start(&[
        "--metrics-group-by",
        "ip",
        "--metrics-compat",
        "ebpf-exporter",
    ]);
    assert!(daemon.first.contains("attached"), "{}", daemon.first);
    let prom = Prometheus::start(daemon.addr);
    let mut reports = traffic::exchange(&pair, 4, &sizes(30, 1), 6);
    reports.extend(traffic::exchange(&pair, 6, &sizes(30, 2), 6));
    traffic::refused_connects(&pair, 4, 4);
    let (a4, b4) = (pair.addr(0, 4), pair.addr(1, 4));
    let ours = format!("{a4}|{b4}|{}|{}", pair.addr(0, 6), pair.addr(1, 6));
    let sel = format!("{{local_ip=~\"{ours}\"}}");
    prom.wait_for(
        &format!("sum(tcptop_connections_total{sel})"),
        reports.len() as f64,
    );
    prom.wait_for(&format!("sum(tcptop_failed_connects_total{sel})"), 4.0);

    // Per pair, PromQL against TCP_INFO.
    let mut want: HashMap<(IpAddr, IpAddr), (u64, u64, u64, u64)> = HashMap::new();
    for r in &reports {
        let w = want.entry((r.local.ip(), r.peer.ip())).or_default();
        w.0 += 1;
        w.1 += r.info.bytes_sent;
        w.2 += r.info.bytes_received;
        w.3 += u64::from(r.info.total_retrans);
    }
    assert_eq!(want.len(), 4, "two pairs each way over v4 and v6");
    let by_pair = |family: &str| -> HashMap<(IpAddr, IpAddr), f64> {
        prom.query(&format!("sum by (local_ip, peer_ip) ({family}{sel})"))
            .into_iter()
            .map(|(l, v)| {
                let ip = |k: &str| l[k].as_str().unwrap().parse::<IpAddr>().unwrap();
                ((ip("local_ip"), ip("peer_ip")), v)
            })
            .collect()
    };
    let conns = by_pair("tcptop_connections_total");
    let sent = by_pair("tcptop_bytes_sent_total");
    let received = by_pair("tcptop_bytes_received_total");
    let retrans = by_pair("tcptop_retransmits_total");
    let srtt_count = by_pair("tcptop_srtt_seconds_count");
    let mut resent = 0.0;
    for (k, (n, tx, rx, re)) in &want {
        assert_eq!(conns[k], *n as f64, "connections of {k:?}");
        assert_eq!(sent[k], *tx as f64, "bytes sent of {k:?}");
        assert_eq!(received[k], *rx as f64, "bytes received of {k:?}");
        assert!(
            retrans[k] >= *re as f64,
            "retransmits of {k:?}: {} < {re}",
            retrans[k]
        );
        assert_eq!(
            srtt_count[k], *n as f64,
            "one srtt sample per connection of {k:?}"
        );
        resent += retrans[k];
    }
    assert!(resent > 0.0, "3% loss produced no retransmission");
    assert_eq!(
        prom.scalar(&format!(
            "sum(tcptop_failed_connects_total{{local_ip=\"{a4}\",peer_ip=\"{b4}\"}})"
        )),
        4.0
    );

    // The old exporter's series: its names and labels, the same IPv4 numbers.
    let old = format!("{{local_ip=~\"{a4}|{b4}\"}}");
    for (family, new) in [
        (
            "ebpf_exporter_tcp_ipv4_bytes_sent",
            "tcptop_bytes_sent_total",
        ),
        (
            "ebpf_exporter_tcp_ipv4_bytes_recv",
            "tcptop_bytes_received_total",
        ),
        ("ebpf_exporter_tcp_ipv4_retrans", "tcptop_retransmits_total"),
        ("ebpf_exporter_tcp_ipv4_lost", "tcptop_lost_total"),
        (
            "ebpf_exporter_tcp_ipv4_srtt_usec_count",
            "tcptop_srtt_seconds_count",
        ),
    ] {
        let series = prom.query(&format!("{family}{old}"));
        assert_eq!(series.len(), 2, "{family}: one series per IPv4 pair");
        for (labels, _) in &series {
            for l in [
                "local_ip",
                "local_namespace",
                "local_az",
                "peer_ip",
                "peer_namespace",
                "peer_az",
            ] {
                assert!(labels.contains_key(l), "{family} lacks {l}: {labels:?}");
            }
        }
        let q = |f: &str| prom.scalar(&format!("sum({f}{old})"));
        assert_eq!(q(family), q(new), "{family} against {new}");
    }
    let v4_sent: u64 = want
        .iter()
        .filter(|(k, _)| k.0.is_ipv4())
        .map(|(_, w)| w.1)
        .sum();
    assert_eq!(
        prom.scalar(&format!("sum(ebpf_exporter_tcp_ipv4_bytes_sent{old})")),
        v4_sent as f64
    );
    // exp2 buckets 0..=11 of whole milliseconds, as ebpf_exporter wrote them.
    let les: Vec<String> = prom
        .query(&format!(
            "ebpf_exporter_tcp_ipv4_srtt_usec_bucket{{local_ip=\"{a4}\"}}"
        ))
        .into_iter()
        .map(|(l, _)| l["le"].as_str().unwrap().to_string())
        .collect();
    for le in ["1", "2", "1024", "2048", "+Inf"] {
        assert!(les.iter().any(|l| l == le), "no le={le} in {les:?}");
    }

    // promtool: nothing to say of tcptop's own families; of the old ones, only that
    // their counters lack `_total`, which is how they were named.
    let (_, said) = promtool(&daemon.scrape());
    for line in said.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            line.starts_with("ebpf_exporter_tcp_ipv4_") && line.contains("_total\" suffix"),
            "promtool: {line}"
        );
    }
}

#[test]
fn beyond_the_series_cap_new_pairs_fold_into_other_with_exact_totals() {
    if !require_root() {
        return;
    }
    let _alone = alone();
    let pair = NetPair::new(81);
    // Ten more addresses on side b: ten distinct pairs of refused connects, which
    // nothing else on the machine makes.
    for i in 10..20 {
        pair.exec(
            1,
            &[
                "ip",
                "addr",
                "add",
                &format!("10.213.81.{i}/24"),
                "dev",
                &pair.dev[1],
            ],
        );
    }
    let daemon = Daemon::start(&["--metrics-group-by", "ip", "--metrics-max-series", "5"]);
    pair.run_in(0, || {
        for i in 10..20 {
            for _ in 0..3 {
                let to: SocketAddr = format!("10.213.81.{i}:9").parse().unwrap();
                let err = TcpStream::connect_timeout(&to, Duration::from_secs(5)).unwrap_err();
                assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
            }
        }
    })
    .join()
    .unwrap();
    let start = std::time::Instant::now();
    let text = loop {
        let text = daemon.scrape();
        if sum(&text, "tcptop_failed_connects_total", &[]) >= 30.0
            || start.elapsed() > Duration::from_secs(20)
        {
            break text;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let series = text
        .lines()
        .filter(|l| l.starts_with("tcptop_failed_connects_total{"))
        .count();
    assert_eq!(series, 5, "exactly the cap:\n{text}");
    assert_eq!(
        sum(&text, "tcptop_failed_connects_total", &[]),
        30.0,
        "exact totals"
    );
    assert_eq!(sum(&text, "tcptop_connects_refused_total", &[]), 30.0);
    assert!(
        sum(
            &text,
            "tcptop_failed_connects_total",
            &[("local_ip", "other"), ("peer_ip", "other")]
        ) > 0.0
    );
    assert!(sum(&text, "tcptop_metrics_folded_total", &[]) > 0.0);
    assert_eq!(sum(&text, "tcptop_metrics_series", &[]), 5.0);
    let (code, said) = promtool(&text);
    assert_eq!(code, Some(0), "promtool: {said}");
}

#[test]
fn logs_one_line_and_exits_0_on_sigterm_and_sigint() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let d = Daemon::start(&[]);
        assert!(d.first.starts_with("tcptop: tcptop "), "{}", d.first);
        assert!(d.first.contains("kernel"), "{}", d.first);
        assert_eq!(d.stop(sig), Some(0));
    }
}

#[test]
fn a_node_it_cannot_trace_keeps_it_up_serving_its_health() {
    let d = Daemon::start(&["--btf", "/nonexistent/vmlinux"]);
    assert!(d.first.contains("cannot trace on this node"), "{}", d.first);
    assert!(d.first.contains("no BTF"), "{}", d.first);
    let text = d.scrape();
    assert_eq!(sum(&text, "tcptop_attached", &[]), 0.0, "{text}");
    assert_eq!(d.stop(libc::SIGTERM), Some(0));
}

#[test]
fn a_port_in_use_is_one_line_and_exit_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_tcptop"))
        .args(["--daemon", "--no-kube", "--metrics-address", &addr])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("choose another --metrics-address"), "{err}");
    assert!(err.contains("in use"), "the cause is on the line: {err}");
}

#[test]
fn daemon_and_once_conflict() {
    let out = Command::new(env!("CARGO_BIN_EXE_tcptop"))
        .args(["--daemon", "--once"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn exits_on_sigterm_as_pid_1() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        assert!(
            std::env::var_os("TCPTOP_REQUIRE_ROOT_TESTS").is_none(),
            "this test needs root (unshare --pid)"
        );
        eprintln!("skipped: needs root for a PID namespace");
        return;
    }
    // unshare forks tcptop as PID 1 of a new PID namespace and waits for it.
    let mut unshare = Command::new("unshare")
        .args(["--pid", "--fork", "--"])
        .arg(env!("CARGO_BIN_EXE_tcptop"))
        .args(["--daemon", "--no-kube", "--metrics-address", "127.0.0.1:0"])
        .args(["--socket", "/tmp/tcptop-test-pid1.sock"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(unshare.stderr.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("tcptop: "), "{line}");
    let children =
        std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", unshare.id())).unwrap();
    let pid: i32 = children.split_whitespace().next().unwrap().parse().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let ns_pid = status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .unwrap();
    let is_pid_1 = ns_pid.split_whitespace().last() == Some("1");
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(
            pid,
            if is_pid_1 {
                libc::SIGTERM
            } else {
                libc::SIGKILL
            },
        )
    };
    assert!(is_pid_1, "NSpid:{ns_pid}");
    let start = std::time::Instant::now();
    loop {
        if let Some(s) = unshare.try_wait().unwrap() {
            assert_eq!(s.code(), Some(0));
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "PID 1 ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every family tcptop can export, by the names a query uses.
fn exported_names() -> Vec<String> {
    use tcptop::{output::prometheus::Health, view::metric::PromKind, view::MetricId};
    let mut names: Vec<String> = MetricId::exported()
        .map(|(_, p)| match p.kind {
            PromKind::Counter => format!("tcptop_{}_total", p.name),
            PromKind::Gauge => format!("tcptop_{}", p.name),
        })
        .collect();
    for suffix in ["bucket", "sum", "count"] {
        names.push(format!("tcptop_srtt_seconds_{suffix}"));
    }
    // Every optional family present: a cost sample with CPU, and the cache.
    let full = Health {
        cost: Some(tcptop::collector::cost::CostSample {
            at: std::time::Instant::now(),
            stats_enabled: true,
            bpf: Default::default(),
            cpu: Some(Duration::from_secs(1)),
        }),
        kube: Some(Default::default()),
        ..Health::default()
    };
    let mut health = tcptop::output::prometheus::build::Families::default();
    full.families(&mut health);
    let text = health.finish().unwrap();
    names.extend(
        text.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_whitespace().next())
            .map(String::from),
    );
    names
}

#[test]
fn the_grafana_dashboard_asks_for_exported_families_in_valid_promql() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/grafana/tcptop.json");
    let dash: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let exprs: Vec<String> = dash["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .map(|t| t["expr"].as_str().unwrap().to_string())
        .collect();
    assert!(exprs.len() >= 6, "{exprs:?}");
    let known = exported_names();
    for e in &exprs {
        for word in e.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with("tcptop_") {
                assert!(
                    known.iter().any(|k| k == word),
                    "{word} is not exported: {e}"
                );
            }
        }
    }
    for want in [
        "tcptop_bytes_sent_total",
        "tcptop_retransmits_total",
        "tcptop_srtt_seconds_bucket",
    ] {
        assert!(
            exprs.iter().any(|e| e.contains(want)),
            "no panel shows {want}"
        );
    }
    // promtool parses every query, as recording rules, with Grafana's variables set.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    let mut text = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        let e = e
            .replace("$__rate_interval", "5m")
            .replace("$namespace", ".*");
        text += &format!(
            "      - record: dashboard:query{i}\n        expr: {}\n",
            serde_json::to_string(&e).unwrap()
        );
    }
    std::fs::write(&rules, text).unwrap();
    let out = Command::new("promtool")
        .arg("check")
        .arg("rules")
        .arg(&rules)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `tcptop --once --since SECS --group-by ip --output json` against `daemon`: its rows.
fn since(daemon: &Daemon, secs: u64) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_tcptop"))
        .args(["--once", "--group-by", "ip", "--output", "json", "--since"])
        .arg(format!("{secs}s"))
        .arg("--socket")
        .arg(&daemon.socket)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["rows"].as_array().unwrap().clone()
}

/// The JSON row of `local` to `peer`, if there is one.
fn row(rows: &[serde_json::Value], local: IpAddr, peer: IpAddr) -> Option<&serde_json::Value> {
    rows.iter()
        .find(|r| r["local_ip"] == local.to_string() && r["peer_ip"] == peer.to_string())
}

#[test]
fn once_since_shows_exactly_the_traffic_of_that_time() {
    if !require_root() {
        return;
    }
    let _alone = alone();
    let pair = NetPair::new(82);
    let daemon = Daemon::start(&[]);
    let early = traffic::exchange(&pair, 4, &sizes(10, 3), 4);
    std::thread::sleep(Duration::from_secs(3));
    let mark = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let late = traffic::exchange(&pair, 4, &sizes(6, 4), 3);
    // Sealed within a second; a little more for the drain.
    std::thread::sleep(Duration::from_millis(2500));
    let (a, b) = (pair.addr(0, 4), pair.addr(1, 4));
    let window = mark.elapsed().as_secs();
    let rows = since(&daemon, window);
    let (n, tx, rx, _) = traffic::sums(&late, a, b);
    let r = row(&rows, a, b).expect("the late traffic");
    assert_eq!(r["connections"], n, "{r}");
    assert_eq!(r["bytes_sent"], tx, "{r}");
    assert_eq!(r["bytes_received"], rx, "{r}");
    let (n, tx, _, _) = traffic::sums(&late, b, a);
    let r = row(&rows, b, a).expect("the server side");
    assert_eq!(
        (r["connections"].as_u64(), r["bytes_sent"].as_u64()),
        (Some(n), Some(tx))
    );
    // From before the early traffic: both.
    let rows = since(&daemon, window + 10);
    let both: Vec<_> = early.iter().chain(&late).cloned().collect();
    let (n, tx, rx, _) = traffic::sums(&both, a, b);
    let r = row(&rows, a, b).unwrap();
    assert_eq!(
        (
            r["connections"].as_u64(),
            r["bytes_sent"].as_u64(),
            r["bytes_received"].as_u64()
        ),
        (Some(n), Some(tx), Some(rx))
    );
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

#[test]
fn the_history_stays_within_its_memory_cap_under_a_churn_of_distinct_pairs() {
    if !require_root() {
        return;
    }
    let _alone = alone();
    const CAP: u64 = 1 << 20;
    let daemon = Daemon::start(&[
        "--history-memory",
        "1MiB",
        "--metrics-group-by",
        "namespace",
    ]);
    std::thread::sleep(Duration::from_secs(1));
    let before = rss_kib(daemon.pid());
    // 4,000 connections from 4,000 loopback addresses: as many distinct pairs.
    let server = std::net::TcpListener::bind("127.64.0.1:0").unwrap();
    let to = server.local_addr().unwrap();
    let accept = std::thread::spawn(move || {
        for _ in 0..4_000 {
            drop(server.accept().unwrap());
        }
    });
    let mut peak_bytes = 0.0f64;
    for i in 0..4_000u32 {
        let client = format!("127.65.{}.{}", i / 250, i % 250 + 1);
        drop(traffic::connect_from(&client, to));
        if i % 500 == 499 {
            let text = daemon.scrape();
            peak_bytes = peak_bytes.max(sum(&text, "tcptop_history_bytes", &[]));
        }
    }
    accept.join().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let text = daemon.scrape();
    peak_bytes = peak_bytes.max(sum(&text, "tcptop_history_bytes", &[]));
    let after = rss_kib(daemon.pid());
    eprintln!("history bytes at most {peak_bytes}, RSS {before} KiB -> {after} KiB");
    assert!(
        peak_bytes <= CAP as f64,
        "{peak_bytes} bytes held over a cap of {CAP}"
    );
    assert!(
        sum(&text, "tcptop_history_evicted_seconds_total", &[]) > 0.0,
        "the cap was reached:\n{text}"
    );
    // What the cap does not bound (allocator slack, the kernel's maps) stays small.
    assert!(
        after.saturating_sub(before) < 24 * 1024,
        "RSS grew {before} -> {after} KiB"
    );
}
