//! One frame: where each part of the screen goes, and drawing them all.
use ratatui::{
    layout::{Constraint, Layout, Rect},
    Frame,
};

use super::{
    conns, detail, footer, header, help, listing::Listing, model, screen::Screen, socket,
    state::App, table,
};

/// Width from which the detail pane sits right of the table rather than below it.
const SIDE_DETAIL_WIDTH: u16 = 200;
/// The detail pane's width on the right.
const DETAIL_WIDTH: u16 = 56;
/// The detail pane's least height below the table; it takes a third of taller screens,
/// up to [`DETAIL_MAX_HEIGHT`].
const DETAIL_HEIGHT: u16 = 9;
/// The detail pane's greatest height below the table.
const DETAIL_MAX_HEIGHT: u16 = 16;

/// Where each part of the screen goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    /// The header.
    pub header: Rect,
    /// The table, its title bar included.
    pub table: Rect,
    /// The detail pane, when shown.
    pub detail: Option<Rect>,
    /// The key hints.
    pub footer: Rect,
}

/// Splits `area` for `app`'s state.
pub fn layout(area: Rect, app: &App) -> Areas {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(header::HEIGHT),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let (table, detail) = if !app.detail || app.inspecting() {
        (body, None)
    } else if body.width >= SIDE_DETAIL_WIDTH {
        let [t, d] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(DETAIL_WIDTH)]).areas(body);
        (t, Some(d))
    } else if body.height >= DETAIL_HEIGHT + 5 {
        let height = match app.level().view {
            // A connection's record takes five lines.
            model::View::Conns => 7,
            model::View::Pairs(_) => (body.height / 3).clamp(DETAIL_HEIGHT, DETAIL_MAX_HEIGHT),
        };
        let [t, d] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(height)]).areas(body);
        (t, Some(d))
    } else {
        (body, None)
    };
    Areas {
        header,
        table,
        detail,
        footer,
    }
}

/// Rows the table shows at once in `area`.
pub fn page(area: Rect, app: &App) -> usize {
    usize::from(layout(area, app).table.height.saturating_sub(table::CHROME))
}

/// Draws one frame.
pub fn draw(frame: &mut Frame, s: &Screen) {
    let areas = layout(frame.area(), s.app);
    header::render(frame, areas.header, s);
    match s.listing {
        Listing::Pairs { .. } => table::render(frame, areas.table, s),
        Listing::Conns { .. } if s.app.inspecting() => socket::render(frame, areas.table, s),
        Listing::Conns { .. } => conns::render(frame, areas.table, s),
    }
    if let Some(d) = areas.detail {
        detail::render(frame, d, s);
    }
    footer::render(frame, areas.footer, s);
    if s.app.help {
        help::render(frame, frame.area(), s);
    }
}
