//! The srtt histogram of one row: an HdrHistogram of real samples, so percentiles are
//! those of the recorded values (within 1% above 256 us, exact below).
use hdrhistogram::Histogram;

/// Significant figures kept: 2 keeps a histogram at a few KB.
const SIGFIG: u8 = 2;

/// Smoothed-RTT samples in microseconds.
#[derive(Clone, Debug)]
pub struct SrttHistogram {
    hist: Histogram<u32>,
    max: u32,
}

impl Default for SrttHistogram {
    fn default() -> Self {
        Self {
            // Auto-resizing: memory follows the largest value seen.
            hist: Histogram::new(SIGFIG).expect("2 significant figures is a valid precision"),
            max: 0,
        }
    }
}

impl SrttHistogram {
    /// Records one sample; 0 (no RTT measured) is skipped.
    pub fn record(&mut self, srtt_us: u32) {
        if srtt_us == 0 {
            return;
        }
        // `record` grows the auto-resizing histogram; `saturating_record` would clamp the
        // sample to the current (tiny) maximum instead. It can only fail if growing
        // overflowed usize, which a u32 sample cannot cause; clamp then, as a last resort.
        if self.hist.record(u64::from(srtt_us)).is_err() {
            self.hist.saturating_record(u64::from(srtt_us));
        }
        self.max = self.max.max(srtt_us);
    }

    /// Number of samples.
    pub fn len(&self) -> u64 {
        self.hist.len()
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    /// The value at quantile `q` (0..=1), or `None` without samples. Never above the
    /// exact maximum.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        (!self.is_empty()).then(|| self.hist.value_at_quantile(q).min(u64::from(self.max)))
    }

    /// The exact largest sample.
    pub fn max(&self) -> Option<u64> {
        (!self.is_empty()).then_some(u64::from(self.max))
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &SrttHistogram) {
        // Both auto-resize, so adding cannot fail on range.
        let _ = self.hist.add(&other.hist);
        self.max = self.max.max(other.max);
    }

    /// Counts in power-of-two buckets: `(upper bound in us, count)` for 1, 2, 4, ... up
    /// to the bucket holding the maximum.
    pub fn exp2_buckets(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        if self.is_empty() {
            return out;
        }
        let mut upper = 1u64;
        let mut lower = 0u64;
        loop {
            out.push((upper, self.hist.count_between(lower + 1, upper)));
            if upper >= u64::from(self.max) {
                break;
            }
            lower = upper;
            upper *= 2;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
