//! Long-lived connections between the two sides of a [`NetPair`]: opened once, then
//! made to move known byte counts on demand, each exchange waited for until everything
//! is acknowledged, with TCP_INFO of both ends as the oracle.
use std::{
    io::{Read, Write},
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    thread,
    time::{Duration, Instant},
};

use super::{
    netns::NetPair,
    tcpinfo::{self, TcpInfo},
};

const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// One connection from side a (client) to side b (server), kept open.
pub struct LongLived {
    /// The client end, in side a.
    pub client: TcpStream,
    /// The server end, in side b.
    pub server: TcpStream,
}

/// Waits until everything `s` sent is acknowledged.
pub fn wait_acked(s: &TcpStream) {
    let start = Instant::now();
    while tcpinfo::unacked(s).expect("SIOCOUTQ") != 0 {
        assert!(start.elapsed() < IO_TIMEOUT, "data never acknowledged");
        thread::sleep(Duration::from_millis(2));
    }
}

/// Writes `n` bytes on `from` while `to` reads them all.
fn transfer(from: &mut TcpStream, to: &mut TcpStream, n: usize) {
    let mut reader = to.try_clone().expect("clone");
    let read = thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0;
        while got < n {
            let k = reader.read(&mut buf).expect("read");
            assert!(k > 0, "EOF after {got} of {n} bytes");
            got += k;
        }
    });
    from.write_all(&vec![0x5a; n]).expect("write");
    read.join().expect("reader");
    wait_acked(from);
}

impl LongLived {
    /// Opens a connection from side a to side b over `family` (4 or 6).
    pub fn open(pair: &NetPair, family: u8) -> Self {
        let bind = SocketAddr::new(pair.addr(1, family), 0);
        let (listener, to) = pair
            .run_in(1, move || {
                let l = TcpListener::bind(bind).expect("listen");
                let addr = l.local_addr().expect("address");
                (l, addr)
            })
            .join()
            .expect("listener");
        let accept = thread::spawn(move || listener.accept().expect("accept").0);
        let client = pair
            .run_in(0, move || {
                TcpStream::connect_timeout(&to, IO_TIMEOUT).expect("connect")
            })
            .join()
            .expect("client");
        let server = accept.join().expect("server");
        for s in [&client, &server] {
            s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
            s.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
        }
        Self { client, server }
    }

    /// The client sends `up` bytes, the server `down`; both wait until acknowledged.
    pub fn exchange(&mut self, up: usize, down: usize) {
        transfer(&mut self.client, &mut self.server, up);
        transfer(&mut self.server, &mut self.client, down);
    }

    /// TCP_INFO of the client and the server now.
    pub fn infos(&self) -> (TcpInfo, TcpInfo) {
        (
            tcpinfo::read(&self.client).expect("TCP_INFO"),
            tcpinfo::read(&self.server).expect("TCP_INFO"),
        )
    }

    /// Closes both ends in order (the client first), each after it saw the other's
    /// EOF and its FIN is acknowledged; returns TCP_INFO of both just before close().
    pub fn close(self) -> (TcpInfo, TcpInfo) {
        let Self {
            mut client,
            mut server,
        } = self;
        client.shutdown(Shutdown::Write).expect("shutdown");
        let mut sink = Vec::new();
        server.read_to_end(&mut sink).expect("server EOF");
        server.shutdown(Shutdown::Write).expect("shutdown");
        client.read_to_end(&mut sink).expect("client EOF");
        wait_acked(&client);
        wait_acked(&server);
        let infos = (
            tcpinfo::read(&client).expect("TCP_INFO"),
            tcpinfo::read(&server).expect("TCP_INFO"),
        );
        drop(client);
        drop(server);
        infos
    }
}

/// What one side's sockets did between two readings: bytes sent, bytes received and
/// retransmits.
pub fn delta(end: &TcpInfo, start: &TcpInfo) -> (u64, u64, u64) {
    (
        end.bytes_sent - start.bytes_sent,
        end.bytes_received - start.bytes_received,
        u64::from(end.total_retrans - start.total_retrans),
    )
}
