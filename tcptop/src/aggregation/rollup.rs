//! Roll-ups: one aggregator grouped by every dimension ([`FineAggregator`]) from which
//! any coarser grouping, narrowed by a [`KeyFilter`], can be derived exactly. The UI
//! keeps one fine aggregator per time span instead of one per grouping it might show.
use std::{net::IpAddr, sync::Arc};

use super::{
    dimension::Dimension,
    group::{Aggregator, GroupKey},
    metrics::Metrics,
};
use crate::attribution::{AttributedClose, AttributedFolded, AttributedLive, Attribution, Item};

/// Conditions on both ends of a connection: for each listed dimension, the local and
/// the peer value it must have. The empty filter matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyFilter {
    parts: Vec<(Dimension, Arc<str>, Arc<str>)>,
}

impl KeyFilter {
    /// The filter that matches everything.
    pub fn all() -> Self {
        Self::default()
    }

    /// This filter, narrowed to connections whose `dim` is `local` here and `peer` there.
    pub fn and(mut self, dim: Dimension, local: Arc<str>, peer: Arc<str>) -> Self {
        self.parts.push((dim, local, peer));
        self
    }

    /// This filter, narrowed to the row `key` of a grouping by `dims`.
    pub fn and_key(mut self, dims: &[Dimension], key: &GroupKey) -> Self {
        for (i, d) in dims.iter().enumerate() {
            if let (Some(l), Some(p)) = (key.local.get(i), key.peer.get(i)) {
                self.parts.push((*d, l.clone(), p.clone()));
            }
        }
        self
    }

    /// True when the connection between these ends passes.
    pub fn matches_ends(
        &self,
        local: (IpAddr, &Attribution),
        peer: (IpAddr, &Attribution),
    ) -> bool {
        self.parts
            .iter()
            .all(|(d, l, p)| value_is(*d, local, l) && value_is(*d, peer, p))
    }

    /// True when `rec` passes.
    pub fn matches(&self, rec: &AttributedClose) -> bool {
        self.matches_ends(
            (rec.event.local.ip(), &rec.local),
            (rec.event.peer.ip(), &rec.peer),
        )
    }

    /// True when live activity passes.
    pub fn matches_live(&self, l: &AttributedLive) -> bool {
        self.matches_ends((l.delta.local.ip(), &l.local), (l.delta.peer.ip(), &l.peer))
    }

    /// True when folded totals pass.
    pub fn matches_folded(&self, f: &AttributedFolded) -> bool {
        self.matches_ends((f.totals.local, &f.local), (f.totals.peer, &f.peer))
    }

    /// True when a key of a [`FineAggregator`] passes.
    fn matches_fine(&self, key: &GroupKey) -> bool {
        self.parts
            .iter()
            .all(|(d, l, p)| key.local[d.index()] == *l && key.peer[d.index()] == *p)
    }
}

/// Compares without allocating for the IP dimension.
fn value_is(dim: Dimension, end: (IpAddr, &Attribution), want: &str) -> bool {
    match dim {
        Dimension::Ip => want.parse::<IpAddr>().is_ok_and(|ip| ip == end.0),
        d => *d.value(end.0, end.1) == *want,
    }
}

/// An aggregator grouped by every dimension, in [`Dimension::ALL`] order: the finest
/// grouping, from which every other one rolls up.
#[derive(Clone, Debug)]
pub struct FineAggregator(Aggregator);

impl Default for FineAggregator {
    fn default() -> Self {
        Self(Aggregator::new(Dimension::ALL.to_vec()))
    }
}

impl FineAggregator {
    /// An empty aggregator keeping at most `limit` fine rows (see
    /// [`Aggregator::with_limit`]).
    pub fn with_limit(limit: usize) -> Self {
        Self(Aggregator::with_limit(Dimension::ALL.to_vec(), limit).with_pass_srtt())
    }

    /// Fine rows folded into the `other` row so far.
    pub fn folded(&self) -> u64 {
        self.0.folded()
    }

    /// Adds a close or folded totals.
    pub fn add_item(&mut self, item: &Item) {
        self.0.add_item(item);
    }

    /// Every fine row: keys hold the values of [`Dimension::ALL`] in that order.
    pub fn groups(&self) -> impl Iterator<Item = (&GroupKey, &Metrics)> {
        self.0.groups()
    }

    /// Number of fine rows.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The rows passing `filter`, regrouped by `dims`: exactly what an aggregator grouped
    /// by `dims` that saw only those records would hold.
    pub fn roll_up(&self, dims: &[Dimension], filter: &KeyFilter) -> Aggregator {
        let mut out = Aggregator::with_limit(dims.to_vec(), self.0.limit());
        if self.0.pass_srtt() {
            out = out.with_pass_srtt();
        }
        for (k, m) in self.0.groups() {
            if let Some(key) = project(k, dims, filter) {
                out.merge_row(key, m);
            }
        }
        out
    }

    /// The fine rows' keys.
    pub fn keys(&self) -> impl Iterator<Item = &GroupKey> {
        self.0.groups().map(|(k, _)| k)
    }
}

/// The key fine row `fine` rolls up into under grouping `dims`, if it passes `filter`.
pub fn project(fine: &GroupKey, dims: &[Dimension], filter: &KeyFilter) -> Option<GroupKey> {
    if !filter.matches_fine(fine) {
        return None;
    }
    // Fine keys, `other` included, hold a value for every dimension.
    let pick =
        |values: &[std::sync::Arc<str>]| dims.iter().map(|d| values[d.index()].clone()).collect();
    Some(GroupKey {
        local: pick(&fine.local),
        peer: pick(&fine.peer),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{collector::Counters, testdata::event};

    fn rec(local: &str, peer: &str, ns: (&str, &str), tx: u64, srtt: u32) -> AttributedClose {
        let owner = |ns: &str, i: &str| Attribution {
            namespace: ns.into(),
            pod: format!("{ns}-{i}").into(),
            node: "n1".into(),
            az: format!("az-{}", ns.len() % 2).into(),
            service: crate::attribution::NO_SERVICE.into(),
            workload: crate::attribution::NO_WORKLOAD.into(),
            port: None,
            process: None,
        };
        let counters = Counters {
            connections: 1,
            bytes_sent: tx,
            bytes_received: 1,
            retransmits: 1,
            ..Counters::default()
        };
        AttributedClose {
            event: event(local, peer, counters, srtt),
            local: owner(ns.0, &local[..local.find(':').unwrap()]),
            peer: owner(ns.1, &peer[..peer.find(':').unwrap()]),
        }
    }

    fn sample() -> Vec<AttributedClose> {
        vec![
            rec("10.0.0.1:1", "10.0.1.1:80", ("web", "db"), 100, 50),
            rec("10.0.0.2:1", "10.0.1.1:80", ("web", "db"), 200, 70),
            rec("10.0.0.2:2", "10.0.1.2:80", ("web", "db"), 300, 900),
            rec("10.0.0.1:3", "10.0.2.1:53", ("web", "kube"), 7, 10),
        ]
    }

    /// Every grouping and filter rolled up from the fine aggregator equals a direct one.
    #[test]
    fn roll_up_equals_direct_aggregation() {
        let recs = sample();
        let mut fine = FineAggregator::default();
        recs.iter()
            .for_each(|r| fine.add_item(&Item::Close(r.clone())));
        let filters = [
            KeyFilter::all(),
            KeyFilter::all().and(Dimension::Namespace, "web".into(), "db".into()),
            KeyFilter::all()
                .and(Dimension::Namespace, "web".into(), "db".into())
                .and(Dimension::Ip, "10.0.0.2".into(), "10.0.1.1".into()),
        ];
        for dims in [
            vec![Dimension::Namespace, Dimension::Az],
            vec![Dimension::Pod],
            vec![Dimension::Ip],
            vec![Dimension::Node],
        ] {
            for f in &filters {
                let rolled = fine.roll_up(&dims, f);
                let mut direct = Aggregator::new(dims.clone());
                recs.iter()
                    .filter(|r| f.matches(r))
                    .for_each(|r| direct.add(r));
                assert_eq!(rolled.len(), direct.len(), "{dims:?} {f:?}");
                for (k, m) in direct.groups() {
                    let r = rolled.get(k).expect("same keys");
                    assert_eq!((r.counters, r.srtt.len()), (m.counters, m.srtt.len()));
                    assert_eq!(r.srtt.quantile(0.99), m.srtt.quantile(0.99));
                }
            }
        }
    }

    #[test]
    fn filters_narrow_by_both_ends() {
        let r = &sample()[0];
        let f = KeyFilter::all().and(Dimension::Namespace, "web".into(), "db".into());
        assert!(f.matches(r));
        assert!(!KeyFilter::all()
            .and(Dimension::Namespace, "db".into(), "web".into())
            .matches(r));
        assert!(KeyFilter::all()
            .and(Dimension::Ip, "10.0.0.1".into(), "10.0.1.1".into())
            .matches(r));
        let key = GroupKey::new(
            &[Dimension::Pod],
            (r.event.local.ip(), &r.local),
            (r.event.peer.ip(), &r.peer),
        );
        let by_key = KeyFilter::all().and_key(&[Dimension::Pod], &key);
        assert_eq!(
            by_key,
            KeyFilter::all().and(Dimension::Pod, "web-10.0.0.1".into(), "db-10.0.1.1".into())
        );
        assert!(by_key.matches(r) && !by_key.matches(&sample()[1]));
    }
}
