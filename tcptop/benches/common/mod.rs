//! Shared by the UI benchmarks: synthetic records, recordings, and the real binary run
//! on a pseudo-terminal (so it starts its UI exactly as in `kubectl exec -it`).
#![allow(dead_code)] // Each benchmark uses a part.

use std::{
    ffi::OsStr,
    fs::File,
    io::Read,
    os::{
        fd::{AsRawFd, FromRawFd, OwnedFd},
        unix::process::CommandExt,
    },
    path::Path,
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use tcptop::{
    attribution::{AttributedClose, Attribution, Item},
    collector::{CloseEvent, Counters, Origin},
    record::{Header, Recorder},
};

/// The tcptop binary cargo built for this benchmark.
pub const BIN: &str = env!("CARGO_BIN_EXE_tcptop");

/// `per_pair` closes for each of `pairs` namespace pairs (one row each when grouped by
/// namespace,az), with varied bytes and srtt.
pub fn synthetic(pairs: usize, per_pair: usize) -> Vec<AttributedClose> {
    let zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
    let mut out = Vec::with_capacity(pairs * per_pair);
    for i in 0..pairs {
        let owner = |ns: String, pod: String, az: &str| Attribution {
            namespace: ns.into(),
            pod: pod.into(),
            node: "node-a".into(),
            az: az.into(),
        };
        let local = owner(format!("team-{i:05}"), format!("api-{i:05}-x2kq"), zones[0]);
        let peer = owner("db".into(), format!("db-{}", i % 7), zones[i % 3]);
        for j in 0..per_pair {
            let n = (i * per_pair + j) as u64;
            out.push(AttributedClose {
                event: CloseEvent {
                    local: format!("10.{}.{}.1:{}", i >> 8 & 255, i & 255, 40_000 + j)
                        .parse()
                        .unwrap(),
                    peer: format!("10.200.{}.{}:5432", i % 7, 10 + i % 3)
                        .parse()
                        .unwrap(),
                    counters: Counters {
                        connections: u64::from(!n.is_multiple_of(50)),
                        failed_connects: u64::from(n.is_multiple_of(50)),
                        bytes_sent: 1_000 + n * 37 % 100_000,
                        bytes_received: 5_000 + n * 91 % 1_000_000,
                        retransmits: n % 5,
                        lost: n % 3,
                        ..Counters::default()
                    },
                    srtt_us: 80 + (n * 7919 % 5_000) as u32,
                    origin: Origin::Connect,
                    lifetime_us: Some(100_000),
                    id: None,
                },
                local: local.clone(),
                peer: peer.clone(),
            });
        }
    }
    out
}

/// Writes `closes` as a recording at `path`, all arriving at once.
pub fn write_recording(path: &Path, closes: &[AttributedClose]) {
    let header = Header::new(
        "bench-node".into(),
        "6.18.0".into(),
        tcptop::collector::Known {
            rto: true,
            live: false,
        },
    );
    let mut r = Recorder::create(path, &header).expect("create recording");
    for c in closes {
        r.write(Duration::ZERO, &Item::Close(c.clone()))
            .expect("write");
    }
    r.flush().expect("flush");
}

/// tcptop running on a pseudo-terminal, its output collected.
pub struct PtyRun {
    pub pid: i32,
    /// Reaped with wait4 in [`PtyRun::quit`], for its resource usage.
    _child: std::process::Child,
    pub started: Instant,
    master: OwnedFd,
    output: Arc<Mutex<Vec<u8>>>,
}

impl PtyRun {
    /// Starts tcptop with `args` on a `w` x `h` pseudo-terminal.
    pub fn start<S: AsRef<OsStr>>(args: &[S], w: u16, h: u16) -> Self {
        let (mut master, mut slave) = (0, 0);
        let size = libc::winsize {
            ws_row: h,
            ws_col: w,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty writes two descriptors we then own.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(rc, 0, "openpty");
        // SAFETY: both descriptors are fresh and ours.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let io = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup"));
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("TERM", "xterm-256color")
            .stdin(io(&slave))
            .stdout(io(&slave))
            .stderr(io(&slave));
        // SAFETY: setsid and ioctl are async-signal-safe; they make the pty the child's
        // controlling terminal.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY, 0);
                Ok(())
            });
        }
        let started = Instant::now();
        let child = cmd.spawn().expect("spawn tcptop");
        drop(slave);
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = output.clone();
        let mut reader = File::from(master.try_clone().expect("dup"));
        thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Self {
            pid: child.id() as i32,
            _child: child,
            started,
            master,
            output,
        }
    }

    /// Waits until the output contains `needle`; returns when it first did.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> Duration {
        let needle = needle.as_bytes();
        loop {
            if self
                .output
                .lock()
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
            {
                return self.started.elapsed();
            }
            if self.started.elapsed() > timeout {
                let out = self.output.lock().unwrap();
                let tail =
                    String::from_utf8_lossy(&out[out.len().saturating_sub(3000)..]).into_owned();
                panic!(
                    "timed out waiting for {:?}; output ends: {tail:?}",
                    String::from_utf8_lossy(needle)
                );
            }
            thread::sleep(Duration::from_micros(200));
        }
    }

    /// Forgets the output so far.
    pub fn clear(&self) {
        self.output.lock().unwrap().clear();
    }

    /// Types `keys`.
    pub fn keys(&self, keys: &[u8]) {
        // SAFETY: writes from a valid buffer to our descriptor.
        unsafe { libc::write(self.master.as_raw_fd(), keys.as_ptr().cast(), keys.len()) };
    }

    /// CPU seconds used so far (user + system), from /proc.
    pub fn cpu_secs(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).expect("stat");
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
        // SAFETY: sysconf has no preconditions.
        ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
    }

    /// Presses q and waits for the exit; returns the exit status and resource usage.
    pub fn quit(self) -> (i32, libc::rusage) {
        self.keys(b"q");
        let mut status = 0;
        // SAFETY: an all-zero rusage is valid; wait4 fills it for our child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: both pointers are to live locals.
        let rc = unsafe { libc::wait4(self.pid, &mut status, 0, &mut usage) };
        assert_eq!(rc, self.pid, "wait4");
        (libc::WEXITSTATUS(status), usage)
    }
}

/// True when running as root.
pub fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Prints a figure against its target; returns whether it met it.
pub fn report(what: &str, value: f64, unit: &str, target: f64) -> bool {
    let ok = value <= target;
    println!(
        "{what}: {value:.3} {unit} (target <= {target} {unit}) {}",
        if ok { "ok" } else { "MISSED" }
    );
    ok
}
