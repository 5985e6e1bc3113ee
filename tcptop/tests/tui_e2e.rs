//! End-to-end tests of the interactive UI: the real binary in tmux, driven by keys as a
//! person would, read back with `capture-pane`. The live test needs root (it loads the
//! eBPF program); it prints "skipped: needs root" otherwise, unless
//! TCPTOP_REQUIRE_ROOT_TESTS=1, when it fails. The replay tests need no root. All need
//! tmux (`cargo xtask setup` installs it).
mod support;
mod support_prom;

use std::{
    io::{Read, Write},
    net::{Shutdown, TcpListener},
    path::Path,
    process::{Command, Output},
    thread,
    time::{Duration, Instant},
};

use support::traffic::connect_from;
use support_prom::Daemon;

const BIN: &str = env!("CARGO_BIN_EXE_tcptop");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/demo.jsonl");

/// A tmux server of our own with one window running a shell.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str, w: u16, h: u16) -> Self {
        let t = Tmux {
            socket: format!("tcptop-e2e-{name}-{}", std::process::id()),
        };
        let out = t.run(&[
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
            "env",
            "-i",
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            "TERM=tmux-256color",
            "PS1=$ ",
            "sh",
        ]);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs (cargo xtask setup installs it)")
    }

    /// Types `text` literally.
    fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "main", "-l", text]);
    }

    /// Presses named keys (`Enter`, `Escape`, `q`, ...).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-t", "main", "-p"]).stdout)
            .into_owned()
    }

    fn display(&self, format: &str) -> String {
        String::from_utf8_lossy(
            &self
                .run(&["display-message", "-t", "main", "-p", format])
                .stdout,
        )
        .trim()
        .to_string()
    }

    /// Waits up to `secs` for the screen to satisfy `ok`; returns the last screen.
    fn wait_for(&self, what: &str, secs: u64, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts tcptop with `args` in the shell, echoing its exit status afterwards.
    fn launch(&self, args: &str) {
        self.type_text(&format!("{BIN} {args}; echo EXIT=$?"));
        self.keys(&["Enter"]);
    }

    /// Presses `q`, then checks that the shell is back with exit status 0 and the
    /// alternate screen off.
    fn quit_cleanly(&self) {
        self.keys(&["q"]);
        let s = self.wait_for("exit status", 10, |s| exit_status(s).is_some());
        assert_eq!(exit_status(&s), Some(0), "{s}");
        assert_eq!(
            self.display("#{alternate_on}"),
            "0",
            "alternate screen is off"
        );
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The exit status the shell printed after tcptop, if it did yet. The command line
/// holds `EXIT=$?`; the status may follow a prompt on the same line.
fn exit_status(screen: &str) -> Option<u32> {
    screen.split("EXIT=").skip(1).find_map(|rest| {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    })
}

/// True when the test may go on; prints the skip otherwise.
fn have_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert_ne!(
        std::env::var("TCPTOP_REQUIRE_ROOT_TESTS").as_deref(),
        Ok("1"),
        "this test needs root and TCPTOP_REQUIRE_ROOT_TESTS=1 forbids skipping"
    );
    eprintln!("skipped: needs root");
    false
}

/// `conns` connections from `client` to a listener on `server`: each sends `up`
/// bytes, the server answers `down` bytes, both close.
fn traffic(client: &str, server: &str, conns: usize, up: usize, down: usize) {
    let listener = TcpListener::bind((server, 0)).expect("bind a loopback address");
    let addr = listener.local_addr().unwrap();
    let srv = thread::spawn(move || {
        for _ in 0..conns {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).unwrap();
            assert_eq!(buf.len(), up);
            s.write_all(&vec![b'y'; down]).unwrap();
        }
    });
    for _ in 0..conns {
        let sock = connect_from(client, addr);
        let mut s = sock;
        s.write_all(&vec![b'x'; up]).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut back = Vec::new();
        s.read_to_end(&mut back).unwrap();
        assert_eq!(back.len(), down);
    }
    srv.join().unwrap();
}

/// The screen's table rows that start with `prefix` (after the selection marker).
fn rows<'a>(screen: &'a str, prefix: &str) -> Vec<&'a str> {
    screen
        .lines()
        .filter(|l| l.trim_start().starts_with(prefix))
        .collect()
}

#[test]
fn live_traffic_sort_filter_help_resize_and_quit() {
    if !have_root() {
        return;
    }
    // Addresses of this test only: 127.61.N.1-4, N from the pid.
    let n = std::process::id() % 200 + 1;
    let ip = |h: u8| format!("127.61.{n}.{h}");
    let t = Tmux::start("live", 160, 48);
    t.launch("--interval 500ms --no-kube");
    t.wait_for("the first frame", 10, |s| s.contains("namespace,az pairs"));
    t.wait_for("the collector", 30, |s| !s.contains("attaching"));
    traffic(&ip(1), &ip(2), 10, 1000, 100);
    traffic(&ip(3), &ip(4), 3, 50_000, 20);
    // Live traffic appears: the loopback pair shows in the default grouping.
    t.keys(&["t"]);
    t.wait_for("a loopback row", 10, |s| !rows(s, "loopback").is_empty());
    // Regroup by IP (namespace,az > namespace > az > workload > pod > ip) and filter
    // to ours.
    t.keys(&["g", "g", "g", "g", "g"]);
    t.wait_for("ip pairs", 5, |s| s.contains("ip pairs"));
    t.keys(&["/"]);
    t.type_text(&format!("127.61.{n}."));
    t.keys(&["Enter"]);
    let s = t.wait_for("our four rows", 10, |s| rows(s, "127.61.").len() == 4);
    // The client rows carry exact counts: 10 connections, 10 x 1000 bytes sent.
    let client = rows(&s, &format!("{} ", ip(1)))[0].to_string();
    let cells: Vec<&str> = client.split_whitespace().collect();
    assert_eq!(cells[1], ip(2), "{client}");
    assert_eq!(
        (cells[2], cells[3]),
        ("10", "0"),
        "10 connections, 0 failed: {client}"
    );
    assert_eq!(
        &cells[4..6],
        ["9.77", "KiB"],
        "10 x 1000 bytes sent: {client}"
    );
    // The kernel counts the peer's FIN as a received byte.
    assert_eq!(
        &cells[6..8],
        ["1010", "B"],
        "10 x (100 + FIN) received: {client}"
    );
    // Sorted by bytes: the 150 KB pair first; by TX ascending: the 60-byte server first.
    assert!(
        rows(&s, "127.61.")[0].contains(&format!("{} ", ip(3))),
        "{s}"
    );
    t.keys(&["3", "3"]);
    let s = t.wait_for("TX ascending", 5, |s| s.contains("sort TX ▲"));
    assert!(
        rows(&s, "127.61.")[0].starts_with(&format!("{} ", ip(4))),
        "{s}"
    );
    // Filter to the second pair only.
    // Esc alone: followed at once by another key, a terminal reads Alt+key.
    t.keys(&["Escape"]);
    t.wait_for("the filter cleared", 5, |s| !s.contains("filter \""));
    t.keys(&["/"]);
    t.type_text(&ip(3));
    t.keys(&["Enter"]);
    let s = t.wait_for("two rows", 5, |s| rows(s, "127.61.").len() == 2);
    assert!(rows(&s, &ip(1)).is_empty(), "{s}");
    // Help opens and closes.
    t.keys(&["?"]);
    t.wait_for("help", 5, |s| {
        s.contains("tcptop keys") && s.contains("RETR%: segments resent / data segments sent")
    });
    t.keys(&["Escape"]);
    t.wait_for("help closed", 5, |s| !s.contains("tcptop keys"));
    // A resize to 80x24 keeps it readable: header, titles, our rows, the key hints.
    t.run(&["resize-window", "-t", "main", "-x", "80", "-y", "24"]);
    let s = t.wait_for("80 columns", 5, |s| {
        s.lines().all(|l| l.chars().count() <= 80) && s.contains("q quit")
    });
    for needle in [
        "tcptop", "closes/s", "LOCAL", "CONNS", "TX", "RX", "SRTT p99", "q quit",
    ] {
        assert!(s.contains(needle), "{needle} missing at 80x24:\n{s}");
    }
    assert_eq!(rows(&s, "127.61.").len(), 2, "{s}");
    t.quit_cleanly();
}

#[test]
fn replay_in_tmux_drills_down_and_quits() {
    let t = Tmux::start("replay", 100, 30);
    t.launch(&format!("--replay {FIXTURE} --interval 200ms"));
    let s = t.wait_for("rows from the recording", 10, |s| s.contains("eu-west-1a"));
    assert!(
        s.contains("REPLAY demo.jsonl") && s.contains("ip-10-0-1-23"),
        "{s}"
    );
    // Pods talking to postgres (namespace,az > namespace > az > workload > pod),
    // since start.
    t.keys(&["t", "g", "g", "g", "g", "/"]);
    t.type_text("postgres");
    t.keys(&["Enter"]);
    t.wait_for("a pod pair", 10, |s| {
        !rows(s, "api-").is_empty() || !rows(s, "cart-").is_empty()
    });
    t.keys(&["Enter"]);
    let s = t.wait_for("IP pairs", 5, |s| s.contains("IP pairs"));
    assert!(s.contains("10.0.2.30"), "{s}");
    t.keys(&["Enter"]);
    let s = t.wait_for("connections", 5, |s| s.contains("recent connections"));
    assert!(s.contains("10.0.2.30:5432"), "{s}");
    t.keys(&["BSpace", "BSpace"]);
    t.wait_for("the top", 5, |s| s.contains("pod pairs │"));
    t.quit_cleanly();
}

#[test]
fn sigterm_restores_the_terminal() {
    let t = Tmux::start("sigterm", 100, 30);
    t.launch(&format!("--replay {FIXTURE}"));
    t.wait_for("the UI", 10, |s| s.contains("namespace,az pairs"));
    let shell = t.display("#{pane_pid}");
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
    let pid: i32 = children.split_whitespace().next().unwrap().parse().unwrap();
    // SAFETY: sends a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let s = t.wait_for("exit status", 10, |s| exit_status(s).is_some());
    assert_eq!(exit_status(&s), Some(0), "{s}");
    assert_eq!(t.display("#{alternate_on}"), "0");
}

/// tcptop with `args`, hermetic: no kubeconfig of the developer's is read.
fn tcptop(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env("HOME", "/nonexistent")
        .output()
        .unwrap()
}

/// A kubeconfig whose credential plugin leaves `marker` behind and then hangs.
fn marking_kubeconfig(dir: &Path, marker: &Path) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    let config = format!(
        r#"apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:1"}}}}]
users: [{{name: u, user: {{exec: {{apiVersion: client.authentication.k8s.io/v1beta1, command: sh, args: ["-c", "touch {}; sleep 30"]}}}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
"#,
        marker.display()
    );
    std::fs::write(&path, config).unwrap();
    path
}

#[test]
fn a_replay_never_contacts_kubernetes() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("plugin-ran");
    let kubeconfig = marking_kubeconfig(dir.path(), &marker);
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["--once", "--replay", FIXTURE, "--output", "csv"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // The UI on a replay does not either.
    let t = Tmux::start("replay-kube", 100, 30);
    t.type_text(&format!(
        "KUBECONFIG={} {BIN} --replay {FIXTURE}; echo EXIT=$?",
        kubeconfig.display()
    ));
    t.keys(&["Enter"]);
    t.wait_for("rows from the recording", 10, |s| s.contains("eu-west-1a"));
    t.quit_cleanly();
    assert!(!marker.exists(), "a replay ran the credential plugin");
}

#[test]
fn without_a_terminal_it_says_to_use_once() {
    let out = tcptop(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--once"), "{err}");
}

#[test]
fn once_replays_a_whole_recording() {
    let out = tcptop(&[
        "--once",
        "--replay",
        FIXTURE,
        "--output",
        "csv",
        "--group-by",
        "ip",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(csv.starts_with("local_ip,peer_ip,connections,"), "{csv}");
    assert!(csv.contains("10.0.1.20,10.0.2.30,"), "{csv}");
}

#[test]
fn bad_recordings_are_one_line_errors() {
    let dir = std::env::temp_dir().join(format!("tcptop-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{\"format\":\"pcap\"}\n").unwrap();
    for (args, needle) in [
        (
            vec!["--once", "--replay", bad.to_str().unwrap()],
            "not a tcptop recording",
        ),
        (
            vec!["--once", "--replay", "/nonexistent.jsonl"],
            "cannot open replay file",
        ),
        (
            vec!["--replay", "a", "--record", "b"],
            "cannot be used with",
        ),
    ] {
        let out = tcptop(&args);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
    }
    assert!(Path::new(&bad).exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_torn_last_line_is_reported_and_the_rest_replays() {
    let dir = tempfile::tempdir().unwrap();
    let torn = dir.path().join("torn.jsonl");
    let whole = std::fs::read(FIXTURE).unwrap();
    std::fs::write(&torn, &whole[..whole.len() - 30]).unwrap();
    let out = tcptop(&[
        "--once",
        "--replay",
        torn.to_str().unwrap(),
        "--output",
        "csv",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cut short while recording"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() > 3);
}

#[test]
fn a_replay_from_a_stalled_pipe_still_quits() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("stalled.jsonl");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid path; mkfifo has no other preconditions.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let t = Tmux::start("stalled", 100, 30);
    t.launch(&format!("--replay {}", fifo.display()));
    // A writer that sends the header and a few lines, then stalls with the pipe open.
    let head: String = std::fs::read_to_string(FIXTURE)
        .unwrap()
        .lines()
        .take(5)
        .map(|l| format!("{l}\n"))
        .collect();
    let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    writer.write_all(head.as_bytes()).unwrap();
    t.wait_for("the UI", 10, |s| s.contains("REPLAY stalled.jsonl"));
    t.quit_cleanly();
    drop(writer);
}

#[test]
fn a_dumb_terminal_gets_one_line() {
    let t = Tmux::start("dumb", 100, 30);
    t.type_text(&format!("TERM=dumb {BIN} --replay {FIXTURE}; echo EXIT=$?"));
    t.keys(&["Enter"]);
    let s = t.wait_for("exit status", 10, |s| exit_status(s).is_some());
    assert_eq!(exit_status(&s), Some(1), "{s}");
    assert!(
        s.contains("TERM=dumb cannot show the interactive UI"),
        "{s}"
    );
    assert_eq!(t.display("#{alternate_on}"), "0");
}

/// A connection from `client` to a listener on `server` that sends 1,000 bytes every
/// 100 ms for `secs` seconds, the server reading all of it.
fn trickle(client: &str, server: &str, secs: u64) -> thread::JoinHandle<()> {
    let listener = TcpListener::bind((server, 0)).expect("bind a loopback address");
    let addr = listener.local_addr().unwrap();
    let mut sock = connect_from(client, addr);
    let (mut peer, _) = listener.accept().unwrap();
    thread::spawn(move || {
        let reader = thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while peer.read(&mut buf).is_ok_and(|n| n > 0) {}
        });
        for _ in 0..secs * 10 {
            sock.write_all(&[b'x'; 1000]).unwrap();
            thread::sleep(Duration::from_millis(100));
        }
        drop(sock);
        reader.join().unwrap();
    })
}

#[test]
fn a_long_lived_connection_stays_on_screen_with_its_rates() {
    if !have_root() {
        return;
    }
    let n = std::process::id() % 200 + 1;
    let ip = |h: u8| format!("127.62.{n}.{h}");
    let t = Tmux::start("longlived", 160, 40);
    t.launch("--interval 500ms --no-kube --group-by ip");
    t.wait_for("the collector", 30, |s| {
        !s.contains("attaching") && s.contains("ip pairs")
    });
    let sender = trickle(&ip(1), &ip(2), 20);
    t.keys(&["/"]);
    t.type_text(&format!("{} ", ip(1)));
    t.keys(&["Enter"]);
    // For 10 s the client's row shows every time, sending about 10 KB/s.
    t.wait_for("the live row", 10, |s| {
        !rows(s, &format!("{} ", ip(1))).is_empty()
    });
    for _ in 0..20 {
        let s = t.screen();
        let row = rows(&s, &format!("{} ", ip(1)));
        assert_eq!(row.len(), 1, "{s}");
        let cells: Vec<&str> = row[0].split_whitespace().collect();
        // LOCAL PEER CONNS/s FAILED/s TX/s (value and unit) ...
        assert_eq!(cells[1], ip(2), "{s}");
        assert_ne!(cells[4], "0", "no TX/s: {s}");
        assert!(s.contains("OPEN"), "{s}");
        thread::sleep(Duration::from_millis(500));
    }
    // Its socket, ss style: open, this side connected.
    t.keys(&["Enter"]);
    let s = t.wait_for("the socket", 5, |s| {
        !rows(s, &format!("{}:", ip(1))).is_empty()
    });
    let row = rows(&s, &format!("{}:", ip(1)))[0];
    assert!(row.contains(" ESTAB ") && row.contains(" out "), "{s}");
    // Enter opens all its fields; the MSS is the one ss prints for it.
    t.keys(&["Enter"]);
    let s = t.wait_for("its fields", 5, |s| s.contains("congestion state now"));
    let ss = Command::new("ss")
        .args(["-tinH", "state", "established", "src", &ip(1)])
        .output()
        .expect("run ss");
    let ss = String::from_utf8_lossy(&ss.stdout);
    let mss = ss
        .split_whitespace()
        .find_map(|w| w.strip_prefix("mss:"))
        .unwrap_or_else(|| panic!("no mss in ss output: {ss}"));
    let shown = s
        .lines()
        .find_map(|l| l.split("MSS").nth(1))
        .map(|rest| rest.split_whitespace().next().unwrap_or(""))
        .unwrap_or_else(|| panic!("no MSS field: {s}"));
    assert_eq!(shown, mss, "{s}\n{ss}");
    t.keys(&["Escape"]);
    t.wait_for("the table again", 5, |s| {
        s.contains("LOCAL") && s.contains(" ESTAB ")
    });
    t.quit_cleanly();
    sender.join().unwrap();
}

#[test]
fn attached_to_a_daemon_it_opens_with_the_earlier_traffic_and_says_when_the_daemon_goes() {
    if !have_root() {
        return;
    }
    // Addresses of this test only: 127.63.N.1-2.
    let n = std::process::id() % 200 + 1;
    let ip = |h: u8| format!("127.63.{n}.{h}");
    let daemon = Daemon::start(&[]);
    assert!(daemon.first.contains("attached"), "{}", daemon.first);
    // Before any UI runs.
    traffic(&ip(1), &ip(2), 7, 3000, 100);
    // The daemon seals a second each second.
    thread::sleep(Duration::from_millis(2500));
    let t = Tmux::start("attach", 160, 48);
    t.launch(&format!(
        "--interval 500ms --socket {}",
        daemon.socket.display()
    ));
    t.wait_for("the daemon's note", 10, |s| s.contains("DAEMON"));
    assert!(!t.screen().contains("attaching"), "it loads nothing");
    t.keys(&["t"]);
    t.keys(&["g", "g", "g", "g", "g"]);
    t.wait_for("ip pairs", 5, |s| s.contains("ip pairs"));
    t.keys(&["/"]);
    t.type_text(&format!("127.63.{n}."));
    t.keys(&["Enter"]);
    let s = t.wait_for("both ends of the earlier traffic", 10, |s| {
        rows(s, "127.63.").len() == 2
    });
    let client = rows(&s, &format!("{} ", ip(1)))[0].to_string();
    let cells: Vec<&str> = client.split_whitespace().collect();
    assert_eq!(
        (cells[1], cells[2]),
        (ip(2).as_str(), "7"),
        "7 connections: {client}"
    );
    assert_eq!(
        &cells[4..7],
        ["20.51", "KiB", "707"],
        "7 x 3000 bytes sent, 7 x 100 and the FINs received: {client}"
    );
    // Back through the history: the minute that holds the traffic, then the one
    // before, which does not; forward again, then live.
    t.keys(&["["]);
    let s = t.wait_for("the last minute", 10, |s| {
        s.contains("HISTORY 1m to 0m ago")
    });
    assert_eq!(rows(&s, "127.63.").len(), 2, "{s}");
    t.keys(&["["]);
    let s = t.wait_for("the minute before", 10, |s| {
        s.contains("HISTORY 2m to 1m ago")
    });
    assert!(rows(&s, "127.63.").is_empty(), "nothing then:\n{s}");
    t.keys(&["]"]);
    let s = t.wait_for("the last minute again", 10, |s| {
        s.contains("HISTORY 1m to 0m ago")
    });
    let client = rows(&s, &format!("{} ", ip(1)))[0].to_string();
    assert_eq!(client.split_whitespace().nth(2), Some("7"), "{client}");
    t.keys(&["]"]);
    t.wait_for("live again", 10, |s| !s.contains("HISTORY"));
    // The daemon goes: one note says so, the UI stays and quits cleanly.
    assert_eq!(daemon.stop(libc::SIGTERM), Some(0));
    t.wait_for("the daemon's end", 10, |s| s.contains("GONE"));
    t.quit_cleanly();
}
