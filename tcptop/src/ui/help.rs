//! The help screen: every key, and what the columns count.
use ratatui::{
    layout::{Constraint, Rect},
    text::{Line, Span},
    widgets::{Block, Clear, Paragraph},
    Frame,
};

use super::{keys::BINDINGS, screen::Screen};

/// What the columns count, RETR% and LIMIT above all.
pub const NOTES: [&str; 7] = [
    "CONNS connections, FAILED failed connects (REFUSED: a RST answered the SYN,",
    "TIMEOUT: nothing did), TX/RX bytes, RETRANS/LOST segments, RTO timeouts,",
    "RST TX/RX resets sent/received. RETR%: segments resent / data segments sent.",
    "LIMIT: what held sending back most of its busy time: rwnd (the receiver reads",
    "slowly or its window is small), sndbuf (the sender's own buffer or app),",
    "network (neither: congestion window, loss, queueing); - when idle.",
    "SRTT: smoothed RTT, at close or at the latest sample of an open socket.",
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
