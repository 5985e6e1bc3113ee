//! The connections table: the last level of the drill-down, one row per socket, the
//! open ones first (busiest first), then recent closes, newest first.
use std::time::Duration;

use ratatui::{
    layout::{Constraint, Layout, Rect},
    text::Line,
    widgets::{Cell, Paragraph, Row, Table},
    Frame,
};

use super::{columns::squeeze, listing::Listing, model::Conn, screen::Screen, table::title_bar};
use crate::view::format::{bytes, count, micros, uptime};

/// A column of the connections table: title, width, and its cell from the row, its
/// age and whether the kernel has RTO counters.
type Col = (&'static str, u16, fn(&Conn, Duration, bool) -> String);

/// Metric columns, most important first: a narrow terminal drops from the end. They
/// show in this order.
const COLS: [Col; 9] = [
    ("AGE", 6, |_, age, _| uptime(age)),
    ("TX", 11, |c, _, _| bytes(c.counters().bytes_sent)),
    ("RX", 11, |c, _, _| bytes(c.counters().bytes_received)),
    ("SRTT", 8, |c, _, _| srtt(c.srtt_us())),
    ("RETRANS", 7, |c, _, _| count(c.counters().retransmits)),
    ("STATE", 8, |c, _, _| c.state().into()),
    ("LIFETIME", 8, |c, _, _| micros(c.lifetime_us())),
    ("LOST", 5, |c, _, _| count(c.counters().lost)),
    ("RTO", 4, |c, _, rto| match rto {
        true => count(c.counters().rto_timeouts),
        false => "-".into(),
    }),
];

/// Address columns are this wide at least (an IPv4 socket address fits).
const ADDR_MIN: u16 = 21;

/// A smoothed RTT, `-` when none was measured.
pub fn srtt(us: u32) -> String {
    micros((us > 0).then_some(u64::from(us)))
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
        .map(|c| c.local().to_string().len().max(c.peer().to_string().len()))
        .max()
        .unwrap_or(ADDR_MIN.into()) as u16;
    let addr = longest.max(ADDR_MIN);
    let mut budget = i32::from(body.width) - 2 * i32::from(addr) - 1;
    let shown: Vec<&Col> = COLS
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
            .map(|c| Cell::from(Line::from(c.0).right_aligned())),
    );
    let page = usize::from(body.height.saturating_sub(1));
    let level = s.app.level();
    let rto = s.ledger.known().rto;
    let kernel_now = s.ledger.open().now_ns();
    let lines =
        rows.iter()
            .enumerate()
            .skip(level.offset)
            .take(page)
            .map(|(i, c)| {
                let age = c.age(s.now, kernel_now);
                let cells =
                    [c.local().to_string(), c.peer().to_string()]
                        .into_iter()
                        .map(|a| Cell::from(squeeze(&a, usize::from(addr))))
                        .chain(shown.iter().map(|col| {
                            Cell::from(Line::from((col.2)(c, age, rto)).right_aligned())
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
