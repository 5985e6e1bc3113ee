//! The real tcptop binary on a pseudo-terminal (as under `kubectl exec -it`), its
//! output collected, for the UI's start-up with a Kubernetes cluster configured.
use std::{
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
    pub fn start(args: &[&str]) -> Self {
        let (mut master, mut slave) = (0, 0);
        let size = libc::winsize {
            ws_row: 48,
            ws_col: 160,
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

    /// Presses q and waits for the exit; returns the exit code.
    pub fn quit(mut self) -> Option<i32> {
        // SAFETY: writes one byte from a valid buffer to our descriptor.
        unsafe { libc::write(self.master.as_raw_fd(), b"q".as_ptr().cast(), 1) };
        self.child.wait().ok().and_then(|s| s.code())
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
