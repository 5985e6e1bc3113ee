//! Turns the eBPF program's raw records into userspace types.
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use tcptop_common::{origin, reset, tcp_state, CloseRecord, PairTotals, ResetRecord};

use super::{CloseEvent, Counters, FoldedTotals, Gauges, Origin, Record};

/// Reads a 16-byte address; IPv4-mapped addresses become IPv4.
pub fn ip(bytes: [u8; 16]) -> IpAddr {
    let v6 = Ipv6Addr::from(bytes);
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

/// Turns the kernel's records into userspace types; it knows the running kernel's
/// jiffy, in which busy and limited times arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoder {
    /// Microseconds per jiffy (1,000,000 / HZ).
    pub jiffy_us: u64,
}

impl Decoder {
    /// Decodes one ring buffer record, told apart by its size. `None` for a buffer of
    /// another size.
    pub fn record(&self, raw: &[u8]) -> Option<Record> {
        match raw.len() {
            n if n == size_of::<CloseRecord>() => self.close_event(raw).map(Record::Close),
            n if n == size_of::<ResetRecord>() => {
                // SAFETY: ResetRecord is plain integers; the length was checked.
                let r: ResetRecord = unsafe { std::ptr::read_unaligned(raw.as_ptr().cast()) };
                let mut counters = Counters::default();
                match r.kind {
                    reset::SENT => counters.resets_sent = 1,
                    _ => counters.resets_received = 1,
                }
                Some(Record::Reset(FoldedTotals {
                    local: ip(r.local_addr),
                    peer: ip(r.peer_addr),
                    counters,
                }))
            }
            _ => None,
        }
    }

    /// Who made the socket of a close record (or of the start of a sample record): its
    /// cgroup id and process name as the kernel wrote them; zeros for a buffer too
    /// short.
    pub fn maker(raw: &[u8]) -> (u64, [u8; 16]) {
        if raw.len() < size_of::<CloseRecord>() {
            return (0, [0; 16]);
        }
        // SAFETY: CloseRecord is plain integers; the length was checked.
        let r: CloseRecord = unsafe { std::ptr::read_unaligned(raw.as_ptr().cast()) };
        (r.cgroup_id, r.comm)
    }

    /// Decodes a close record (or the start of a sample record, which has one first);
    /// its cgroup and process names are left to [`super::cgroups::Names`].
    /// `None` for a buffer too short.
    pub fn close_event(&self, raw: &[u8]) -> Option<CloseEvent> {
        if raw.len() < size_of::<CloseRecord>() {
            return None;
        }
        // SAFETY: CloseRecord is plain integers; the length was checked.
        let r: CloseRecord = unsafe { std::ptr::read_unaligned(raw.as_ptr().cast()) };
        let failed = r.old_state == tcp_state::SYN_SENT;
        let error = i32::from(r.error);
        let j = |jiffies: u32| u64::from(jiffies) * self.jiffy_us;
        Some(CloseEvent {
            local: SocketAddr::new(ip(r.local_addr), r.local_port),
            peer: SocketAddr::new(ip(r.peer_addr), r.peer_port),
            counters: Counters {
                connections: u64::from(!failed),
                failed_connects: u64::from(failed),
                refused: u64::from(failed && error == libc::ECONNREFUSED),
                timed_out: u64::from(failed && error == libc::ETIMEDOUT),
                bytes_sent: r.bytes_sent,
                bytes_received: r.bytes_received,
                data_segs_out: u64::from(r.data_segs_out),
                retransmits: u64::from(r.total_retrans),
                lost: u64::from(r.lost),
                rto_timeouts: u64::from(r.total_rto),
                rto_recoveries: u64::from(r.total_rto_recoveries),
                rto_time_ms: u64::from(r.total_rto_time_ms),
                busy_us: j(r.chrono[0]) + j(r.chrono[1]) + j(r.chrono[2]),
                rwnd_limited_us: j(r.chrono[1]),
                sndbuf_limited_us: j(r.chrono[2]),
                ..Counters::default()
            },
            srtt_us: r.srtt_us,
            origin: match r.origin {
                origin::CONNECT => Origin::Connect,
                origin::ACCEPT => Origin::Accept,
                _ => Origin::Unknown,
            },
            lifetime_us: (r.lifetime_ns != 0).then_some(r.lifetime_ns / 1000),
            id: (r.sock_id != 0).then_some(r.sock_id),
            gauges: Gauges {
                rttvar_us: r.rttvar_us,
                cwnd: r.snd_cwnd,
                ssthresh: r.snd_ssthresh,
                unacked: r.packets_out,
                delivery_rate: delivery_rate(r.rate_delivered, r.rate_interval_us, r.mss_cache),
                mss: r.mss_cache,
            },
            cgroup: None,
            process: None,
        })
    }

    /// What folded overflow totals count, as [`Counters`] (a record is a failed
    /// connect or a closed connection).
    pub fn pair_counters(&self, v: &PairTotals) -> Counters {
        let failed = v.failed_connects.min(v.records);
        let j = |jiffies: u64| jiffies.saturating_mul(self.jiffy_us);
        Counters {
            connections: v.records - failed,
            failed_connects: failed,
            refused: v.refused.min(failed),
            timed_out: v.timed_out.min(failed),
            resets_sent: v.resets_sent,
            resets_received: v.resets_received,
            bytes_sent: v.bytes_sent,
            bytes_received: v.bytes_received,
            data_segs_out: v.data_segs_out,
            retransmits: v.retrans,
            lost: v.lost,
            rto_timeouts: v.rto,
            rto_recoveries: v.rto_recoveries,
            rto_time_ms: v.rto_time_ms,
            opened: 0,
            busy_us: j(v.chrono[0]) + j(v.chrono[1]) + j(v.chrono[2]),
            rwnd_limited_us: j(v.chrono[1]),
            sndbuf_limited_us: j(v.chrono[2]),
        }
    }

    /// One overflow entry drained from the kernel (what was folded since the previous
    /// drain) as [`FoldedTotals`]; `None` when it holds nothing.
    pub fn folded(
        &self,
        local: [u8; 16],
        peer: [u8; 16],
        totals: &PairTotals,
    ) -> Option<FoldedTotals> {
        let counters = self.pair_counters(totals);
        (counters.closes() + counters.resets_sent + counters.resets_received > 0).then(|| {
            FoldedTotals {
                local: ip(local),
                peer: ip(peer),
                counters,
            }
        })
    }
}

/// TCP_INFO's delivery rate: segments delivered in the last sample x MSS over the
/// sample's length, in bytes per second (0 without a sample).
pub fn delivery_rate(delivered: u32, interval_us: u32, mss: u32) -> u64 {
    match interval_us {
        0 => 0,
        us => u64::from(delivered) * u64::from(mss) * 1_000_000 / u64::from(us),
    }
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

    const D: Decoder = Decoder { jiffy_us: 4000 };

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
            data_segs_out: 7,
            chrono: [1, 2, 3],
            snd_cwnd: 10,
            rate_delivered: 10,
            rate_interval_us: 1000,
            mss_cache: 1448,
            local_port: 80,
            peer_port: 4000,
            old_state: tcp_state::SYN_SENT,
            origin: origin::CONNECT,
            error: libc::ECONNREFUSED as u8,
            ..CloseRecord::default()
        };
        let Some(Record::Close(e)) = D.record(&raw(&rec)) else {
            panic!("not a close")
        };
        assert_eq!(e.local.to_string(), "[fd00::1]:80");
        assert_eq!(e.peer.port(), 4000);
        let c = e.counters;
        assert_eq!(
            (c.bytes_sent, c.bytes_received, c.retransmits, c.lost),
            (10, 20, 3, 2)
        );
        assert!(e.failed_connect());
        assert_eq!((c.connections, c.failed_connects), (0, 1));
        assert_eq!((c.refused, c.timed_out), (1, 0));
        assert_eq!(e.origin, Origin::Connect);
        assert_eq!(e.lifetime_us, Some(5));
        assert_eq!(c.rto_time_ms, 200);
        assert_eq!(c.data_segs_out, 7);
        // busy_time is the three chrono times together, as TCP_INFO reports it.
        assert_eq!(
            (c.busy_us, c.rwnd_limited_us, c.sndbuf_limited_us),
            (24_000, 8_000, 12_000)
        );
        assert_eq!((e.gauges.cwnd, e.gauges.delivery_rate), (10, 14_480_000));
        assert!(D.close_event(&[0u8; 8]).is_none());
        assert!(D.record(&[0u8; 8]).is_none());
    }

    #[test]
    fn decodes_a_reset() {
        let rec = ResetRecord {
            kind: reset::RECEIVED,
            local_port: 1,
            ..ResetRecord::default()
        };
        // SAFETY: ResetRecord is plain data.
        let raw = unsafe {
            std::slice::from_raw_parts(
                (&rec as *const ResetRecord).cast::<u8>(),
                size_of::<ResetRecord>(),
            )
        };
        let Some(Record::Reset(t)) = D.record(raw) else {
            panic!("not a reset")
        };
        assert_eq!((t.counters.resets_received, t.counters.resets_sent), (1, 0));
        assert_eq!(t.counters.closes(), 0);
    }

    #[test]
    fn folded_counts_failed_connects_apart() {
        let now = PairTotals {
            records: 5,
            bytes_sent: 400,
            failed_connects: 2,
            refused: 1,
            timed_out: 1,
            chrono: [1, 0, 1],
            ..Default::default()
        };
        let f = D.folded([0; 16], [0; 16], &now).unwrap();
        let c = f.counters;
        assert_eq!((c.closes(), c.bytes_sent, c.failed_connects), (5, 400, 2));
        assert_eq!((c.connections, c.refused, c.timed_out), (3, 1, 1));
        assert_eq!((c.busy_us, c.sndbuf_limited_us), (8000, 4000));
        assert!(D.folded([0; 16], [0; 16], &PairTotals::default()).is_none());
        let resets = PairTotals {
            resets_sent: 2,
            ..Default::default()
        };
        assert_eq!(
            D.folded([0; 16], [0; 16], &resets)
                .unwrap()
                .counters
                .resets_sent,
            2
        );
    }
}
