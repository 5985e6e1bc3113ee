//! tcptop's own cost: how often and how long its BPF programs ran, and how much CPU
//! its process used, so that an engineer can see that the tool is not the problem.
//!
//! The kernel counts program runs and run time only while `kernel.bpf_stats_enabled`
//! is 1, or while some process holds the counting on with `BPF_ENABLE_STATS` (bpftop
//! does; the sysctl still reads 0 then). The counters are read whether or not it is, so
//! that an interval in which counting was turned on counts only what grew in it, not
//! what earlier periods left, and counters that grew show counting is on.
//!
//! The CPU time is `getrusage(RUSAGE_SELF)`: user plus system time of every thread of
//! the process, the exited ones included, in microseconds taken from the scheduler's
//! own accounting. `/proc/self/stat` counts in clock ticks (10 ms at the usual
//! `USER_HZ` of 100), a whole percent of one CPU over a one-second interval: too coarse
//! for a figure that should read well below that.
//!
//! Reading is at the edges ([`sample`]); turning two samples into an interval's
//! figures ([`Meter`], [`Cost`]) is pure.
use std::{
    fs,
    time::{Duration, Instant},
};

use aya::Ebpf;

/// The sysctl that makes the kernel count BPF program runs and run time.
pub const SYSCTL: &str = "kernel.bpf_stats_enabled";

/// Where the running kernel shows [`SYSCTL`].
const SYSCTL_PATH: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// Runs and run time of BPF programs, summed over programs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfStats {
    /// Times the programs ran.
    pub run_count: u64,
    /// Nanoseconds they ran for.
    pub run_time_ns: u64,
}

impl BpfStats {
    /// The sum of `programs`.
    pub fn sum(programs: impl IntoIterator<Item = BpfStats>) -> Self {
        programs.into_iter().fold(Self::default(), |a, p| BpfStats {
            run_count: a.run_count.saturating_add(p.run_count),
            run_time_ns: a.run_time_ns.saturating_add(p.run_time_ns),
        })
    }

    /// The growth from `before` to `self`, never below zero.
    pub fn since(&self, before: &BpfStats) -> BpfStats {
        BpfStats {
            run_count: self.run_count.saturating_sub(before.run_count),
            run_time_ns: self.run_time_ns.saturating_sub(before.run_time_ns),
        }
    }

    /// Nanoseconds per run, or `None` without runs.
    pub fn ns_per_run(&self) -> Option<f64> {
        (self.run_count > 0).then(|| self.run_time_ns as f64 / self.run_count as f64)
    }
}

/// tcptop's cost counters at one moment, all cumulative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CostSample {
    /// When it was taken.
    pub at: Instant,
    /// Whether `kernel.bpf_stats_enabled` was 1.
    pub stats_enabled: bool,
    /// Runs and run time of every program tcptop loaded.
    pub bpf: BpfStats,
    /// CPU time the process used so far, where the kernel said.
    pub cpu: Option<Duration>,
}

/// tcptop's cost over one interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cost {
    /// The interval's length.
    pub wall: Duration,
    /// Its BPF runs and run time; `None` when the kernel did not count them
    /// (`kernel.bpf_stats_enabled` off at its end and no runs counted in it).
    pub bpf: Option<BpfStats>,
    /// CPU time the process used in it, user plus system, every thread.
    pub cpu: Option<Duration>,
}

impl Cost {
    /// The cost from `before` to `after`.
    pub fn between(before: &CostSample, after: &CostSample) -> Self {
        let grown = after.bpf.since(&before.bpf);
        let counted = after.stats_enabled || grown.run_count > 0;
        Cost {
            wall: after.at.saturating_duration_since(before.at),
            bpf: counted.then_some(grown),
            cpu: before.cpu.zip(after.cpu).map(|(b, a)| a.saturating_sub(b)),
        }
    }

    /// tcptop's CPU share in percent of one CPU, or `None` over an empty interval.
    pub fn cpu_pct(&self) -> Option<f64> {
        let cpu = self.cpu?;
        (!self.wall.is_zero()).then(|| cpu.as_secs_f64() / self.wall.as_secs_f64() * 100.0)
    }
}

/// Turns a sample every interval into the cost of each interval.
#[derive(Clone, Debug, Default)]
pub struct Meter {
    last: Option<CostSample>,
}

impl Meter {
    /// Takes the sample that ends one interval and starts the next; returns the cost
    /// of the one it ends, `None` for the first sample.
    pub fn take(&mut self, now: CostSample) -> Option<Cost> {
        self.last.replace(now).map(|b| Cost::between(&b, &now))
    }
}

/// Samples the cost counters of the programs `ebpf` holds (those loaded; whichever
/// they are) and of this process.
pub fn sample(ebpf: &Ebpf) -> CostSample {
    let programs = ebpf
        .programs()
        .filter_map(|(_, p)| p.info().ok())
        .map(|i| BpfStats {
            run_count: i.run_count(),
            run_time_ns: u64::try_from(i.run_time().as_nanos()).unwrap_or(u64::MAX),
        });
    CostSample {
        at: Instant::now(),
        stats_enabled: fs::read_to_string(SYSCTL_PATH).is_ok_and(|s| parse_enabled(&s)),
        bpf: BpfStats::sum(programs),
        cpu: cpu_time(),
    }
}

/// Whether the text of [`SYSCTL_PATH`] says the kernel counts.
fn parse_enabled(text: &str) -> bool {
    text.trim().parse::<u32>().is_ok_and(|v| v > 0)
}

/// User plus system time of this process's threads so far.
fn cpu_time() -> Option<Duration> {
    // SAFETY: rusage is plain integers; zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid rusage for the kernel to fill.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return None;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    Some(tv(ru.ru_utime) + tv(ru.ru_stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, ms: u64, enabled: bool, runs: u64, ns: u64, cpu_ms: u64) -> CostSample {
        CostSample {
            at: base + Duration::from_millis(ms),
            stats_enabled: enabled,
            bpf: BpfStats {
                run_count: runs,
                run_time_ns: ns,
            },
            cpu: Some(Duration::from_millis(cpu_ms)),
        }
    }

    #[test]
    fn programs_sum_and_grow() {
        let a = BpfStats {
            run_count: 10,
            run_time_ns: 1_500,
        };
        let b = BpfStats {
            run_count: 2,
            run_time_ns: 700,
        };
        let sum = BpfStats::sum([a, b]);
        assert_eq!((sum.run_count, sum.run_time_ns), (12, 2_200));
        assert_eq!(BpfStats::sum([]), BpfStats::default());
        assert_eq!(
            sum.since(&a),
            BpfStats {
                run_count: 2,
                run_time_ns: 700
            }
        );
        // A counter that went back (a program loaded again) never reads negative.
        assert_eq!(a.since(&sum), BpfStats::default());
        assert_eq!(sum.ns_per_run(), Some(2_200.0 / 12.0));
        assert_eq!(BpfStats::default().ns_per_run(), None);
    }

    #[test]
    fn an_interval_counts_what_grew_in_it() {
        let t = Instant::now();
        let cost = Cost::between(
            &at(t, 0, true, 1_000, 150_000, 40),
            &at(t, 2_000, true, 2_200, 330_000, 48),
        );
        assert_eq!(cost.wall, Duration::from_secs(2));
        assert_eq!(
            cost.bpf,
            Some(BpfStats {
                run_count: 1_200,
                run_time_ns: 180_000
            })
        );
        assert_eq!(cost.bpf.and_then(|b| b.ns_per_run()), Some(150.0));
        assert_eq!(cost.cpu, Some(Duration::from_millis(8)));
        let pct = cost.cpu_pct().unwrap();
        assert!((pct - 0.4).abs() < 1e-9, "{pct}");
    }

    #[test]
    fn stats_off_at_the_end_counts_no_bpf_figures() {
        let t = Instant::now();
        let cost = Cost::between(&at(t, 0, true, 5, 50, 1), &at(t, 1_000, false, 5, 50, 2));
        assert_eq!(cost.bpf, None);
        assert_eq!(cost.cpu, Some(Duration::from_millis(1)));
    }

    #[test]
    fn counters_that_grew_show_counting_is_on_whatever_the_sysctl_says() {
        // Another process holds BPF_ENABLE_STATS: the sysctl reads 0.
        let t = Instant::now();
        let cost = Cost::between(&at(t, 0, false, 5, 50, 1), &at(t, 1_000, false, 8, 80, 2));
        assert_eq!(cost.bpf.map(|b| b.run_count), Some(3));
    }

    #[test]
    fn stats_turned_on_count_only_the_growth() {
        // Runs counted in an earlier enabled period stay in the counters.
        let t = Instant::now();
        let cost = Cost::between(
            &at(t, 0, false, 9_000, 900_000, 0),
            &at(t, 1_000, true, 9_010, 901_000, 0),
        );
        assert_eq!(cost.bpf.map(|b| b.run_count), Some(10));
    }

    #[test]
    fn an_empty_interval_or_unknown_cpu_has_no_share() {
        let t = Instant::now();
        let s = at(t, 0, true, 1, 1, 1);
        assert_eq!(Cost::between(&s, &s).cpu_pct(), None);
        let unknown = CostSample { cpu: None, ..s };
        let later = at(t, 1_000, true, 1, 1, 1);
        assert_eq!(Cost::between(&unknown, &later).cpu, None);
        assert_eq!(Cost::between(&unknown, &later).cpu_pct(), None);
    }

    #[test]
    fn the_meter_reports_each_interval() {
        let t = Instant::now();
        let mut m = Meter::default();
        assert_eq!(m.take(at(t, 0, true, 0, 0, 0)), None);
        let first = m.take(at(t, 1_000, true, 10, 1_000, 5)).unwrap();
        let second = m.take(at(t, 2_000, true, 15, 1_600, 6)).unwrap();
        assert_eq!(first.bpf.map(|b| b.run_count), Some(10));
        assert_eq!(
            second.bpf.map(|b| (b.run_count, b.run_time_ns)),
            Some((5, 600))
        );
        assert_eq!(second.cpu, Some(Duration::from_millis(1)));
    }

    #[test]
    fn the_sysctl_reads_as_the_kernel_writes_it() {
        assert!(parse_enabled("1\n"));
        assert!(!parse_enabled("0\n"));
        assert!(!parse_enabled(""));
        assert!(!parse_enabled("garbage"));
    }

    #[test]
    fn this_process_has_a_cpu_time() {
        let a = cpu_time().unwrap();
        // Burn a little CPU: the clock must not go back.
        let mut x = 0u64;
        for i in 0..1_000_000u64 {
            x = x.wrapping_add(std::hint::black_box(i));
        }
        std::hint::black_box(x);
        assert!(cpu_time().unwrap() >= a);
    }
}
