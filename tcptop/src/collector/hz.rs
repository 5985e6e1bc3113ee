//! The kernel's tick rate (`CONFIG_HZ`): the kernel times a socket's busy and limited
//! periods in jiffies, and TCP_INFO reports them as jiffies x (1,000,000 / HZ) us.
//!
//! HZ is read from the kernel's own configuration, `/proc/config.gz` (which a pod sees
//! too) or `/boot/config-RELEASE`. Where neither exists, it is measured: the jiffies
//! counter and the monotonic clock in `/proc/timer_list`, read twice 200 ms apart,
//! rounded to the nearest rate Linux offers.
use std::{fs, io::Read, time::Duration};

use thiserror::Error;

/// The tick rates Linux can be built with.
const RATES: [u64; 4] = [100, 250, 300, 1000];

/// How long the measurement waits between its two readings.
const MEASURE: Duration = Duration::from_millis(200);

/// Why the tick rate is not known.
#[derive(Debug, Error)]
#[error("cannot tell the kernel's tick rate (CONFIG_HZ): no /proc/config.gz, no /boot/config-{release}, and /proc/timer_list {why}")]
pub struct HzError {
    release: String,
    why: String,
}

/// The length of a jiffy in microseconds on the running kernel.
pub fn jiffy_us(release: &str) -> Result<u64, HzError> {
    let hz = from_config(release).map_or_else(|| measure(release), Ok)?;
    Ok(1_000_000 / hz)
}

/// HZ from the kernel's configuration, where it can be read.
fn from_config(release: &str) -> Option<u64> {
    let gz = fs::read("/proc/config.gz").ok().and_then(|data| {
        let mut text = String::new();
        flate2::read::GzDecoder::new(&data[..])
            .read_to_string(&mut text)
            .ok()?;
        Some(text)
    });
    gz.or_else(|| fs::read_to_string(format!("/boot/config-{release}")).ok())
        .and_then(|text| config_hz(&text))
}

/// The `CONFIG_HZ=` value in a kernel configuration.
fn config_hz(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("CONFIG_HZ="))
        .and_then(|v| v.trim().parse().ok())
        .filter(|hz| *hz > 0)
}

/// HZ measured from `/proc/timer_list`.
fn measure(release: &str) -> Result<u64, HzError> {
    let err = |why: String| HzError {
        release: release.to_string(),
        why,
    };
    let read = || -> Result<(u64, u64), HzError> {
        let text = fs::read_to_string("/proc/timer_list")
            .map_err(|e| err(format!("cannot be read ({e})")))?;
        timer_list(&text).ok_or_else(|| err("has no `now at` and `jiffies:` lines".into()))
    };
    let (ns0, j0) = read()?;
    std::thread::sleep(MEASURE);
    let (ns1, j1) = read()?;
    nearest_rate(j1.saturating_sub(j0), ns1.saturating_sub(ns0))
        .ok_or_else(|| err("did not advance".into()))
}

/// The monotonic time (`now at N nsecs`) and jiffies in a `/proc/timer_list`.
fn timer_list(text: &str) -> Option<(u64, u64)> {
    let now = text.lines().find_map(|l| {
        l.strip_prefix("now at ")
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    })?;
    let jiffies = text.lines().find_map(|l| {
        l.trim()
            .strip_prefix("jiffies:")
            .and_then(|n| n.trim().parse().ok())
    })?;
    Some((now, jiffies))
}

/// The rate among [`RATES`] nearest to `jiffies` ticks in `ns` nanoseconds.
fn nearest_rate(jiffies: u64, ns: u64) -> Option<u64> {
    if jiffies == 0 || ns == 0 {
        return None;
    }
    let hz = jiffies as f64 * 1e9 / ns as f64;
    RATES
        .into_iter()
        .min_by(|a, b| (*a as f64 - hz).abs().total_cmp(&(*b as f64 - hz).abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_configuration() {
        let cfg = "# CONFIG_HZ_100 is not set\nCONFIG_HZ_250=y\nCONFIG_HZ=250\n";
        assert_eq!(config_hz(cfg), Some(250));
        assert_eq!(config_hz("CONFIG_HZ_250=y\n"), None);
        assert_eq!(config_hz("CONFIG_HZ=0\n"), None);
    }

    #[test]
    fn measures_from_the_timer_list() {
        let text = "Timer List Version: v0.10\nHRTIMER_MAX_CLOCK_BASES: 8\nnow at 5000000000 nsecs\n\ncpu: 0\n  .idle_jiffies   : 5\njiffies: 4294968546\n";
        assert_eq!(timer_list(text), Some((5_000_000_000, 4_294_968_546)));
        assert_eq!(timer_list("nothing"), None);
        // 200 ms at each rate, one tick off either way.
        for hz in RATES {
            let ticks = hz / 5;
            for t in [ticks - 1, ticks, ticks + 1] {
                assert_eq!(nearest_rate(t, 200_000_000), Some(hz), "{t} ticks");
            }
        }
        assert_eq!(nearest_rate(0, 1), None);
    }

    #[test]
    fn this_kernels_rate_is_one_linux_offers() {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        match jiffy_us(release.trim()) {
            Ok(us) => assert!(RATES.iter().any(|hz| 1_000_000 / hz == us), "{us}"),
            Err(e) => eprintln!("skipped: {e}"),
        }
    }
}
