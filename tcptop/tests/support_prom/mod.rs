//! Test support for the daemon: a `tcptop --daemon` started and waited for, plain HTTP
//! GETs, and a real Prometheus server (Debian's `prometheus`) scraping it every second
//! from its own config and data directory on loopback, queried over its HTTP API.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use serde_json::Value;

/// A running `tcptop --daemon`, killed when dropped.
pub struct Daemon {
    child: Child,
    /// Where it serves /metrics.
    pub addr: SocketAddr,
    /// Its stderr lines after the first.
    pub lines: mpsc::Receiver<String>,
    /// Its first stderr line.
    pub first: String,
    /// Its socket.
    pub socket: std::path::PathBuf,
}

impl Daemon {
    /// Starts `tcptop --daemon --no-kube --metrics-address 127.0.0.1:0` with `args`, and
    /// waits up to 30 s for its first line, which names the address it serves.
    pub fn start(args: &[&str]) -> Self {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket =
            std::env::temp_dir().join(format!("tcptop-test-{}-{n}.sock", std::process::id()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_tcptop"))
            .args(["--daemon", "--no-kube", "--metrics-address", "127.0.0.1:0"])
            .arg("--socket")
            .arg(&socket)
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tcptop --daemon");
        let (tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let first = match lines.recv_timeout(Duration::from_secs(30)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!("tcptop --daemon said nothing within 30 s");
            }
        };
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|s| s.split('/').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no metrics address in {first:?}"));
        Self {
            child,
            addr,
            lines,
            first,
            socket,
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its exposition now.
    pub fn scrape(&self) -> String {
        let (status, body) = get(self.addr, "/metrics");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Sends `sig` and waits up to 20 s for the exit status.
    pub fn stop(mut self, sig: libc::c_int) -> Option<i32> {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("tcptop --daemon did not exit within 20 s of signal {sig}");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sum of a family's samples whose labels include every one of `labels`.
pub fn sum(exposition: &str, family: &str, labels: &[(&str, &str)]) -> f64 {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name_labels, value) = l.rsplit_once(' ')?;
            let (name, rest) = name_labels.split_once('{').unwrap_or((name_labels, ""));
            (name == family
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))))
            .then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

/// A GET of `path` from `addr`: status and body.
pub fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the answer");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status");
    (status, body.to_string())
}

/// A free loopback port (free when asked; tests that race for it are unlikely).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Prometheus server scraping one target every second, killed when dropped.
pub struct Prometheus {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` and waits for it to be ready.
    pub fn start(target: SocketAddr) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: tcptop\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus (Debian package prometheus; cargo xtask setup installs it)");
        let p = Self {
            child,
            addr,
            _dir: dir,
        };
        let start = Instant::now();
        loop {
            if TcpStream::connect(addr).is_ok() && get(addr, "/-/ready").0 == 200 {
                return p;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "prometheus not ready within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The instant vector of `promql`: each series' labels and value.
    pub fn query(&self, promql: &str) -> Vec<(serde_json::Map<String, Value>, f64)> {
        let (status, body) = get(
            self.addr,
            &format!("/api/v1/query?query={}", encode(promql)),
        );
        assert_eq!(status, 200, "{promql}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let labels = r["metric"].as_object().unwrap().clone();
                let value = r["value"][1].as_str().unwrap().parse().unwrap();
                (labels, value)
            })
            .collect()
    }

    /// The one value of `promql`, 0 when it has none.
    pub fn scalar(&self, promql: &str) -> f64 {
        self.query(promql).first().map_or(0.0, |(_, v)| *v)
    }

    /// Waits up to 30 s for `promql` to equal `want`.
    pub fn wait_for(&self, promql: &str, want: f64) {
        let start = Instant::now();
        loop {
            let got = self.scalar(promql);
            if got == want {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{promql} = {got}, not {want}, after 30 s"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent-encodes a query parameter.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
