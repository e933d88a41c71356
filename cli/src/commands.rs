//! From parsed arguments to a call, a session to run it in, and printed output.

use std::io::Write;
use std::time::Duration;

use leap0_core::{
    Call, Config, CreateSnapshot, DeleteSnapshot, ListSnapshots, NetworkPolicy, PauseSandbox,
    RestoreSnapshot, ResumeSnapshot, RetryPolicy,
};

use crate::args::{CassetteCommand, Cli, Command, Snapshots, StartArgs};
use crate::output::{self, Failure};
use crate::session::Session;
use crate::spinner::Spinner;

/// Runs the parsed command line.
pub(crate) fn run(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Snapshots(op) => {
            let (call, label) = call_for(op)?;
            let deleted_id = match op {
                Snapshots::Delete { snapshot_id } => Some(snapshot_id.clone()),
                _ => None,
            };
            let config = config(&cli)?;
            let session = Session::open(&cli, config)?;
            let result = {
                let _spinner = label.map(Spinner::start);
                session.call(call)
            };
            session.finish()?;
            let output = result?;
            print(
                &cli,
                &output::json_doc(&output, deleted_id.as_deref()),
                || output::human(&output, deleted_id.as_deref()),
            )
        }
        Command::Cassette(CassetteCommand::Check { file }) => {
            let report = crate::session::check_cassette(file)?;
            print(&cli, &report.json, || report.text.clone())?;
            if report.clean {
                Ok(())
            } else {
                Err(Failure::other("drift", report.problem))
            }
        }
        Command::Emulator(args) => crate::demo::serve(&cli, args.port),
        Command::Demo(args) => crate::demo::run(&cli, args.cassette.clone()),
    }
}

/// Prints one JSON document or the human text.
pub(crate) fn print(
    cli: &Cli,
    json: &serde_json::Value,
    human: impl FnOnce() -> String,
) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    let written = if cli.json {
        writeln!(stdout, "{json}")
    } else {
        write!(stdout, "{}", human())
    };
    written.map_err(|e| Failure::other("io", format!("could not write the output: {e}")))
}

/// The client configuration from the global options and the environment.
pub(crate) fn config(cli: &Cli) -> Result<Config, Failure> {
    let mut builder = Config::builder();
    match (&cli.api_key, &cli.replay) {
        (Some(key), _) => builder = builder.api_key(key),
        // Replaying needs no key: cassettes never hold one, and matching ignores it.
        (None, Some(_)) => builder = builder.api_key("replay-without-a-key"),
        (None, None) => {}
    }
    if let Some(url) = &cli.base_url {
        builder = builder.base_url(url);
    }
    if let Some(secs) = cli.timeout {
        if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
            return Err(Failure::usage(
                format!("--timeout must be a number of seconds between 0 and 86400, got {secs}"),
                Some("timeout"),
            ));
        }
        builder = builder.timeout(Duration::from_secs_f64(secs));
    }
    if let Some(retries) = cli.retries {
        builder =
            builder.retry(RetryPolicy::default().with_max_attempts(retries.saturating_add(1)));
    }
    builder.build().map_err(|e| match e {
        leap0_core::config::ConfigError::MissingApiKey => Failure::usage(
            "no API key: pass --api-key or set LEAP0_API_KEY",
            Some("api_key"),
        ),
        other => Failure::Sdk(other.into()),
    })
}

/// The call a `snapshots` subcommand stands for, and a spinner label when the
/// call may take a while.
fn call_for(op: &Snapshots) -> Result<(Call, Option<&'static str>), Failure> {
    Ok(match op {
        Snapshots::Create {
            sandbox_id,
            name,
            kill_sandbox_after,
        } => {
            let mut input = CreateSnapshot::new(sandbox_id.as_str());
            input.name = name.clone();
            input.kill_sandbox_after = *kill_sandbox_after;
            (Call::CreateSnapshot(input), Some("creating snapshot"))
        }
        Snapshots::Pause { sandbox_id, name } => {
            let mut input = PauseSandbox::new(sandbox_id.as_str());
            input.name = name.clone();
            (Call::PauseSandbox(input), Some("pausing sandbox"))
        }
        Snapshots::Resume {
            snapshot_name,
            start,
            timeout_min,
        } => {
            let mut input =
                ResumeSnapshot::new(snapshot_name.as_str()).auto_pause(start.auto_pause);
            input.timeout_min = *timeout_min;
            input.network_policy = network_policy(start)?;
            if start.wait {
                (
                    Call::ResumeAndWait(input),
                    Some("resuming, waiting until running"),
                )
            } else {
                (Call::ResumeSnapshot(input), None)
            }
        }
        Snapshots::Restore {
            snapshot_name,
            start,
            timeout,
        } => {
            let mut input =
                RestoreSnapshot::new(snapshot_name.as_str()).auto_pause(start.auto_pause);
            input.timeout = *timeout;
            input.network_policy = network_policy(start)?;
            if start.wait {
                (
                    Call::RestoreAndWait(input),
                    Some("restoring, waiting until running"),
                )
            } else {
                (Call::RestoreSnapshot(input), None)
            }
        }
        Snapshots::Delete { snapshot_id } => (
            Call::DeleteSnapshot(DeleteSnapshot::new(snapshot_id.as_str())),
            None,
        ),
        Snapshots::List {
            query,
            sort,
            order_by,
            page,
            page_size,
            all,
        } => {
            let invalid = |p: leap0_core::model::FieldProblem| {
                Failure::usage(
                    format!("invalid --{}: {}", p.field.replace('_', "-"), p.reason),
                    Some(&p.field),
                )
            };
            let listing = ListSnapshots::default()
                .query(query.as_str())
                .sort(sort.parse().map_err(invalid)?)
                .order_by(order_by.parse().map_err(invalid)?)
                .page(*page)
                .page_size(*page_size);
            if *all {
                (Call::ListAllSnapshots(listing), None)
            } else {
                (Call::ListSnapshots(listing), None)
            }
        }
    })
}

/// `--network-policy` as inline JSON or `@FILE`.
fn network_policy(start: &StartArgs) -> Result<Option<NetworkPolicy>, Failure> {
    let Some(arg) = &start.network_policy else {
        return Ok(None);
    };
    let text = match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            Failure::usage(
                format!("--network-policy: cannot read {path}: {e}"),
                Some("network_policy"),
            )
        })?,
        None => arg.clone(),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Failure::usage(
            format!("--network-policy is not a valid policy: {e}"),
            Some("network_policy"),
        )
    })
}
