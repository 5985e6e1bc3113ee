//! One session with the UI: its state, its numbers and the header's facts, driven by
//! key events and drawn on any ratatui backend (the terminal, or a test buffer for
//! snapshots, screenshots and benchmarks).
//!
//! Pausing freezes a copy of the numbers (as bottom's frozen data store does): the
//! screen holds still, sorting and drilling work on the copy, and collection goes on
//! into the live ledger, which the screen shows again on resume.
use std::time::Duration;

use crossterm::event::KeyEvent;
use ratatui::{backend::Backend, layout::Rect, Terminal};

use super::state::WINDOW;
use super::{
    frame::{draw, page},
    keys,
    listing::{Listing, Order},
    model::HeaderInfo,
    screen::Screen,
    state::App,
    theme::Theme,
};
use crate::{attribution::Item, ui::theme::Level, view::live::Ledger};

/// The start of the header's note while a window of history is shown.
const HISTORY: &str = "HISTORY ";

/// The UI's parts that change.
pub struct Session {
    /// What the person chose.
    pub app: App,
    /// The numbers, kept up to date while paused too.
    pub ledger: Ledger,
    /// The copy shown while paused, or the window of history shown.
    frozen: Option<Ledger>,
    /// The window of history the frozen copy holds, if it is one.
    shown_window: Option<u32>,
    /// The pairs' sorted order, kept between frames.
    order: Order,
    /// The header's facts.
    pub info: HeaderInfo,
    /// Styles.
    pub theme: Theme,
}

impl Session {
    /// A session showing `ledger`, not paused.
    pub fn new(app: App, ledger: Ledger, info: HeaderInfo, theme: Theme) -> Self {
        Self {
            app,
            ledger,
            frozen: None,
            shown_window: None,
            order: Order::default(),
            info,
            theme,
        }
    }

    /// The window of history the person asked for and that is not shown yet; `None`
    /// while live or once shown.
    pub fn wanted_window(&self) -> Option<u32> {
        self.app.window.filter(|w| self.shown_window != Some(*w))
    }

    /// Shows `ledger`, which holds window `w` of the daemon's history, if that is
    /// still the one asked for.
    pub fn show_window(&mut self, w: u32, ledger: Ledger) {
        if self.app.window == Some(w) {
            self.frozen = Some(ledger);
            self.shown_window = Some(w);
            self.set_window_note();
        }
    }

    /// Reading the window asked for failed: back to live, and the header says why.
    pub fn window_failed(&mut self, why: &str) {
        self.app.window = None;
        self.shown_window = None;
        if !self.app.paused {
            self.frozen = None;
        }
        self.set_window_note();
        self.info
            .notes
            .push((format!("{HISTORY}unavailable: {why}"), Level::Bad));
    }

    /// The header's note for the window shown.
    fn set_window_note(&mut self) {
        self.info.notes.retain(|(n, _)| !n.starts_with(HISTORY));
        if let Some(w) = self.app.window {
            let mins = |n: u32| n * (WINDOW.as_secs() / 60) as u32;
            let text = match self.shown_window == Some(w) {
                true => format!("{HISTORY}{}m to {}m ago (] nearer)", mins(w + 1), mins(w)),
                false => format!("{HISTORY}loading {}m to {}m ago", mins(w + 1), mins(w)),
            };
            self.info.notes.push((text, Level::Warn));
        }
    }

    /// Takes one item that arrived at `at`: collection goes on while paused.
    pub fn add(&mut self, item: Item, at: Duration) {
        self.ledger.add(item, at);
    }

    /// Completes the interval in progress at `now`.
    pub fn roll(&mut self, now: Duration) {
        self.ledger.roll(now);
    }

    /// The numbers on screen: the frozen copy while paused, else the live ledger.
    pub fn shown(&self) -> &Ledger {
        self.frozen.as_ref().unwrap_or(&self.ledger)
    }

    /// Focuses the numbers shown on the level shown and brings its rows up to date.
    fn prepare(&mut self) {
        let ledger = self.frozen.as_mut().unwrap_or(&mut self.ledger);
        self.app.known = ledger.known();
        if let Some((dims, filter)) = self.app.focus() {
            ledger.set_focus(dims, filter);
        }
        ledger.refresh(self.app.mode.period());
    }

    /// The rows of the level shown, up to date.
    pub fn listing(&mut self) -> Listing<'_> {
        self.prepare();
        let ledger = self.frozen.as_ref().unwrap_or(&self.ledger);
        self.app.listing(ledger, &mut self.order)
    }

    /// Applies `key`, pressed on a screen of `area`, to the state. Pausing freezes a
    /// copy of the numbers; resuming drops it.
    pub fn key(&mut self, key: KeyEvent, area: Rect) {
        let Some(action) = keys::action(key, &self.app) else {
            return;
        };
        let page = page(area, &self.app);
        let was_paused = self.app.paused;
        if action.reads_rows() {
            self.prepare();
            let ledger = self.frozen.as_ref().unwrap_or(&self.ledger);
            let listing = self.app.listing(ledger, &mut self.order);
            self.app.sync(&listing, page);
            self.app.apply(action, &listing, page);
        } else {
            // The last frame synced the selection; the next one follows it by key.
            self.app.apply(action, &Listing::empty(), page);
        }
        if self.app.paused != was_paused && !self.app.paused {
            // Resuming leaves the history too.
            self.app.window = None;
        }
        if self.app.window.is_none() {
            self.shown_window = None;
        }
        match (
            self.app.paused || self.shown_window.is_some(),
            self.frozen.is_some(),
        ) {
            (true, false) => self.frozen = Some(self.ledger.clone()),
            (false, true) => self.frozen = None,
            _ => {}
        }
        self.set_window_note();
    }

    /// Draws one frame on `term`; `now` is the time on the source's clock.
    pub fn draw<B: Backend>(
        &mut self,
        term: &mut Terminal<B>,
        now: Duration,
    ) -> Result<(), B::Error> {
        let size = term.size()?;
        let area = Rect::new(0, 0, size.width, size.height);
        self.prepare();
        let ledger = self.frozen.as_ref().unwrap_or(&self.ledger);
        let listing = self.app.listing(ledger, &mut self.order);
        self.app.sync(&listing, page(area, &self.app));
        let screen = Screen {
            app: &self.app,
            ledger,
            listing: &listing,
            info: &self.info,
            now,
            theme: self.theme,
        };
        term.draw(|f| draw(f, &screen))?;
        Ok(())
    }
}
