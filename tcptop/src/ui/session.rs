//! One session with the UI: its state, its numbers and the header's facts, driven by
//! key events and drawn on any ratatui backend (the terminal, or a test buffer for
//! snapshots, screenshots and benchmarks).
use std::time::Duration;

use crossterm::event::KeyEvent;
use ratatui::{backend::Backend, layout::Rect, Terminal};

use super::{draw, keys, listing::Listing, page, state::App, HeaderInfo, Screen, Theme};
use crate::view::live::Ledger;

/// The UI's parts that change.
pub struct Session {
    /// What the person chose.
    pub app: App,
    /// The numbers.
    pub ledger: Ledger,
    /// The header's facts.
    pub info: HeaderInfo,
    /// Styles.
    pub theme: Theme,
}

impl Session {
    /// Focuses the ledger on the level shown and brings its rows up to date.
    fn prepare(&mut self) {
        if let Some((dims, filter)) = self.app.focus() {
            let (dims, filter) = (dims.to_vec(), filter.clone());
            self.ledger.set_focus(&dims, &filter);
        }
        self.ledger.refresh(self.app.mode.span());
    }

    /// The rows of the level shown, up to date.
    pub fn listing(&mut self) -> Listing<'_> {
        self.prepare();
        Listing::build(&self.app, &self.ledger)
    }

    /// Applies `key`, pressed on a screen of `area`, to the state.
    pub fn key(&mut self, key: KeyEvent, area: Rect) {
        self.prepare();
        let page = page(area, &self.app);
        let listing = Listing::build(&self.app, &self.ledger);
        self.app.sync(&listing, page);
        if let Some(action) = keys::action(key, &self.app) {
            self.app.apply(action, &listing, page);
        }
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
        let listing = Listing::build(&self.app, &self.ledger);
        self.app.sync(&listing, page(area, &self.app));
        let screen = Screen {
            app: &self.app,
            ledger: &self.ledger,
            listing: &listing,
            info: &self.info,
            now,
            theme: self.theme,
        };
        term.draw(|f| draw(f, &screen))?;
        Ok(())
    }
}
