//! Tests of the UI's logic: keys, sorting, filtering, regrouping and drill-down, run
//! through the real key map, state, ledger and listing on the demo recording.
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::{backend::TestBackend, layout::Rect, Terminal};

use super::{
    keys,
    listing::Listing,
    model::{pair_label, Mode, Selected, View},
    state::{Action, App},
    *,
};
use crate::{
    aggregation::Dimension,
    testdata::fixture,
    ui::{columns::Column, theme::Level},
    view::{live::Ledger, MetricId},
};

/// The UI on the demo recording, driven by keys, drawn on a test backend.
pub struct Harness {
    pub s: Session,
    pub now: Duration,
    pub size: (u16, u16),
}

impl Harness {
    /// The whole recording fed in, intervals rolled every second, at `w` x `h`.
    pub fn new(w: u16, h: u16) -> Self {
        let (header, items) = fixture();
        let app = App::new(&[Dimension::Namespace, Dimension::Az], MetricId::BYTES);
        let mut ledger = Ledger::new(header.known(), app.group_by(), 10_000, usize::MAX);
        let mut next = Duration::from_secs(1);
        for (t, item) in items {
            while t > next {
                ledger.roll(next);
                next += Duration::from_secs(1);
            }
            ledger.add(item, t);
        }
        ledger.roll(next);
        let info = HeaderInfo {
            version: "0.1.0".into(),
            node: header.node,
            kernel: header.kernel,
            kube: Kube {
                text: "as recorded".into(),
                level: Level::Off,
            },
            notes: vec![("REPLAY demo.jsonl".into(), Level::Off)],
            cost: None,
        };
        let s = Session::new(app, ledger, info, Theme::new(false));
        Self {
            s,
            now: next,
            size: (w, h),
        }
    }

    fn area(&self) -> Rect {
        Rect::new(0, 0, self.size.0, self.size.1)
    }

    /// Presses each key: characters, or names in angle brackets (`<Enter>`, `<Esc>`,
    /// `<Down>`, `<PgDn>`, `<End>`, `<Home>`, `<Up>`, `<Bksp>`, `<C-c>`, `<lt>`).
    pub fn press(&mut self, keys: &str) -> &mut Self {
        let mut rest = keys;
        while !rest.is_empty() {
            let named = rest.starts_with('<') && rest.len() > 1;
            let (code, mods, len) = match rest.find('>').filter(|_| named) {
                Some(end) => {
                    let name = &rest[1..end];
                    let code = match name {
                        "Enter" => KeyCode::Enter,
                        "Esc" => KeyCode::Esc,
                        "Down" => KeyCode::Down,
                        "Up" => KeyCode::Up,
                        "PgDn" => KeyCode::PageDown,
                        "PgUp" => KeyCode::PageUp,
                        "End" => KeyCode::End,
                        "Home" => KeyCode::Home,
                        "Bksp" => KeyCode::Backspace,
                        "C-c" => KeyCode::Char('c'),
                        "lt" => KeyCode::Char('<'),
                        other => panic!("unknown key <{other}>"),
                    };
                    let mods = if name == "C-c" {
                        KeyModifiers::CONTROL
                    } else {
                        KeyModifiers::NONE
                    };
                    (code, mods, end + 1)
                }
                None => {
                    let c = rest.chars().next().unwrap();
                    (KeyCode::Char(c), KeyModifiers::NONE, c.len_utf8())
                }
            };
            rest = &rest[len..];
            let area = self.area();
            self.s.key(KeyEvent::new(code, mods), area);
        }
        self
    }

    /// Runs `f` on the rows shown.
    pub fn with_listing<T>(&mut self, f: impl FnOnce(&Listing) -> T) -> T {
        f(&self.s.listing())
    }

    /// The rows' labels, `local → peer`, in order.
    pub fn labels(&mut self) -> Vec<String> {
        self.with_listing(|l| match l {
            Listing::Pairs { rows, .. } => rows.iter().map(|(k, _)| pair_label(k)).collect(),
            Listing::Conns { rows, .. } => rows
                .iter()
                .map(|c| format!("{} → {}", c.local(), c.peer()))
                .collect(),
        })
    }

    /// The frame as text.
    pub fn render(&mut self) -> String {
        let mut term = Terminal::new(TestBackend::new(self.size.0, self.size.1)).unwrap();
        self.s.draw(&mut term, self.now).unwrap();
        term.backend().to_string()
    }
}

/// The metric named `name`.
fn metric(name: &str) -> MetricId {
    MetricId::named(name).expect("a metric")
}

/// The UI column of metric `name`.
fn col(name: &str) -> Column {
    Column::named(name).expect("a UI column")
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

#[test]
fn keys_depend_on_the_mode() {
    let mut app = App::new(&[Dimension::Pod], MetricId::BYTES);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(keys::action(key('q'), &app), Some(Action::Quit));
    assert_eq!(keys::action(ctrl_c, &app), Some(Action::Quit));
    assert_eq!(
        keys::action(key('3'), &app),
        Some(Action::SortBy(col("bytes_sent")))
    );
    assert_eq!(
        keys::action(key('0'), &app),
        Some(Action::SortBy(col("srtt_p99_us")))
    );
    assert_eq!(keys::action(key('x'), &app), None);
    app.editing = true;
    assert_eq!(keys::action(key('q'), &app), Some(Action::FilterChar('q')));
    assert_eq!(keys::action(ctrl_c, &app), Some(Action::Quit));
    app.editing = false;
    app.help = true;
    assert_eq!(keys::action(key('j'), &app), Some(Action::ToggleHelp));
    assert_eq!(keys::action(key('q'), &app), Some(Action::Quit));
    // Every key the help lists maps to an action.
    let app = App::new(&[Dimension::Pod], MetricId::BYTES);
    for c in "q?/<>igt dj k1234567890".chars() {
        assert!(keys::action(key(c), &app).is_some(), "{c:?}");
    }
}

#[test]
fn quit_help_and_pause() {
    let mut h = Harness::new(80, 24);
    h.press("?");
    assert!(h.s.app.help);
    h.press("x");
    assert!(!h.s.app.help, "any key closes help");
    h.press(" ");
    assert!(h.s.app.paused);
    h.press(" t");
    assert!(!h.s.app.paused);
    assert_eq!(h.s.app.mode, Mode::Totals);
    h.press("q");
    assert!(h.s.app.quit);
}

#[test]
fn sorting_by_column_keys_and_arrows() {
    let mut h = Harness::new(160, 48);
    h.press("t3");
    assert_eq!(
        (h.s.app.sort, h.s.app.descending),
        (metric("bytes_sent"), true)
    );
    let tx = |h: &mut Harness| {
        h.with_listing(|l| match l {
            Listing::Pairs { rows, .. } => rows
                .iter()
                .map(|(_, s)| s.counters.bytes_sent)
                .collect::<Vec<_>>(),
            Listing::Conns { .. } => vec![],
        })
    };
    let down = tx(&mut h);
    assert!(down.windows(2).all(|w| w[0] >= w[1]), "{down:?}");
    assert!(down.len() > 5);
    h.press("3");
    let up = tx(&mut h);
    assert!(up.windows(2).all(|w| w[0] <= w[1]), "{up:?}");
    h.press("i");
    assert_eq!(tx(&mut h), down);
    h.press(">");
    assert_eq!(h.s.app.sort, metric("bytes_received"));
    h.press("<lt><lt><lt><lt>");
    assert_eq!(h.s.app.sort, metric("resets_received"), "< wraps around");
    h.press("0");
    assert_eq!(h.s.app.sort, metric("srtt_p99_us"));
    assert!(h.s.app.descending);
    // RTO stalls put the unhappy pair's p99 above even the internet's.
    assert_eq!(h.labels()[0], "payments/eu-west-1a → db/eu-west-1b");
    assert_eq!(h.labels()[1], "shop/eu-west-1a → unknown/unknown");
}

#[test]
fn filtering_on_any_key_text() {
    let mut h = Harness::new(80, 24);
    h.press("t");
    let all = h.labels().len();
    h.press("/KUBE");
    assert!(h.s.app.editing);
    let rows = h.labels();
    assert_eq!(
        rows,
        ["payments/eu-west-1a → kube-system/eu-west-1c"],
        "case-insensitive"
    );
    h.press("<Enter>");
    assert!(!h.s.app.editing);
    assert_eq!(h.s.app.filter, "KUBE");
    h.press("<Esc>");
    assert_eq!(h.labels().len(), all);
    assert_eq!(h.s.app.filter, "");
    h.press("/1c<Enter>");
    assert!(h.labels().iter().all(|l| l.contains("1c")));
    h.press("/zzz");
    assert!(h.labels().is_empty());
}

#[test]
fn regrouping_cycles_through_every_grouping() {
    let mut h = Harness::new(80, 24);
    let mut seen = Vec::new();
    for _ in 0..10 {
        seen.push(h.s.app.group_by().to_vec());
        h.press("g");
    }
    assert_eq!(h.s.app.group_by(), [Dimension::Namespace, Dimension::Az]);
    assert_eq!(seen[3], [Dimension::Workload]);
    assert_eq!(seen[4], [Dimension::Pod]);
    assert_eq!(seen[7], [Dimension::Service]);
    assert_eq!(seen[9], [Dimension::Process]);
    h.press("tggggg");
    assert_eq!(h.s.app.group_by(), [Dimension::Ip]);
    assert!(h.labels().contains(&"10.0.1.20 → 10.0.2.30".to_string()));
    // A grouping from --group-by that is not in the cycle goes first.
    let app = App::new(&[Dimension::Pod, Dimension::Az], MetricId::BYTES);
    assert_eq!((app.groupings.len(), app.grouping), (11, 0));
}

#[test]
fn drilling_down_to_connections_and_back() {
    let mut h = Harness::new(160, 48);
    h.press("t");
    let top = h.labels();
    let i = top
        .iter()
        .position(|l| l == "payments/eu-west-1a → db/eu-west-1b")
        .unwrap();
    for _ in 0..i {
        h.press("j");
    }
    h.press("<Enter>");
    assert_eq!(h.s.app.level().view, View::Pairs(vec![Dimension::Workload]));
    assert_eq!(h.labels(), ["Deployment/api → StatefulSet/postgres"]);
    h.press("<Enter>");
    assert_eq!(h.s.app.level().view, View::Pairs(vec![Dimension::Pod]));
    assert_eq!(h.labels(), ["api-7c9f8b-qx4s → postgres-0"]);
    h.press("<Enter>");
    assert_eq!(h.s.app.level().view, View::Pairs(vec![Dimension::Ip]));
    assert_eq!(h.labels(), ["10.0.1.20 → 10.0.2.30"]);
    // The IP pair's numbers equal the namespace pair's: one pod pair, one IP pair.
    let conns = h.with_listing(|l| match l {
        Listing::Pairs { rows, .. } => rows[0].1.counters.connections,
        Listing::Conns { .. } => 0,
    });
    h.press("<Enter>");
    assert_eq!(h.s.app.level().view, View::Conns);
    let rows = h.labels();
    assert!(rows
        .iter()
        .all(|l| l.starts_with("10.0.1.20:") && l.contains("→ 10.0.2.30:5432")));
    // Folded overflow totals count in the pairs but carry no connections.
    assert_eq!(rows.len() as u64, conns - 3);
    h.press("<Enter>");
    assert_eq!(h.s.app.levels.len(), 5, "connections are the last level");
    assert!(h.s.app.inspecting(), "Enter opens the socket's fields");
    let screen = h.render();
    for field in [
        "RWND LIMITED",
        "DATA SEGS",
        "SSTHRESH",
        "DELIVERY",
        "db/postgres-0",
    ] {
        assert!(screen.contains(field), "{field} missing:\n{screen}");
    }
    h.press("j");
    assert!(h.s.app.inspecting(), "Down shows the next socket's fields");
    h.press("<Esc>");
    assert!(!h.s.app.inspecting(), "Esc closes them");
    assert_eq!(h.s.app.levels.len(), 5);
    assert!(h.render().contains("LOCAL"), "the table is back");
    h.press("<Enter><Bksp>");
    assert!(!h.s.app.inspecting(), "Backspace closes them too");
    h.press("<Bksp><Bksp><Bksp>");
    assert_eq!(h.s.app.levels.len(), 2);
    assert!(matches!(&h.s.app.level().selected, Some(Selected::Pair(_))));
    h.press("<Esc>");
    assert_eq!(h.s.app.levels.len(), 1, "Esc without a filter backs up");
    assert_eq!(h.s.app.level().index, i, "the selection is where it was");
    h.press("<Enter>g");
    assert_eq!(h.s.app.levels.len(), 1, "regrouping starts at the top");
    // A filter that found the row stays with its level.
    assert_eq!(h.s.app.group_by(), [Dimension::Namespace]);
    h.press("/db<Enter>");
    assert!(!h.labels().is_empty());
    h.press("<Enter>");
    assert_eq!((h.s.app.levels.len(), h.s.app.filter.as_str()), (2, ""));
    assert!(!h.labels().is_empty());
    h.press("<Bksp>");
    assert_eq!(h.s.app.filter, "db");
}

#[test]
fn the_selection_moves_and_stays_in_bounds() {
    let mut h = Harness::new(80, 24);
    h.press("tg");
    let n = h.labels().len();
    h.press("<End>");
    assert_eq!(h.s.app.level().index, n - 1);
    h.press("j<Down>");
    assert_eq!(h.s.app.level().index, n - 1);
    h.press("<Home>k<Up>");
    assert_eq!(h.s.app.level().index, 0);
    h.press("<PgDn>");
    let page = page(h.area(), &h.s.app);
    assert_eq!(h.s.app.level().index, page.min(n - 1));
    // The selection follows its row when the order changes.
    let label = h.labels()[h.s.app.level().index].clone();
    h.press("i");
    h.render();
    let now = h.labels()[h.s.app.level().index].clone();
    assert_eq!(now, label);
    assert!(h.s.app.level().offset <= h.s.app.level().index);
}

#[test]
fn no_color_frames_have_no_colour() {
    let mut h = Harness::new(80, 24);
    let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
    for (theme, coloured) in [(Theme::new(false), false), (Theme::new(true), true)] {
        h.s.theme = theme;
        h.s.draw(&mut term, h.now).unwrap();
        let any_colour =
            term.backend().buffer().content().iter().any(|c| {
                c.fg != ratatui::style::Color::Reset || c.bg != ratatui::style::Color::Reset
            });
        assert_eq!(any_colour, coloured);
    }
}

#[test]
fn the_own_cost_is_shown_whole_or_not_at_all_at_any_width() {
    use crate::collector::cost::{BpfStats, Cost};
    for bpf in [None, Some(BpfStats::default())] {
        for w in (10..=200).step_by(7) {
            let mut h = Harness::new(w, 24);
            h.s.info.cost = Some(Cost {
                wall: Duration::from_secs(1),
                bpf,
                cpu: Some(Duration::from_millis(3)),
            });
            let frame = h.render();
            let last = frame.lines().nth(2).unwrap().trim_matches('"').trim_end();
            assert!(
                !last.contains("cpu") || last.ends_with("cpu 0.30%"),
                "{w}: {last}"
            );
            // Five totals columns keep their place wherever they fit.
            let totals = frame.lines().nth(1).unwrap();
            assert_eq!(totals.contains("dropped"), w >= 59, "{w}: {totals}");
        }
    }
}
