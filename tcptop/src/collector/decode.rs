//! Turns the eBPF program's raw records into userspace types.
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use tcptop_common::{origin, tcp_state, CloseRecord, PairTotals};

use super::{CloseEvent, Counters, FoldedTotals, Origin};

/// Reads a 16-byte address; IPv4-mapped addresses become IPv4.
pub fn ip(bytes: [u8; 16]) -> IpAddr {
    let v6 = Ipv6Addr::from(bytes);
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

/// Decodes one ring buffer record. Returns `None` for a buffer of the wrong size.
pub fn close_event(raw: &[u8]) -> Option<CloseEvent> {
    if raw.len() < size_of::<CloseRecord>() {
        return None;
    }
    // SAFETY: CloseRecord is plain integers; the length was checked.
    let r: CloseRecord = unsafe { std::ptr::read_unaligned(raw.as_ptr().cast()) };
    let failed = r.old_state == tcp_state::SYN_SENT;
    Some(CloseEvent {
        local: SocketAddr::new(ip(r.local_addr), r.local_port),
        peer: SocketAddr::new(ip(r.peer_addr), r.peer_port),
        counters: Counters {
            connections: u64::from(!failed),
            failed_connects: u64::from(failed),
            bytes_sent: r.bytes_sent,
            bytes_received: r.bytes_received,
            retransmits: u64::from(r.total_retrans),
            lost: u64::from(r.lost),
            rto_timeouts: u64::from(r.total_rto),
            rto_recoveries: u64::from(r.total_rto_recoveries),
            rto_time_ms: u64::from(r.total_rto_time_ms),
            opened: 0,
        },
        srtt_us: r.srtt_us,
        origin: match r.origin {
            origin::CONNECT => Origin::Connect,
            origin::ACCEPT => Origin::Accept,
            _ => Origin::Unknown,
        },
        lifetime_us: (r.lifetime_ns != 0).then_some(r.lifetime_ns / 1000),
        id: (r.sock_id != 0).then_some(r.sock_id),
    })
}

/// What folded overflow totals count, as [`Counters`] (a record is a failed connect or
/// a closed connection).
pub fn pair_counters(v: &PairTotals) -> Counters {
    let failed = v.failed_connects.min(v.records);
    Counters {
        connections: v.records - failed,
        failed_connects: failed,
        bytes_sent: v.bytes_sent,
        bytes_received: v.bytes_received,
        retransmits: v.retrans,
        lost: v.lost,
        rto_timeouts: v.rto,
        rto_recoveries: v.rto_recoveries,
        rto_time_ms: v.rto_time_ms,
        opened: 0,
    }
}

/// One overflow entry drained from the kernel (what was folded since the previous
/// drain) as [`FoldedTotals`]; `None` when it holds no record.
pub fn folded(local: [u8; 16], peer: [u8; 16], totals: &PairTotals) -> Option<FoldedTotals> {
    let counters = pair_counters(totals);
    (counters.closes() > 0).then(|| FoldedTotals {
        local: ip(local),
        peer: ip(peer),
        counters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(r: &CloseRecord) -> Vec<u8> {
        // SAFETY: CloseRecord is plain data.
        unsafe {
            std::slice::from_raw_parts(
                (r as *const CloseRecord).cast::<u8>(),
                size_of::<CloseRecord>(),
            )
        }
        .to_vec()
    }

    #[test]
    fn ipv4_mapped_addresses_become_ipv4() {
        let mut a = [0u8; 16];
        a[10] = 0xff;
        a[11] = 0xff;
        a[12..].copy_from_slice(&[10, 1, 2, 3]);
        assert_eq!(ip(a), "10.1.2.3".parse::<IpAddr>().unwrap());
        let v6: Ipv6Addr = "fd00::1".parse().unwrap();
        assert_eq!(ip(v6.octets()), IpAddr::V6(v6));
    }

    #[test]
    fn decodes_a_record() {
        let rec = CloseRecord {
            local_addr: "fd00::1".parse::<Ipv6Addr>().unwrap().octets(),
            peer_addr: "fd00::2".parse::<Ipv6Addr>().unwrap().octets(),
            bytes_sent: 10,
            bytes_received: 20,
            lifetime_ns: 5_000,
            sock_id: 0,
            total_retrans: 3,
            lost: 2,
            srtt_us: 150,
            total_rto: 1,
            total_rto_recoveries: 1,
            total_rto_time_ms: 200,
            local_port: 80,
            peer_port: 4000,
            old_state: tcp_state::SYN_SENT,
            origin: origin::CONNECT,
            _pad: [0; 2],
        };
        let e = close_event(&raw(&rec)).unwrap();
        assert_eq!(e.local.to_string(), "[fd00::1]:80");
        assert_eq!(e.peer.port(), 4000);
        let c = e.counters;
        assert_eq!(
            (c.bytes_sent, c.bytes_received, c.retransmits, c.lost),
            (10, 20, 3, 2)
        );
        assert!(e.failed_connect());
        assert_eq!((c.connections, c.failed_connects), (0, 1));
        assert_eq!(e.origin, Origin::Connect);
        assert_eq!(e.lifetime_us, Some(5));
        assert_eq!(c.rto_time_ms, 200);
        assert!(close_event(&[0u8; 8]).is_none());
    }

    #[test]
    fn folded_counts_failed_connects_apart() {
        let now = PairTotals {
            records: 5,
            bytes_sent: 400,
            failed_connects: 1,
            ..Default::default()
        };
        let f = folded([0; 16], [0; 16], &now).unwrap();
        let c = f.counters;
        assert_eq!((c.closes(), c.bytes_sent, c.failed_connects), (5, 400, 1));
        assert_eq!((c.connections, c.failed_connects), (4, 1));
        assert!(folded([0; 16], [0; 16], &PairTotals::default()).is_none());
    }
}
