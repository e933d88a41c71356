//! From the parsed command line to a call, a client to run it on, and what is
//! printed.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use clap::ArgMatches;
use clap::parser::ValueSource;
use leap0_core::config::ConfigError;
use leap0_core::transport::{ProxyRules, Secrets};
use leap0_core::{
    ApiErrorKind, Call, Config, CreateSandbox, CreateSnapshot, DeleteSandbox, DeleteSnapshot,
    Error, GetSandbox, ListSnapshots, NetworkPolicy, Operation, OrderBy, PauseIntoSnapshot,
    PauseSandbox, RestoreSnapshot, ResumeSnapshot, RetryPolicy, SortBy, WaitPolicy,
};

use crate::args::{
    CLIENT_OPTIONS, CassetteCommand, Cli, Command, OrderChoice, Sandboxes, Snapshots, SortChoice,
    StartArgs, WaitArgs,
};
use crate::client::{Client, check_cassette};
use crate::output::{self, Failure, Subject};
use crate::watch::{Current, Watch};

/// The most retries `--retries` takes.
const MAX_RETRIES: u32 = 100;
/// The longest per-call HTTP timeout, in seconds, that the old `--timeout` takes.
const MAX_LEGACY_TIMEOUT_SECS: f64 = 86_400.0;
/// The key a replay runs with when none is given: cassettes never hold one,
/// and matching ignores it.
const REPLAY_KEY: &str = "replay-without-a-key";

/// One run of the command line.
pub(crate) struct Run<'a> {
    pub(crate) cli: &'a Cli,
    pub(crate) matches: &'a ArgMatches,
    /// What is running now, for the Ctrl-C handler.
    pub(crate) current: &'a Current,
    /// Every secret the command knows, scrubbed from everything printed.
    pub(crate) secrets: Secrets,
    /// The proxies the environment names.
    pub(crate) proxies: ProxyRules,
    /// Whether logs go to stderr (then no progress line is drawn there).
    pub(crate) logging: bool,
}

/// What a client command asks for.
struct Plan<'a> {
    call: Call,
    /// What the progress line and an interruption call it.
    label: String,
    subject: Subject<'a>,
    /// The user's argument, for the id-versus-name hint on a 404.
    argument: &'a str,
    /// `--wait-timeout`, when waiting.
    wait_timeout: Option<Duration>,
}

impl Run<'_> {
    /// Runs the command.
    pub(crate) fn run(&self) -> Result<(), Failure> {
        let cli = self.cli;
        match &cli.command {
            Command::Snapshots(op) => {
                let plan = snapshot_plan(op)?;
                self.call(plan)
            }
            Command::Sandboxes(op) => {
                let plan = sandbox_plan(op)?;
                self.call(plan)
            }
            Command::Cassette(CassetteCommand::Check { file, max_age }) => {
                self.refuse_client_options("cassette check", true)?;
                let report = check_cassette(file, *max_age)?;
                self.print(report.json, report.text)?;
                match report.failure {
                    None => Ok(()),
                    Some((kind, problem)) => Err(Failure::other(kind, problem)),
                }
            }
            Command::Cassette(CassetteCommand::Serve(args)) => {
                self.refuse_client_options("cassette serve", true)?;
                crate::serve::serve(args)
            }
            Command::Cassette(CassetteCommand::Record(args)) => {
                let allowed = ["allow_insecure_http", "record_mode"];
                self.refuse_client_options_except("cassette record", &allowed)?;
                let global = &self.cli.global;
                crate::serve::record(
                    args,
                    global.allow_insecure_http,
                    global.record_mode.as_deref(),
                )
            }
            Command::Emulator(args) => {
                // The emulator takes its own --api-key.
                self.refuse_client_options("emulator", false)?;
                crate::demo::serve(self, args)
            }
            Command::Completions { shell } => {
                self.refuse_client_options("completions", true)?;
                let mut command = crate::args::command();
                let mut script = Vec::new();
                clap_complete::generate(*shell, &mut command, "leap0", &mut script);
                std::io::stdout()
                    .lock()
                    .write_all(&script)
                    .map_err(write_failure)
            }
            Command::Demo(args) => {
                self.refuse_client_options("demo", true)?;
                crate::demo::run(self, args.cassette.clone())
            }
        }
    }

    /// Commands that do not call the API refuse the options that only such
    /// calls use, rather than ignore them.
    fn refuse_client_options(&self, command: &str, with_key: bool) -> Result<(), Failure> {
        let key = with_key.then_some("api_key");
        self.refuse_options(command, CLIENT_OPTIONS.iter().copied().chain(key))
    }

    /// [`refuse_client_options`](Self::refuse_client_options) (with the key),
    /// but for the options in `allowed`.
    fn refuse_client_options_except(&self, command: &str, allowed: &[&str]) -> Result<(), Failure> {
        let ids = CLIENT_OPTIONS
            .iter()
            .copied()
            .chain(["api_key"])
            .filter(|id| !allowed.contains(id));
        self.refuse_options(command, ids)
    }

    fn refuse_options<'i>(
        &self,
        command: &str,
        ids: impl Iterator<Item = &'i str>,
    ) -> Result<(), Failure> {
        for id in ids {
            if given_on_the_line(self.matches, id) {
                let flag = match id {
                    "legacy_timeout" => "--timeout".to_owned(),
                    other => format!("--{}", other.replace('_', "-")),
                };
                return Err(Failure::usage(
                    format!(
                        "leap0 {command} does not use {flag}: it only applies to commands that call the API"
                    ),
                    Some(id),
                ));
            }
        }
        Ok(())
    }

    /// Runs a client command: config, client, the call under a watch, output.
    fn call(&self, plan: Plan<'_>) -> Result<(), Failure> {
        let global = &self.cli.global;
        let key = given_key(self.cli);
        let config = self.config(key.as_deref(), plan.wait_timeout)?;
        let client = Client::open(global, config.clone(), key.as_deref(), self.proxies.clone())?;
        crate::watch::on_interrupt(self.current.clone())?;
        let show = !global.json && !self.logging && std::io::stderr().is_terminal();
        let watch = Watch::new(&plan.label, show);
        self.current.set(Arc::clone(&watch), self.secrets.clone());
        let operation = plan.call.operation();
        let result = client.run(plan.call.machine(&config), Arc::clone(&watch));
        watch.clear();
        let finished = client.finish();
        let output = result.map_err(|e| failure(e, operation, plan.argument))?;
        finished?;
        self.current.clear();
        self.print(
            output::json_doc(&output, plan.subject),
            output::human(&output, plan.subject),
        )
    }

    /// The client configuration from the global options and the environment.
    fn config(&self, key: Option<&str>, wait_timeout: Option<Duration>) -> Result<Config, Failure> {
        let global = &self.cli.global;
        let mut builder = Config::builder();
        match (key, &global.replay) {
            (Some(key), _) => builder = builder.api_key(key),
            (None, Some(_)) => builder = builder.api_key(REPLAY_KEY),
            (None, None) => {}
        }
        let url_from_flag = global.base_url.is_some();
        if let Some(url) = global.base_url.clone().or_else(|| env("LEAP0_BASE_URL")) {
            builder = builder.base_url(url);
        }
        builder = builder.allow_insecure_http(global.allow_insecure_http || insecure_from_env());
        match (global.http_timeout, self.cli.legacy_timeout) {
            (Some(_), Some(_)) => {
                return Err(Failure::usage(
                    "--timeout before the command is an old spelling of --http-timeout: give one of them",
                    Some("http_timeout"),
                ));
            }
            (Some(timeout), None) => builder = builder.timeout(timeout),
            (None, Some(secs)) => builder = builder.timeout(legacy_timeout(secs)?),
            (None, None) => {}
        }
        if let Some(retries) = global.retries {
            if retries > MAX_RETRIES {
                return Err(Failure::usage(
                    format!(
                        "invalid --retries: must be between 0 and {MAX_RETRIES}, got {retries} (nothing was sent)"
                    ),
                    Some("retries"),
                ));
            }
            builder = builder.retry(RetryPolicy::default().with_max_attempts(retries + 1));
        }
        if let Some(timeout) = wait_timeout {
            builder = builder.wait(WaitPolicy::new(WaitPolicy::default().interval, timeout));
        }
        builder
            .build()
            .map_err(|e| config_failure(e, url_from_flag))
    }

    /// Prints one JSON document or the human text, with every secret scrubbed.
    pub(crate) fn print(&self, mut json: serde_json::Value, human: String) -> Result<(), Failure> {
        let mut stdout = std::io::stdout().lock();
        let written = if self.cli.global.json {
            output::scrub_json(&mut json, &self.secrets);
            writeln!(stdout, "{json}")
        } else {
            stdout.write_all(self.secrets.scrub(&human).as_bytes())
        };
        written.and_then(|()| stdout.flush()).map_err(write_failure)
    }
}

/// Whether the option `id` was typed, at any level of the command.
fn given_on_the_line(matches: &ArgMatches, id: &str) -> bool {
    let mut level = Some(matches);
    while let Some(current) = level {
        let here = current.ids().any(|known| known.as_str() == id);
        if here && current.value_source(id) == Some(ValueSource::CommandLine) {
            return true;
        }
        level = current.subcommand().map(|(_, sub)| sub);
    }
    false
}

fn write_failure(e: std::io::Error) -> Failure {
    Failure::other("io", format!("could not write the output: {e}"))
}

/// An environment variable, unless unset or blank.
pub(crate) fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn insecure_from_env() -> bool {
    env("LEAP0_ALLOW_INSECURE_HTTP")
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// The key from `--api-key`, else `LEAP0_API_KEY`.
pub(crate) fn given_key(cli: &Cli) -> Option<String> {
    cli.global.api_key.clone().or_else(|| env("LEAP0_API_KEY"))
}

fn legacy_timeout(secs: f64) -> Result<Duration, Failure> {
    if secs.is_finite() && secs > 0.0 && secs <= MAX_LEGACY_TIMEOUT_SECS {
        return Ok(Duration::from_secs_f64(secs));
    }
    Err(Failure::usage(
        format!(
            "invalid --timeout: must be more than 0 and at most {MAX_LEGACY_TIMEOUT_SECS} seconds, got {secs} (nothing was sent)"
        ),
        Some("http_timeout"),
    ))
}

/// A configuration error, in terms of the flags and variables that set it.
fn config_failure(error: ConfigError, url_from_flag: bool) -> Failure {
    let url_source = if url_from_flag {
        "--base-url"
    } else {
        "LEAP0_BASE_URL"
    };
    let (message, field) = match &error {
        ConfigError::MissingApiKey => (
            "no API key: pass --api-key or set LEAP0_API_KEY".to_owned(),
            "api_key",
        ),
        ConfigError::EmptyApiKey => ("the API key is empty".to_owned(), "api_key"),
        ConfigError::InvalidBaseUrl { url, reason } => (
            format!("invalid {url_source} {}: {reason}", output::shown(url)),
            "base_url",
        ),
        ConfigError::InsecureHttp { host } => (
            format!(
                "refusing to send the API key over plain http to {}; use https, or pass --allow-insecure-http",
                output::shown(host)
            ),
            "base_url",
        ),
        other => (other.to_string(), other.field().unwrap_or("config")),
    };
    Failure::usage(format!("{message} (nothing was sent)"), Some(field))
}

/// How the command line spells an input field: the flag, or the argument.
fn flag_for(field: &str) -> String {
    let root = field.find(['.', '[']).map_or(field, |at| &field[..at]);
    let rest = &field[root.len()..];
    let flag = match root {
        "sandbox_id" => "<SANDBOX_ID>".to_owned(),
        "snapshot_id" => "<SNAPSHOT_ID>".to_owned(),
        "snapshot_name" => "<SNAPSHOT_NAME>".to_owned(),
        "template_name" => "<TEMPLATE>".to_owned(),
        other => format!("--{}", other.replace('_', "-")),
    };
    match rest.strip_prefix('.') {
        Some(inner) => format!("{flag} ({inner})"),
        None if rest.is_empty() => flag,
        None => format!("{flag} ({})", rest),
    }
}

/// An SDK error as the command reports it: validation in terms of the flags,
/// and a 404 with a hint when the argument looks like the other kind of name.
fn failure(error: Error, operation: Operation, argument: &str) -> Failure {
    match error {
        Error::Validation { field, reason, .. } => Failure::usage(
            format!(
                "invalid {}: {} (nothing was sent)",
                flag_for(&field),
                output::shown(&reason)
            ),
            Some(&field),
        ),
        Error::Config(e) => config_failure(e, true),
        error => {
            let not_found = error
                .api()
                .is_some_and(|api| api.kind == ApiErrorKind::NotFound);
            let hint = not_found
                .then(|| not_found_hint(operation, argument))
                .flatten();
            Failure::Sdk {
                error: Box::new(error),
                hint,
            }
        }
    }
}

/// Whether `text` looks like a snapshot id rather than a name.
fn looks_like_snapshot_id(text: &str) -> bool {
    text.starts_with("snap-") || text.starts_with("snap_")
}

fn not_found_hint(operation: Operation, argument: &str) -> Option<String> {
    let shown = output::shown(argument);
    match operation {
        Operation::DeleteSnapshot if !looks_like_snapshot_id(argument) => Some(format!(
            "snapshots delete takes a snapshot's id, and {shown} looks like a name; find the id with: leap0 snapshots list --query {shown}"
        )),
        Operation::ResumeSnapshot | Operation::RestoreSnapshot
            if looks_like_snapshot_id(argument) =>
        {
            Some(format!(
                "snapshots resume and restore take a snapshot's name, and {shown} looks like an id; leap0 snapshots list shows both"
            ))
        }
        _ => None,
    }
}

/// `--network-policy` as inline JSON or `@FILE`.
fn network_policy(given: Option<&str>) -> Result<Option<NetworkPolicy>, Failure> {
    let Some(given) = given else {
        return Ok(None);
    };
    let text = match given.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            Failure::usage(
                format!("invalid --network-policy: cannot read {path}: {e} (nothing was sent)"),
                Some("network_policy"),
            )
        })?,
        None => given.to_owned(),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Failure::usage(
            format!("invalid --network-policy: not a network policy: {e} (nothing was sent)"),
            Some("network_policy"),
        )
    })
}

/// The call of a `snapshots` command.
fn snapshot_plan(op: &Snapshots) -> Result<Plan<'_>, Failure> {
    let plan = |call, label: String, subject, argument| Plan {
        call,
        label,
        subject,
        argument,
        wait_timeout: None,
    };
    Ok(match op {
        Snapshots::Create {
            sandbox_id,
            name,
            kill_sandbox_after,
        } => {
            let mut input = CreateSnapshot::new(sandbox_id.as_str());
            input.name = name.clone();
            input.kill_sandbox_after = *kill_sandbox_after;
            plan(
                Call::CreateSnapshot(input),
                format!("snapshotting sandbox {}", output::shown(sandbox_id)),
                Subject::Other,
                sandbox_id,
            )
        }
        Snapshots::Pause { sandbox_id, name } => {
            let mut input = PauseIntoSnapshot::new(sandbox_id.as_str());
            input.name = name.clone();
            plan(
                Call::PauseIntoSnapshot(input),
                format!("pausing sandbox {}", output::shown(sandbox_id)),
                Subject::Other,
                sandbox_id,
            )
        }
        Snapshots::Resume {
            snapshot_name,
            start,
            timeout_min,
        } => {
            let mut input =
                ResumeSnapshot::new(snapshot_name.as_str()).auto_pause(start.auto_pause);
            input.timeout_min = *timeout_min;
            input.network_policy = network_policy(start.network_policy.as_deref())?;
            let call = if start.wait.wait {
                Call::ResumeAndWait(input)
            } else {
                Call::ResumeSnapshot(input)
            };
            start_plan(call, "resuming", snapshot_name, start)
        }
        Snapshots::Restore {
            snapshot_name,
            start,
            timeout,
        } => {
            let mut input =
                RestoreSnapshot::new(snapshot_name.as_str()).auto_pause(start.auto_pause);
            input.timeout = *timeout;
            input.network_policy = network_policy(start.network_policy.as_deref())?;
            let call = if start.wait.wait {
                Call::RestoreAndWait(input)
            } else {
                Call::RestoreSnapshot(input)
            };
            start_plan(call, "restoring", snapshot_name, start)
        }
        Snapshots::Delete { snapshot_id } => plan(
            Call::DeleteSnapshot(DeleteSnapshot::new(snapshot_id.as_str())),
            format!("deleting snapshot {}", output::shown(snapshot_id)),
            Subject::Snapshot(snapshot_id),
            snapshot_id,
        ),
        Snapshots::List {
            query,
            sort,
            order_by,
            page,
            page_size,
            all,
        } => {
            let listing = ListSnapshots::default()
                .query(query.as_str())
                .sort(match sort {
                    SortChoice::CreatedAt => SortBy::CreatedAt,
                    SortChoice::TemplateId => SortBy::TemplateId,
                })
                .order_by(match order_by {
                    OrderChoice::Asc => OrderBy::Asc,
                    OrderChoice::Desc => OrderBy::Desc,
                })
                .page(*page)
                .page_size(*page_size);
            let call = if *all {
                Call::ListAllSnapshots(listing)
            } else {
                Call::ListSnapshots(listing)
            };
            plan(
                call,
                "listing snapshots".to_owned(),
                Subject::Listing {
                    page: *page,
                    size: *page_size,
                    all: *all,
                },
                "",
            )
        }
    })
}

/// Resume and restore: they start a sandbox, and may wait for it.
fn start_plan<'a>(call: Call, verb: &str, snapshot_name: &'a str, start: &StartArgs) -> Plan<'a> {
    Plan {
        call,
        label: format!("{verb} snapshot {}", output::shown(snapshot_name)),
        subject: Subject::Other,
        argument: snapshot_name,
        wait_timeout: start.wait.wait_timeout,
    }
}

/// The call of a `sandboxes` command.
fn sandbox_plan(op: &Sandboxes) -> Result<Plan<'_>, Failure> {
    Ok(match op {
        Sandboxes::Create {
            template,
            vcpu,
            memory,
            timeout,
            auto_pause,
            network_policy: policy,
            wait: WaitArgs { wait, wait_timeout },
        } => {
            let mut input = CreateSandbox::new(template.as_str()).auto_pause(*auto_pause);
            input.vcpu = *vcpu;
            input.memory = *memory;
            input.timeout = *timeout;
            input.network_policy = network_policy(policy.as_deref())?;
            let call = if *wait {
                Call::CreateSandboxAndWait(input)
            } else {
                Call::CreateSandbox(input)
            };
            Plan {
                call,
                label: format!(
                    "creating a sandbox from template {}",
                    output::shown(template)
                ),
                subject: Subject::Other,
                argument: template,
                wait_timeout: *wait_timeout,
            }
        }
        Sandboxes::Get { sandbox_id } => Plan {
            call: Call::GetSandbox(GetSandbox::new(sandbox_id.as_str())),
            label: format!("reading sandbox {}", output::shown(sandbox_id)),
            subject: Subject::Sandbox(sandbox_id),
            argument: sandbox_id,
            wait_timeout: None,
        },
        Sandboxes::Pause { sandbox_id } => Plan {
            call: Call::PauseSandbox(PauseSandbox::new(sandbox_id.as_str())),
            label: format!("pausing sandbox {}", output::shown(sandbox_id)),
            subject: Subject::Sandbox(sandbox_id),
            argument: sandbox_id,
            wait_timeout: None,
        },
        Sandboxes::Wait {
            sandbox_id,
            wait_timeout,
        } => Plan {
            call: Call::WaitUntilRunning(GetSandbox::new(sandbox_id.as_str())),
            label: format!("waiting for sandbox {}", output::shown(sandbox_id)),
            subject: Subject::Sandbox(sandbox_id),
            argument: sandbox_id,
            wait_timeout: *wait_timeout,
        },
        Sandboxes::Delete { sandbox_id } => Plan {
            call: Call::DeleteSandbox(DeleteSandbox::new(sandbox_id.as_str())),
            label: format!("deleting sandbox {}", output::shown(sandbox_id)),
            subject: Subject::Sandbox(sandbox_id),
            argument: sandbox_id,
            wait_timeout: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_named_as_typed() {
        assert_eq!(flag_for("page_size"), "--page-size");
        assert_eq!(flag_for("timeout_min"), "--timeout-min");
        assert_eq!(flag_for("sandbox_id"), "<SANDBOX_ID>");
        assert_eq!(
            flag_for("network_policy.allow_cidrs[2]"),
            "--network-policy (allow_cidrs[2])"
        );
    }

    #[test]
    fn a_404_hints_at_id_versus_name() {
        let delete = not_found_hint(Operation::DeleteSnapshot, "warm").unwrap_or_default();
        assert!(
            delete.contains("takes a snapshot's id, and warm looks like a name"),
            "{delete}"
        );
        assert_eq!(not_found_hint(Operation::DeleteSnapshot, "snap-0001"), None);
        let resume = not_found_hint(Operation::ResumeSnapshot, "snap-0001").unwrap_or_default();
        assert!(resume.contains("looks like an id"), "{resume}");
        assert_eq!(not_found_hint(Operation::RestoreSnapshot, "warm"), None);
    }
}
