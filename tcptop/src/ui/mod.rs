//! The interactive terminal UI.
//!
//! [`model`] names what every part shares (modes, levels, selections); [`state`] holds
//! what the person chose (grouping, drill-down, sort, filter, modes) and [`keys`] maps
//! keys to its [`state::Action`]s; [`listing`] turns the live ledger into the rows of
//! the level shown; [`columns`] lays out the metric table's UI columns. The widgets
//! ([`header`], [`table`], [`conns`], [`socket`], [`detail`], [`help`], [`footer`]) draw a [`Screen`] into a ratatui frame and hold no
//! state, so any backend (a terminal, or a test buffer) shows the same frame;
//! [`session`] ties state, numbers and drawing together. [`terminal`] is the seam to
//! the real terminal.
pub mod columns;
pub mod conns;
pub mod detail;
pub mod footer;
pub mod frame;
pub mod header;
pub mod help;
pub mod keys;
pub mod listing;
pub mod model;
pub mod screen;
pub mod session;
pub mod socket;
pub mod state;
pub mod table;
pub mod terminal;
pub mod theme;

pub use frame::{draw, layout, page, Areas};
pub use model::{HeaderInfo, Kube};
pub use screen::Screen;
pub use session::Session;
pub use theme::Theme;

#[cfg(test)]
mod snapshots;
#[cfg(test)]
mod tests;
