//! `leap0`: the command line for Leap0 sandbox snapshots.
//!
//! Exit codes: 0 on success, 2 when the command line or an input is wrong (no
//! request was sent), 1 when the API, the network or a file failed, 130 when
//! interrupted by Ctrl-C.
#![forbid(unsafe_code)]

mod args;
mod client;
mod commands;
mod demo;
mod logging;
mod output;
mod serve;
mod watch;

use std::io::Write;
use std::process::ExitCode;

use clap::FromArgMatches;
use clap::error::{ContextKind, ErrorKind};
use leap0_core::transport::{ProxyRules, Secrets};

use crate::args::{Cli, Command};
use crate::commands::Run;
use crate::output::{Failure, shown};
use crate::watch::Current;

fn main() -> ExitCode {
    let parsed = args::command()
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches).map(|cli| (cli, matches)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return clap_failure(e),
    };
    let proxies = ProxyRules::from_lookup(commands::env);
    let secrets = secrets(&cli, &proxies);
    let json = cli.global.json;
    let logging = match logging::init(cli.global.verbose, secrets.clone()) {
        Ok(on) => on,
        Err(failure) => return report(&failure, json, &secrets),
    };
    let current = Current::default();
    let run = Run {
        cli: &cli,
        matches: &matches,
        current: &current,
        secrets,
        proxies,
        logging,
    };
    match run.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(&failure, json, &run.secrets),
    }
}

/// Every secret this run knows: the API key, the emulator's key, proxy credentials.
fn secrets(cli: &Cli, proxies: &ProxyRules) -> Secrets {
    let mut secrets = proxies.secrets();
    let key = match &cli.command {
        // The emulator's own key; its default is public, and printed in its hint.
        Command::Emulator(args) => {
            Some(args.api_key.clone()).filter(|k| k != leap0_emulator::DEFAULT_API_KEY)
        }
        _ => commands::given_key(cli),
    };
    if let Some(key) = key {
        secrets.add(&key);
    }
    secrets
}

/// Help and version go to stdout with success; real usage errors are reported
/// like any other failure (exit 2, and a JSON error with `--json`).
fn clap_failure(e: clap::Error) -> ExitCode {
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let argv: Vec<String> = std::env::args().collect();
    // The key may be what was mistyped: never echo it.
    let mut secrets = Secrets::new();
    for (i, arg) in argv.iter().enumerate() {
        match arg.strip_prefix("--api-key") {
            Some("") => argv.get(i + 1).iter().for_each(|key| secrets.add(key)),
            Some(inline) => secrets.add(inline.trim_start_matches('=')),
            None => {}
        }
    }
    let message = misplaced_timeout(&e).unwrap_or_else(|| e.render().to_string());
    if argv.iter().any(|a| a == "--json") {
        let first_line = message
            .lines()
            .next()
            .unwrap_or("invalid usage")
            .trim_start_matches("error: ");
        return report(&Failure::usage(first_line, None), true, &secrets);
    }
    let _ = write!(std::io::stderr(), "{}", secrets.scrub(&message));
    ExitCode::from(2)
}

/// `--timeout` after a command that has none: clap would suggest `-- --timeout`,
/// which is wrong; say which option is meant.
fn misplaced_timeout(e: &clap::Error) -> Option<String> {
    let invalid = e.get(ContextKind::InvalidArg)?.to_string();
    (e.kind() == ErrorKind::UnknownArgument && invalid.starts_with("--timeout")).then(|| {
        "error: this command has no --timeout: the per-call HTTP timeout is --http-timeout \
         (e.g. --http-timeout 30s, anywhere on the line); --timeout is the new sandbox's \
         timeout, on snapshots restore and sandboxes create\n"
            .to_owned()
    })
}

fn report(failure: &Failure, json: bool, secrets: &Secrets) -> ExitCode {
    let message = secrets.scrub(&failure.message()).into_owned();
    let _ = writeln!(std::io::stderr(), "error: {}", shown(&message));
    if json {
        let mut doc = failure.json();
        output::scrub_json(&mut doc, secrets);
        let _ = writeln!(std::io::stdout(), "{doc}");
    }
    ExitCode::from(failure.exit_code())
}
