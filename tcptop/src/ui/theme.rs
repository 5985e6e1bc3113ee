//! Styles. Only the 16 basic colours are used, so any terminal shows them; with
//! `NO_COLOR` set (and not empty) there is no colour at all, only bold, reverse and
//! underline.
use ratatui::style::{Color, Modifier, Style};

use crate::view::{metric::Alert, MetricId, RowStats};

/// How good or bad a value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Fine.
    Ok,
    /// Worth a look.
    Warn,
    /// Something is wrong.
    Bad,
    /// Off or not applicable.
    Off,
}

/// The UI's styles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    color: bool,
}

impl Theme {
    /// Colours unless `NO_COLOR` is set to a non-empty value.
    pub fn from_env() -> Self {
        Self::new(std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()))
    }

    /// With or without colour.
    pub fn new(color: bool) -> Self {
        Self { color }
    }

    fn fg(&self, base: Style, c: Color) -> Style {
        if self.color {
            base.fg(c)
        } else {
            base
        }
    }

    /// The bar that names the table.
    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    /// Column headers.
    pub fn header(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// The sorted column's header.
    pub fn sorted(&self) -> Style {
        self.fg(
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            Color::Yellow,
        )
    }

    /// The selected row.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// Secondary text.
    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    /// A value's health.
    pub fn level(&self, level: Level) -> Style {
        match level {
            Level::Ok => self.fg(Style::new(), Color::Green),
            Level::Warn => self.fg(Style::new().add_modifier(Modifier::BOLD), Color::Yellow),
            Level::Bad => self.fg(Style::new().add_modifier(Modifier::BOLD), Color::Red),
            Level::Off => self.dim(),
        }
    }

    /// Histogram bars.
    pub fn bar(&self) -> Style {
        self.fg(Style::new(), Color::Cyan)
    }

    /// Keys in the footer and help.
    pub fn key(&self) -> Style {
        self.fg(Style::new().add_modifier(Modifier::BOLD), Color::Cyan)
    }
}

/// How `metric`'s value in row `s` fares against the metric's [`Alert`] thresholds.
pub fn alert_level(metric: MetricId, s: &RowStats) -> Level {
    match (metric.metric().alert, metric.value(s)) {
        (Some(Alert { bad, .. }), Some(v)) if v.as_f64() >= bad => Level::Bad,
        (Some(Alert { warn, .. }), Some(v)) if v.as_f64() >= warn => Level::Warn,
        _ => Level::Ok,
    }
}
