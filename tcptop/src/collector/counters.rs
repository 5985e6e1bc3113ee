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
            /// How many counters there are.
            pub const LEN: usize = [$(stringify!($field)),*].len();

            /// Every counter, in declaration order.
            pub fn to_array(&self) -> [u64; Self::LEN] {
                [$(self.$field),*]
            }

            /// The counters [`Counters::to_array`] gave.
            pub fn from_array(a: [u64; Self::LEN]) -> Self {
                let [$($field),*] = a;
                Counters { $($field),* }
            }

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
    /// Connects that never completed (SYN_SENT -> CLOSE: refused, timed out, or given
    /// up by the application or an ICMP error).
    @skip failed_connects,
    /// Of those, connects a reset refused (the socket closed with ECONNREFUSED).
    refused,
    /// Of those, connects nothing answered (the socket closed with ETIMEDOUT).
    timed_out,
    /// Resets this node sent.
    resets_sent,
    /// Resets this node received.
    resets_received,
    /// Sockets that became established (counted where live sampling sees opens).
    @skip opened,
    /// Bytes sent, retransmissions included (`tcpi_bytes_sent`).
    bytes_sent,
    /// Bytes received; the peer's FIN counts as one (`tcpi_bytes_received`).
    bytes_received,
    /// Data segments sent, retransmissions included (`tcpi_data_segs_out`).
    data_segs_out,
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
    /// Microseconds busy sending, limited or not (`tcpi_busy_time`).
    busy_us,
    /// Of those, limited by the receiver's window (`tcpi_rwnd_limited`).
    rwnd_limited_us,
    /// Of those, limited by the sender's own buffer (`tcpi_sndbuf_limited`).
    sndbuf_limited_us,
}

/// What limited a pair's sending while it was busy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Limit {
    /// Busy with neither limit: the congestion window (loss or queueing on the path).
    Network,
    /// The sending application or its send buffer.
    Sndbuf,
    /// The receiver's window: it does not read fast enough, or its buffer is small.
    Rwnd,
}

impl Limit {
    /// Every limit, in order.
    pub const ALL: [Limit; 3] = [Limit::Network, Limit::Sndbuf, Limit::Rwnd];

    /// A number that stands for it, from 1, in [`Limit::ALL`] order (sorting by it
    /// groups rows by limit).
    pub fn code(self) -> u64 {
        self as u64 + 1
    }

    /// The limit [`Limit::code`] gave `code`.
    pub fn of_code(code: u64) -> Option<Limit> {
        Limit::ALL
            .get(usize::try_from(code.checked_sub(1)?).ok()?)
            .copied()
    }

    /// Its name in the LIMIT column and the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Limit::Network => "network",
            Limit::Sndbuf => "sndbuf",
            Limit::Rwnd => "rwnd",
        }
    }
}

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

    /// RETR%: retransmitted segments per data segment sent, in percent, exactly as
    /// `tcpi_total_retrans / tcpi_data_segs_out`. `None` without data segments sent.
    pub fn retrans_pct(&self) -> Option<f64> {
        (self.data_segs_out > 0)
            .then(|| self.retransmits as f64 * 100.0 / self.data_segs_out as f64)
    }

    /// What limited sending the most while busy: the receiver's window, the send
    /// buffer, or neither (the network). `None` when nothing was busy sending.
    pub fn limit(&self) -> Option<Limit> {
        if self.busy_us == 0 {
            return None;
        }
        let limited = self.rwnd_limited_us.saturating_add(self.sndbuf_limited_us);
        let network = self.busy_us.saturating_sub(limited);
        // The largest share wins; a tie goes to the network.
        Some(
            [
                (network, Limit::Network),
                (self.sndbuf_limited_us, Limit::Sndbuf),
                (self.rwnd_limited_us, Limit::Rwnd),
            ]
            .into_iter()
            .fold(
                (0, Limit::Network),
                |best, (v, l)| {
                    if v > best.0 {
                        (v, l)
                    } else {
                        best
                    }
                },
            )
            .1,
        )
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
    fn retransmit_share_is_per_data_segment() {
        let c = Counters {
            data_segs_out: 300,
            retransmits: 3,
            ..Counters::default()
        };
        assert_eq!(c.retrans_pct(), Some(1.0));
        assert_eq!(Counters::default().retrans_pct(), None);
    }

    #[test]
    fn the_largest_share_names_the_limit() {
        let c = |busy_us, rwnd_limited_us, sndbuf_limited_us| Counters {
            busy_us,
            rwnd_limited_us,
            sndbuf_limited_us,
            ..Counters::default()
        };
        assert_eq!(c(0, 0, 0).limit(), None);
        assert_eq!(c(100, 60, 0).limit(), Some(Limit::Rwnd));
        assert_eq!(c(100, 10, 50).limit(), Some(Limit::Sndbuf));
        assert_eq!(c(100, 20, 30).limit(), Some(Limit::Network));
        assert_eq!(c(100, 50, 0).limit(), Some(Limit::Network), "a tie");
    }
}
