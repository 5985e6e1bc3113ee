//! How a second of the history is stored: for each row, LEB128 varints of the pair's
//! id, a bit mask of the counters that are not zero, those counters, then the srtt
//! buckets in use (their number, then bucket and count each) and the largest sample.
use crate::{
    aggregation::metrics::Metrics,
    collector::{histogram::SrttHistogram, Counters},
};

fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Appends row `id` holding `m`.
pub fn put_row(out: &mut Vec<u8>, id: u32, m: &Metrics) {
    put(out, u64::from(id));
    let values = m.counters.to_array();
    let mask = values
        .iter()
        .enumerate()
        .filter(|(_, v)| **v != 0)
        .fold(0u64, |mask, (i, _)| mask | 1 << i);
    put(out, mask);
    for v in values.iter().filter(|v| **v != 0) {
        put(out, *v);
    }
    let buckets: Vec<(u32, u64)> = m.srtt.buckets().collect();
    put(out, buckets.len() as u64);
    for (b, n) in &buckets {
        put(out, u64::from(*b));
        put(out, *n);
    }
    if !buckets.is_empty() {
        put(out, m.srtt.max().unwrap_or(0));
    }
}

/// The row at `at`, which moves past it; `None` at the end (or on a cut row).
pub fn take_row(data: &[u8], at: &mut usize) -> Option<(u32, Metrics)> {
    let id = u32::try_from(take(data, at)?).ok()?;
    let mask = take(data, at)?;
    let mut values = [0u64; Counters::LEN];
    for (i, v) in values.iter_mut().enumerate() {
        if mask & (1 << i) != 0 {
            *v = take(data, at)?;
        }
    }
    let n = take(data, at)?;
    let mut buckets = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let b = u32::try_from(take(data, at)?).ok()?;
        buckets.push((b, take(data, at)?));
    }
    let max = if n > 0 { take(data, at)? as u32 } else { 0 };
    Some((
        id,
        Metrics {
            counters: Counters::from_array(values),
            srtt: SrttHistogram::from_buckets(buckets, max),
        },
    ))
}
