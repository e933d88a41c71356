//! The command line's grammar.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  leap0 demo                                   # the whole lifecycle, offline
  leap0 snapshots create sb-123 --name warm
  leap0 snapshots pause sb-123
  leap0 snapshots resume warm --timeout-min 30 --wait
  leap0 snapshots restore warm --timeout 600 --network-policy '{\"mode\":\"deny-all\"}'
  leap0 snapshots list --all --json
  leap0 snapshots delete snap-abc
  leap0 --record session.json snapshots list   # record a cassette
  leap0 --replay session.json snapshots list   # replay it, no network
  leap0 emulator --port 8080 --api-key test-key";

/// Manage Leap0 sandbox snapshots.
#[derive(Debug, Parser)]
#[command(name = "leap0", version, about, after_help = EXAMPLES)]
pub(crate) struct Cli {
    /// API key (or set LEAP0_API_KEY). Never printed.
    #[arg(long, env = "LEAP0_API_KEY", hide_env_values = true, global = true)]
    pub(crate) api_key: Option<String>,

    /// API base URL (or set LEAP0_BASE_URL) [default: `https://api.leap0.dev`]
    #[arg(long, env = "LEAP0_BASE_URL", global = true)]
    pub(crate) base_url: Option<String>,

    /// HTTP client to use.
    #[arg(long, value_enum, default_value_t = TransportChoice::Ureq, global = true)]
    pub(crate) transport: TransportChoice,

    /// Per-call HTTP timeout in seconds (give it before the subcommand).
    #[arg(long, value_name = "SECS")]
    pub(crate) timeout: Option<f64>,

    /// Retries after a retryable failure (0 disables retries) [default: 3]
    #[arg(long, value_name = "N", global = true)]
    pub(crate) retries: Option<u32>,

    /// Record the traffic into this cassette file.
    #[arg(long, value_name = "FILE", global = true, conflicts_with = "replay")]
    pub(crate) record: Option<PathBuf>,

    /// Replay the traffic from this cassette file instead of using the network.
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) replay: Option<PathBuf>,

    /// Print exactly one JSON document on stdout.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The HTTP clients available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TransportChoice {
    /// Blocking, ureq 3.
    Ureq,
    /// Async, hyper 1 on tokio.
    Hyper,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create, pause, resume, restore, delete and list snapshots.
    #[command(subcommand)]
    Snapshots(Snapshots),
    /// Work with cassettes (recorded traffic).
    #[command(subcommand)]
    Cassette(CassetteCommand),
    /// Run the Leap0 API emulator on loopback until Ctrl-C.
    Emulator(EmulatorArgs),
    /// Run the whole snapshot lifecycle on the embedded emulator, record it, and
    /// replay it with no server.
    Demo(DemoArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum Snapshots {
    /// Snapshot a running sandbox without stopping it.
    Create {
        /// The sandbox to snapshot.
        sandbox_id: String,
        /// Name of the snapshot (generated if omitted).
        #[arg(long)]
        name: Option<String>,
        /// Terminate the sandbox once the snapshot is stored.
        #[arg(long)]
        kill_sandbox_after: bool,
    },
    /// Pause a running sandbox into a snapshot (the sandbox stops).
    Pause {
        /// The sandbox to pause.
        sandbox_id: String,
        /// Name of the snapshot (generated if omitted).
        #[arg(long)]
        name: Option<String>,
    },
    /// Start a new sandbox from a snapshot (timeout in minutes).
    Resume {
        /// The snapshot's name.
        snapshot_name: String,
        #[command(flatten)]
        start: StartArgs,
        /// Sandbox timeout in minutes (1 to 480).
        #[arg(long, value_name = "M")]
        timeout_min: Option<u64>,
    },
    /// Start a new sandbox from a snapshot (timeout in seconds).
    Restore {
        /// The snapshot's name.
        snapshot_name: String,
        #[command(flatten)]
        start: StartArgs,
        /// Sandbox timeout in seconds (1 to 28800).
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
    },
    /// Delete a snapshot.
    Delete {
        /// The snapshot's id.
        snapshot_id: String,
    },
    /// List snapshots.
    List {
        /// Filter on the snapshot name.
        #[arg(long, default_value = "")]
        query: String,
        /// Sort field: created_at or template_id.
        #[arg(long, default_value = "created_at")]
        sort: String,
        /// Sort direction: asc or desc.
        #[arg(long, default_value = "desc")]
        order_by: String,
        /// Page number, from 1.
        #[arg(long, default_value_t = 1)]
        page: u64,
        /// Items per page (1 to 100).
        #[arg(long, default_value_t = 20)]
        page_size: u64,
        /// Fetch every page from --page on.
        #[arg(long)]
        all: bool,
    },
}

/// Options shared by resume and restore.
#[derive(Debug, Args)]
pub(crate) struct StartArgs {
    /// Pause the new sandbox into a snapshot when it times out.
    #[arg(long)]
    pub(crate) auto_pause: bool,
    /// Network policy as JSON, or @FILE to read it from a file.
    #[arg(long, value_name = "JSON|@FILE")]
    pub(crate) network_policy: Option<String>,
    /// Wait until the new sandbox is running.
    #[arg(long)]
    pub(crate) wait: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CassetteCommand {
    /// Check a cassette: that it loads, and that the current client would still
    /// send exactly the recorded requests.
    Check {
        /// The cassette file.
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub(crate) struct EmulatorArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub(crate) port: u16,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Where to write the demo's cassette [default: a file in the temp directory]
    #[arg(long, value_name = "FILE")]
    pub(crate) cassette: Option<PathBuf>,
}
