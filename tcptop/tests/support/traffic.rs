//! Real TCP traffic between the two sides of a [`NetPair`]: each connection sends a
//! known number of bytes each way, and both ends read TCP_INFO once everything they sent
//! is acknowledged and they have seen the peer's EOF, just before close().
use std::{
    io::{self, Read, Write},
    net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream},
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use super::{
    netns::NetPair,
    tcpinfo::{self, TcpInfo},
};

/// One socket's addresses and final kernel counters.
#[derive(Clone, Debug)]
pub struct SocketReport {
    /// Local address.
    pub local: SocketAddr,
    /// Peer address.
    pub peer: SocketAddr,
    /// TCP_INFO just before close().
    pub info: TcpInfo,
    /// True for the accepting side.
    pub accepted: bool,
}

const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// Waits until everything `s` sent, its FIN included, is acknowledged.
pub fn wait_acked(s: &TcpStream) -> io::Result<()> {
    let start = Instant::now();
    while tcpinfo::unacked(s)? != 0 {
        if start.elapsed() > IO_TIMEOUT {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "data never acknowledged",
            ));
        }
        thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

fn drain(s: &mut TcpStream) -> io::Result<u64> {
    io::copy(s, &mut io::sink())
}

/// Addresses, taken while the socket is connected (a closed one has no peer).
pub fn addrs(s: &TcpStream) -> io::Result<(SocketAddr, SocketAddr)> {
    Ok((s.local_addr()?, s.peer_addr()?))
}

/// Waits until everything `s` sent is acknowledged, then reads its TCP_INFO.
pub fn finish(
    s: &TcpStream,
    (local, peer): (SocketAddr, SocketAddr),
    accepted: bool,
) -> io::Result<SocketReport> {
    wait_acked(s)?;
    Ok(SocketReport {
        local,
        peer,
        info: tcpinfo::read(s)?,
        accepted,
    })
}

/// The server end: read the 8-byte response size, then the rest to EOF, answer, close.
fn serve(mut s: TcpStream) -> io::Result<SocketReport> {
    let ends = addrs(&s)?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut header = [0u8; 8];
    s.read_exact(&mut header)?;
    drain(&mut s)?;
    s.write_all(&vec![0x5a; u64::from_le_bytes(header) as usize])?;
    s.shutdown(Shutdown::Write)?;
    finish(&s, ends, true)
}

/// The client end: send `up` bytes (at least 8) asking for `down` back.
fn call(to: SocketAddr, up: usize, down: usize) -> io::Result<SocketReport> {
    let mut s = TcpStream::connect_timeout(&to, IO_TIMEOUT)?;
    let ends = addrs(&s)?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut msg = vec![0xa5; up.max(8)];
    msg[..8].copy_from_slice(&(down as u64).to_le_bytes());
    s.write_all(&msg)?;
    s.shutdown(Shutdown::Write)?;
    let got = drain(&mut s)?;
    assert_eq!(got, down as u64, "short response");
    finish(&s, ends, false)
}

/// Runs one connection per `(up, down)` from side a to side b over `family` (4 or 6),
/// `parallel` at a time. Returns both ends of every connection.
pub fn exchange(
    pair: &NetPair,
    family: u8,
    sizes: &[(usize, usize)],
    parallel: usize,
) -> Vec<SocketReport> {
    let server_ip = pair.addr(1, family);
    let listener = pair
        .run_in(1, move || {
            TcpListener::bind(SocketAddr::new(server_ip, 0)).expect("bind")
        })
        .join()
        .unwrap();
    let to = listener.local_addr().unwrap();
    let total = sizes.len();
    let reports = Arc::new(Mutex::new(Vec::with_capacity(total * 2)));
    let server = {
        let reports = reports.clone();
        thread::spawn(move || {
            let handlers: Vec<_> = (0..total)
                .map(|_| {
                    let (s, _) = listener.accept().expect("accept");
                    let reports = reports.clone();
                    thread::spawn(move || {
                        let r = serve(s).expect("server side");
                        reports.lock().unwrap().push(r);
                    })
                })
                .collect();
            handlers.into_iter().for_each(|h| h.join().unwrap());
        })
    };
    let queue = Arc::new(Mutex::new(sizes.to_vec()));
    let clients: Vec<_> = (0..parallel.max(1))
        .map(|_| {
            let (queue, reports) = (queue.clone(), reports.clone());
            pair.run_in(0, move || loop {
                let Some((up, down)) = queue.lock().unwrap().pop() else {
                    break;
                };
                let r = call(to, up, down).expect("client side");
                reports.lock().unwrap().push(r);
            })
        })
        .collect();
    clients.into_iter().for_each(|h| h.join().unwrap());
    server.join().unwrap();
    let out = reports.lock().unwrap().clone();
    assert_eq!(out.len(), total * 2);
    out
}

/// Makes `count` connects from side a to a closed port of side b; all must be refused.
pub fn refused_connects(pair: &NetPair, family: u8, count: usize) -> SocketAddr {
    let to = SocketAddr::new(pair.addr(1, family), 9);
    pair.run_in(0, move || {
        for _ in 0..count {
            let err =
                TcpStream::connect_timeout(&to, IO_TIMEOUT).expect_err("port 9 must be closed");
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        }
    })
    .join()
    .unwrap();
    to
}

/// Sums of TCP_INFO over the sockets whose local address is `local` and peer `peer`.
pub fn sums(reports: &[SocketReport], local: IpAddr, peer: IpAddr) -> (u64, u64, u64, u64) {
    reports
        .iter()
        .filter(|r| r.local.ip() == local && r.peer.ip() == peer)
        .fold((0, 0, 0, 0), |(n, tx, rx, re), r| {
            (
                n + 1,
                tx + r.info.bytes_sent,
                rx + r.info.bytes_received,
                re + u64::from(r.info.total_retrans),
            )
        })
}

/// A stream from `client` (any port) to `to`. std cannot bind before connecting, so a
/// raw socket is bound first.
pub fn connect_from(client: &str, to: SocketAddr) -> TcpStream {
    use std::os::fd::FromRawFd;
    let ip: std::net::Ipv4Addr = client.parse().unwrap();
    let SocketAddr::V4(to) = to else {
        unreachable!()
    };
    let sin = |ip: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor this function owns; the addresses are
    // valid sockaddr_in values of the given length.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        let local = sin(ip, 0);
        assert_eq!(
            libc::bind(fd, (&raw const local).cast(), len),
            0,
            "bind {client}"
        );
        let peer = sin(*to.ip(), to.port());
        assert_eq!(
            libc::connect(fd, (&raw const peer).cast(), len),
            0,
            "connect {to}"
        );
        TcpStream::from_raw_fd(fd)
    }
}
