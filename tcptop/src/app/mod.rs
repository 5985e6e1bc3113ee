//! Wires the data flow for each mode: `once` collects a window and writes a snapshot,
//! `daemon` collects all the time, serves Prometheus (over `serve`) and keeps the
//! history UIs attach to (`recorder`, `attach`), `live` runs the interactive UI;
//! `source` is where they get their records, `stops` the signals that end them.
/// `say!("...", args)`: [`say`] with a format string.
macro_rules! say {
    ($($t:tt)*) => {
        $crate::app::say(format_args!($($t)*))
    };
}

pub mod attach;
pub mod daemon;
pub mod kube;
pub mod live;
pub mod once;
pub mod recorder;
pub mod serve;
pub mod source;
pub mod stops;
pub mod ui_loop;

use std::io::{self, IsTerminal};

use anyhow::{bail, Result};

use crate::cli::Args;

/// Writes `tcptop: <msg>` to stderr. A daemon's stderr may be gone (a closed pipe):
/// that never stops it, unlike `eprintln!`, which panics.
pub fn say(msg: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(io::stderr(), "tcptop: {msg}");
}

/// Runs tcptop with parsed arguments.
pub fn run(args: Args) -> Result<()> {
    if args.daemon {
        return daemon::run(&args);
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
