//! [`Counters`]: the one set of summed numbers every layer uses, from a single closed
//! socket up to a row, a header total or a drained overflow entry.
use std::ops::AddAssign;

use serde::{Deserialize, Serialize};

/// Declares [`Counters`] and the field-wise operations on it, so that a new counter is
/// one line here.
macro_rules! counters {
    ($($(#[$doc:meta])* $(@$attr:ident)? $field:ident),* $(,)?) => {
        /// Sums over sockets. A closed socket's own counters have `connections` or
        /// `failed_connects` set to 1 and its final kernel counters in the rest.
        ///
        /// Serialised, it holds the fields a recording stores as they are; the RTO
        /// counters and the two socket counts are written by the recording's own
        /// format (see `record::wire`).
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct Counters {
            $($(#[$doc])* $(#[serde($attr)])? pub $field: u64,)*
        }

        impl Counters {
            /// Combines two counter sets field by field with `f`.
            fn zip(mut self, o: &Counters, f: impl Fn(u64, u64) -> u64) -> Counters {
                $(self.$field = f(self.$field, o.$field);)*
                self
            }
        }
    };
}

counters! {
    /// Sockets that closed after being established (each end on this node once).
    @skip connections,
    /// Connects that never completed (SYN_SENT -> CLOSE: refused or timed out).
    @skip failed_connects,
    /// Sockets that became established (counted where live sampling sees opens).
    @skip opened,
    /// Bytes sent, retransmissions included (`tcpi_bytes_sent`).
    bytes_sent,
    /// Bytes received; the peer's FIN counts as one (`tcpi_bytes_received`).
    bytes_received,
    /// Segments retransmitted (`tcpi_total_retrans`).
    retransmits,
    /// Segments marked lost over the socket's life (`tp->lost`).
    lost,
    /// RTO timeouts (`tcpi_total_rto`, 6.7+).
    @skip rto_timeouts,
    /// RTO recovery episodes (`tcpi_total_rto_recoveries`, 6.7+).
    @skip rto_recoveries,
    /// Milliseconds in RTO recovery (`tcpi_total_rto_time`, 6.7+).
    @skip rto_time_ms,
}

/// The payload size a retransmitted segment is assumed to carry for RETR%: a full
/// segment on a 1500-byte Ethernet path with TCP timestamps.
pub const RETRANS_SEGMENT_BYTES: u64 = 1448;

impl Counters {
    /// Closed sockets: established connections and failed connects.
    pub fn closes(&self) -> u64 {
        self.connections.saturating_add(self.failed_connects)
    }

    /// Bytes in both directions.
    pub fn bytes(&self) -> u64 {
        self.bytes_sent.saturating_add(self.bytes_received)
    }

    /// The growth from `before` to `self`, field by field; a field that went down
    /// counts as no growth.
    pub fn since(&self, before: &Counters) -> Counters {
        self.zip(before, u64::saturating_sub)
    }

    /// RETR%: the estimated share of bytes sent that were retransmissions, in percent:
    /// `retransmits x 1448 / bytes_sent x 100`. The kernel counts retransmitted segments
    /// and bytes sent (retransmissions included), not retransmitted bytes, so each
    /// retransmitted segment is taken as one full segment: traffic of small messages
    /// reads high, loopback (64 KiB segments) reads low. `None` without bytes sent.
    pub fn retrans_pct(&self) -> Option<f64> {
        (self.bytes_sent > 0).then(|| {
            self.retransmits as f64 * RETRANS_SEGMENT_BYTES as f64 * 100.0 / self.bytes_sent as f64
        })
    }
}

/// Sums saturate: a damaged recording cannot wrap a total around.
impl AddAssign for Counters {
    fn add_assign(&mut self, o: Counters) {
        *self = self.zip(&o, u64::saturating_add);
    }
}

impl AddAssign<&Counters> for Counters {
    fn add_assign(&mut self, o: &Counters) {
        *self += *o;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_field_by_field_and_saturates() {
        let mut a = Counters {
            connections: 1,
            bytes_sent: 10,
            rto_time_ms: 5,
            ..Counters::default()
        };
        a += Counters {
            failed_connects: 2,
            bytes_sent: u64::MAX,
            rto_time_ms: 1,
            ..Counters::default()
        };
        assert_eq!((a.closes(), a.bytes_sent, a.rto_time_ms), (3, u64::MAX, 6));
        let before = Counters {
            bytes_sent: 4,
            lost: 9,
            ..Counters::default()
        };
        let now = Counters {
            bytes_sent: 10,
            lost: 3,
            ..Counters::default()
        };
        assert_eq!(now.since(&before).bytes_sent, 6);
        assert_eq!(
            now.since(&before).lost,
            0,
            "a counter that went down adds nothing"
        );
    }

    #[test]
    fn retransmit_share_is_per_full_segment() {
        let c = Counters {
            bytes_sent: 3 * 1448 * 100,
            retransmits: 3,
            ..Counters::default()
        };
        assert_eq!(c.retrans_pct(), Some(1.0));
        assert_eq!(Counters::default().retrans_pct(), None);
    }
}
