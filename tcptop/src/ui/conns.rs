//! The connections table: the last level of the drill-down, `ss -ti` aggregated, one
//! row per socket, the open ones first (busiest first), then recent closes, newest
//! first. Its cells come from the socket's view model, formatted by its metrics' and
//! gauges' own descriptions.
use std::time::Duration;

use ratatui::{
    layout::{Constraint, Layout, Rect},
    text::Line,
    widgets::{Cell, Paragraph, Row, Table},
    Frame,
};

use super::{columns::squeeze, listing::Listing, screen::Screen, table::title_bar};
use crate::view::{
    format::{micros, uptime},
    sockets::{gauge, Socket},
    MetricId,
};

/// What a column of the connections table shows.
#[derive(Clone, Copy, Debug)]
enum Source {
    /// How long it has been open, or since it closed.
    Age,
    /// Its state as `ss` names it, or how it closed.
    State,
    /// `out` or `in`.
    Direction,
    /// Open to close.
    Lifetime,
    /// A metric of the row table, by name, for this one socket.
    Metric(&'static str),
    /// One of the socket's gauges, by name.
    Gauge(&'static str),
}

/// The columns after the two addresses, most important first: a narrow terminal drops
/// from the end. Each has its width.
const COLS: [(Source, u16); 16] = [
    (Source::Age, 6),
    (Source::State, 10),
    (Source::Direction, 3),
    (Source::Metric("bytes_sent"), 10),
    (Source::Metric("bytes_received"), 10),
    (Source::Metric("retransmits"), 7),
    (Source::Gauge("srtt_us"), 8),
    (Source::Metric("limit"), 7),
    (Source::Gauge("cwnd"), 6),
    (Source::Metric("lost"), 5),
    (Source::Gauge("rttvar_us"), 8),
    (Source::Gauge("ssthresh"), 8),
    (Source::Gauge("delivery_rate"), 12),
    (Source::Gauge("unacked"), 7),
    (Source::Metric("rto"), 4),
    (Source::Lifetime, 8),
];

impl Source {
    /// The column's title.
    fn title(self) -> &'static str {
        match self {
            Source::Age => "AGE",
            Source::State => "STATE",
            Source::Direction => "DIR",
            Source::Lifetime => "LIFETIME",
            Source::Metric(name) => MetricId::named(name).map_or("?", |m| m.metric().title),
            Source::Gauge(name) => gauge(name).map_or("?", |g| g.title),
        }
    }

    /// The cell of socket `k`, `age` old.
    fn cell(self, k: &Socket, age: Duration) -> String {
        match self {
            Source::Age => uptime(age),
            Source::State => k.state.into(),
            Source::Direction => k.direction.unwrap_or("-").into(),
            Source::Lifetime => micros(k.lifetime_us),
            Source::Metric(name) => {
                MetricId::named(name).map_or_else(String::new, |m| m.format(&k.stats))
            }
            Source::Gauge(name) => gauge(name).map_or_else(String::new, |g| g.format(k)),
        }
    }
}

/// Address columns are this wide at least (an IPv4 socket address fits).
const ADDR_MIN: u16 = 21;

/// How many characters `a` shows as, counted without building the text.
fn shown_len(a: std::net::SocketAddr) -> usize {
    struct Count(usize);
    impl std::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 += s.chars().count();
            Ok(())
        }
    }
    let mut n = Count(0);
    let _ = std::fmt::Write::write_fmt(&mut n, format_args!("{a}"));
    n.0
}

/// Draws the title bar and the connections table.
pub fn render(frame: &mut Frame, area: Rect, s: &Screen) {
    let Listing::Conns { rows, .. } = s.listing else {
        return;
    };
    let [title, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    frame.render_widget(title_bar(s, title.width), title);
    let longest = rows
        .iter()
        .map(|c| shown_len(c.local()).max(shown_len(c.peer())))
        .max()
        .unwrap_or(ADDR_MIN.into()) as u16;
    let addr = longest.max(ADDR_MIN);
    let mut budget = i32::from(body.width) - 2 * i32::from(addr) - 1;
    let shown: Vec<&(Source, u16)> = COLS
        .iter()
        .take_while(|c| {
            budget -= i32::from(c.1) + 1;
            budget >= 0
        })
        .collect();
    let numbers: u16 = shown.iter().map(|c| c.1 + 1).sum();
    let addr = addr.min(body.width.saturating_sub(numbers + 1) / 2);
    let theme = s.theme;
    let header = ["LOCAL", "PEER"].into_iter().map(Cell::from).chain(
        shown
            .iter()
            .map(|c| Cell::from(Line::from(c.0.title()).right_aligned())),
    );
    let page = usize::from(body.height.saturating_sub(1));
    let level = s.app.level();
    let known = s.ledger.known();
    let kernel_now = s.ledger.open().now_ns();
    let lines =
        rows.iter()
            .enumerate()
            .skip(level.offset)
            .take(page)
            .map(|(i, c)| {
                let age = c.age(s.now, kernel_now);
                let k = c.socket(known, kernel_now);
                let cells =
                    [c.local().to_string(), c.peer().to_string()]
                        .into_iter()
                        .map(|a| Cell::from(squeeze(&a, usize::from(addr))))
                        .chain(shown.iter().map(|col| {
                            Cell::from(Line::from(col.0.cell(&k, age)).right_aligned())
                        }));
                let row = Row::new(cells);
                if i == level.index {
                    row.style(theme.selected())
                } else {
                    row
                }
            });
    let widths = [addr, addr]
        .into_iter()
        .chain(shown.iter().map(|c| c.1))
        .map(Constraint::Length);
    let table = Table::new(lines, widths)
        .header(Row::new(header).style(theme.header()))
        .column_spacing(1);
    frame.render_widget(table, body);
    let evicted = s.ledger.recent().evicted();
    let note = if rows.is_empty() && s.listing.unfiltered() > 0 {
        Some("no connections match the filter (Esc clears it)".to_string())
    } else if rows.is_empty() {
        Some(format!(
            "none of the last {} closes kept is between these ends ({} older ones were not kept)",
            s.ledger.recent().len(),
            evicted
        ))
    } else {
        None
    };
    if let Some(msg) = note {
        let y = body.y + 2.min(body.height.saturating_sub(1));
        let line = Rect::new(body.x, y, body.width, 1.min(body.height));
        frame.render_widget(
            Paragraph::new(Line::from(msg).centered()).style(theme.dim()),
            line,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_names_a_metric_or_gauge_and_its_title_fits() {
        for (src, width) in COLS {
            let title = src.title();
            assert_ne!(title, "?", "{src:?}");
            assert!(title.len() <= usize::from(width), "{src:?}");
        }
    }
}
