//! The client a command runs on: ureq or hyper, live, recording, or replaying.

use std::path::Path;

use leap0_core::transport::{AsyncClock, AsyncTransport, Clock, Transport};
use leap0_core::{AsyncSnapshotsClient, Call, CallOutput, Config, Error, SnapshotsClient};
use leap0_hyper::{HyperTransport, TokioClock};
use leap0_replay::{Cassette, RecordOptions, Recorder, ReplayOptions, Replayer};
use leap0_ureq::{SystemClock, UreqTransport};
use serde_json::json;

use crate::args::{Cli, TransportChoice};
use crate::output::Failure;

/// Runs calls through one client, whatever its transport.
trait Runner {
    fn call(&self, call: Call) -> Result<CallOutput, Error>;
}

impl<T: Transport, C: Clock> Runner for SnapshotsClient<T, C> {
    fn call(&self, call: Call) -> Result<CallOutput, Error> {
        SnapshotsClient::call(self, call)
    }
}

/// An async client and the runtime that drives it.
struct AsyncRunner<T, C> {
    runtime: tokio::runtime::Runtime,
    client: AsyncSnapshotsClient<T, C>,
}

impl<T: AsyncTransport, C: AsyncClock> Runner for AsyncRunner<T, C> {
    fn call(&self, call: Call) -> Result<CallOutput, Error> {
        self.runtime.block_on(self.client.call(call))
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

type Finish = Box<dyn FnOnce() -> Result<(), Failure>>;

/// A client ready for calls, and what to do once they are made.
pub(crate) struct Session {
    runner: Box<dyn Runner>,
    finish: Finish,
}

impl Session {
    /// The session the global options ask for.
    pub(crate) fn open(cli: &Cli, config: Config) -> Result<Session, Failure> {
        if let Some(path) = &cli.replay {
            return Session::replaying(cli.transport, config, path);
        }
        if let Some(path) = &cli.record {
            let options = RecordOptions::new()
                .config(&config)
                .secret(cli.api_key.clone().unwrap_or_default());
            let path = path.clone();
            let saved = move |result: Result<(), leap0_replay::CassetteError>| {
                result.map_err(|e| Failure::other("cassette", e.to_string()))
            };
            return Ok(match cli.transport {
                TransportChoice::Ureq => {
                    let recorder = Recorder::new(UreqTransport::new(), options);
                    let handle = recorder.clone();
                    Session {
                        runner: Box::new(SnapshotsClient::new(
                            config,
                            recorder,
                            SystemClock::new(),
                        )),
                        finish: Box::new(move || saved(handle.save(&path))),
                    }
                }
                TransportChoice::Hyper => {
                    let recorder = Recorder::new(HyperTransport::new(), options);
                    let handle = recorder.clone();
                    Session {
                        runner: async_runner(config, recorder, TokioClock::new())?,
                        finish: Box::new(move || saved(handle.save(&path))),
                    }
                }
            });
        }
        let runner = match cli.transport {
            TransportChoice::Ureq => Box::new(SnapshotsClient::new(
                config,
                UreqTransport::new(),
                SystemClock::new(),
            )) as Box<dyn Runner>,
            TransportChoice::Hyper => {
                async_runner(config, HyperTransport::new(), TokioClock::new())?
            }
        };
        Ok(Session {
            runner,
            finish: Box::new(|| Ok(())),
        })
    }

    /// Replays `path` on a virtual clock: no network, no waiting.
    fn replaying(via: TransportChoice, config: Config, path: &Path) -> Result<Session, Failure> {
        // One cassette may hold a longer session than this one command.
        let options = ReplayOptions::default().allow_unused(true);
        let replayer = Replayer::from_file(path, options)
            .map_err(|e| Failure::other("cassette", e.to_string()))?;
        let clock = replayer.clock();
        let runner = match via {
            TransportChoice::Ureq => {
                Box::new(SnapshotsClient::new(config, replayer, clock)) as Box<dyn Runner>
            }
            TransportChoice::Hyper => async_runner(config, replayer, clock)?,
        };
        Ok(Session {
            runner,
            finish: Box::new(|| Ok(())),
        })
    }

    /// Makes one call.
    pub(crate) fn call(&self, call: Call) -> Result<CallOutput, Error> {
        self.runner.call(call)
    }

    /// Saves the cassette when recording.
    pub(crate) fn finish(self) -> Result<(), Failure> {
        (self.finish)()
    }
}

/// The result of `leap0 cassette check`.
pub(crate) struct CheckReport {
    pub(crate) clean: bool,
    pub(crate) text: String,
    pub(crate) json: serde_json::Value,
    pub(crate) problem: String,
}

/// Loads a cassette and rebuilds each recorded request with the current client.
pub(crate) fn check_cassette(path: &Path) -> Result<CheckReport, Failure> {
    let cassette = Cassette::load(path).map_err(|e| Failure::other("cassette", e.to_string()))?;
    let drifts = leap0_replay::check_drift(&cassette);
    let count = cassette.interactions.len();
    let mut text = format!(
        "{}: version {}, {count} interaction{}, recorded with leap0 {}\n",
        path.display(),
        cassette.version.0,
        if count == 1 { "" } else { "s" },
        cassette.meta.crate_version,
    );
    for drift in &drifts {
        text.push_str(&format!("drift: {drift}\n"));
    }
    if drifts.is_empty() {
        text.push_str("every recorded request is what this client sends today\n");
    }
    let json = json!({
        "file": path.display().to_string(),
        "version": cassette.version,
        "interactions": count,
        "drift": drifts.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
    });
    Ok(CheckReport {
        clean: drifts.is_empty(),
        problem: format!(
            "{} of {count} recorded requests differ from what this client sends today",
            drifts.len()
        ),
        text,
        json,
    })
}
