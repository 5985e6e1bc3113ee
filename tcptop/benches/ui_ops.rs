//! Time from a key to the next frame drawn, at 100,000 distinct rows (target: 50 ms or
//! less each): sorting, inverting, regrouping, filtering and drilling down. Each key
//! goes through the session exactly as the UI loop hands it one (`Session::key`, then
//! `Session::draw` on a 160x48 test backend); median and max of several repetitions.
//!
//! `cargo bench -p tcptop --bench ui_ops`
mod common;

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::{backend::TestBackend, layout::Rect, Terminal};
use tcptop::ui::Session;

const ROWS: usize = 100_000;
const TARGET_MS: f64 = 50.0;
const AREA: Rect = Rect::new(0, 0, 160, 48);

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

/// Presses `k` and draws the next frame; returns how long that took.
fn press(s: &mut Session, term: &mut Terminal<TestBackend>, k: KeyCode) -> Duration {
    let t = Instant::now();
    s.key(key(k), AREA);
    s.draw(term, Duration::from_secs(2)).unwrap();
    t.elapsed()
}

/// Prints median and max of `samples` against the target; returns whether the max met it.
fn verdict(what: &str, mut samples: Vec<Duration>) -> bool {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = ms(samples[samples.len() / 2]);
    println!(
        "{what}, {ROWS} rows: median {median:.1} ms over {} keys",
        samples.len()
    );
    common::report(
        &format!("{what}, {ROWS} rows, key to frame, max"),
        ms(samples[samples.len() - 1]),
        "ms",
        TARGET_MS,
    )
}

fn main() {
    let mut s = common::session(ROWS, 1, 2 * ROWS);
    let mut term = Terminal::new(TestBackend::new(AREA.width, AREA.height)).unwrap();
    s.draw(&mut term, Duration::from_secs(2)).unwrap();
    let mut ok = true;
    let mut run = |what: &str, s: &mut Session, keys: &[KeyCode], reps: usize| {
        let mut samples = Vec::new();
        for _ in 0..reps {
            for k in keys {
                samples.push(press(s, &mut term, *k));
            }
        }
        ok &= verdict(what, samples);
    };
    // Bytes, then the next columns and back: a new sort column each key.
    run(
        "sort (next/previous column)",
        &mut s,
        &[KeyCode::Char('>'), KeyCode::Char('<')],
        5,
    );
    run("invert (i)", &mut s, &[KeyCode::Char('i')], 10);
    // Once round the whole cycle of groupings, twice.
    let cycle = vec![KeyCode::Char('g'); tcptop::ui::state::GROUPINGS.len()];
    run("regroup (g)", &mut s, &cycle, 2);
    // Typing a filter that all rows pass, then one that none pass, and clearing it.
    s.key(key(KeyCode::Char('/')), AREA);
    let typing = [
        KeyCode::Char('t'),
        KeyCode::Char('e'),
        KeyCode::Char('x'),
        KeyCode::Backspace,
        KeyCode::Backspace,
        KeyCode::Backspace,
    ];
    run("filter (typing)", &mut s, &typing, 3);
    s.key(key(KeyCode::Esc), AREA);
    run(
        "drill down (Enter) and up (Backspace)",
        &mut s,
        &[KeyCode::Enter, KeyCode::Backspace],
        5,
    );
    if !ok {
        std::process::exit(1);
    }
}
