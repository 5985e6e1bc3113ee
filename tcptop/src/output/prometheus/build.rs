//! Builders of the text format's families and samples, shared by tcptop's own, the
//! old exporter's and the health families.
use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};
use prometheus::{Encoder, TextEncoder};

use crate::aggregation::{series::Buckets, GroupKey, Layout, SeriesStore};

/// Families encoded as they come, so that a scrape holds one family at a time rather
/// than every sample of every family at once.
#[derive(Default)]
pub struct Families {
    text: Vec<u8>,
    error: Option<prometheus::Error>,
}

impl Families {
    /// Encodes `f`; a family without samples is left out (it is not valid text).
    pub fn push(&mut self, f: MetricFamily) {
        if f.get_metric().is_empty() || self.error.is_some() {
            return;
        }
        if let Err(e) = TextEncoder::new().encode(std::slice::from_ref(&f), &mut self.text) {
            self.error = Some(e);
        }
    }

    /// The exposition.
    pub fn finish(self) -> Result<String, prometheus::Error> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(String::from_utf8(self.text).expect("the text encoder writes UTF-8")),
        }
    }
}

/// The prefix of tcptop's own families.
pub const PREFIX: &str = "tcptop";

/// An empty family.
pub fn family(name: String, help: &str, kind: MetricType) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(name);
    f.set_help(help.into());
    f.set_field_type(kind);
    f
}

/// A counter or gauge sample.
pub fn sample(labels: Vec<LabelPair>, kind: MetricType, v: f64) -> Metric {
    let mut m = Metric::from_label(labels);
    if kind == MetricType::GAUGE {
        let mut g = Gauge::default();
        g.set_value(v);
        m.set_gauge(g);
    } else {
        let mut c = Counter::default();
        c.set_value(v);
        m.set_counter(c);
    }
    m
}

/// A histogram sample of `counts` (per bucket) laid out as `layout`.
pub fn histogram(labels: Vec<LabelPair>, layout: Layout, s: &Buckets) -> Metric {
    let mut cumulative = 0;
    let buckets = s
        .counts
        .iter()
        .enumerate()
        .filter_map(|(i, &n)| {
            cumulative += n;
            // The last bucket of a layout without a bound is +Inf, which the encoder
            // writes from the count.
            layout.bound(i).map(|le| {
                let mut b = Bucket::default();
                b.set_upper_bound(le);
                b.set_cumulative_count(cumulative);
                b
            })
        })
        .collect();
    let mut h = Histogram::default();
    h.set_bucket(buckets);
    h.set_sample_count(s.count);
    h.set_sample_sum(layout.sum(s.sum));
    let mut m = Metric::from_label(labels);
    m.set_histogram(h);
    m
}

/// The srtt histogram family of `store`: one histogram per label set.
pub fn srtt_family(name: String, help: &str, store: &SeriesStore) -> MetricFamily {
    let names = label_names(store);
    let mut f = family(name, help, MetricType::HISTOGRAM);
    for (key, s) in store.iter() {
        f.mut_metric()
            .push(histogram(labels(&names, key), store.layout(), &s.srtt));
    }
    f
}

/// The label names of a store: `local_<dim>` then `peer_<dim>` for each dimension.
pub fn label_names(store: &SeriesStore) -> Vec<String> {
    let dims = store.group_by();
    let local = dims.iter().map(|d| format!("local_{}", d.name()));
    let peer = dims.iter().map(|d| format!("peer_{}", d.name()));
    local.chain(peer).collect()
}

/// The labels of `key` under `names`.
pub fn labels(names: &[String], key: &GroupKey) -> Vec<LabelPair> {
    let values = key.local.iter().chain(key.peer.iter());
    names
        .iter()
        .zip(values)
        .map(|(n, v)| {
            let mut l = LabelPair::default();
            l.set_name(n.clone());
            l.set_value(v.to_string());
            l
        })
        .collect()
}
