//! The footer: key hints, or the filter being typed.
use ratatui::{
    layout::Rect,
    text::{Line, Span},
    widgets::Paragraph,
    Frame,
};

use super::{
    model::{Mode, View},
    screen::Screen,
};

/// Draws the footer.
pub fn render(frame: &mut Frame, area: Rect, s: &Screen) {
    let t = s.theme;
    let app = s.app;
    if app.editing {
        let line = Line::from(vec![
            Span::styled("filter: ", t.key()),
            Span::raw(app.filter.clone()),
            Span::styled("▏", t.key()),
            Span::styled("   Enter keeps it · Esc clears it", t.dim()),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let mode = match app.mode {
        Mode::Rates => "totals",
        Mode::Totals => "rates",
    };
    let mut hints = vec![("q", "quit"), ("?", "help"), ("/", "filter")];
    match app.level().view {
        _ if app.inspecting() => hints.extend([("Esc", "back"), ("Up Down", "other sockets")]),
        View::Pairs(_) => hints.push(("Enter", "drill in")),
        View::Conns => hints.push(("Enter", "all fields")),
    }
    if app.levels.len() > 1 && !app.inspecting() {
        hints.push(("Bksp", "back"));
    }
    hints.extend([
        ("g", "group"),
        ("1-0 < >", "sort"),
        ("i", "invert"),
        ("t", mode),
        ("Space", if app.paused { "resume" } else { "pause" }),
        ("d", "detail"),
    ]);
    let mut spans = Vec::new();
    let mut used = 0usize;
    for (key, what) in hints {
        let w = key.chars().count() + what.len() + 3;
        if used + w > usize::from(area.width) {
            break;
        }
        used += w;
        spans.push(Span::styled(format!(" {key}"), t.key()));
        spans.push(Span::raw(format!(" {what} ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
