//! tcptop: top for TCP on a Kubernetes node.
//!
//! Data flows one way, and the modules follow it:
//! kernel records -> [`collector`] -> [`attribution`] -> [`aggregation`] -> [`view`] ->
//! [`output`] (snapshots) or the terminal UI. [`app`] wires the flow for each mode and
//! [`cli`] parses the command line.
pub mod aggregation;
pub mod app;
pub mod attribution;
pub mod cli;
pub mod collector;
pub mod output;
pub mod record;
#[cfg(test)]
mod testdata;
pub mod ui;
pub mod view;
