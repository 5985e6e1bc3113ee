//! Two network namespaces joined by a veth pair, with IPv4 and IPv6 addresses that exist
//! only inside them. Dropping the pair removes both namespaces, also when a test fails.
use std::{
    fs::File,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    os::fd::AsRawFd,
    process::Command,
    thread,
};

/// Runs `ip`/`nft` style commands, panicking with their output on failure.
pub fn sh(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two namespaces `a` (client side) and `b` (server side).
pub struct NetPair {
    /// Namespace names.
    pub ns: [String; 2],
    /// IPv4 addresses of a and b.
    pub v4: [Ipv4Addr; 2],
    /// IPv6 addresses of a and b.
    pub v6: [Ipv6Addr; 2],
    /// The veth device in a and in b.
    pub dev: [String; 2],
}

impl NetPair {
    /// Creates the pair. `id` (1..=250) must be unique among tests that run at the same
    /// time: it picks the names and the addresses 10.213.<id>.1/2 and fd00:213:<id>::1/2.
    pub fn new(id: u8) -> Self {
        let ns = [format!("tcptop-t{id}-a"), format!("tcptop-t{id}-b")];
        // Leftovers of a killed run.
        for n in &ns {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
        let pair = Self {
            v4: [Ipv4Addr::new(10, 213, id, 1), Ipv4Addr::new(10, 213, id, 2)],
            v6: [
                format!("fd00:213:{id}::1").parse().unwrap(),
                format!("fd00:213:{id}::2").parse().unwrap(),
            ],
            ns,
            dev: [format!("tt{id}a"), format!("tt{id}b")],
        };
        let [a, b] = &pair.ns;
        sh(&["ip", "netns", "add", a]);
        sh(&["ip", "netns", "add", b]);
        let [va, vb] = &pair.dev;
        sh(&[
            "ip", "-n", a, "link", "add", va, "type", "veth", "peer", "name", vb, "netns", b,
        ]);
        for (n, dev, i) in [(a, va, 0), (b, vb, 1)] {
            sh(&[
                "ip",
                "-n",
                n,
                "addr",
                "add",
                &format!("{}/24", pair.v4[i]),
                "dev",
                dev,
            ]);
            sh(&[
                "ip",
                "-n",
                n,
                "addr",
                "add",
                &format!("{}/64", pair.v6[i]),
                "dev",
                dev,
                "nodad",
            ]);
            sh(&["ip", "-n", n, "link", "set", dev, "up"]);
            sh(&["ip", "-n", n, "link", "set", "lo", "up"]);
        }
        pair
    }

    /// The addresses of side `i` (0 = a, 1 = b) for `family` 4 or 6.
    pub fn addr(&self, i: usize, family: u8) -> IpAddr {
        if family == 4 {
            IpAddr::V4(self.v4[i])
        } else {
            IpAddr::V6(self.v6[i])
        }
    }

    /// True when `ip` belongs to this pair.
    pub fn owns(&self, ip: IpAddr) -> bool {
        self.v4.iter().any(|a| IpAddr::V4(*a) == ip) || self.v6.iter().any(|a| IpAddr::V6(*a) == ip)
    }

    /// Drops `percent`% of TCP packets arriving in side `i`, at random.
    pub fn add_loss(&self, i: usize, percent: u32) {
        let n = &self.ns[i];
        sh(&["ip", "netns", "exec", n, "nft", "add", "table", "inet", "t"]);
        sh(&[
            "ip",
            "netns",
            "exec",
            n,
            "nft",
            "add",
            "chain",
            "inet",
            "t",
            "in",
            "{ type filter hook input priority 0; }",
        ]);
        sh(&[
            "ip",
            "netns",
            "exec",
            n,
            "nft",
            "add",
            "rule",
            "inet",
            "t",
            "in",
            "meta",
            "l4proto",
            "tcp",
            "numgen",
            "random",
            "mod",
            "100",
            "<",
            &percent.to_string(),
            "drop",
        ]);
    }

    /// Runs `cmd` (a program and its arguments) inside side `i`'s namespace.
    pub fn exec(&self, i: usize, cmd: &[&str]) {
        let mut args = vec!["ip", "netns", "exec", &self.ns[i]];
        args.extend_from_slice(cmd);
        sh(&args);
    }

    /// Limits what side `i` sends to `rate` (a `tc` rate such as `20mbit`) with a
    /// token bucket: a bottleneck whose queue adds delay.
    pub fn bottleneck(&self, i: usize, rate: &str) {
        let dev = self.dev[i].clone();
        self.exec(
            i,
            &[
                "tc", "qdisc", "add", "dev", &dev, "root", "tbf", "rate", rate, "burst", "16kb",
                "latency", "200ms",
            ],
        );
    }

    /// Runs `f` on a new thread inside side `i`'s namespace and returns its result.
    pub fn run_in<T: Send + 'static>(
        &self,
        i: usize,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> thread::JoinHandle<T> {
        let path = format!("/var/run/netns/{}", self.ns[i]);
        thread::spawn(move || {
            enter(&path);
            f()
        })
    }
}

/// Moves the calling thread into the network namespace at `path`.
pub fn enter(path: &str) {
    let f = File::open(path).unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
    // SAFETY: a valid namespace descriptor; only this thread changes namespace.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
}

impl Drop for NetPair {
    fn drop(&mut self) {
        for n in &self.ns {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}
