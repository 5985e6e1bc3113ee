//! The help screen: every key, and what the columns count.
use ratatui::{
    layout::{Constraint, Rect},
    text::{Line, Span},
    widgets::{Block, Clear, Paragraph},
    Frame,
};

use super::{keys::BINDINGS, screen::Screen};

/// What the columns count, RETR%'s definition above all.
pub const NOTES: [&str; 4] = [
    "Counts are of sockets closed: CONNS connections, FAILED failed connects,",
    "TX/RX bytes (TX includes resent bytes), RETRANS/LOST segments, RTO timeouts.",
    "RETR% is per byte, estimated: RETRANS x 1448 B / TX (the kernel counts",
    "segments resent, not bytes: small messages read high). SRTT: final srtt.",
];

/// Draws the help over `area`.
pub fn render(frame: &mut Frame, area: Rect, s: &Screen) {
    let t = s.theme;
    let mut lines: Vec<Line> = BINDINGS
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!("{keys:>12}  "), t.key()),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    lines.extend(NOTES.iter().map(|n| Line::from(*n).style(t.dim())));
    let height = (lines.len() as u16 + 2).min(area.height);
    let width = 80.min(area.width);
    let popup = area.centered(Constraint::Length(width), Constraint::Length(height));
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .title(" tcptop keys · any key closes ")
        .border_style(t.header());
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
