//! Rows that wait for their labels: [`Unlabelled`] keeps what arrived before the
//! Kubernetes cache synced by address pair, and labels it once the cache can, so that
//! `--once` collects from its first millisecond and still attributes its whole window
//! from a synced cache. The server's port and the local process are kept with each
//! address, so the `port` and `process` dimensions and hostNetwork pods' declared
//! ports work late too. A Service peer's backend (conntrack, by the whole socket
//! tuple) and the socket's cgroup are not: such a peer stays `svc/<name>`, and a
//! hostNetwork pod's own socket is its node's.
use std::net::{IpAddr, SocketAddr};

use super::{
    dimension::{Dimension, NO_PORT},
    group::{Aggregator, GroupKey},
};
use crate::attribution::{Item, Resolver};

/// Rows keyed by local and peer address and server port, at most `limit` of them (beyond it, the rows
/// idle longest fold into `other`, as in every [`Aggregator`]).
#[derive(Clone, Debug)]
pub struct Unlabelled(Aggregator);

impl Unlabelled {
    /// An empty set keeping at most `limit` address pairs.
    pub fn with_limit(limit: usize) -> Self {
        let dims = vec![Dimension::Ip, Dimension::Port, Dimension::Process];
        Self(Aggregator::with_limit(dims, limit))
    }

    /// Adds a close, folded totals or live activity; its labels are ignored.
    pub fn add_item(&mut self, item: &Item) {
        self.0.add_item(item);
    }

    /// Address pairs folded into `other` so far.
    pub fn folded(&self) -> u64 {
        self.0.folded()
    }

    /// Adds every row into `out`, both ends labelled by `resolver` now. The `other` row
    /// goes into `out`'s `other` row.
    pub fn label_into(&self, out: &mut Aggregator, resolver: &dyn Resolver) {
        for (key, m) in self.0.groups() {
            let end = |values: &[std::sync::Arc<str>]| {
                let ip = values[0].parse::<IpAddr>().ok()?;
                Some((ip, values[1].parse::<u16>().ok()))
            };
            let process = (&*key.local[2] != NO_PORT).then(|| key.local[2].clone());
            let to = match (end(&key.local), end(&key.peer)) {
                (Some((l, local_port)), Some((p, peer_port))) => {
                    let mut local = resolver.resolve(l);
                    local.port = local_port;
                    local.process = process;
                    let peer_addr = SocketAddr::new(p, peer_port.unwrap_or(0));
                    let mut peer = resolver.resolve_end(peer_addr, peer_port.is_some());
                    peer.port = peer_port;
                    GroupKey::new(out.group_by(), (l, &local), (p, &peer))
                }
                _ => out.other_key(),
            };
            out.merge_row(to, m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        attribution::{AttributedClose, Attribution, IpOnly},
        collector::Counters,
        testdata::event,
    };

    /// Knows 10.0.0.0/8 is namespace `web`, the rest nothing.
    struct Web;

    impl Resolver for Web {
        fn resolve(&self, ip: IpAddr) -> Attribution {
            match ip {
                IpAddr::V4(v4) if v4.octets()[0] == 10 => Attribution {
                    namespace: "web".into(),
                    pod: format!("web-{}", v4.octets()[3]).into(),
                    node: "n1".into(),
                    az: "a".into(),
                    service: crate::attribution::NO_SERVICE.into(),
                    workload: crate::attribution::NO_WORKLOAD.into(),
                    port: None,
                    process: None,
                },
                _ => Attribution::unknown(),
            }
        }
    }

    fn close(local: &str, peer: &str, tx: u64, srtt: u32) -> Item {
        let counters = Counters {
            connections: 1,
            bytes_sent: tx,
            ..Counters::default()
        };
        // Labelled as they are on arrival: nothing known yet but the server's port.
        Item::Close(AttributedClose::new(
            event(local, peer, counters, srtt),
            &IpOnly::default(),
        ))
    }

    fn items() -> Vec<Item> {
        vec![
            close("10.0.0.1:1", "10.0.0.2:80", 100, 50),
            close("10.0.0.3:1", "10.0.0.2:80", 200, 70),
            close("10.0.0.1:2", "192.0.2.9:443", 7, 900),
            close("10.0.0.1:3", "10.0.0.2:80", 1, 10),
        ]
    }

    /// Labelled late, the rows equal those of an aggregator that saw the records
    /// labelled on arrival, for several groupings, row limits and srtt samples included.
    #[test]
    fn labelled_late_equals_labelled_on_arrival() {
        let groupings = [
            vec![Dimension::Namespace],
            vec![Dimension::Pod, Dimension::Az],
            vec![Dimension::Ip],
            vec![Dimension::Port, Dimension::Namespace],
        ];
        for dims in groupings {
            let mut pending = Unlabelled::with_limit(100);
            let mut direct = Aggregator::new(dims.clone());
            for item in items() {
                pending.add_item(&item);
                let Item::Close(c) = item else { unreachable!() };
                direct.add(&AttributedClose::new(c.event, &Web));
            }
            let mut late = Aggregator::new(dims.clone());
            pending.label_into(&mut late, &Web);
            assert_eq!(late.len(), direct.len(), "{dims:?}");
            for (k, m) in direct.groups() {
                let got = late.get(k).unwrap_or_else(|| panic!("{dims:?}: {k:?}"));
                assert_eq!(got.counters, m.counters, "{dims:?}");
                assert_eq!(got.srtt.len(), m.srtt.len(), "{dims:?}");
                assert_eq!(got.srtt.quantile(0.5), m.srtt.quantile(0.5));
            }
        }
    }

    /// Pairs folded for want of room stay counted and land in the target's `other` row.
    #[test]
    fn folded_pairs_land_in_other() {
        let mut pending = Unlabelled::with_limit(2);
        for item in items() {
            pending.add_item(&item);
        }
        assert!(pending.folded() > 0);
        let mut out = Aggregator::new(vec![Dimension::Namespace]);
        pending.label_into(&mut out, &IpOnly::default());
        let total: u64 = out.groups().map(|(_, m)| m.counters.bytes_sent).sum();
        assert_eq!(total, 308);
        assert!(out.get(&out.other_key()).is_some());
    }
}
