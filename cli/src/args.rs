//! The command line's grammar.
//!
//! Global options are accepted anywhere on the line and listed under their
//! own heading. The environment (`LEAP0_API_KEY`, `LEAP0_BASE_URL`,
//! `LEAP0_RECORD`, `LEAP0_ALLOW_INSECURE_HTTP`) is read by the commands, not by
//! clap, so that usage lines and help never echo its values.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

const GLOBAL: &str = "Global options";

const EXAMPLES: &str = "\
Examples:
  leap0 demo                                   # the whole lifecycle, offline
  leap0 snapshots create sb-123 --name warm
  leap0 snapshots pause sb-123
  leap0 snapshots resume warm --timeout-min 30 --wait --wait-timeout 10m
  leap0 snapshots restore warm --timeout 600 --network-policy '{\"mode\":\"deny-all\"}'
  leap0 snapshots list --all --json
  leap0 snapshots delete snap-abc
  leap0 sandboxes delete sb-456
  leap0 snapshots list --record session.json   # record a cassette
  leap0 snapshots list --replay session.json   # replay it, no network
  leap0 emulator --port 8080

Environment: LEAP0_API_KEY and LEAP0_BASE_URL supply --api-key and --base-url;
LEAP0_RECORD supplies --record-mode; HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and
NO_PROXY choose a proxy; RUST_LOG sets what -v shows.";

/// Manage Leap0 sandbox snapshots.
#[derive(Debug, Parser)]
#[command(name = "leap0", version, about, after_help = EXAMPLES)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,

    /// Per-call HTTP timeout in seconds (an old spelling of --http-timeout,
    /// accepted before the command).
    #[arg(long = "timeout", value_name = "SECS", hide = true)]
    pub(crate) legacy_timeout: Option<f64>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options that apply to every command that talks to the API.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// API key (or set LEAP0_API_KEY); never printed
    #[arg(long, global = true, value_name = "KEY", help_heading = GLOBAL)]
    pub(crate) api_key: Option<String>,

    // The help is an attribute: as a doc comment, rustdoc would want the URL
    // as a link, which clap would print with its angle brackets.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = GLOBAL,
        help = "API base URL (or set LEAP0_BASE_URL) [default: https://api.leap0.dev]"
    )]
    pub(crate) base_url: Option<String>,

    /// HTTP client to use
    #[arg(long, value_enum, global = true, help_heading = GLOBAL)]
    pub(crate) transport: Option<TransportChoice>,

    /// Per-call HTTP timeout, e.g. 30s or 2m [default: 5m]
    #[arg(long, global = true, value_name = "DURATION", value_parser = duration, help_heading = GLOBAL)]
    pub(crate) http_timeout: Option<Duration>,

    /// Retries after a retryable failure, 0 to 100 (0 disables them) [default: 3]
    #[arg(long, global = true, value_name = "N", help_heading = GLOBAL)]
    pub(crate) retries: Option<u32>,

    /// Record the traffic into this cassette file
    #[arg(long, global = true, value_name = "FILE", conflicts_with = "replay", help_heading = GLOBAL)]
    pub(crate) record: Option<PathBuf>,

    /// How --record treats an existing cassette: append, all (replace), missing
    /// (replay what it holds, record the rest) or auto (or set LEAP0_RECORD)
    /// [default: append]
    #[arg(long, global = true, value_name = "MODE", help_heading = GLOBAL)]
    pub(crate) record_mode: Option<String>,

    /// Replay the traffic from this cassette file instead of using the network
    #[arg(long, global = true, value_name = "FILE", help_heading = GLOBAL)]
    pub(crate) replay: Option<PathBuf>,

    /// Trust this CA certificate (PEM) instead of the built-in roots; repeatable
    #[arg(long, global = true, value_name = "FILE", help_heading = GLOBAL)]
    pub(crate) ca_cert: Vec<PathBuf>,

    /// Trust the system's certificate store (plus any --ca-cert)
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub(crate) system_roots: bool,

    /// Allow plain http to hosts other than loopback: the key travels in clear
    /// text (or set LEAP0_ALLOW_INSECURE_HTTP=1)
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub(crate) allow_insecure_http: bool,

    /// Print exactly one JSON document on stdout, and nothing but errors on stderr
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub(crate) json: bool,

    /// Log what happens on stderr: -v for the client, -vv for everything
    /// (RUST_LOG overrides)
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = GLOBAL)]
    pub(crate) verbose: u8,
}

/// The global options that only commands talking to the API use, by id: an
/// error on any other command.
pub(crate) const CLIENT_OPTIONS: [&str; 11] = [
    "base_url",
    "transport",
    "http_timeout",
    "retries",
    "record",
    "record_mode",
    "replay",
    "ca_cert",
    "system_roots",
    "allow_insecure_http",
    "legacy_timeout",
];

/// The commands that do not call the API: the client options are hidden from
/// their help (and refused on their command line).
const NOT_CLIENTS: [&str; 4] = ["emulator", "completions", "demo", "cassette"];

/// The whole grammar, with the client options hidden where they do not apply.
///
/// A subcommand that has its own argument with a global option's id does not
/// receive the global one: each command that calls no API gets hidden copies,
/// which keep the options off its help, and still parse, to be refused by name.
pub(crate) fn command() -> clap::Command {
    let mut command = <Cli as clap::CommandFactory>::command();
    let hidden = |ids: &[&str]| -> Vec<clap::Arg> {
        command
            .get_arguments()
            .filter(|arg| arg.is_global_set() && ids.contains(&arg.get_id().as_str()))
            .map(|arg| arg.clone().global(false).hide(true))
            .collect()
    };
    let client = hidden(&CLIENT_OPTIONS);
    let with_key = hidden(&[&CLIENT_OPTIONS[..], &["api_key"]].concat());
    for name in NOT_CLIENTS {
        // The emulator takes its own --api-key.
        let hide = if name == "emulator" {
            &client
        } else {
            &with_key
        };
        command = command.mut_subcommand(name, |sub| with_hidden(sub, hide));
    }
    command
}

fn with_hidden(mut command: clap::Command, hidden: &[clap::Arg]) -> clap::Command {
    let nested: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    for name in nested {
        command = command.mut_subcommand(name, |sub| with_hidden(sub, hidden));
    }
    command.args(hidden.iter().cloned())
}

/// The HTTP clients available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TransportChoice {
    /// Blocking, ureq 3
    Ureq,
    /// Async, hyper 1 on tokio
    Hyper,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create, pause, resume, restore, delete and list snapshots
    #[command(subcommand)]
    Snapshots(Snapshots),
    /// Create, inspect, wait for and delete sandboxes
    #[command(subcommand)]
    Sandboxes(Sandboxes),
    /// Work with cassettes (recorded traffic)
    #[command(subcommand)]
    Cassette(CassetteCommand),
    /// Run the Leap0 API emulator on loopback until Ctrl-C
    Emulator(leap0_emulator::EmulatorArgs),
    /// Print a shell completion script
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Run the whole snapshot lifecycle on the embedded emulator, record it, and
    /// replay it with no server
    Demo(DemoArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum Snapshots {
    /// Snapshot a running sandbox without stopping it
    Create {
        /// The sandbox to snapshot
        sandbox_id: String,
        /// Name of the snapshot (generated if omitted)
        #[arg(long)]
        name: Option<String>,
        /// Terminate the sandbox once the snapshot is stored
        #[arg(long)]
        kill_sandbox_after: bool,
    },
    /// Pause a running sandbox into a snapshot (the sandbox stops)
    Pause {
        /// The sandbox to pause
        sandbox_id: String,
        /// Name of the snapshot (generated if omitted)
        #[arg(long)]
        name: Option<String>,
    },
    /// Start a new sandbox from a snapshot (its timeout in minutes)
    Resume {
        /// The snapshot's name
        snapshot_name: String,
        #[command(flatten)]
        start: StartArgs,
        /// Sandbox timeout in minutes, 1 to 480
        #[arg(long, value_name = "M")]
        timeout_min: Option<u64>,
    },
    /// Start a new sandbox from a snapshot (its timeout in seconds)
    Restore {
        /// The snapshot's name
        snapshot_name: String,
        #[command(flatten)]
        start: StartArgs,
        /// Sandbox timeout in seconds, 1 to 28800
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
    },
    /// Delete a snapshot
    Delete {
        /// The snapshot's id
        snapshot_id: String,
    },
    /// List snapshots
    List {
        /// Filter on the snapshot name, at most 64 characters
        #[arg(long, default_value = "")]
        query: String,
        /// Sort field
        #[arg(long, value_enum, default_value_t = SortChoice::CreatedAt)]
        sort: SortChoice,
        /// Sort direction
        #[arg(long, value_enum, default_value_t = OrderChoice::Desc)]
        order_by: OrderChoice,
        /// Page number, from 1
        #[arg(long, default_value_t = 1)]
        page: u64,
        /// Items per page, 1 to 100
        #[arg(long, default_value_t = 20)]
        page_size: u64,
        /// Fetch every page from --page on
        #[arg(long)]
        all: bool,
    },
}

/// Sort fields of `snapshots list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SortChoice {
    /// Creation time
    #[value(alias = "created_at")]
    CreatedAt,
    /// Template id
    #[value(alias = "template_id")]
    TemplateId,
}

/// Sort directions of `snapshots list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OrderChoice {
    /// Ascending
    Asc,
    /// Descending
    Desc,
}

/// Options shared by resume and restore.
#[derive(Debug, Args)]
pub(crate) struct StartArgs {
    /// Pause the new sandbox into a snapshot when it times out
    #[arg(long)]
    pub(crate) auto_pause: bool,
    /// Network policy as JSON, or @FILE to read it from a file
    #[arg(long, value_name = "JSON|@FILE")]
    pub(crate) network_policy: Option<String>,
    #[command(flatten)]
    pub(crate) wait: WaitArgs,
}

/// Waiting until a sandbox runs.
#[derive(Debug, Args)]
pub(crate) struct WaitArgs {
    /// Wait until the new sandbox is running
    #[arg(long)]
    pub(crate) wait: bool,
    /// Give up waiting after this long, e.g. 90s or 10m [default: 5m]
    #[arg(long, value_name = "DURATION", value_parser = duration, requires = "wait")]
    pub(crate) wait_timeout: Option<Duration>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Sandboxes {
    /// Start a sandbox from a template
    Create {
        /// The template's name
        template: String,
        /// Virtual CPUs, 1 to 8
        #[arg(long)]
        vcpu: Option<u64>,
        /// Memory in MiB, 512 to 8192, even
        #[arg(long, value_name = "MIB")]
        memory: Option<u64>,
        /// Sandbox timeout in seconds, 1 to 28800
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
        /// Pause the sandbox into a snapshot when it times out
        #[arg(long)]
        auto_pause: bool,
        /// Network policy as JSON, or @FILE to read it from a file
        #[arg(long, value_name = "JSON|@FILE")]
        network_policy: Option<String>,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Show a sandbox's status
    Get {
        /// The sandbox's id
        sandbox_id: String,
    },
    /// Pause a running sandbox in place, keeping its memory and disk
    Pause {
        /// The sandbox's id
        sandbox_id: String,
    },
    /// Wait until a sandbox is running
    Wait {
        /// The sandbox's id
        sandbox_id: String,
        /// Give up after this long, e.g. 90s or 10m [default: 5m]
        #[arg(long, value_name = "DURATION", value_parser = duration)]
        wait_timeout: Option<Duration>,
    },
    /// Delete a sandbox (a running one is terminated)
    Delete {
        /// The sandbox's id
        sandbox_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum CassetteCommand {
    /// Check a cassette: that it loads, that the current client would still
    /// send exactly the recorded requests, and that it still reads every
    /// recorded answer
    Check {
        /// The cassette file
        file: PathBuf,
        /// Fail if the cassette was recorded longer ago than this (90d, 12h)
        #[arg(
            long,
            value_name = "DURATION",
            value_parser = |text: &str| -> Result<Duration, String> {
                let text = text.trim();
                match humantime::parse_duration(text) {
                    Ok(age) if age.is_zero() => Err("must be more than zero, like 90d".to_owned()),
                    Ok(age) => Ok(age),
                    Err(e) => Err(format!("{text:?} is not a duration like 90d or 12h ({e})")),
                }
            }
        )]
        max_age: Option<Duration>,
    },
    /// Serve a cassette over HTTP on loopback, for clients in any language:
    /// prints LEAP0_BASE_URL=http://127.0.0.1:PORT first; misses are answered 418
    Serve(ServeArgs),
    /// A recording reverse proxy: clients pointed at it reach --upstream, and
    /// the traffic is saved to the cassette on Ctrl-C, SIGTERM or POST /_leap0/save
    Record(RecordArgs),
}

/// What to do when a request's recorded answers are used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ExhaustedChoice {
    /// Answer 418 (a miss)
    Fail,
    /// Answer with the last matching recorded interaction again
    RepeatLast,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The cassette file
    pub(crate) file: PathBuf,
    /// The port to listen on (0: a free one)
    #[arg(long, default_value_t = 0)]
    pub(crate) port: u16,
    /// The address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: std::net::IpAddr,
    /// What to do when a request's recorded answers are used up
    #[arg(long, value_enum, default_value = "fail")]
    pub(crate) exhausted: ExhaustedChoice,
    /// Requests must come in exactly the recorded order
    #[arg(long)]
    pub(crate) strict_order: bool,
    /// Exit 0 although some recorded interactions were never requested
    #[arg(long)]
    pub(crate) allow_unused: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RecordArgs {
    /// The cassette file
    pub(crate) file: PathBuf,
    /// The API to forward to, e.g. http://127.0.0.1:8080 (plain http only to
    /// loopback unless --allow-insecure-http)
    #[arg(long, value_name = "URL")]
    pub(crate) upstream: String,
    /// The port to listen on (0: a free one)
    #[arg(long, default_value_t = 0)]
    pub(crate) port: u16,
    /// The address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: std::net::IpAddr,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Where to write the demo's cassette [default: a file in the temp directory]
    #[arg(long, value_name = "FILE")]
    pub(crate) cassette: Option<PathBuf>,
}

/// The longest duration any option takes: a day.
const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// A duration as people write it (`90s`, `10m`, `1h 30m`, `500ms`), or a plain
/// number of seconds; more than zero and at most a day.
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let parsed = match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => {
            Duration::try_from_secs_f64(secs).map_err(|_| format!("{text:?} is not a duration"))?
        }
        Ok(_) => return Err(format!("{text:?} is not a duration")),
        Err(_) => humantime::parse_duration(text)
            .map_err(|e| format!("{text:?} is not a duration like 30s, 10m or 1h 30m ({e})"))?,
    };
    if parsed.is_zero() {
        return Err("must be more than zero, like 30s".to_owned());
    }
    if parsed > MAX_DURATION {
        return Err(format!(
            "must be at most 24h, got {}",
            humantime::format_duration(parsed)
        ));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_grammar_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(
            duration("0").unwrap_err(),
            "must be more than zero, like 30s"
        );
        assert!(duration("2d").unwrap_err().contains("at most 24h"));
        assert!(duration("soon").unwrap_err().contains("like 30s, 10m"));
    }
}
