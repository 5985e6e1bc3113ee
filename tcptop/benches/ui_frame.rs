//! Time to build and render one frame of 10,000 rows (target: 2 ms or less), plus what
//! the other per-frame paths cost: an interval roll-over with every row active, and a
//! regrouping (a roll-up of every fine row).
//!
//! `cargo bench -p tcptop --bench ui_frame`
mod common;

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::{backend::TestBackend, layout::Rect, Terminal};
use tcptop::{aggregation::DEFAULT_MAX_ROWS, attribution::Item};

const ROWS: usize = 10_000;
const TARGET_MS: f64 = 2.0;

/// Median and 99th percentile of `samples`, in milliseconds.
fn stats(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() * 99 / 100]),
    )
}

fn time(n: usize, mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..n / 10 {
        f();
    }
    stats(
        (0..n)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let mut ok = true;
    for (w, h) in [(160u16, 48u16), (80, 24)] {
        for totals in [false, true] {
            let mut s = common::session(ROWS, 3, DEFAULT_MAX_ROWS);
            if totals {
                s.key(
                    KeyEvent::new(KeyCode::Char('t'), KeyModifiers::NONE),
                    Rect::new(0, 0, w, h),
                );
            }
            let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
            let (median, p99) = time(300, || s.draw(&mut term, Duration::from_secs(2)).unwrap());
            let mode = if totals { "totals" } else { "rates" };
            ok &= common::report(
                &format!("frame, {ROWS} rows, {mode}, {w}x{h}, median"),
                median,
                "ms",
                TARGET_MS,
            );
            println!("frame, {ROWS} rows, {mode}, {w}x{h}, p99: {p99:.3} ms");
        }
    }
    // Every row active in the interval: the roll-over recomputes all their summaries.
    let mut s = common::session(ROWS, 3, DEFAULT_MAX_ROWS);
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let closes = common::synthetic(ROWS, 1);
    let mut rolls = Vec::new();
    for i in 0..20u64 {
        for c in &closes {
            s.ledger.add(Item::Close(c.clone()), Duration::from_secs(i));
        }
        let t = Instant::now();
        s.ledger.roll(Duration::from_secs(i + 2));
        s.draw(&mut term, Duration::from_secs(i + 2)).unwrap();
        rolls.push(t.elapsed());
    }
    let (median, p99) = stats(rolls);
    println!("interval roll-over + frame, {ROWS} rows all active: median {median:.3} ms, p99 {p99:.3} ms");
    // Regrouping: the key press rolls up every fine row into the new grouping.
    let mut s = common::session(ROWS, 3, DEFAULT_MAX_ROWS);
    let area = Rect::new(0, 0, 160, 48);
    let (median, p99) = time(20, || {
        s.key(KeyEvent::new(KeyCode::Char('g'), KeyModifiers::NONE), area);
        s.draw(&mut term, Duration::from_secs(2)).unwrap();
    });
    println!("regroup + frame, {ROWS} fine rows: median {median:.3} ms, p99 {p99:.3} ms");
    if !ok {
        std::process::exit(1);
    }
}
