//! Turns the eBPF program's raw records into userspace types.
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use tcptop_common::{origin, tcp_state, CloseRecord, PairTotals};

use super::{CloseEvent, FoldedTotals, Origin, RtoCounters};

/// Reads a 16-byte address; IPv4-mapped addresses become IPv4.
pub fn ip(bytes: [u8; 16]) -> IpAddr {
    let v6 = Ipv6Addr::from(bytes);
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

/// Decodes one ring buffer record. `rto` says whether the kernel has RTO counters.
/// Returns `None` for a buffer of the wrong size.
pub fn close_event(raw: &[u8], rto: bool) -> Option<CloseEvent> {
    if raw.len() < size_of::<CloseRecord>() {
        return None;
    }
    // SAFETY: CloseRecord is plain integers; the length was checked.
    let r: CloseRecord = unsafe { std::ptr::read_unaligned(raw.as_ptr().cast()) };
    Some(CloseEvent {
        local: SocketAddr::new(ip(r.local_addr), r.local_port),
        peer: SocketAddr::new(ip(r.peer_addr), r.peer_port),
        bytes_sent: r.bytes_sent,
        bytes_received: r.bytes_received,
        retransmits: u64::from(r.total_retrans),
        lost: u64::from(r.lost),
        srtt_us: r.srtt_us,
        rto: rto.then_some(RtoCounters {
            timeouts: u64::from(r.total_rto),
            recoveries: u64::from(r.total_rto_recoveries),
            time_ms: u64::from(r.total_rto_time_ms),
        }),
        failed_connect: r.old_state == tcp_state::SYN_SENT,
        origin: match r.origin {
            origin::CONNECT => Origin::Connect,
            origin::ACCEPT => Origin::Accept,
            _ => Origin::Unknown,
        },
        lifetime_us: (r.lifetime_ns != 0).then_some(r.lifetime_ns / 1000),
    })
}

/// The growth of one overflow entry between two reads, as [`FoldedTotals`]; `None` when
/// nothing changed.
pub fn folded(
    local: [u8; 16],
    peer: [u8; 16],
    now: &PairTotals,
    before: &PairTotals,
    rto: bool,
) -> Option<FoldedTotals> {
    let d = |a: u64, b: u64| a.saturating_sub(b);
    let records = d(now.records, before.records);
    if records == 0 {
        return None;
    }
    Some(FoldedTotals {
        local: ip(local),
        peer: ip(peer),
        records,
        failed_connects: d(now.failed_connects, before.failed_connects),
        bytes_sent: d(now.bytes_sent, before.bytes_sent),
        bytes_received: d(now.bytes_received, before.bytes_received),
        retransmits: d(now.retrans, before.retrans),
        lost: d(now.lost, before.lost),
        rto: rto.then_some(RtoCounters {
            timeouts: d(now.rto, before.rto),
            recoveries: d(now.rto_recoveries, before.rto_recoveries),
            time_ms: d(now.rto_time_ms, before.rto_time_ms),
        }),
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
        let e = close_event(&raw(&rec), true).unwrap();
        assert_eq!(e.local.to_string(), "[fd00::1]:80");
        assert_eq!(e.peer.port(), 4000);
        assert_eq!(
            (e.bytes_sent, e.bytes_received, e.retransmits, e.lost),
            (10, 20, 3, 2)
        );
        assert!(e.failed_connect);
        assert_eq!(e.origin, Origin::Connect);
        assert_eq!(e.lifetime_us, Some(5));
        assert_eq!(e.rto.unwrap().time_ms, 200);
        assert_eq!(close_event(&raw(&rec), false).unwrap().rto, None);
        assert!(close_event(&[0u8; 8], true).is_none());
    }

    #[test]
    fn folded_reports_growth_only() {
        let before = PairTotals {
            records: 2,
            bytes_sent: 100,
            ..Default::default()
        };
        let now = PairTotals {
            records: 5,
            bytes_sent: 400,
            failed_connects: 1,
            ..Default::default()
        };
        let f = folded([0; 16], [0; 16], &now, &before, false).unwrap();
        assert_eq!((f.records, f.bytes_sent, f.failed_connects), (3, 300, 1));
        assert!(folded([0; 16], [0; 16], &now, &now, false).is_none());
    }
}
