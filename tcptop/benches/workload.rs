//! What the workload feels: the wall time a connection takes in a pinned,
//! single-threaded churn (one thread connects, accepts, sends 100 bytes, answers one
//! and closes both ends, the server first, between two network namespaces), with
//! nothing attached, with
//! the baseline (the original exporter's per-close work in bpftrace) attached, and with
//! tcptop attached. The three cases run interleaved, in a rotating order, five times
//! each; the medians are compared, and the costs added beyond nothing attached are
//! given as a ratio. Root: `cargo bench -p tcptop --bench workload`.
#[path = "../tests/support/mod.rs"]
mod support;

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    time::{Duration, Instant},
};

use support::{bpf::Bpftrace, churn, median, netns::NetPair, once};

/// Connections per run.
const CONNECTIONS: u32 = 20_000;
/// Runs of each case.
const ROUNDS: usize = 5;
/// The CPU the churn runs on.
const CPU: usize = 1;

/// What is attached during a run.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Case {
    Nothing,
    Baseline,
    Tcptop,
}

fn main() {
    if !support::require_root() {
        return;
    }
    let pair = NetPair::new(43);
    churn::allow_port_reuse(&pair);
    let server_ip = pair.v4[1];
    let listener = pair
        .run_in(1, move || TcpListener::bind((server_ip, 0)).expect("bind"))
        .join()
        .unwrap();
    let to = listener.local_addr().unwrap();
    // The churn thread lives in side a and is pinned; it runs every run.
    let (jobs, job_rx) = std::sync::mpsc::channel::<u32>();
    let (done_tx, done) = std::sync::mpsc::channel::<(Duration, Duration)>();
    let churner = pair.run_in(0, move || {
        pin(CPU);
        while let Ok(n) = job_rx.recv() {
            done_tx.send(churn(&listener, to, n)).unwrap();
        }
    });
    // Microseconds per connection: wall time, and the thread's CPU time.
    let run = |case: Case| {
        let attached = attach(case);
        // Every case waits alike after its attach, so that no run starts among
        // younger TIME_WAIT sockets than another.
        std::thread::sleep(Duration::from_secs(2));
        jobs.send(CONNECTIONS).unwrap();
        let (wall, cpu) = done.recv().unwrap();
        detach(attached);
        let per = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(CONNECTIONS);
        (per(wall), per(cpu))
    };
    run(Case::Nothing); // Warm-up: caches, TIME_WAIT, the page cache of the binaries.
    let cases = [Case::Nothing, Case::Baseline, Case::Tcptop];
    let (mut wall, mut cpu): ([Vec<f64>; 3], [Vec<f64>; 3]) = Default::default();
    for round in 0..ROUNDS {
        for k in 0..3 {
            let i = (round + k) % 3;
            let (w, c) = run(cases[i]);
            wall[i].push(w);
            cpu[i].push(c);
        }
    }
    drop(jobs);
    churner.join().unwrap();
    println!(
        "## What the workload feels ({CONNECTIONS} connections per run, {ROUNDS} runs each, CPU {CPU})"
    );
    println!(
        "| attached | per connection, median: wall time | added | the thread's CPU time | added |"
    );
    println!("|---|---|---|---|---|");
    let ([w0, wb, wt], [c0, cb, ct]) = (wall.map(median), cpu.map(median));
    println!("| nothing | {w0:.2} us | | {c0:.2} us | |");
    println!(
        "| baseline (bpftrace) | {wb:.2} us | {:+.2} us | {cb:.2} us | {:+.2} us |",
        wb - w0,
        cb - c0
    );
    println!(
        "| tcptop | {wt:.2} us | {:+.2} us | {ct:.2} us | {:+.2} us |",
        wt - w0,
        ct - c0
    );
    println!(
        "| ratio of the added costs, tcptop / baseline | {:.2} | | {:.2} | |",
        (wt - w0) / (wb - w0),
        (ct - c0) / (cb - c0)
    );
}

/// What keeps a case attached until [`detach`].
enum Attached {
    Nothing,
    /// Held for its `Drop`, which stops bpftrace.
    Baseline {
        _bpftrace: Bpftrace,
    },
    Tcptop(std::process::Child),
}

fn attach(case: Case) -> Attached {
    match case {
        Case::Nothing => Attached::Nothing,
        Case::Baseline => Attached::Baseline {
            _bpftrace: Bpftrace::start(support::bpf::BASELINE),
        },
        Case::Tcptop => Attached::Tcptop(once::start(&["--duration", "120s", "--no-kube"])),
    }
}

fn detach(attached: Attached) {
    if let Attached::Tcptop(child) = attached {
        // SAFETY: kill has no memory preconditions; SIGINT ends the window.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        once::finish(child);
    }
}

/// Pins the calling thread to `cpu`.
fn pin(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is empty; CPU_SET and sched_setaffinity get valid
    // pointers to it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        assert_eq!(
            libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set),
            0,
            "pin to CPU {cpu}"
        );
    }
}

/// This thread's CPU time so far.
fn thread_cpu() -> Duration {
    // SAFETY: a zeroed timespec is valid; clock_gettime fills it.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: a valid clock id and a pointer to a live local.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// `n` connections, each end handled by this one thread; returns the wall time and
/// the thread's CPU time they took.
fn churn(listener: &TcpListener, to: SocketAddr, n: u32) -> (Duration, Duration) {
    let (mut up, mut down) = ([1u8; 100], [0u8; 128]);
    let (t, cpu) = (Instant::now(), thread_cpu());
    for _ in 0..n {
        let mut client = TcpStream::connect(to).expect("connect");
        let (mut server, _) = listener.accept().expect("accept");
        client.write_all(&up).unwrap();
        server.read_exact(&mut down[..up.len()]).unwrap();
        server.write_all(&up[..1]).unwrap();
        // The server closes first, so TIME_WAIT is the server's: the client's port
        // search never meets its own TIME_WAIT sockets.
        drop(server);
        while let Ok(1..) = client.read(&mut down) {}
        up[0] = up[0].wrapping_add(1);
    }
    (t.elapsed(), thread_cpu() - cpu)
}
