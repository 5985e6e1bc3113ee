//! The tcptop binary: parses the command line, runs, and turns every failure into one
//! line on stderr and a non-zero exit status.
use std::{io, process::ExitCode};

use tcptop::{app, cli};

fn main() -> ExitCode {
    let args = match cli::parse(std::env::args_os()) {
        cli::Parsed::Run(args) => args,
        cli::Parsed::Print(text) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        cli::Parsed::Usage(msg) => {
            eprintln!("tcptop: {msg}");
            return ExitCode::from(2);
        }
    };
    match app::run(*args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tcptop: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A closed stdout (`tcptop --once | head`) is a normal way to stop.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
