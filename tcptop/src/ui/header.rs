//! The header: node, kernel, time running, Kubernetes status and status notes on the
//! first line; then the totals of the last interval and since start, with tcptop's own
//! cost over the last interval on the right of its row.
use ratatui::{
    layout::{Constraint, Layout, Rect},
    style::{Modifier, Style},
    text::{Line, Span},
    widgets::{Cell, Row, Table},
    Frame,
};

use super::{model::Mode, screen::Screen, theme::Level};
use crate::view::{
    cost,
    format::{bytes, count, pct, rate, uptime},
    live::{Period, Summary},
};

/// Lines the header takes.
pub const HEIGHT: u16 = 4;

/// The header's totals columns, most important first: a narrow terminal drops from the
/// end.
const COLUMNS: [(&str, u16); 8] = [
    ("closes/s", 8),
    ("bytes/s", 11),
    ("cross-AZ", 8),
    ("retrans", 8),
    ("dropped", 8),
    ("failed", 7),
    ("lost", 7),
    ("rto stalls", 10),
];

/// Width of the row labels.
const LABEL: u16 = 11;

/// Totals columns that keep their place before tcptop's own cost takes room; the
/// others show only where the cost leaves room for them.
const BEFORE_COST: usize = 5;

/// Space between the totals and the cost.
const COST_GAP: u16 = 2;

/// Width of the totals table with its first `n` columns.
fn table_width(n: usize) -> u16 {
    LABEL + COLUMNS[..n].iter().map(|(_, w)| w + 1).sum::<u16>()
}

/// How many totals columns fit in `width`, and which of tcptop's cost `forms` (longest
/// first) goes beside them: the longest that fits beside the first [`BEFORE_COST`].
fn fit(width: u16, forms: Vec<String>) -> (usize, Option<String>) {
    let cost = forms.into_iter().find(|f| {
        table_width(BEFORE_COST) + COST_GAP + Line::from(f.as_str()).width() as u16 <= width
    });
    let room = match &cost {
        Some(f) => width - COST_GAP - Line::from(f.as_str()).width() as u16,
        None => width,
    };
    let n = (0..=COLUMNS.len())
        .rev()
        .find(|n| table_width(*n) <= room)
        .unwrap_or(0);
    (n, cost)
}

/// Draws the header.
pub fn render(frame: &mut Frame, area: Rect, s: &Screen) {
    let [top, totals] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    frame.render_widget(identity(s, top.width), top);
    let forms = s.info.cost.as_ref().map(cost::forms).unwrap_or_default();
    let (n, cost) = fit(totals.width, forms);
    let shown: Vec<usize> = (0..n).collect();
    let last = s.ledger.summary(Period::Last, s.now);
    let total = s.ledger.summary(Period::Total, s.now);
    let interval = s.ledger.last_interval();
    let label = |text: String, mode: Mode| {
        let style = if s.app.mode == mode {
            s.theme.header()
        } else {
            s.theme.dim()
        };
        Cell::from(text).style(style)
    };
    let last_label = if interval.is_zero() {
        "last -".to_string()
    } else {
        format!("last {:.1}s", interval.as_secs_f64())
    };
    let rows = [
        (label(last_label, Mode::Rates), &last),
        (label("since start".into(), Mode::Totals), &total),
    ]
    .map(|(l, sum)| {
        let cells = shown.iter().map(|i| cell(*i, sum, s));
        Row::new(std::iter::once(l).chain(cells))
    });
    let header = Row::new(
        std::iter::once(Cell::from("")).chain(
            shown
                .iter()
                .map(|i| Cell::from(Line::from(COLUMNS[*i].0).right_aligned())),
        ),
    )
    .style(s.theme.dim());
    let widths = std::iter::once(Constraint::Length(LABEL))
        .chain(shown.iter().map(|i| Constraint::Length(COLUMNS[*i].1)));
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        totals,
    );
    // On the right of the last interval's row.
    if let Some(text) = cost {
        let line = Line::from(text).style(s.theme.dim()).right_aligned();
        let row = Rect {
            y: totals.y + 1,
            height: 1.min(totals.height.saturating_sub(1)),
            ..totals
        };
        frame.render_widget(line, row);
    }
}

/// The first line: who, where, how long, Kubernetes, then notes on the right. When it
/// does not fit, the kernel goes first, then the labels.
fn identity<'a>(s: &Screen<'a>, width: u16) -> Line<'a> {
    let t = &s.theme;
    let mut notes: Vec<Span> = Vec::new();
    let mut add_note = |text: &str, level: Level| {
        notes.push(Span::raw("  "));
        notes.push(Span::styled(
            text.to_string(),
            t.level(level).add_modifier(Modifier::BOLD),
        ));
    };
    if s.app.paused {
        add_note("PAUSED", Level::Warn);
    }
    let folded = s.ledger.folded();
    if folded > 0 {
        add_note(
            &format!("{folded} pairs folded into other (--max-rows)"),
            Level::Warn,
        );
    }
    for (text, level) in &s.info.notes {
        add_note(text, *level);
    }
    let note_width: usize = notes.iter().map(Span::width).sum();
    let fields = [
        ("node", s.info.node.clone(), Style::new()),
        ("kernel", s.info.kernel.clone(), Style::new()),
        ("up", uptime(s.now), Style::new()),
        ("k8s", s.info.kube.text.clone(), t.level(s.info.kube.level)),
    ];
    let build = |kernel: bool, labels: bool| {
        let mut spans = vec![Span::styled(
            format!("tcptop {}", s.info.version),
            t.header(),
        )];
        for (label, value, style) in &fields {
            if *label == "kernel" && !kernel {
                continue;
            }
            let label = if labels {
                format!("  {label} ")
            } else {
                " ".into()
            };
            spans.push(Span::styled(label, t.dim()));
            spans.push(Span::styled(value.clone(), *style));
        }
        spans
    };
    let fits = |spans: &Vec<Span>| {
        spans.iter().map(Span::width).sum::<usize>() + note_width <= usize::from(width)
    };
    let mut spans = build(true, true);
    for (kernel, labels) in [(false, true), (false, false)] {
        if fits(&spans) {
            break;
        }
        spans = build(kernel, labels);
    }
    let used: usize = spans.iter().map(Span::width).sum();
    spans.push(Span::raw(
        " ".repeat(usize::from(width).saturating_sub(used + note_width)),
    ));
    spans.extend(notes);
    Line::from(spans)
}

/// The cell of totals column `i` for `sum`.
fn cell<'a>(i: usize, sum: &Summary, s: &Screen) -> Cell<'a> {
    let no_time = sum.secs <= 0.0;
    let c = &sum.counters;
    let (text, level) = match i {
        0 if no_time => ("-".into(), Level::Ok),
        0 => (rate(sum.per_sec(c.closes())), Level::Ok),
        1 if no_time => ("-".into(), Level::Ok),
        1 => (bytes(sum.per_sec(c.bytes()).round() as u64), Level::Ok),
        2 => (pct(sum.cross_az_pct()), Level::Ok),
        3 => (count(c.retransmits), Level::Ok),
        4 => {
            let n = sum.drops.dropped();
            let level = match (sum.drops.lost_entirely(), n) {
                (1.., _) => Level::Bad,
                (0, 1..) => Level::Warn,
                _ => Level::Ok,
            };
            (count(n), level)
        }
        5 => (count(c.failed_connects), Level::Ok),
        6 => (count(c.lost), Level::Ok),
        _ if s.ledger.known().rto => (count(c.rto_recoveries), Level::Ok),
        _ => ("n/a".into(), Level::Off),
    };
    let style = match level {
        Level::Ok => Style::new(),
        l => s.theme.level(l),
    };
    Cell::from(Line::from(text).right_aligned()).style(style)
}
