//! Wires the data flow for each mode: `once` collects a window and writes a snapshot,
//! `idle` keeps a DaemonSet pod up without collecting, `live` runs the interactive UI;
//! `source` is where `once` and `live` get their records.
pub mod idle;
pub mod kube;
pub mod live;
pub mod once;
pub mod source;
pub mod ui_loop;

use std::io::{self, IsTerminal};

use anyhow::{bail, Result};

use crate::cli::Args;

/// Runs tcptop with parsed arguments.
pub fn run(args: Args) -> Result<()> {
    if args.idle {
        return idle::run(&args);
    }
    if args.once {
        return once::run(&args);
    }
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        bail!("no terminal: the interactive UI needs one (use `kubectl exec -it`, or ssh -t), or pass --once for a snapshot");
    }
    if std::env::var("TERM").is_ok_and(|t| t == "dumb") {
        bail!("TERM=dumb cannot show the interactive UI, which moves the cursor: set TERM (for example TERM=xterm-256color), or pass --once for a snapshot");
    }
    live::run(&args)
}
