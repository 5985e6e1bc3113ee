//! What one frame shows: the state, the numbers, the rows and the header's facts. Every
//! widget draws from a [`Screen`] and holds no state of its own.
use std::time::Duration;

use super::{listing::Listing, model::HeaderInfo, state::App, theme::Theme};
use crate::view::live::Ledger;

/// Everything one frame shows.
pub struct Screen<'a> {
    /// The UI state.
    pub app: &'a App,
    /// The numbers shown (frozen while paused).
    pub ledger: &'a Ledger,
    /// The rows of the level shown.
    pub listing: &'a Listing<'a>,
    /// Node, kernel, Kubernetes and status notes.
    pub info: &'a HeaderInfo,
    /// The time on the source's clock.
    pub now: Duration,
    /// Styles.
    pub theme: Theme,
}
