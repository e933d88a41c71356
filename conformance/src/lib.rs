//! The conformance harness: scenarios written once as data, run through every
//! transport against a fresh emulator, with outcomes reduced to comparable values.
//!
//! A scenario's engines must agree exactly: same results, same errors (kind,
//! status, retryability, whether the request may have reached the server), and
//! the same requests seen by the emulator.
#![forbid(unsafe_code)]

pub mod hot_path;
pub mod scenarios;

use std::path::Path;
use std::time::Duration;

use leap0_core::transport::{
    AsyncClock, AsyncTransport, Clock, Transport, TransportErrorKind, VirtualClock,
};
use leap0_core::{
    AsyncSnapshotsClient, Call, CallOutput, Config, Error, RetryPolicy, SnapshotsClient,
};
use leap0_emulator::{Emulator, EmulatorConfig, FaultRule};
use leap0_hyper::HyperTransport;
use leap0_replay::{CassetteError, RecordOptions, Recorder, ReplayError, ReplayOptions, Replayer};
use leap0_ureq::UreqTransport;
use serde::Serialize;
use serde_json::Value;

/// The API key every scenario uses; long and distinctive so leaks are easy to spot.
pub const API_KEY: &str = "sk-conformance-4f9c2e7a1b";

/// A call, with faults queued on the emulator just before it.
#[derive(Debug, Clone)]
pub struct Step {
    /// A label for reports.
    pub name: &'static str,
    /// Faults injected before the call.
    pub faults: Vec<FaultRule>,
    /// The call.
    pub call: Call,
}

impl Step {
    /// A step without faults.
    pub fn new(name: &'static str, call: Call) -> Self {
        Step {
            name,
            faults: Vec::new(),
            call,
        }
    }

    /// Queues a fault before the call.
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }
}

/// A named list of steps and the client settings they run under.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The scenario's name (also its cassette's file name).
    pub name: &'static str,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Per-call HTTP timeout.
    pub timeout: Duration,
    /// The key the client sends (the emulator accepts [`API_KEY`]).
    pub client_key: &'static str,
}

impl Scenario {
    /// A scenario with the default timeout and the right key.
    pub fn new(name: &'static str, steps: Vec<Step>) -> Self {
        Scenario {
            name,
            steps,
            timeout: Duration::from_secs(10),
            client_key: API_KEY,
        }
    }

    /// The client configuration for a server at `base_url`.
    pub fn config(&self, base_url: &str) -> Config {
        let retry = RetryPolicy::default().with_jitter_seed(42);
        let config = Config::builder()
            .api_key(self.client_key)
            .base_url(base_url)
            .timeout(self.timeout)
            .retry(retry)
            .build();
        match config {
            Ok(config) => config,
            Err(e) => panic!("scenario {} has a bad config: {e}", self.name),
        }
    }
}

/// A failure reduced to what every transport must agree on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Failure {
    /// [`Error::kind_name`].
    pub kind: String,
    /// The HTTP status, for API errors.
    pub status: Option<u16>,
    /// The transport failure's kind, for transport errors.
    pub transport: Option<TransportErrorKind>,
    /// [`Error::is_retryable`].
    pub retryable: bool,
    /// [`Error::may_have_reached_server`].
    pub may_have_reached_server: bool,
    /// [`Error::field`].
    pub field: Option<String>,
    /// The message, except for transport errors (whose text is the HTTP client's).
    pub message: Option<String>,
}

impl From<&Error> for Failure {
    fn from(e: &Error) -> Self {
        let transport = e.transport().map(|t| t.kind);
        Failure {
            kind: e.kind_name().to_owned(),
            status: e.status().map(|s| s.as_u16()),
            transport,
            retryable: e.is_retryable(),
            may_have_reached_server: e.may_have_reached_server(),
            field: e.field().map(str::to_owned),
            message: transport.is_none().then(|| e.to_string()),
        }
    }
}

/// What a call came to.
pub type Outcome = Result<Value, Failure>;

fn outcome<T: Serialize>(result: Result<T, Error>) -> Outcome {
    match result {
        Ok(value) => serde_json::to_value(value).map_err(|e| Failure {
            kind: "harness".into(),
            status: None,
            transport: None,
            retryable: false,
            may_have_reached_server: false,
            field: None,
            message: Some(e.to_string()),
        }),
        Err(e) => Err(Failure::from(&e)),
    }
}

/// Runs calls through some client.
pub trait Engine {
    /// Makes one call.
    fn call(&self, call: &Call) -> Outcome;
}

impl<T: Transport, C: Clock> Engine for SnapshotsClient<T, C> {
    fn call(&self, call: &Call) -> Outcome {
        outcome(SnapshotsClient::call(self, call.clone()))
    }
}

/// An async client with the runtime that drives it.
pub struct AsyncEngine<T, C> {
    runtime: tokio::runtime::Runtime,
    client: AsyncSnapshotsClient<T, C>,
}

impl<T: AsyncTransport, C: AsyncClock> AsyncEngine<T, C> {
    /// Wraps `client` with a current-thread runtime.
    pub fn new(client: AsyncSnapshotsClient<T, C>) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        match runtime {
            Ok(runtime) => AsyncEngine { runtime, client },
            Err(e) => panic!("no tokio runtime: {e}"),
        }
    }
}

impl<T, C> AsyncEngine<T, C> {
    /// Runs what `f` makes of the client to completion on the engine's runtime.
    pub fn block_on<'a, F, Fut>(&'a self, f: F) -> Fut::Output
    where
        F: FnOnce(&'a AsyncSnapshotsClient<T, C>) -> Fut,
        Fut: std::future::Future,
    {
        self.runtime.block_on(f(&self.client))
    }
}

impl<T: AsyncTransport, C: AsyncClock> Engine for AsyncEngine<T, C> {
    fn call(&self, call: &Call) -> Outcome {
        outcome(self.runtime.block_on(self.client.call(call.clone())))
    }
}

/// Calls driven by hand through [`Call::machine`], as an embedder's event loop
/// would: no client, no drive loop of the core, a transport and a virtual clock.
pub struct ByHand<T> {
    config: Config,
    transport: T,
    clock: VirtualClock,
}

impl<T: Transport> ByHand<T> {
    /// Drives machines over `transport`, waiting on `clock`.
    pub fn new(config: Config, transport: T, clock: VirtualClock) -> Self {
        ByHand {
            config,
            transport,
            clock,
        }
    }
}

impl<T: Transport> Engine for ByHand<T> {
    fn call(&self, call: &Call) -> Outcome {
        use leap0_core::machine::{Action, Machine};
        let mut machine = call.clone().machine(&self.config);
        let result = loop {
            let now = self.clock.now();
            match machine.poll(now) {
                Action::Send(attempt) => {
                    // Polling while the answer is outstanding changes nothing.
                    assert!(matches!(machine.poll(now), Action::Awaiting));
                    match self.transport.send(attempt.request, attempt.timeout) {
                        Ok(response) => machine.handle_response(self.clock.now(), response),
                        Err(error) => machine.handle_transport_error(self.clock.now(), error),
                    }
                }
                Action::WaitUntil(deadline) => self.clock.advance_to(deadline),
                Action::Awaiting => panic!("awaiting with nothing in flight"),
                Action::Done(result) => break result,
            }
        };
        outcome(result)
    }
}

/// Runs `scenario` by hand through [`Call::machine`] over ureq, on a fresh
/// emulator and a virtual clock.
pub fn run_by_hand(scenario: &Scenario) -> Run {
    let emulator = emulator();
    let config = scenario.config(&emulator.base_url());
    let clock = VirtualClock::new();
    let engine = ByHand::new(config, UreqTransport::new(), clock.clone());
    run_steps(scenario, &engine, Some(&emulator), &clock)
}

/// The transports a scenario runs through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// leap0-ureq, blocking.
    Ureq,
    /// leap0-hyper, async on tokio.
    Hyper,
}

impl Via {
    /// Both transports.
    pub const ALL: [Via; 2] = [Via::Ureq, Via::Hyper];

    /// A short lowercase name, as used in fixture file names.
    pub fn name(self) -> &'static str {
        match self {
            Via::Ureq => "ureq",
            Via::Hyper => "hyper",
        }
    }

    /// Makes `call` through a fresh client of this transport, on a virtual clock.
    pub fn call(self, config: Config, call: Call) -> Result<CallOutput, Error> {
        match self {
            Via::Ureq => {
                SnapshotsClient::new(config, UreqTransport::new(), VirtualClock::new()).call(call)
            }
            Via::Hyper => AsyncEngine::new(AsyncSnapshotsClient::new(
                config,
                HyperTransport::new(),
                VirtualClock::new(),
            ))
            .block_on(|client| client.call(call)),
        }
    }
}

/// What one run of a scenario produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    /// Each step's name and outcome.
    pub outcomes: Vec<(String, Outcome)>,
    /// `METHOD target` of each request the emulator saw, in order.
    pub requests: Vec<String>,
    /// How far the virtual clock moved (waits, backoff, Retry-After).
    pub waited: Duration,
}

impl Run {
    /// The outcome of the step called `name`.
    pub fn outcome(&self, name: &str) -> &Outcome {
        match self.outcomes.iter().find(|(n, _)| n == name) {
            Some((_, outcome)) => outcome,
            None => panic!("no step {name}"),
        }
    }

    /// How many requests the emulator saw for `METHOD target-prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.requests
            .iter()
            .filter(|r| r.starts_with(prefix))
            .count()
    }
}

/// A fresh emulator for one run.
pub fn emulator() -> Emulator {
    match Emulator::start_with(EmulatorConfig::default().api_key(API_KEY)) {
        Ok(emulator) => emulator,
        Err(e) => panic!("the emulator did not start: {e}"),
    }
}

/// Runs `scenario`'s steps through `engine`; faults go to `emulator` when there
/// is one (a replay has none: its faults are in the cassette).
pub fn run_steps(
    scenario: &Scenario,
    engine: &dyn Engine,
    emulator: Option<&Emulator>,
    clock: &VirtualClock,
) -> Run {
    let mut outcomes = Vec::new();
    for step in &scenario.steps {
        if let Some(emulator) = emulator {
            for rule in &step.faults {
                emulator.inject(rule.clone());
            }
        }
        outcomes.push((step.name.to_owned(), engine.call(&step.call)));
    }
    let requests = emulator.map_or_else(Vec::new, |emulator| {
        emulator
            .requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.target))
            .collect()
    });
    Run {
        outcomes,
        requests,
        waited: Clock::now(clock).since_origin(),
    }
}

/// Runs `scenario` with a blocking client over `transport`.
fn blocking<T: Transport>(
    scenario: &Scenario,
    config: Config,
    transport: T,
    clock: &VirtualClock,
    emulator: Option<&Emulator>,
) -> Run {
    let client = SnapshotsClient::new(config, transport, clock.clone());
    run_steps(scenario, &client, emulator, clock)
}

/// Runs `scenario` with an async client over `transport`.
fn asynchronous<T: AsyncTransport>(
    scenario: &Scenario,
    config: Config,
    transport: T,
    clock: &VirtualClock,
    emulator: Option<&Emulator>,
) -> Run {
    let engine = AsyncEngine::new(AsyncSnapshotsClient::new(config, transport, clock.clone()));
    run_steps(scenario, &engine, emulator, clock)
}

/// Runs `scenario` through one transport on a fresh emulator, on a virtual clock
/// (so Retry-After and polling take no real time).
pub fn run(scenario: &Scenario, via: Via) -> Run {
    let emulator = emulator();
    let config = scenario.config(&emulator.base_url());
    let clock = VirtualClock::new();
    match via {
        Via::Ureq => blocking(
            scenario,
            config,
            UreqTransport::new(),
            &clock,
            Some(&emulator),
        ),
        Via::Hyper => asynchronous(
            scenario,
            config,
            HyperTransport::new(),
            &clock,
            Some(&emulator),
        ),
    }
}

/// Runs `scenario` through one transport on a fresh emulator while recording
/// the traffic into the cassette at `path`.
pub fn record(scenario: &Scenario, via: Via, path: &Path) -> Result<Run, CassetteError> {
    let emulator = emulator();
    let config = scenario.config(&emulator.base_url());
    let clock = VirtualClock::new();
    let options = RecordOptions::new().config(&config).secret(API_KEY);
    let (run, recorder_saved) = match via {
        Via::Ureq => {
            let recorder = Recorder::new(UreqTransport::new(), options);
            let run = blocking(scenario, config, recorder.clone(), &clock, Some(&emulator));
            (run, recorder.save(path))
        }
        Via::Hyper => {
            let recorder = Recorder::new(HyperTransport::new(), options);
            let run = asynchronous(scenario, config, recorder.clone(), &clock, Some(&emulator));
            (run, recorder.save(path))
        }
    };
    recorder_saved.map(|()| run)
}

/// Replays `scenario` from the cassette at `path` through one kind of client,
/// with no server, and checks that every recorded interaction was used.
pub fn replay(scenario: &Scenario, via: Via, path: &Path) -> Result<Run, ReplayError> {
    // Latency is not simulated, so the virtual time waited is comparable with a
    // live run's (which only counts backoff, Retry-After and polling).
    let replayer = Replayer::from_file(path, ReplayOptions::default().simulate_latency(false))?;
    let config = scenario.config("http://127.0.0.1:9");
    let clock = replayer.clock();
    let run = match via {
        Via::Ureq => blocking(scenario, config, replayer.clone(), &clock, None),
        Via::Hyper => asynchronous(scenario, config, replayer.clone(), &clock, None),
    };
    replayer.finish()?;
    Ok(run)
}

/// Runs `scenario` through ureq and hyper, and by hand through
/// [`Call::machine`], asserts that all three agree (outcomes, the requests the
/// emulator saw, virtual time waited), and returns the (common) run.
pub fn run_both(scenario: &Scenario) -> Run {
    let ureq = run(scenario, Via::Ureq);
    let hyper = run(scenario, Via::Hyper);
    let by_hand = run_by_hand(scenario);
    assert_eq!(
        by_hand, ureq,
        "{}: the machines driven by hand and the clients disagree",
        scenario.name
    );
    assert_eq!(
        ureq.outcomes, hyper.outcomes,
        "{}: ureq and hyper disagree",
        scenario.name
    );
    assert_eq!(
        ureq.requests, hyper.requests,
        "{}: the emulator saw different requests",
        scenario.name
    );
    assert_eq!(
        ureq.waited, hyper.waited,
        "{}: different waits",
        scenario.name
    );
    ureq
}
