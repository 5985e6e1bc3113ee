//! Root-only helpers for end-to-end tests: a pair of network namespaces joined by a
//! veth pair (removed on drop, also when the test fails), sockets opened inside them,
//! and the kernel's own TCP_INFO counters as the oracle.
use std::{
    fs::File,
    io::{Read, Write},
    net::{Shutdown, TcpStream},
    os::fd::AsRawFd,
    process::Command,
    time::{Duration, Instant},
};

/// True when running as root; otherwise prints why the test is skipped, and fails when
/// `TCPTOP_REQUIRE_ROOT_TESTS=1` says root tests must run.
pub fn have_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var("TCPTOP_REQUIRE_ROOT_TESTS").as_deref() != Ok("1"),
        "this test needs root and TCPTOP_REQUIRE_ROOT_TESTS=1 is set"
    );
    println!("skipped: needs root");
    false
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("run ip (iproute2)");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two namespaces `a` and `b` joined by a veth pair, each end with one IPv4 and one
/// IPv6 address of a subnet unique to this test (10.231.`n`.0/24, fd00:231:`n`::/64).
pub struct NetnsPair {
    /// Namespace names.
    pub a: String,
    /// See `a`.
    pub b: String,
    /// IPv4 address in `a`.
    pub a4: String,
    /// IPv4 address in `b`.
    pub b4: String,
    /// IPv6 address in `a`.
    pub a6: String,
    /// IPv6 address in `b`.
    pub b6: String,
}

impl NetnsPair {
    /// Creates the pair; `tag` (a few letters) and `n` (0..=255) keep names and
    /// addresses apart from other tests.
    pub fn new(tag: &str, n: u8) -> Self {
        let pid = std::process::id();
        let pair = Self {
            a: format!("tcptop-{tag}-a-{pid}"),
            b: format!("tcptop-{tag}-b-{pid}"),
            a4: format!("10.231.{n}.1"),
            b4: format!("10.231.{n}.2"),
            a6: format!("fd00:231:{n:x}::1"),
            b6: format!("fd00:231:{n:x}::2"),
        };
        // From here on, Drop cleans up whatever was made.
        let (va, vb) = (format!("{tag}a{pid}"), format!("{tag}b{pid}"));
        ip(&["netns", "add", &pair.a]);
        ip(&["netns", "add", &pair.b]);
        ip(&[
            "link", "add", &va, "netns", &pair.a, "type", "veth", "peer", "name", &vb, "netns",
            &pair.b,
        ]);
        for (ns, dev, v4, v6) in [
            (&pair.a, &va, &pair.a4, &pair.a6),
            (&pair.b, &vb, &pair.b4, &pair.b6),
        ] {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&["-n", ns, "addr", "add", &format!("{v4}/24"), "dev", dev]);
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                dev,
                "nodad",
            ]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        pair
    }

    /// Runs `f` on a thread inside namespace `ns`; sockets it opens stay there.
    pub fn inside<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = File::open(format!("/var/run/netns/{ns}")).expect("open netns");
                // SAFETY: a valid namespace descriptor; only this thread moves.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns {ns}: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .expect("thread in netns")
        })
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// The kernel's byte counters of a socket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpBytes {
    /// `tcpi_bytes_sent` (offset 200 on 6.18).
    pub sent: u64,
    /// `tcpi_bytes_received` (offset 128).
    pub received: u64,
}

impl std::ops::AddAssign for TcpBytes {
    fn add_assign(&mut self, o: Self) {
        self.sent += o.sent;
        self.received += o.received;
    }
}

/// Reads TCP_INFO of `s`.
pub fn tcp_bytes(s: &TcpStream) -> TcpBytes {
    let mut buf = [0u8; 512];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: buf and len describe a writable buffer of len bytes.
    let rc = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_TCP,
            libc::TCP_INFO,
            buf.as_mut_ptr().cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "TCP_INFO: {}", std::io::Error::last_os_error());
    assert!(len >= 208, "TCP_INFO of {len} bytes lacks tcpi_bytes_sent");
    let u64_at = |o: usize| u64::from_ne_bytes(buf[o..o + 8].try_into().unwrap());
    TcpBytes {
        sent: u64_at(200),
        received: u64_at(128),
    }
}

/// Waits until everything `s` sent is acknowledged (SIOCOUTQ is 0).
pub fn wait_acked(s: &TcpStream) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut outq: libc::c_int = 0;
        // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int.
        let rc = unsafe { libc::ioctl(s.as_raw_fd(), libc::TIOCOUTQ, &mut outq) };
        assert_eq!(rc, 0, "SIOCOUTQ: {}", std::io::Error::last_os_error());
        if outq == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{outq} bytes never acknowledged");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends `n` bytes on `s` while reading the peer's to EOF, then waits for the acks and
/// returns TCP_INFO's counters, read before the socket closes.
pub fn exchange(s: TcpStream, n: usize) -> TcpBytes {
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        w.write_all(&vec![0x5a; n]).unwrap();
        w.shutdown(Shutdown::Write).unwrap();
    });
    let mut sink = Vec::new();
    (&s).read_to_end(&mut sink).unwrap();
    writer.join().unwrap();
    wait_acked(&s);
    tcp_bytes(&s)
}
