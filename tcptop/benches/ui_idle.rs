//! CPU of an idle UI showing 1,000 rows at a 1 s interval (target: 1% of a core or
//! less), measured on the real binary in a pseudo-terminal over 20 s (set
//! TCPTOP_BENCH_IDLE_SECS to change): from a replay of 1,000 pairs, and, as root, live
//! from the kernel after 500 loopback connection pairs (1,000 IP-pair rows).
//!
//! `cargo bench -p tcptop --bench ui_idle`
mod common;

use std::{
    net::{TcpListener, TcpStream},
    time::Duration,
};

use common::pty::PtyRun;

const TARGET_PCT: f64 = 1.0;

fn idle_secs() -> u64 {
    std::env::var("TCPTOP_BENCH_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

/// Lets `run` settle, then measures its CPU over the idle window.
fn measure(what: &str, run: PtyRun) -> bool {
    std::thread::sleep(Duration::from_secs(2));
    let before = run.cpu_secs();
    let secs = idle_secs();
    std::thread::sleep(Duration::from_secs(secs));
    let used = run.cpu_secs() - before;
    let (status, usage) = run.quit_with_usage();
    assert_eq!(status, 0, "tcptop exited with {status}");
    let pct = used * 100.0 / secs as f64;
    println!("{what}: max RSS {} MiB", usage.ru_maxrss / 1024);
    common::report(
        &format!("{what}: CPU over {secs} s idle"),
        pct,
        "% of a core",
        TARGET_PCT,
    )
}

fn main() {
    let dir = std::env::temp_dir().join(format!("tcptop-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rec = dir.join("idle-1000.jsonl");
    common::write_recording(&rec, &common::synthetic(1_000, 2));
    let run = PtyRun::start_sized(
        &[
            "--replay".as_ref(),
            rec.as_os_str(),
            "--interval".as_ref(),
            "1s".as_ref(),
        ],
        160,
        48,
    );
    // The whole recording arrives at once; totals since start keep its rows shown.
    run.wait_for("(ended)", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no (ended)"));
    run.keys(b"t");
    let mut ok = measure("replay, 1000 rows (totals), 1 s interval", run);
    if common::root() {
        let run = PtyRun::start_sized(
            &["--no-kube", "--group-by", "ip", "--interval", "1s"],
            160,
            48,
        );
        run.wait_for("closes/s", Duration::from_secs(30))
            .unwrap_or_else(|| panic!("no closes/s"));
        std::thread::sleep(Duration::from_secs(2));
        run.keys(b"t");
        for i in 0..500u32 {
            let server = format!("127.63.{}.{}", i / 200, i % 200 * 2 % 254 + 1);
            let client = format!("127.64.{}.{}", i / 200, i % 200 + 1);
            let l = TcpListener::bind((server.as_str(), 0)).unwrap();
            let s = connect_from(&client, l.local_addr().unwrap());
            let (a, _) = l.accept().unwrap();
            drop((s, a));
        }
        ok &= measure(
            "live kernel, 1000+ IP-pair rows (totals), 1 s interval",
            run,
        );
    } else {
        println!("live kernel idle: skipped: needs root");
    }
    std::fs::remove_dir_all(dir).ok();
    if !ok {
        std::process::exit(1);
    }
}

/// A connection from address `client` to `to`.
fn connect_from(client: &str, to: std::net::SocketAddr) -> TcpStream {
    let s = socket_bound(client);
    let std::net::SocketAddr::V4(to) = to else {
        unreachable!()
    };
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: to.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*to.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    use std::os::fd::AsRawFd;
    // SAFETY: a valid sockaddr_in on a socket we own.
    let rc = unsafe { libc::connect(s.as_raw_fd(), (&raw const sin).cast(), len) };
    assert_eq!(rc, 0);
    s
}

fn socket_bound(ip: &str) -> TcpStream {
    use std::os::fd::FromRawFd;
    let ip: std::net::Ipv4Addr = ip.parse().unwrap();
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: a fresh socket bound to a valid address; ownership goes to the stream.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        assert_eq!(libc::bind(fd, (&raw const sin).cast(), len), 0);
        TcpStream::from_raw_fd(fd)
    }
}
