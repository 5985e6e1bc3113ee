//! tcptop's own cost as the header says it, e.g. `bpf 1234 runs 180us (150ns/run) ·
//! cpu 0.40%`, or how to turn the kernel's counting on when it is off.
use super::format::{count, micros, pct};
use crate::collector::cost::{Cost, SYSCTL};

/// The texts for `cost`, longest first: the header shows the first that fits.
pub fn forms(cost: &Cost) -> Vec<String> {
    let cpu = format!("cpu {}", pct(cost.cpu_pct()));
    let Some(bpf) = cost.bpf else {
        let hint = format!("bpf cost: sysctl {SYSCTL}=1");
        return vec![format!("{hint} · {cpu}"), hint, cpu];
    };
    let Some(per_run) = bpf.ns_per_run() else {
        return vec![format!("bpf 0 runs · {cpu}"), cpu];
    };
    let per_run = format!("{}/run", nanos(per_run.round() as u64));
    vec![
        format!(
            "bpf {} runs {} ({per_run}) · {cpu}",
            count(bpf.run_count),
            nanos(bpf.run_time_ns)
        ),
        format!("bpf {per_run} · {cpu}"),
        cpu,
    ]
}

/// Nanoseconds: `850ns`, then as [`micros`] does (`180us`, `12.3ms`, `1.20s`).
fn nanos(ns: u64) -> String {
    if ns < 1_000 {
        format!("{ns}ns")
    } else {
        micros(Some(ns / 1_000))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::collector::cost::BpfStats;

    fn cost(bpf: Option<(u64, u64)>, cpu_ms: u64) -> Cost {
        Cost {
            wall: Duration::from_secs(2),
            bpf: bpf.map(|(run_count, run_time_ns)| BpfStats {
                run_count,
                run_time_ns,
            }),
            cpu: Some(Duration::from_millis(cpu_ms)),
        }
    }

    #[test]
    fn counted_cost_reads_runs_time_per_run_and_cpu() {
        assert_eq!(
            forms(&cost(Some((1_200, 180_000)), 8)),
            [
                "bpf 1200 runs 180us (150ns/run) · cpu 0.40%",
                "bpf 150ns/run · cpu 0.40%",
                "cpu 0.40%",
            ]
        );
        assert_eq!(
            forms(&cost(Some((3_000_000, 2_400_000_000)), 100))[0],
            "bpf 3.00M runs 2.40s (800ns/run) · cpu 5.00%"
        );
        assert_eq!(
            forms(&cost(Some((0, 0)), 0)),
            ["bpf 0 runs · cpu 0%", "cpu 0%"]
        );
    }

    #[test]
    fn without_counting_it_says_how_to_turn_it_on() {
        let f = forms(&cost(None, 8));
        assert_eq!(
            f,
            [
                "bpf cost: sysctl kernel.bpf_stats_enabled=1 · cpu 0.40%",
                "bpf cost: sysctl kernel.bpf_stats_enabled=1",
                "cpu 0.40%",
            ]
        );
    }

    #[test]
    fn an_unknown_cpu_time_reads_as_a_dash() {
        let c = Cost {
            cpu: None,
            ..cost(None, 0)
        };
        assert_eq!(forms(&c).last().map(String::as_str), Some("cpu -"));
    }

    #[test]
    fn times_read_in_their_unit() {
        assert_eq!(
            [nanos(0), nanos(999), nanos(1_500), nanos(12_345_678)],
            ["0ns", "999ns", "1us", "12.3ms"]
        );
    }
}
