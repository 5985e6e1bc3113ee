//! The kernel's own per-socket counters (getsockopt TCP_INFO), the tests' oracle.
//! Offsets are those of the stable UAPI `struct tcp_info`, which only ever grows.
use std::{io, os::fd::AsRawFd};

/// The TCP_INFO fields tcptop also reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpInfo {
    /// tcpi_rtt: smoothed RTT in microseconds.
    pub rtt_us: u32,
    /// tcpi_total_retrans.
    pub total_retrans: u32,
    /// tcpi_bytes_received.
    pub bytes_received: u64,
    /// tcpi_bytes_sent.
    pub bytes_sent: u64,
    /// tcpi_total_rto, where the kernel has it (6.7+).
    pub total_rto: Option<u16>,
    /// tcpi_total_rto_recoveries.
    pub total_rto_recoveries: Option<u16>,
    /// tcpi_total_rto_time in milliseconds.
    pub total_rto_time_ms: Option<u32>,
    /// tcpi_rttvar in microseconds.
    pub rttvar_us: u32,
    /// tcpi_snd_ssthresh.
    pub snd_ssthresh: u32,
    /// tcpi_snd_cwnd.
    pub snd_cwnd: u32,
    /// tcpi_data_segs_out.
    pub data_segs_out: u32,
    /// tcpi_busy_time in microseconds.
    pub busy_time_us: u64,
    /// tcpi_rwnd_limited in microseconds.
    pub rwnd_limited_us: u64,
    /// tcpi_sndbuf_limited in microseconds.
    pub sndbuf_limited_us: u64,
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes(b[off..off + 2].try_into().unwrap())
}
fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(b[off..off + 8].try_into().unwrap())
}

/// Reads TCP_INFO of `sock`.
pub fn read(sock: &impl AsRawFd) -> io::Result<TcpInfo> {
    let mut buf = [0u8; 512];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: buf is large enough and len says so.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            buf.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let len = len as usize;
    assert!(
        len >= 208,
        "TCP_INFO too short ({len} bytes): kernel older than 4.19"
    );
    let rto = len >= 248;
    Ok(TcpInfo {
        rtt_us: u32_at(&buf, 68),
        total_retrans: u32_at(&buf, 100),
        bytes_received: u64_at(&buf, 128),
        bytes_sent: u64_at(&buf, 200),
        total_rto: rto.then(|| u16_at(&buf, 240)),
        total_rto_recoveries: rto.then(|| u16_at(&buf, 242)),
        total_rto_time_ms: rto.then(|| u32_at(&buf, 244)),
        rttvar_us: u32_at(&buf, 72),
        snd_ssthresh: u32_at(&buf, 76),
        snd_cwnd: u32_at(&buf, 80),
        data_segs_out: u32_at(&buf, 156),
        busy_time_us: u64_at(&buf, 168),
        rwnd_limited_us: u64_at(&buf, 176),
        sndbuf_limited_us: u64_at(&buf, 184),
    })
}

/// Bytes sent but not yet acknowledged (SIOCOUTQ), the FIN included.
pub fn unacked(sock: &impl AsRawFd) -> io::Result<i32> {
    let mut n: libc::c_int = 0;
    // SAFETY: TIOCOUTQ (== SIOCOUTQ) writes one int.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::TIOCOUTQ, &mut n) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n)
}
