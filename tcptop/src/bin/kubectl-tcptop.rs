//! `kubectl tcptop NODE [TCPTOP FLAGS]`: a kubectl plugin (krew's naming: an executable
//! called `kubectl-tcptop` on PATH) that runs tcptop in the tcptop DaemonSet pod on a
//! node. It checks what it can, then replaces itself with `kubectl exec`, so the
//! terminal, signals and exit status are kubectl's own.
use std::{
    io::{self, IsTerminal},
    os::unix::process::CommandExt,
    process::ExitCode,
};

use clap::error::ErrorKind;
use tcptop::plugin::{self, kubectl::SystemKubectl};

fn main() -> ExitCode {
    let args = match plugin::parse(std::env::args_os()) {
        Ok(a) => a,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            print!("{e}");
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == ErrorKind::MissingRequiredArgument => {
            eprintln!("kubectl tcptop: which node? give its name, e.g. `kubectl tcptop node-1` (see `kubectl get nodes`)");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!(
                "kubectl tcptop: {} (see kubectl tcptop --help)",
                first_line(&e)
            );
            return ExitCode::from(2);
        }
    };
    let kubectl = SystemKubectl {
        global: args.global_flags(),
    };
    let terminal = io::stdin().is_terminal() && io::stdout().is_terminal();
    let exec = match plugin::plan(&kubectl, &args, terminal) {
        Ok(exec) => exec,
        Err(e) => {
            eprintln!("kubectl tcptop: {e}");
            return ExitCode::FAILURE;
        }
    };
    let err = kubectl.command(&exec).exec();
    eprintln!("kubectl tcptop: cannot run kubectl exec: {err}");
    ExitCode::FAILURE
}

/// The first line of a clap error, without its `error: ` prefix.
fn first_line(e: &clap::Error) -> String {
    e.render()
        .to_string()
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_string()
}
