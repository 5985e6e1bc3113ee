//! The real tcptop binary on a pseudo-terminal (as under `kubectl exec -it`), its
//! output collected: for the UI's tests and benchmarks (which include this file).
use std::{
    ffi::OsStr,
    fs::File,
    io::Read,
    os::{
        fd::{AsRawFd, FromRawFd, OwnedFd},
        unix::process::CommandExt,
    },
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

/// tcptop running on a pseudo-terminal; killed on drop if it still runs.
pub struct PtyRun {
    child: Child,
    /// When it was started.
    pub started: Instant,
    master: OwnedFd,
    output: Arc<Mutex<Vec<u8>>>,
}

impl PtyRun {
    /// Starts `tcptop args` on a 160x48 terminal, with no Kubernetes environment.
    pub fn start<S: AsRef<OsStr>>(args: &[S]) -> Self {
        Self::start_sized(args, 160, 48)
    }

    /// Starts `tcptop args` on a `w` x `h` terminal, with no Kubernetes environment.
    pub fn start_sized<S: AsRef<OsStr>>(args: &[S], w: u16, h: u16) -> Self {
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
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tcptop"));
        cmd.args(args)
            .env("TERM", "xterm-256color")
            .env_remove("KUBECONFIG")
            .env_remove("KUBERNETES_SERVICE_HOST")
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
            child,
            started,
            master,
            output,
        }
    }

    /// How long after the start the output first contained `needle`; `None` if it did
    /// not within `limit`.
    pub fn wait_for(&self, needle: &str, limit: Duration) -> Option<Duration> {
        let needle = needle.as_bytes();
        loop {
            let seen = self
                .output
                .lock()
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle);
            if seen {
                return Some(self.started.elapsed());
            }
            if self.started.elapsed() > limit {
                return None;
            }
            thread::sleep(Duration::from_micros(500));
        }
    }

    /// The last `n` bytes of output, for failure messages.
    pub fn tail(&self, n: usize) -> String {
        let out = self.output.lock().unwrap();
        String::from_utf8_lossy(&out[out.len().saturating_sub(n)..]).into_owned()
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
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).expect("stat");
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

    /// Presses q and waits for the exit; returns the exit code.
    pub fn quit(mut self) -> Option<i32> {
        self.keys(b"q");
        self.child.wait().ok().and_then(|s| s.code())
    }

    /// Presses q and waits for the exit; returns the exit status and resource usage.
    pub fn quit_with_usage(self) -> (i32, libc::rusage) {
        self.keys(b"q");
        let pid = self.child.id() as i32;
        let mut status = 0;
        // SAFETY: an all-zero rusage is valid; wait4 fills it for our child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: both pointers are to live locals.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        assert_eq!(rc, pid, "wait4");
        (libc::WEXITSTATUS(status), usage)
    }
}

impl Drop for PtyRun {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
