//! tcptop: top for TCP on a Kubernetes node.
//!
//! Data flows one way, and the modules follow it:
//! kernel records -> [`collector`] -> [`attribution`] -> [`aggregation`] -> [`view`] ->
//! [`output`] (snapshots) or the terminal UI. [`app`] wires the flow for each mode and
//! [`cli`] parses the command line. [`build_info`] says what the build is and what the
//! kernel offers it; [`plugin`] is the logic of the `kubectl tcptop` plugin.
pub mod aggregation;
pub mod app;
pub mod attribution;
pub mod build_info;
pub mod cli;
pub mod collector;
pub mod host;
pub mod output;
pub mod plugin;
pub mod record;
#[cfg(test)]
mod testdata;
pub mod ui;
pub mod view;
