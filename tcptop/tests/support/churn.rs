//! Many short connections as fast as the machine allows, for benchmarks: each client
//! sends [`UP`] bytes, the server answers [`DOWN`] and both close. Without loss the
//! byte counts of every socket are known exactly.
use std::{
    io::{self, Read, Write},
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use super::netns::{sh, NetPair};

/// Bytes each client sends.
pub const UP: u64 = 100;
/// Bytes each server sends back.
pub const DOWN: u64 = 1;

/// When the churn stops.
#[derive(Clone, Copy, Debug)]
pub enum Until {
    /// After this many connections.
    Count(u64),
    /// After this long.
    Time(Duration),
}

/// Lets side a reuse TIME_WAIT ports and use a wide port range, so that long churns do
/// not run out of ephemeral ports.
pub fn allow_port_reuse(pair: &NetPair) {
    sh(&[
        "ip",
        "netns",
        "exec",
        &pair.ns[0],
        "sysctl",
        "-q",
        "-w",
        "net.ipv4.tcp_tw_reuse=1",
        "net.ipv4.ip_local_port_range=1024 65000",
    ]);
}

fn serve(mut s: TcpStream) -> io::Result<()> {
    io::copy(&mut s, &mut io::sink())?;
    s.write_all(&[7u8; DOWN as usize])
}

fn call(to: SocketAddr) -> io::Result<()> {
    let mut s = TcpStream::connect(to)?;
    s.write_all(&[1u8; UP as usize])?;
    s.shutdown(Shutdown::Write)?;
    io::copy(&mut s, &mut io::sink())?;
    Ok(())
}

/// Runs IPv4 connections from side a to side b with `threads` clients and as many
/// servers. Returns the number of completed connections and the time taken.
pub fn churn(pair: &NetPair, threads: usize, until: Until) -> (u64, Duration) {
    let server_ip = pair.v4[1];
    let listener = Arc::new(
        pair.run_in(1, move || TcpListener::bind((server_ip, 0)).expect("bind"))
            .join()
            .unwrap(),
    );
    let to = listener.local_addr().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let servers: Vec<_> = (0..threads)
        .map(|_| {
            let (l, done) = (listener.clone(), done.clone());
            thread::spawn(move || {
                while let Ok((s, _)) = l.accept() {
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                    let _ = serve(s);
                }
            })
        })
        .collect();
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let clients: Vec<_> = (0..threads)
        .map(|_| {
            let count = count.clone();
            pair.run_in(0, move || loop {
                let claimed = count.fetch_add(1, Ordering::Relaxed);
                let stop = match until {
                    Until::Count(n) => claimed >= n,
                    Until::Time(d) => start.elapsed() >= d,
                };
                if stop {
                    count.fetch_sub(1, Ordering::Relaxed);
                    break;
                }
                call(to).expect("churn connection");
            })
        })
        .collect();
    clients.into_iter().for_each(|h| h.join().unwrap());
    let took = start.elapsed();
    done.store(true, Ordering::Relaxed);
    // Wake every accept() from side b itself, so these connections stay off the a<->b
    // rows the benchmark checks.
    let wake = pair.run_in(1, move || {
        for _ in 0..threads {
            let _ = TcpStream::connect(to).map(|mut s| s.read(&mut [0u8; 1]));
        }
    });
    servers.into_iter().for_each(|h| h.join().unwrap());
    wake.join().unwrap();
    (count.load(Ordering::Relaxed), took)
}
