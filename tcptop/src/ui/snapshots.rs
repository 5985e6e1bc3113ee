//! Frame snapshots of every view at 80x24 and 160x48, from the demo recording. Review
//! changes with `cargo insta review`.
use std::time::Duration;

use super::tests::Harness;
use crate::collector::cost::{BpfStats, Cost};

/// Renders the view reached by `keys` at both sizes and snapshots each frame.
fn frames(name: &str, keys: &str) {
    for (w, h) in [(80, 24), (160, 48)] {
        let mut harness = Harness::new(w, h);
        harness.press(keys);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), harness.render());
    }
}

#[test]
fn main_table_rates() {
    frames("main_rates", "");
}

#[test]
fn main_table_totals() {
    frames("main_totals", "t");
}

#[test]
fn histogram_of_the_unhappy_pair() {
    // Sorted by retransmits, the unhappy pair comes first.
    frames("histogram", "t5");
}

#[test]
fn drill_down_to_workloads() {
    frames("drill_workloads", "t5<Enter>");
}

#[test]
fn drill_down_to_pods() {
    frames("drill_pods", "t5<Enter><Enter>");
}

#[test]
fn drill_down_to_ips() {
    frames("drill_ips", "t5<Enter><Enter><Enter>");
}

#[test]
fn drill_down_to_connections() {
    frames("drill_conns", "t5<Enter><Enter><Enter><Enter>");
}

#[test]
fn one_sockets_fields() {
    frames("socket_fields", "t5<Enter><Enter><Enter><Enter><Enter>");
}

#[test]
fn grouped_by_pod() {
    frames("group_pod", "tgggg");
}

#[test]
fn filtering() {
    frames("filter", "t/db");
}

#[test]
fn help() {
    frames("help", "?");
}

#[test]
fn paused_without_detail() {
    frames("paused_no_detail", "t d");
}

/// The main table as live, with tcptop's own cost over the last second in the header,
/// at 80, 120 and 160 columns.
fn cost_frames(name: &str, bpf: Option<BpfStats>) {
    for (w, h) in [(80, 24), (120, 24), (160, 48)] {
        let mut harness = Harness::new(w, h);
        harness.s.info.notes.clear();
        harness.s.info.cost = Some(Cost {
            wall: Duration::from_secs(1),
            bpf,
            cpu: Some(Duration::from_micros(4_200)),
        });
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), harness.render());
    }
}

#[test]
fn own_cost_counted() {
    let bpf = BpfStats {
        run_count: 1_214,
        run_time_ns: 182_100,
    };
    cost_frames("cost_on", Some(bpf));
}

#[test]
fn own_cost_not_counted_says_how_to_turn_it_on() {
    cost_frames("cost_off", None);
}
