//! `leap0`: the command line for Leap0 sandbox snapshots.
//!
//! Exit codes: 0 on success, 2 when the command line or an input is wrong (no
//! request was sent), 1 when the API, the network or a file failed.
#![forbid(unsafe_code)]

mod args;
mod commands;
mod demo;
mod output;
mod session;
mod spinner;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use crate::args::Cli;
use crate::output::Failure;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_failure(e),
    };
    let json = cli.json;
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(&failure, json),
    }
}

/// Help and version go to stdout with success; real usage errors are reported
/// like any other failure (exit 2, and a JSON error with `--json`).
fn clap_failure(e: clap::Error) -> ExitCode {
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let json = std::env::args().any(|a| a == "--json");
    if json {
        let message = e.to_string();
        let first_line = message
            .lines()
            .next()
            .unwrap_or("invalid usage")
            .trim_start_matches("error: ");
        report(&Failure::usage(first_line, None), true)
    } else {
        let _ = e.print();
        ExitCode::from(2)
    }
}

fn report(failure: &Failure, json: bool) -> ExitCode {
    let mut stderr = std::io::stderr();
    let _ = writeln!(stderr, "error: {}", failure.message());
    if json {
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "{}", failure.json());
    }
    ExitCode::from(failure.exit_code())
}
