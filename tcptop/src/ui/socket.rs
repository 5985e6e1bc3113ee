//! One socket's every field, opened with Enter on the connections level: who owns each
//! end, then what `--connections` lists for it (the row metrics for this one socket and
//! its congestion state), each titled and formatted by its own description.
use ratatui::{
    layout::Rect,
    text::{Line, Span},
    widgets::{Block, Paragraph},
    Frame,
};

use super::{columns::squeeze, model::Conn, screen::Screen};
use crate::{
    attribution::Attribution,
    view::{
        format::{micros, uptime},
        sockets::{Socket, GAUGES},
        MetricId,
    },
};

/// Width of one field: its title, its value and a space; three fit in 80 columns.
const FIELD: usize = 26;
/// Width of a field's title.
const TITLE: usize = 15;

/// Draws the selected socket's fields over `area`.
pub fn render(frame: &mut Frame, area: Rect, s: &Screen) {
    let t = s.theme;
    let conn = s
        .app
        .level()
        .selected
        .as_ref()
        .and_then(|sel| s.listing.conn(sel));
    let (title, lines) = match conn {
        Some(c) => (
            format!(" socket · {} → {} · Esc back ", c.local(), c.peer()),
            lines(c, s, usize::from(area.width.saturating_sub(2))),
        ),
        None => (
            " socket · Esc back ".to_string(),
            vec![Line::from("this socket is no longer listed").style(t.dim())],
        ),
    };
    let title = squeeze(&title, usize::from(area.width.saturating_sub(2)));
    let block = Block::bordered().title(title).border_style(t.header());
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// Both ends' owners, a line each: `namespace/pod on node (az)`.
pub fn owners<'a>(c: &Conn, s: &Screen) -> [Line<'a>; 2] {
    let line = |end: &str, o: &Attribution| {
        Line::from(vec![
            Span::styled(format!("{end:<7}"), s.theme.dim()),
            Span::raw(format!(
                "{}/{} on {} ({})",
                o.namespace, o.pod, o.node, o.az
            )),
        ])
    };
    let (local, peer) = c.owners();
    [line("local", local), line("peer", peer)]
}

/// How long it has been open, or when it closed and how long it lived.
pub fn when(c: &Conn, s: &Screen) -> String {
    let age = uptime(c.age(s.now, s.ledger.open().now_ns()));
    match c {
        Conn::Open(_) => format!("open for {age}, counted since seen"),
        Conn::Closed(cl) => format!(
            "closed {age} ago after {}",
            micros(cl.close.event.lifetime_us)
        ),
    }
}

/// The socket's lines for an inner width of `width`.
fn lines<'a>(c: Conn, s: &Screen, width: usize) -> Vec<Line<'a>> {
    let t = s.theme;
    let k = c.socket(s.ledger.known(), s.ledger.open().now_ns());
    let head = format!(
        "{} {}, {}",
        k.state,
        k.direction.unwrap_or("(direction unknown)"),
        when(&c, s)
    );
    let mut out = vec![Line::from(Span::styled(head, t.header()))];
    out.extend(owners(&c, s));
    out.push(Line::from(""));
    let counted = match c {
        Conn::Open(_) => "counted since tcptop saw it open",
        Conn::Closed(_) => "counted over its life",
    };
    out.push(Line::from(counted).style(t.dim()));
    let metrics: Vec<(&str, String)> = MetricId::fields()
        .map(|m| (m.metric().title, m.format(&k.stats)))
        .collect();
    out.extend(grid(&metrics, width, s));
    let state = match c {
        Conn::Open(_) => "congestion state now",
        Conn::Closed(_) => "congestion state at close",
    };
    out.push(Line::from(state).style(t.dim()));
    out.extend(grid(&gauges(&k), width, s));
    out
}

/// The socket's gauges, titled and formatted.
fn gauges(k: &Socket) -> Vec<(&'static str, String)> {
    GAUGES.iter().map(|g| (g.title, g.format(k))).collect()
}

/// `fields` in as many columns of [`FIELD`] as `width` holds, filled row by row.
fn grid<'a>(fields: &[(&str, String)], width: usize, s: &Screen) -> Vec<Line<'a>> {
    let per_line = (width / FIELD).max(1);
    fields
        .chunks(per_line)
        .map(|chunk| {
            let spans = chunk.iter().flat_map(|(title, value)| {
                [
                    Span::styled(format!("{title:<TITLE$}"), s.theme.dim()),
                    Span::raw(format!("{value:>w$} ", w = FIELD - TITLE - 1)),
                ]
            });
            Line::from(spans.collect::<Vec<_>>())
        })
        .collect()
}
