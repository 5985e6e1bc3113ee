//! Which key does what: a terminal key event, in the UI's current state, becomes an
//! [`Action`]. Pure; the help screen lists the same bindings from [`BINDINGS`].
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{
    columns::Column,
    state::{Action, App},
};

/// Every binding as the help screen shows it: keys, then what they do.
pub const BINDINGS: [(&str, &str); 16] = [
    ("q  Ctrl-C", "quit"),
    ("?", "this help (any key closes it)"),
    ("/", "filter rows on any key text: pod, namespace, IP, zone"),
    ("Esc", "clear the filter; without one, back up a level"),
    (
        "1-9 0",
        "sort by column 1-10 (CONNS ... SRTT p99); again inverts",
    ),
    (
        "<  >  i",
        "sort by the column to the left / right; invert the order",
    ),
    (
        "g",
        "regroup: namespace,az namespace az workload pod ip node ... process",
    ),
    ("t", "rates for the last interval / totals since start"),
    ("Space", "pause / resume refreshing (collection goes on)"),
    (
        "[  ]",
        "attached: a minute back / forward in the daemon's history",
    ),
    (
        "Enter",
        "drill in: pairs > workloads > pods > IPs > sockets > fields",
    ),
    (
        "Backspace",
        "back up a level; while typing a filter, delete a character",
    ),
    ("Up Down  j k", "move"),
    ("PgUp PgDn", "move a page"),
    ("Home End", "first / last row"),
    ("d", "show / hide the detail pane (srtt histogram)"),
];

/// The action `key` stands for in `app`'s state, if any.
pub fn action(key: KeyEvent, app: &App) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('C')) {
        return Some(Action::Quit);
    }
    if app.editing {
        return match key.code {
            KeyCode::Esc => Some(Action::Escape),
            KeyCode::Enter => Some(Action::FilterDone),
            KeyCode::Backspace => Some(Action::FilterBackspace),
            KeyCode::Char(c) if !ctrl => Some(Action::FilterChar(c)),
            KeyCode::Up => Some(Action::Up),
            KeyCode::Down => Some(Action::Down),
            _ => None,
        };
    }
    if app.help {
        return match key.code {
            KeyCode::Char('q') => Some(Action::Quit),
            KeyCode::Esc => Some(Action::Escape),
            _ => Some(Action::ToggleHelp),
        };
    }
    if ctrl {
        return None;
    }
    Some(match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Char('/') => Action::StartFilter,
        KeyCode::Esc => Action::Escape,
        KeyCode::Char(c @ '0'..='9') => Action::SortBy(Column::of_key(c)?),
        KeyCode::Char('<') | KeyCode::Char(',') => Action::SortPrev,
        KeyCode::Char('>') | KeyCode::Char('.') => Action::SortNext,
        KeyCode::Char('i') | KeyCode::Char('I') => Action::Invert,
        KeyCode::Char('g') => Action::CycleGrouping,
        KeyCode::Char(' ') => Action::TogglePause,
        KeyCode::Char('[') => Action::Back,
        KeyCode::Char(']') => Action::Forward,
        KeyCode::Char('t') => Action::ToggleMode,
        KeyCode::Char('d') => Action::ToggleDetail,
        KeyCode::Enter => Action::DrillDown,
        KeyCode::Backspace => Action::DrillUp,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home => Action::Home,
        KeyCode::End => Action::End,
        _ => return None,
    })
}
