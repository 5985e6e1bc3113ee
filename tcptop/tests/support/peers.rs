//! Connections from many distinct client addresses: an AnyIP route makes a whole /16
//! local in side a of a [`NetPair`], and side b routes it back over the veth. Each
//! connection binds its own source address, sends [`UP`] bytes and gets [`DOWN`] back,
//! as in [`super::churn`], so every socket's counters are known without TCP_INFO.
use std::{
    io::{self, Read, Write},
    mem,
    net::{IpAddr, Ipv4Addr, Shutdown, SocketAddrV4, TcpListener, TcpStream},
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc, Mutex,
    },
    thread,
};

pub use super::churn::{DOWN, UP};
use super::netns::{sh, NetPair};

/// The client addresses 10.`block`.0.0/16, local to side a of a pair.
pub struct Peers {
    block: u8,
    server: Ipv4Addr,
}

impl Peers {
    /// Makes 10.`block`.0.0/16 local to side a of `pair` and routes it from side b.
    /// `block` must be unique among tests that run at the same time.
    pub fn new(pair: &NetPair, block: u8) -> Self {
        let net = format!("10.{block}.0.0/16");
        sh(&[
            "ip",
            "-n",
            &pair.ns[0],
            "route",
            "add",
            "local",
            &net,
            "dev",
            "lo",
        ]);
        let via = pair.v4[0].to_string();
        sh(&["ip", "-n", &pair.ns[1], "route", "add", &net, "via", &via]);
        Self {
            block,
            server: pair.v4[1],
        }
    }

    /// The `i`th client address (`i` < 64,000).
    pub fn addr(&self, i: u32) -> Ipv4Addr {
        Ipv4Addr::new(10, self.block, (i / 250) as u8, (i % 250 + 1) as u8)
    }

    /// True for a socket between one of these clients and the server, either end.
    pub fn owns(&self, local: IpAddr, peer: IpAddr) -> bool {
        let client =
            |ip: IpAddr| matches!(ip, IpAddr::V4(v) if v.octets()[..2] == [10, self.block]);
        let server = |ip: IpAddr| ip == IpAddr::V4(self.server);
        (client(local) && server(peer)) || (server(local) && client(peer))
    }
}

/// One connection from each of `from` (addresses of `peers`) to side b, `threads` at a
/// time, with as many server threads.
pub fn connect_all(pair: &NetPair, from: Vec<Ipv4Addr>, threads: usize) {
    let server_ip = pair.v4[1];
    let listener = Arc::new(
        pair.run_in(1, move || TcpListener::bind((server_ip, 0)).expect("bind"))
            .join()
            .unwrap(),
    );
    let to = SocketAddrV4::new(server_ip, listener.local_addr().unwrap().port());
    let left = Arc::new(AtomicI64::new(from.len() as i64));
    let servers: Vec<_> = (0..threads)
        .map(|_| {
            let (l, left) = (listener.clone(), left.clone());
            thread::spawn(move || {
                while left.fetch_sub(1, Ordering::SeqCst) > 0 {
                    let (mut s, _) = l.accept().expect("accept");
                    io::copy(&mut s, &mut io::sink()).expect("server read");
                    s.write_all(&[7u8; DOWN as usize]).expect("server write");
                }
            })
        })
        .collect();
    let queue = Arc::new(Mutex::new(from));
    let clients: Vec<_> = (0..threads)
        .map(|_| {
            let queue = queue.clone();
            pair.run_in(0, move || loop {
                let Some(ip) = queue.lock().unwrap().pop() else {
                    break;
                };
                call(ip, to).unwrap_or_else(|e| panic!("connection from {ip}: {e}"));
            })
        })
        .collect();
    clients.into_iter().for_each(|h| h.join().unwrap());
    servers.into_iter().for_each(|h| h.join().unwrap());
}

/// One connection from `from` to `to`: send UP bytes, read DOWN back, close.
fn call(from: Ipv4Addr, to: SocketAddrV4) -> io::Result<()> {
    let mut s = bound_stream(from)?;
    connect(&s, to)?;
    s.write_all(&[1u8; UP as usize])?;
    s.shutdown(Shutdown::Write)?;
    let mut got = Vec::new();
    s.read_to_end(&mut got)?;
    assert_eq!(got.len() as u64, DOWN, "short response");
    Ok(())
}

fn sockaddr(a: SocketAddrV4) -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain integers; zero is valid.
    let mut sa: libc::sockaddr_in = unsafe { mem::zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_port = a.port().to_be();
    sa.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
    sa
}

/// A TCP socket bound to `ip` (any port), not yet connected.
fn bound_stream(ip: Ipv4Addr) -> io::Result<TcpStream> {
    // SAFETY: plain socket(2); the descriptor is owned right away.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a new descriptor nothing else owns.
    let s = TcpStream::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let sa = sockaddr(SocketAddrV4::new(ip, 0));
    // SAFETY: sa is a valid sockaddr_in of the size passed.
    let rc = unsafe {
        libc::bind(
            fd,
            (&sa as *const libc::sockaddr_in).cast(),
            mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(s)
}

fn connect(s: &TcpStream, to: SocketAddrV4) -> io::Result<()> {
    let sa = sockaddr(to);
    // SAFETY: sa is a valid sockaddr_in of the size passed; s is a socket.
    let rc = unsafe {
        libc::connect(
            s.as_raw_fd(),
            (&sa as *const libc::sockaddr_in).cast(),
            mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
