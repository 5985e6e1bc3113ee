//! One bulk transfer shaped to hit one limit: a small receive buffer read slowly (the
//! receiver's window), a small send buffer written in small bursts (the sender's
//! buffer), or a slow lossy path (the network). Both ends report TCP_INFO once all they
//! sent is acknowledged, so that no chrono is still running when it is read.
use std::{
    io::{self, Read, Write},
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    os::fd::AsRawFd,
    thread,
    time::Duration,
};

use super::{
    netns::NetPair,
    traffic::{addrs, finish, SocketReport},
};

/// How the transfer is shaped.
#[derive(Clone, Copy, Debug, Default)]
pub struct Shape {
    /// Bytes the client sends.
    pub bytes: usize,
    /// SO_RCVBUF of the listener (and so of the accepted socket), if set.
    pub rcvbuf: Option<i32>,
    /// SO_SNDBUF of the client, if set.
    pub sndbuf: Option<i32>,
    /// The client writes this much per write.
    pub write_chunk: usize,
    /// The server reads this much per read ...
    pub read_chunk: usize,
    /// ... and sleeps this long after each read.
    pub read_pause: Duration,
}

fn set_buf(fd: &impl AsRawFd, opt: libc::c_int, bytes: i32) {
    // SAFETY: a valid socket and an int option.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            (&bytes as *const i32).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt: {}", io::Error::last_os_error());
}

/// Runs one transfer from side a to side b of `pair` over IPv4, shaped by `shape`.
/// Returns the client's and the server's reports.
pub fn transfer(pair: &NetPair, shape: Shape) -> (SocketReport, SocketReport) {
    let server_ip = pair.addr(1, 4);
    let listener = pair
        .run_in(1, move || {
            let l = TcpListener::bind(SocketAddr::new(server_ip, 0)).expect("bind");
            if let Some(b) = shape.rcvbuf {
                set_buf(&l, libc::SO_RCVBUF, b);
            }
            l
        })
        .join()
        .unwrap();
    let to = listener.local_addr().unwrap();
    let server = thread::spawn(move || -> io::Result<SocketReport> {
        let (mut s, _) = listener.accept()?;
        let ends = addrs(&s)?;
        let mut buf = vec![0u8; shape.read_chunk.max(1)];
        loop {
            let n = s.read(&mut buf)?;
            if n == 0 {
                break;
            }
            thread::sleep(shape.read_pause);
        }
        s.shutdown(Shutdown::Write)?;
        finish(&s, ends, true)
    });
    let client = pair.run_in(0, move || -> io::Result<SocketReport> {
        let s = socket_to(to, shape.sndbuf)?;
        let mut s = s;
        let ends = addrs(&s)?;
        let chunk = vec![0xa5u8; shape.write_chunk.max(1)];
        let mut left = shape.bytes;
        while left > 0 {
            let n = left.min(chunk.len());
            s.write_all(&chunk[..n])?;
            left -= n;
        }
        s.shutdown(Shutdown::Write)?;
        let r = finish(&s, ends, false)?;
        io::copy(&mut s, &mut io::sink())?;
        Ok(r)
    });
    let c = client.join().unwrap().expect("client side");
    let s = server.join().unwrap().expect("server side");
    (c, s)
}

/// A connection to `to`, its send buffer set before the handshake.
fn socket_to(to: SocketAddr, sndbuf: Option<i32>) -> io::Result<TcpStream> {
    let Some(b) = sndbuf else {
        return TcpStream::connect(to);
    };
    // SAFETY: a new socket descriptor, owned by the stream below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is ours.
    let s = unsafe { <TcpStream as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    set_buf(&s, libc::SO_SNDBUF, b);
    let SocketAddr::V4(v4) = to else {
        panic!("IPv4 only")
    };
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: v4.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*v4.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: a valid sockaddr_in of the size passed.
    let rc = unsafe {
        libc::connect(
            fd,
            (&addr as *const libc::sockaddr_in).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(s)
}
