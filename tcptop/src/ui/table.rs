//! The pair table: a title bar naming what is shown, then one row per pair with the
//! metric columns that fit.
use ratatui::{
    layout::{Constraint, Layout, Rect},
    text::Line,
    widgets::{Cell, Paragraph, Row, Table},
    Frame,
};

use super::{
    columns::{self, squeeze, Column},
    listing::Listing,
    model::{join, Mode, View},
    screen::Screen,
    state::App,
    theme::{alert_level, Level},
};
use crate::aggregation::Dimension;

/// Lines around the rows: the title bar and the column headers.
pub const CHROME: u16 = 2;

/// Key columns are never narrower than this (or their longest label, if shorter).
const KEY_MIN: usize = 15;
/// Key columns up to this wide win over minor metric columns.
const KEY_WANT: usize = 32;

/// Draws the title bar and the pair table.
pub fn render(frame: &mut Frame, area: Rect, s: &Screen) {
    let Listing::Pairs { rows, .. } = s.listing else {
        return;
    };
    let [title, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    frame.render_widget(title_bar(s, title.width), title);
    let page = usize::from(body.height.saturating_sub(1));
    let level = s.app.level();
    // Sized to the rows shown: measuring all of them costs a cache miss per row.
    let visible = || rows.iter().enumerate().skip(level.offset).take(page);
    let longest = visible()
        .map(|(_, (k, _))| label_len(&k.local).max(label_len(&k.peer)))
        .max()
        .unwrap_or(5)
        .max(5);
    let key_min = longest.min(KEY_MIN) as u16;
    let cols = columns::fit(
        body.width,
        key_min,
        longest.min(KEY_WANT) as u16,
        s.app.sort,
        s.ledger.known(),
    );
    let numbers: u16 = cols.iter().map(|c| c.width() + 1).sum();
    let room = usize::from(body.width.saturating_sub(numbers + 1) / 2);
    let key_width = longest.min(room).max(usize::from(key_min).min(room));
    let theme = s.theme;
    let mut header = vec![Cell::from("LOCAL"), Cell::from("PEER")];
    header.extend(cols.iter().map(|c| {
        let mut text = c.header(s.app.mode);
        let style = if c.sort() == s.app.sort {
            text.insert(0, if s.app.descending { '▼' } else { '▲' });
            theme.sorted()
        } else {
            theme.header()
        };
        Cell::from(Line::from(text).right_aligned()).style(style)
    }));
    let secs = s.ledger.last_interval().as_secs_f64();
    let shown = visible().map(|(i, (k, st))| {
        let mut cells = vec![
            Cell::from(squeeze(&join(&k.local), key_width)),
            Cell::from(squeeze(&join(&k.peer), key_width)),
        ];
        cells.extend(cols.iter().map(|c| {
            let cell = Cell::from(Line::from(c.cell(st, s.app.mode, secs)).right_aligned());
            match alert_level(c.sort(), st) {
                Level::Ok => cell,
                l => cell.style(theme.level(l)),
            }
        }));
        let row = Row::new(cells);
        if i == level.index {
            row.style(theme.selected())
        } else if s.app.mode == Mode::Rates && st.is_quiet() {
            // Quiet in the last interval, active a moment ago: kept, dimmed.
            row.style(theme.dim())
        } else {
            row
        }
    });
    let widths = [key_width as u16; 2]
        .into_iter()
        .chain(cols.iter().map(|c| c.width()))
        .map(Constraint::Length);
    let table = Table::new(shown, widths)
        .header(Row::new(header).style(theme.header()))
        .column_spacing(1);
    frame.render_widget(table, body);
    if rows.is_empty() {
        let msg = empty_message(s);
        let y = body.y + 2.min(body.height.saturating_sub(1));
        let line = Rect::new(body.x, y, body.width, 1.min(body.height));
        frame.render_widget(
            Paragraph::new(Line::from(msg).centered()).style(theme.dim()),
            line,
        );
    }
}

/// Width of one end's label, without building it: bytes, which is the width for the
/// ASCII names Kubernetes allows and at most a little wide otherwise.
fn label_len(values: &[std::sync::Arc<str>]) -> usize {
    values.iter().map(|v| v.len()).sum::<usize>() + values.len().saturating_sub(1)
}

/// Why the table is empty.
fn empty_message(s: &Screen) -> &'static str {
    if s.listing.unfiltered() > 0 {
        "no rows match the filter (Esc clears it)"
    } else if s.app.mode == Mode::Rates && s.ledger.last_interval().is_zero() {
        "waiting for the first interval (t shows totals since start)"
    } else if s.app.mode == Mode::Rates {
        "no connections closed in the last interval (t shows totals since start)"
    } else {
        "no connections closed yet"
    }
}

/// The title bar: where in the drill-down, rates or totals, sort, rows, filter. When
/// it does not fit, the drill-down path gives way, from its middle.
pub fn title_bar<'a>(s: &Screen, width: u16) -> Paragraph<'a> {
    let app = s.app;
    let mut parts = Vec::new();
    match app.level().view {
        View::Pairs(_) => {
            parts.push(match app.mode {
                Mode::Rates if s.ledger.last_interval().is_zero() => "rates /s".to_string(),
                Mode::Rates => {
                    format!(
                        "rates /s over {:.1}s",
                        s.ledger.last_interval().as_secs_f64()
                    )
                }
                Mode::Totals => "totals since start".to_string(),
            });
            let name = Column::of_sort(app.sort).map_or(app.sort.name(), Column::title);
            let arrow = if app.descending { "▼" } else { "▲" };
            parts.push(format!("sort {name} {arrow}"));
        }
        View::Conns => parts.push(match s.ledger.recent().evicted() {
            0 => "newest first".to_string(),
            n => format!("newest first, {n} older closes not kept"),
        }),
    }
    let (n, all) = (s.listing.len(), s.listing.unfiltered());
    let noun = if all == 1 { "row" } else { "rows" };
    parts.push(if n == all {
        format!("{n} {noun}")
    } else {
        format!("{n} of {all} {noun}")
    });
    if !app.filter.is_empty() || app.editing {
        parts.push(format!("filter \"{}\"", app.filter));
    }
    let tail = parts.join(" │ ");
    let room = usize::from(width).saturating_sub(tail.chars().count() + 4);
    let text = if room >= 12 {
        format!(" {} │ {tail}", squeeze(&path(app), room))
    } else {
        format!(" {tail}")
    };
    Paragraph::new(squeeze(&text, usize::from(width))).style(s.theme.title())
}

/// Where the level shown sits: `namespace,az › web/az-a → db/az-b › pod pairs`.
pub fn path(app: &App) -> String {
    let mut out = names(app.group_by());
    for level in &app.levels[1..] {
        out.push_str(" › ");
        out.push_str(&level.crumb);
    }
    out.push_str(" › ");
    out.push_str(&match &app.level().view {
        View::Pairs(dims) if app.levels.len() == 1 => format!("{} pairs", names(dims)),
        View::Pairs(dims) if dims == &[Dimension::Ip] => "IP pairs".into(),
        View::Pairs(dims) => format!("{} pairs", names(dims)),
        View::Conns => "recent connections".into(),
    });
    if app.levels.len() == 1 {
        // At the top the grouping is said once: "namespace,az pairs".
        if let Some(i) = out.find(" › ") {
            out.replace_range(..i + " › ".len(), "");
        }
    }
    out
}

fn names(dims: &[Dimension]) -> String {
    dims.iter().map(|d| d.name()).collect::<Vec<_>>().join(",")
}
