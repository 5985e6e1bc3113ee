//! The srtt histogram of one row: HdrHistogram's buckets at two significant digits
//! (exact below 256 us, within 1% above), kept sparse. A row's samples usually fall into
//! a few buckets, so a row costs a few bytes per bucket in use instead of HdrHistogram's
//! dense kilobytes, and nothing until its first sample.
//!
//! Bucket `i < 256` holds the value `i`; above, each power of two `[2^e, 2^(e+1))` is
//! split into 128 equal buckets. Percentiles are computed as HdrHistogram computes
//! them: the highest value of the bucket holding the `ceil(q * n)`-th sample, capped at
//! the exact maximum.

/// Buckets below this hold one value each.
const EXACT: u32 = 256;
/// Buckets per power of two above [`EXACT`].
const PER_OCTAVE: u32 = 128;
/// Bits of a packed entry that hold its count; the bucket index is above them.
const COUNT_BITS: u32 = 48;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

/// The bucket holding `v`.
fn bucket(v: u32) -> u32 {
    if v < EXACT {
        return v;
    }
    let e = 31 - v.leading_zeros(); // 8..=31
    let shift = e - 7;
    EXACT + (e - 8) * PER_OCTAVE + ((v >> shift) - PER_OCTAVE)
}

/// The lowest and highest value of bucket `b`.
fn bounds(b: u32) -> (u64, u64) {
    if b < EXACT {
        return (u64::from(b), u64::from(b));
    }
    let octave = (b - EXACT) / PER_OCTAVE;
    let sub = (b - EXACT) % PER_OCTAVE;
    let shift = octave + 1;
    let low = u64::from(PER_OCTAVE + sub) << shift;
    (low, low + (1u64 << shift) - 1)
}

/// Smoothed-RTT samples in microseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SrttHistogram {
    /// `bucket << 48 | count`, sorted by bucket: 8 bytes per bucket in use.
    entries: Vec<u64>,
    total: u64,
    max: u32,
}

impl SrttHistogram {
    /// Records one sample; 0 (no RTT measured) is skipped.
    pub fn record(&mut self, srtt_us: u32) {
        if srtt_us == 0 {
            return;
        }
        self.add(bucket(srtt_us), 1);
        self.total += 1;
        self.max = self.max.max(srtt_us);
    }

    /// Adds `n` samples to bucket `b`.
    fn add(&mut self, b: u32, n: u64) {
        let key = u64::from(b) << COUNT_BITS;
        match self
            .entries
            .binary_search_by(|e| (e & !COUNT_MASK).cmp(&key))
        {
            Ok(i) => {
                let count = ((self.entries[i] & COUNT_MASK) + n).min(COUNT_MASK);
                self.entries[i] = key | count;
            }
            Err(i) => self.entries.insert(i, key | n.min(COUNT_MASK)),
        }
    }

    /// Rebuilds a histogram from its [`SrttHistogram::buckets`] and its maximum.
    pub fn from_buckets(buckets: impl IntoIterator<Item = (u32, u64)>, max: u32) -> Self {
        let mut h = Self::default();
        for (b, n) in buckets {
            if n > 0 {
                h.add(b, n);
                h.total += n;
            }
        }
        if h.total > 0 {
            h.max = max;
        }
        h
    }

    /// Buckets in use with their counts, in order.
    pub fn buckets(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.entries
            .iter()
            .map(|e| ((e >> COUNT_BITS) as u32, e & COUNT_MASK))
    }

    /// Number of samples.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The value at quantile `q` (0..=1), or `None` without samples. Never above the
    /// exact maximum.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.is_empty() {
            return None;
        }
        let want = ((q.min(1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, n) in self.buckets() {
            seen += n;
            if seen >= want {
                let (low, high) = bounds(b);
                let v = if q == 0.0 { low } else { high };
                return Some(v.min(u64::from(self.max)));
            }
        }
        Some(u64::from(self.max))
    }

    /// The exact largest sample.
    pub fn max(&self) -> Option<u64> {
        (!self.is_empty()).then_some(u64::from(self.max))
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &SrttHistogram) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            *self = other.clone();
            return;
        }
        let (x, y) = (&self.entries, &other.entries);
        let mut merged = Vec::with_capacity(x.len() + y.len());
        let (mut i, mut j) = (0, 0);
        while i < x.len() || j < y.len() {
            let (kx, ky) = (
                x.get(i).map(|e| e >> COUNT_BITS),
                y.get(j).map(|e| e >> COUNT_BITS),
            );
            merged.push(match (kx, ky) {
                (Some(a), Some(b)) if a == b => {
                    let n = ((x[i] & COUNT_MASK) + (y[j] & COUNT_MASK)).min(COUNT_MASK);
                    (i, j) = (i + 1, j + 1);
                    a << COUNT_BITS | n
                }
                (Some(a), Some(b)) if a < b => {
                    i += 1;
                    x[i - 1]
                }
                (Some(_), None) => {
                    i += 1;
                    x[i - 1]
                }
                _ => {
                    j += 1;
                    y[j - 1]
                }
            });
        }
        self.entries = merged;
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// Counts in power-of-two buckets: `(upper bound in us, count)` for 1, 2, 4, ... up
    /// to the bucket holding the maximum. A bucket counts in the power of two holding
    /// its lowest value.
    pub fn exp2_buckets(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        if self.is_empty() {
            return out;
        }
        let mut upper = 1u64;
        while upper < u64::from(self.max) {
            upper *= 2;
        }
        let bins = upper.trailing_zeros() as usize + 1;
        out.extend((0..bins).map(|i| (1u64 << i, 0)));
        for (b, n) in self.buckets() {
            let low = bounds(b).0.max(1);
            // The first power of two at or above `low`.
            let i = (64 - (low - 1).leading_zeros()) as usize;
            out[i.min(bins - 1)].1 += n;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::Histogram;

    #[test]
    fn percentiles_come_from_samples() {
        let mut h = SrttHistogram::default();
        for v in 1..=100 {
            h.record(v);
        }
        h.record(0);
        assert_eq!(h.len(), 100);
        assert_eq!(h.quantile(0.5), Some(50));
        assert_eq!(h.quantile(0.99), Some(99));
        assert_eq!(h.max(), Some(100));
        assert_eq!(SrttHistogram::default().quantile(0.5), None);
    }

    #[test]
    fn large_values_stay_within_one_percent_and_max_is_exact() {
        let mut h = SrttHistogram::default();
        h.record(123_457);
        let p = h.quantile(0.5).unwrap();
        assert!(p.abs_diff(123_457) * 100 <= 123_457, "{p}");
        assert_eq!(h.max(), Some(123_457));
    }

    #[test]
    fn buckets_tile_the_range() {
        let mut last = None;
        for v in (1..70_000u32).chain([u32::MAX / 2, u32::MAX]) {
            let b = bucket(v);
            let (low, high) = bounds(b);
            assert!(low <= u64::from(v) && u64::from(v) <= high, "{v} in {b}");
            assert!(high - low <= low / 128, "{v}: {low}..{high} wider than 1%");
            if let Some(l) = last {
                assert!(b >= l);
            }
            last = Some(b);
        }
    }

    /// The same answers as HdrHistogram at two significant digits, on many samples.
    #[test]
    fn quantiles_equal_hdrhistogram() {
        let mut ours = SrttHistogram::default();
        let mut hdr = Histogram::<u64>::new(2).unwrap();
        let (mut x, mut max) = (12345u64, 0);
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = ((x >> 33) % 2_000_000) as u32 + 1;
            let v = if x & 1 == 0 { v % 900 + 1 } else { v };
            ours.record(v);
            hdr.record(u64::from(v)).unwrap();
            max = max.max(u64::from(v));
        }
        for q in [0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(
                ours.quantile(q),
                Some(hdr.value_at_quantile(q).min(max)),
                "q {q}"
            );
        }
    }

    #[test]
    fn merge_and_buckets() {
        let mut a = SrttHistogram::default();
        let mut b = SrttHistogram::default();
        a.record(3);
        b.record(3);
        b.record(1000);
        a.merge(&b);
        assert_eq!(a.len(), 3);
        let buckets = a.exp2_buckets();
        assert_eq!(buckets.last().unwrap().0, 1024);
        assert_eq!(buckets.iter().map(|b| b.1).sum::<u64>(), 3);
        assert_eq!(buckets[2], (4, 2));
        let mut c = SrttHistogram::default();
        c.merge(&a);
        assert_eq!(c, a);
    }

    #[test]
    fn a_row_without_samples_allocates_nothing() {
        let h = SrttHistogram::default();
        assert_eq!(h.entries.capacity(), 0);
        assert!(size_of::<SrttHistogram>() <= 40);
    }
}
