//! Renders the real UI, from the demo recording, into SVG screenshots: the main table,
//! the histogram pane, drill-down, the connections view, help, and 80x24.
//!
//! `cargo xtask screenshots` runs it; by hand:
//! `cargo run -p tcptop --example screenshots -- screenshots/`
mod svg;

use std::{path::PathBuf, time::Duration};

use anyhow::{Context, Result};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::{backend::TestBackend, layout::Rect, Terminal};
use tcptop::{
    aggregation::Dimension,
    record::Replay,
    ui::{state::App, theme::Level, HeaderInfo, Kube, Session, Theme},
    view::{live::Ledger, MetricId},
};

/// The screenshots: file name, size, keys pressed (`\n` is Enter), and what it shows.
const SHOTS: [(&str, (u16, u16), &str, &str); 7] = [
    (
        "main",
        (160, 40),
        "t",
        "pairs of namespace and zone, totals since start",
    ),
    (
        "histogram",
        (120, 36),
        "tgggg0",
        "pod pairs by srtt p99, with the srtt histogram",
    ),
    (
        "drilldown",
        (160, 30),
        "t5\n",
        "drill-down: the workload pairs of one namespace pair",
    ),
    (
        "connections",
        (160, 30),
        "t5\n\n\n\n",
        "drill-down: the sockets of one IP pair, ss -ti style",
    ),
    (
        "socket",
        (120, 30),
        "t5\n\n\n\n\n",
        "one socket's every field (Enter on a connection)",
    ),
    ("help", (100, 30), "?", "the help screen"),
    ("80x24", (80, 24), "", "80x24: rates for the last interval"),
];

fn main() -> Result<()> {
    let out: PathBuf = std::env::args_os()
        .nth(1)
        .map_or_else(|| "screenshots".into(), PathBuf::from);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/demo.jsonl");
    for (name, (w, h), keys, what) in SHOTS {
        let (mut session, now) = load(fixture.as_ref())?;
        for c in keys.chars() {
            let code = if c == '\n' {
                KeyCode::Enter
            } else {
                KeyCode::Char(c)
            };
            session.key(
                KeyEvent::new(code, KeyModifiers::NONE),
                Rect::new(0, 0, w, h),
            );
        }
        let mut term = Terminal::new(TestBackend::new(w, h))?;
        session.draw(&mut term, now)?;
        let path = out.join(format!("{name}.svg"));
        let title = format!("tcptop: {what}");
        std::fs::write(&path, svg::render(term.backend().buffer(), &title))
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The UI with the whole recording fed in, intervals rolled every second.
fn load(path: &std::path::Path) -> Result<(Session, Duration)> {
    let mut replay = Replay::open(path)?;
    let header = replay.header().clone();
    let app = App::new(&[Dimension::Namespace, Dimension::Az], MetricId::BYTES);
    let mut ledger = Ledger::new(
        header.known(),
        app.group_by(),
        10_000,
        tcptop::aggregation::DEFAULT_MAX_ROWS,
    );
    let mut next = Duration::from_secs(1);
    while let Some(line) = replay.next_line()? {
        let t = Duration::from_millis(line.t_ms);
        while t > next {
            ledger.roll(next);
            next += Duration::from_secs(1);
        }
        ledger.add(line.item, t);
    }
    ledger.roll(next);
    let info = HeaderInfo {
        version: "0.1.0".into(),
        node: header.node,
        kernel: header.kernel,
        // What the UI says on a replay: attribution was done when recording.
        kube: Kube {
            text: "as recorded".into(),
            level: Level::Off,
        },
        notes: vec![("REPLAY demo.jsonl".into(), Level::Off)],
        cost: None,
    };
    let session = Session::new(app, ledger, info, Theme::new(true));
    Ok((session, next))
}
