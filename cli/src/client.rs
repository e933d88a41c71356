//! The client a command runs on: ureq or hyper, live, recording or replaying,
//! with the proxies of the environment and the trust roots asked for.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use leap0_clock::SystemClock;
use leap0_core::transport::{
    AsyncClock, AsyncTransport, BuildTransport, Clock, ProxyRules, Transport, TransportBuilder,
};
use leap0_core::{AsyncSnapshotsClient, CallMachine, CallOutput, Config, Error, SnapshotsClient};
use leap0_hyper::{HyperTransport, TokioClock};
use leap0_replay::{Mode, RecordOptions, ReplayError, ReplayOptions, Session};
use leap0_ureq::UreqTransport;

use crate::args::{Global, TransportChoice};
use crate::output::Failure;
use crate::watch::{Watch, Watched};

/// Runs call machines through one client, whatever its transport.
trait Runner {
    fn run(&self, machine: CallMachine, watch: Arc<Watch>) -> Result<CallOutput, Error>;
}

impl<T: Transport, C: Clock> Runner for SnapshotsClient<T, C> {
    fn run(&self, machine: CallMachine, watch: Arc<Watch>) -> Result<CallOutput, Error> {
        SnapshotsClient::run(self, Watched::new(machine, watch))
    }
}

/// An async client and the runtime that drives it.
struct AsyncRunner<T, C> {
    runtime: tokio::runtime::Runtime,
    client: AsyncSnapshotsClient<T, C>,
}

impl<T: AsyncTransport, C: AsyncClock> Runner for AsyncRunner<T, C> {
    fn run(&self, machine: CallMachine, watch: Arc<Watch>) -> Result<CallOutput, Error> {
        self.runtime
            .block_on(self.client.run(Watched::new(machine, watch)))
    }
}

fn async_runner<T, C>(config: Config, transport: T, clock: C) -> Result<Box<dyn Runner>, Failure>
where
    T: AsyncTransport + 'static,
    C: AsyncClock + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::other("runtime", format!("could not start tokio: {e}")))?;
    let client = AsyncSnapshotsClient::new(config, transport, clock);
    Ok(Box::new(AsyncRunner { runtime, client }))
}

/// Ends a recording or replay session: saves the cassette, or checks it was used.
type Finish = Box<dyn FnOnce() -> Result<(), ReplayError>>;

/// A client ready for calls, and the recording or replay session behind it.
pub(crate) struct Client {
    runner: Box<dyn Runner>,
    finish: Finish,
    cassette: Option<PathBuf>,
}

/// The HTTP side of a client, as the global options describe it.
struct Network<'a> {
    global: &'a Global,
    rules: ProxyRules,
}

impl Network<'_> {
    fn ca_pems(&self) -> Result<Vec<(PathBuf, Vec<u8>)>, Failure> {
        self.global
            .ca_cert
            .iter()
            .map(|path| {
                std::fs::read(path)
                    .map(|pem| (path.clone(), pem))
                    .map_err(|e| {
                        Failure::usage(
                            format!("--ca-cert {}: cannot read it: {e}", path.display()),
                            Some("ca_cert"),
                        )
                    })
            })
            .collect()
    }

    fn bad_cert(path: &Path, e: impl std::fmt::Display) -> Failure {
        Failure::usage(
            format!("--ca-cert {}: {e}", path.display()),
            Some("ca_cert"),
        )
    }
}

impl Network<'_> {
    /// Any transport, built with the trust roots and proxies asked for.
    fn transport<T: BuildTransport>(&self) -> Result<T, Failure> {
        let mut builder = TransportBuilder::<T>::new()
            .platform_roots(self.global.system_roots)
            .proxy_rules(self.rules.clone())
            .map_err(proxy_failure)?;
        for (path, pem) in self.ca_pems()? {
            builder = builder
                .add_root_certificate_pem(&pem)
                .map_err(|e| Self::bad_cert(&path, e))?;
        }
        builder
            .build()
            .map_err(|e| Failure::usage(e.to_string(), Some("system_roots")))
    }

    fn ureq(&self) -> Result<UreqTransport, Failure> {
        self.transport()
    }

    fn hyper(&self) -> Result<HyperTransport, Failure> {
        self.transport()
    }
}

fn proxy_failure(e: impl std::fmt::Display) -> Failure {
    Failure::usage(
        format!("the proxy named by HTTPS_PROXY, HTTP_PROXY or ALL_PROXY cannot be used: {e}"),
        Some("proxy"),
    )
}

/// The record mode `--record` uses: `--record-mode`, else `LEAP0_RECORD`, else append.
fn record_mode(global: &Global) -> Result<Mode, Failure> {
    recording_mode(
        global.record_mode.as_deref(),
        "--record-mode",
        "record_mode",
    )
}

/// A recording mode given as `flag` (named `field` in errors), else
/// `LEAP0_RECORD`, else append. Replaying only is not a recording mode.
pub(crate) fn recording_mode(
    given: Option<&str>,
    flag: &str,
    field: &'static str,
) -> Result<Mode, Failure> {
    let (given, source) = match given {
        Some(mode) => (Some(mode.to_owned()), flag),
        None => (
            std::env::var(leap0_replay::RECORD_ENV)
                .ok()
                .filter(|v| !v.trim().is_empty()),
            leap0_replay::RECORD_ENV,
        ),
    };
    let Some(given) = given else {
        return Ok(Mode::Append);
    };
    match Mode::parse(&given) {
        Ok(Mode::ReplayOnly) | Err(_) => Err(Failure::usage(
            format!(
                "{source} {:?}: must be append, all, missing or auto",
                leap0_core::text::escape(&given)
            ),
            Some(field),
        )),
        Ok(mode) => Ok(mode),
    }
}

impl Client {
    /// The client the global options ask for.
    pub(crate) fn open(
        global: &Global,
        config: Config,
        key: Option<&str>,
        rules: ProxyRules,
    ) -> Result<Client, Failure> {
        if global.record_mode.is_some() && global.record.is_none() {
            return Err(Failure::usage(
                "--record-mode needs --record <FILE> (nothing was sent)",
                Some("record_mode"),
            ));
        }
        let network = Network { global, rules };
        let transport = global.transport.unwrap_or(TransportChoice::Ureq);
        let (path, mode) = match (&global.replay, &global.record) {
            (Some(path), _) => (path.clone(), Mode::ReplayOnly),
            (None, Some(path)) => (path.clone(), record_mode(global)?),
            (None, None) => {
                let runner = match transport {
                    TransportChoice::Ureq => Box::new(SnapshotsClient::new(
                        config,
                        network.ureq()?,
                        SystemClock::new(),
                    )) as Box<dyn Runner>,
                    TransportChoice::Hyper => {
                        async_runner(config, network.hyper()?, TokioClock::new())?
                    }
                };
                return Ok(Client {
                    runner,
                    finish: Box::new(|| Ok(())),
                    cassette: None,
                });
            }
        };
        let mut record = RecordOptions::new().config(&config);
        if let Some(key) = key {
            record = record.secret(key);
        }
        // One cassette may hold a longer session than this one command.
        let replay = ReplayOptions::default()
            .allow_unused(true)
            .rerecord_hint(format!(
                "to record what is missing, run the same command with --record {} --record-mode missing (or --record-mode all to start over)",
                path.display()
            ));
        let open_failure = |e: ReplayError| session_failure(e, &path);
        let (runner, finish): (Box<dyn Runner>, Finish) = match transport {
            TransportChoice::Ureq => {
                let session = Session::open(&path, mode, network.ureq()?, record, replay)
                    .map_err(open_failure)?;
                let clock = session.clock(SystemClock::new());
                let finished = session.clone();
                (
                    Box::new(SnapshotsClient::new(config, session, clock)),
                    Box::new(move || finished.finish()),
                )
            }
            TransportChoice::Hyper => {
                let session = Session::open(&path, mode, network.hyper()?, record, replay)
                    .map_err(open_failure)?;
                let clock = session.clock(TokioClock::new());
                let finished = session.clone();
                (
                    async_runner(config, session, clock)?,
                    Box::new(move || finished.finish()),
                )
            }
        };
        Ok(Client {
            runner,
            finish,
            cassette: Some(path),
        })
    }

    /// Runs one call's machine, reporting its progress to `watch`.
    pub(crate) fn run(&self, machine: CallMachine, watch: Arc<Watch>) -> Result<CallOutput, Error> {
        self.runner.run(machine, watch)
    }

    /// Saves the cassette when recording.
    pub(crate) fn finish(self) -> Result<(), Failure> {
        let path = self.cassette.clone().unwrap_or_default();
        (self.finish)().map_err(|e| session_failure(e, &path))
    }
}

/// A session's error, with advice that works on this command line.
fn session_failure(error: ReplayError, path: &Path) -> Failure {
    let message = match &error {
        ReplayError::MissingCassette { .. } => format!(
            "cassette {} does not exist; record it by running the same command with --record {}",
            path.display(),
            path.display()
        ),
        other => other.to_string(),
    };
    Failure::other("cassette", message)
}

/// The result of `leap0 cassette check`.
pub(crate) struct CheckReport {
    pub(crate) text: String,
    pub(crate) json: serde_json::Value,
    /// What fails the check, if anything: a stable kind (`drift`, `decode`
    /// or `stale`, the first that applies) and a message naming every problem.
    pub(crate) failure: Option<(&'static str, String)>,
}

/// Loads a cassette, rebuilds each recorded request and decodes each recorded
/// answer with the current client and, given a maximum age, checks how long
/// ago it was recorded. Unknown fields in answers are reported, not a failure.
pub(crate) fn check_cassette(
    path: &Path,
    max_age: Option<std::time::Duration>,
) -> Result<CheckReport, Failure> {
    use crate::output::shown;
    use leap0_replay::DecodeProblem;

    let cassette = leap0_replay::Cassette::load(path)
        .map_err(|e| Failure::other("cassette", e.to_string()))?;
    let drifts = leap0_replay::check_drift(&cassette);
    let decoded = leap0_replay::check_decoding(&cassette);
    let stale = max_age.and_then(|max| {
        leap0_replay::check_age(&cassette.meta, max, std::time::SystemTime::now())
            .map(|stale| stale.in_file(path))
    });
    let count = cassette.interactions.len();
    let mut text = format!(
        "{}: version {}, {count} interaction{}, recorded with leap0 {}\n",
        path.display(),
        cassette.version.0,
        if count == 1 { "" } else { "s" },
        shown(&cassette.meta.crate_version),
    );
    match (&stale, max_age) {
        (Some(stale), _) => text.push_str(&format!("stale: {}\n", shown(&stale.to_string()))),
        (None, Some(max)) => text.push_str(&format!(
            "age: recorded at {}, within --max-age {}\n",
            shown(&cassette.meta.recorded_at),
            match max.as_secs() {
                secs if secs % 86_400 == 0 && max.subsec_nanos() == 0 =>
                    format!("{}d", secs / 86_400),
                _ => humantime::format_duration(max).to_string(),
            }
        )),
        (None, None) => {}
    }
    for drift in &drifts {
        text.push_str(&format!("drift: {}\n", shown(&drift.to_string())));
    }
    if drifts.is_empty() {
        text.push_str("every recorded request is what this client sends today\n");
    }
    let (failures, unknown): (Vec<_>, Vec<_>) = decoded.iter().partition(|d| d.is_failure());
    for finding in &failures {
        text.push_str(&format!("decode: {}\n", shown(&finding.to_string())));
    }
    for finding in &unknown {
        text.push_str(&format!(
            "unknown fields: {}\n",
            shown(&finding.to_string())
        ));
    }
    if failures.is_empty() {
        text.push_str("every recorded answer decodes with this client's models\n");
    }

    let decode_json = |finding: &&leap0_replay::DecodeFinding| {
        let mut entry = serde_json::json!({
            "interaction": finding.interaction,
            "operation": finding.operation.name(),
        });
        match &finding.problem {
            DecodeProblem::Fails { field, reason } => {
                entry["field"] = field.as_str().into();
                entry["reason"] = reason.as_str().into();
            }
            DecodeProblem::UnknownFields { fields } => entry["fields"] = fields.clone().into(),
            _ => {}
        }
        entry
    };
    let json = serde_json::json!({
        "file": path.display().to_string(),
        "version": cassette.version.0,
        "interactions": count,
        "recorded_at": cassette.meta.recorded_at,
        "drift": drifts.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        "decode": failures.iter().map(decode_json).collect::<Vec<_>>(),
        "unknown_fields": unknown.iter().map(decode_json).collect::<Vec<_>>(),
        "max_age_seconds": max_age.map(|max| max.as_secs()),
        "stale": stale.as_ref().map(|stale| serde_json::json!({
            "recorded_at": stale.recorded_at,
            "age_seconds": stale.age.as_ref().ok().map(|age| age.as_secs()),
            "message": stale.to_string(),
        })),
    });

    let mut problems: Vec<(&'static str, String)> = Vec::new();
    if !drifts.is_empty() {
        problems.push((
            "drift",
            format!(
                "{} of {count} recorded requests differ from what this client sends today",
                drifts.len()
            ),
        ));
    }
    if !failures.is_empty() {
        let which: Vec<String> = failures
            .iter()
            .map(|f| format!("#{}", f.interaction))
            .collect();
        problems.push((
            "decode",
            format!(
                "{} recorded answer{} no longer decode{} with this client's models (interaction {})",
                failures.len(),
                if failures.len() == 1 { "" } else { "s" },
                if failures.len() == 1 { "s" } else { "" },
                which.join(", ")
            ),
        ));
    }
    if let Some(stale) = &stale {
        problems.push(("stale", shown(&stale.to_string())));
    }
    let failure = problems.first().map(|(kind, _)| {
        let messages: Vec<&str> = problems.iter().map(|(_, m)| m.as_str()).collect();
        (*kind, messages.join("; "))
    });
    Ok(CheckReport {
        text,
        json,
        failure,
    })
}
