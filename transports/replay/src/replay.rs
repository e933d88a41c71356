//! Replaying: a transport that answers from a cassette.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use leap0_core::{
    AsyncTransport, Operation, Request, Response, Transport, TransportError, TransportErrorKind,
    VirtualClock,
};

use crate::cassette::{Cassette, CassetteError, RecordedResponse, body_bytes};
use crate::normalize::{Compare, Difference, Redactor, Shape, VOLATILE, differences, distance};
use crate::session::RECORD_ENV;

/// What to do when a request matches only recorded interactions that were all
/// used already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Exhausted {
    /// Fail with a mismatch (the client sent it more often than when recording).
    #[default]
    Fail,
    /// Answer with the last matching recorded interaction again.
    RepeatLast,
}

/// How a [`Replayer`] matches live requests to recorded ones.
///
/// Method and path always count (paths compared segment by segment,
/// percent-decoded). By default the query (as a list of decoded parameters, in
/// order) and the body (JSON semantically: key order and whitespace do not
/// matter; anything else byte for byte) count too; headers do not, except those
/// listed in `match_headers`. `authorization`, `x-api-key`, `proxy-authorization`,
/// `cookie`, `user-agent`, `leap0-sdk-version` and every header redacted when
/// recording never count.
///
/// ```
/// use leap0_replay::{Exhausted, ReplayOptions};
///
/// let options = ReplayOptions::default()
///     .strict_order(true)
///     .on_exhausted(Exhausted::RepeatLast)
///     .match_header("content-type");
/// assert!(options.simulate_latency);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplayOptions {
    /// Compare bodies (default true).
    pub match_body: bool,
    /// Compare query parameters (default true).
    pub match_query: bool,
    /// Headers to compare (default none).
    pub match_headers: Vec<String>,
    /// Requests must come in exactly the recorded order (default false: each
    /// request takes the first unused recorded answer for the same request).
    pub strict_order: bool,
    /// What to do when a request's recorded answers are used up (default `Fail`).
    pub on_exhausted: Exhausted,
    /// Let [`Replayer::finish`] pass although some interactions were not used
    /// (default false).
    pub allow_unused: bool,
    /// Advance the virtual clock by each replayed interaction's recorded latency
    /// (default true).
    pub simulate_latency: bool,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            match_body: true,
            match_query: true,
            match_headers: Vec::new(),
            strict_order: false,
            on_exhausted: Exhausted::Fail,
            allow_unused: false,
            simulate_latency: true,
        }
    }
}

impl ReplayOptions {
    /// Sets [`match_body`](Self::match_body).
    pub fn match_body(mut self, on: bool) -> Self {
        self.match_body = on;
        self
    }

    /// Sets [`match_query`](Self::match_query).
    pub fn match_query(mut self, on: bool) -> Self {
        self.match_query = on;
        self
    }

    /// Adds a header to [`match_headers`](Self::match_headers).
    pub fn match_header(mut self, name: impl Into<String>) -> Self {
        self.match_headers.push(name.into());
        self
    }

    /// Sets [`strict_order`](Self::strict_order).
    pub fn strict_order(mut self, on: bool) -> Self {
        self.strict_order = on;
        self
    }

    /// Sets [`on_exhausted`](Self::on_exhausted).
    pub fn on_exhausted(mut self, what: Exhausted) -> Self {
        self.on_exhausted = what;
        self
    }

    /// Sets [`allow_unused`](Self::allow_unused).
    pub fn allow_unused(mut self, on: bool) -> Self {
        self.allow_unused = on;
        self
    }

    /// Sets [`simulate_latency`](Self::simulate_latency).
    pub fn simulate_latency(mut self, on: bool) -> Self {
        self.simulate_latency = on;
        self
    }
}

/// A [`Transport`] and [`AsyncTransport`] that answers from a [`Cassette`], with
/// no network and no waiting.
///
/// Give clients its [`clock`](Self::clock): a [`VirtualClock`] that only moves
/// when the client waits (and, with `simulate_latency`, by each interaction's
/// recorded latency), so retries, `Retry-After` and polling replay instantly.
///
/// A request that matches nothing fails with a [`TransportError`] of kind
/// `Other` (not sent, not retried) whose message is the full [`Mismatch`] report;
/// the typed reports stay available from [`mismatches`](Self::mismatches).
///
/// Clones share one state. `Debug` shows no recorded data.
#[derive(Clone)]
pub struct Replayer {
    shared: Arc<Shared>,
}

struct Shared {
    path: Option<PathBuf>,
    options: ReplayOptions,
    cassette: Cassette,
    shapes: Vec<Shape>,
    redactor: Redactor,
    compare: Compare,
    clock: VirtualClock,
    state: Mutex<State>,
}

struct State {
    used: Vec<bool>,
    mismatches: Vec<Mismatch>,
}

impl fmt::Debug for Replayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Replayer")
            .field("cassette", &self.shared.path)
            .field("interactions", &state.used.len())
            .field("used", &state.used.iter().filter(|u| **u).count())
            .field("mismatches", &state.mismatches.len())
            .field("options", &self.shared.options)
            .finish()
    }
}

enum Pick {
    Use(usize),
    NoMatch { expected_next: Option<usize> },
}

impl Replayer {
    /// Replays `cassette`.
    pub fn new(cassette: Cassette, options: ReplayOptions) -> Replayer {
        Replayer::build(cassette, options, None)
    }

    /// Loads and replays the cassette at `path` (named in every message).
    pub fn from_file(
        path: impl AsRef<Path>,
        options: ReplayOptions,
    ) -> Result<Replayer, CassetteError> {
        let path = path.as_ref();
        let cassette = Cassette::load(path)?;
        Ok(Replayer::build(cassette, options, Some(path.to_owned())))
    }

    pub(crate) fn build(
        cassette: Cassette,
        options: ReplayOptions,
        path: Option<PathBuf>,
    ) -> Replayer {
        let redactor = Redactor::new(&cassette.meta.redact, &[]);
        let headers = options
            .match_headers
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !VOLATILE.contains(&h.as_str()) && !redactor.is_redacted_header(h))
            .collect();
        let compare = Compare {
            query: options.match_query,
            body: options.match_body,
            headers,
        };
        let shapes = cassette
            .interactions
            .iter()
            .map(|x| Shape::of_recorded(&x.request))
            .collect::<Vec<_>>();
        let used = vec![false; shapes.len()];
        Replayer {
            shared: Arc::new(Shared {
                path,
                options,
                cassette,
                shapes,
                redactor,
                compare,
                clock: VirtualClock::new(),
                state: Mutex::new(State {
                    used,
                    mismatches: Vec::new(),
                }),
            }),
        }
    }

    /// The clock clients must use with this replayer. Clones share its timeline.
    pub fn clock(&self) -> VirtualClock {
        self.shared.clock.clone()
    }

    /// The cassette being replayed.
    pub fn cassette(&self) -> &Cassette {
        &self.shared.cassette
    }

    /// The cassette file, if it was loaded from one.
    pub fn path(&self) -> Option<&Path> {
        self.shared.path.as_deref()
    }

    /// The options it replays with.
    pub fn options(&self) -> &ReplayOptions {
        &self.shared.options
    }

    /// Every request so far that matched nothing, oldest first.
    pub fn mismatches(&self) -> Vec<Mismatch> {
        self.lock().mismatches.clone()
    }

    /// The indexes of the interactions not used so far.
    pub fn unused(&self) -> Vec<usize> {
        let state = self.lock();
        (0..state.used.len()).filter(|&i| !state.used[i]).collect()
    }

    /// Checks that every recorded interaction was used (unless
    /// [`ReplayOptions::allow_unused`]): fewer requests than when recording
    /// usually means the code under test changed.
    pub fn finish(&self) -> Result<(), ReplayError> {
        let unused = self.unused();
        if unused.is_empty() || self.shared.options.allow_unused {
            return Ok(());
        }
        let interactions = unused
            .into_iter()
            .filter_map(|index| {
                let x = self.shared.cassette.interactions.get(index)?;
                Some(UnusedInteraction {
                    index,
                    operation: x.operation,
                    method: x.request.method.clone(),
                    target: x.request.target.clone(),
                })
            })
            .collect();
        Err(ReplayError::Unused {
            cassette: self.shared.path.clone(),
            interactions,
        })
    }

    /// Answers one request from the cassette: what [`Transport::send`] does.
    pub fn replay(&self, request: &Request) -> Result<Response, TransportError> {
        let live = self.live_shape(request);
        let mut state = self.lock();
        match self.pick(&live, &state.used, self.shared.options.on_exhausted) {
            Pick::Use(index) => {
                mark_used(&mut state.used, index);
                drop(state);
                self.deliver(index)
            }
            Pick::NoMatch { expected_next } => {
                let mismatch = self.mismatch(&live, &state.used, expected_next);
                let message = mismatch.to_string();
                state.mismatches.push(mismatch);
                Err(TransportError::new(
                    TransportErrorKind::Other,
                    false,
                    message,
                ))
            }
        }
    }

    /// Answers from the cassette if a recorded interaction is left for this
    /// request; `None` (and no mismatch noted) otherwise.
    pub(crate) fn try_replay(&self, request: &Request) -> Option<Result<Response, TransportError>> {
        let live = self.live_shape(request);
        let mut state = self.lock();
        match self.pick(&live, &state.used, self.shared.options.on_exhausted) {
            Pick::Use(index) => {
                mark_used(&mut state.used, index);
                drop(state);
                Some(self.deliver(index))
            }
            Pick::NoMatch { .. } => None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn live_shape(&self, request: &Request) -> Shape {
        let redactor = &self.shared.redactor;
        let target = request.uri().path_and_query().map_or_else(
            || request.uri().path().to_owned(),
            |pq| pq.as_str().to_owned(),
        );
        let target = redactor.target(if target.is_empty() { "/" } else { &target });
        Shape::new(
            request.method().as_str(),
            &target,
            redactor.headers(request.headers()),
            redactor.body_form(request.body()),
        )
    }

    fn pick(&self, live: &Shape, used: &[bool], exhausted: Exhausted) -> Pick {
        let compare = &self.shared.compare;
        let matching: Vec<usize> = self
            .shared
            .shapes
            .iter()
            .enumerate()
            .filter(|(_, recorded)| differences(recorded, live, compare).is_empty())
            .map(|(i, _)| i)
            .collect();
        let is_used = |i: usize| used.get(i).copied().unwrap_or(true);
        let next_unused = (0..used.len()).find(|&i| !is_used(i));
        if self.shared.options.strict_order {
            if let Some(next) = next_unused.filter(|n| matching.contains(n)) {
                return Pick::Use(next);
            }
        } else if let Some(&index) = matching.iter().find(|&&i| !is_used(i)) {
            return Pick::Use(index);
        }
        let all_used = matching.iter().all(|&i| is_used(i));
        if let (Exhausted::RepeatLast, Some(&last), true) = (exhausted, matching.last(), all_used) {
            return Pick::Use(last);
        }
        Pick::NoMatch {
            expected_next: next_unused.filter(|_| self.shared.options.strict_order),
        }
    }

    fn deliver(&self, index: usize) -> Result<Response, TransportError> {
        let Some(interaction) = self.shared.cassette.interactions.get(index) else {
            return Err(unreplayable(index, "it does not exist"));
        };
        if self.shared.options.simulate_latency {
            self.shared
                .clock
                .advance(Duration::from_millis(interaction.latency_ms));
        }
        match (&interaction.response, &interaction.failure) {
            (_, Some(failure)) => Err(failure.clone()),
            (Some(response), None) => {
                build_response(response).map_err(|reason| unreplayable(index, &reason))
            }
            (None, None) => Err(unreplayable(
                index,
                "it has neither a response nor a failure",
            )),
        }
    }

    fn candidate(&self, index: usize, live: &Shape, used: &[bool]) -> Option<(usize, Candidate)> {
        let recorded = self.shared.shapes.get(index)?;
        let interaction = self.shared.cassette.interactions.get(index)?;
        let differences = differences(recorded, live, &self.shared.compare);
        let score = distance(recorded, live, &differences);
        Some((
            score,
            Candidate {
                index,
                operation: interaction.operation,
                method: interaction.request.method.clone(),
                target: interaction.request.target.clone(),
                differences,
                used: used.get(index).copied().unwrap_or(false),
            },
        ))
    }

    fn mismatch(&self, live: &Shape, used: &[bool], expected_next: Option<usize>) -> Mismatch {
        let mut ranked: Vec<(usize, Candidate)> = (0..self.shared.shapes.len())
            .filter_map(|i| self.candidate(i, live, used))
            .collect();
        ranked.sort_by_key(|(score, c)| (*score, c.used, c.index));
        let candidates = ranked.into_iter().take(3).map(|(_, c)| c).collect();
        let expected_next = expected_next
            .and_then(|i| self.candidate(i, live, used))
            .map(|(_, c)| c);
        Mismatch {
            cassette: self.shared.path.clone(),
            method: live.method.clone(),
            target: live.target.clone(),
            body: live.body.summary(),
            interactions: self.shared.shapes.len(),
            candidates,
            expected_next,
            hint: hint(self.shared.path.as_deref()),
        }
    }
}

fn mark_used(used: &mut [bool], index: usize) {
    if let Some(slot) = used.get_mut(index) {
        *slot = true;
    }
}

fn unreplayable(index: usize, reason: &str) -> TransportError {
    TransportError::new(
        TransportErrorKind::Other,
        false,
        format!("leap0-replay: recorded interaction #{index} cannot be replayed: {reason}"),
    )
}

fn build_response(recorded: &RecordedResponse) -> Result<Response, String> {
    let mut builder = http::Response::builder().status(recorded.status);
    for (name, value) in &recorded.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let body = body_bytes(recorded.body.as_ref())?;
    builder.body(body).map_err(|e| e.to_string())
}

fn hint(path: Option<&Path>) -> String {
    let delete = match path {
        Some(path) => format!("delete {}", path.display()),
        None => "delete the cassette".to_owned(),
    };
    format!(
        "re-record with {RECORD_ENV}=missing (add what is missing) or {RECORD_ENV}=all, or {delete}"
    )
}

/// A recorded interaction close to a request that matched nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Its position in the cassette (0-based).
    pub index: usize,
    /// Its operation, if recognised.
    pub operation: Option<Operation>,
    /// Its recorded method.
    pub method: String,
    /// Its recorded target.
    pub target: String,
    /// How the live request differs from it (empty: the same request).
    pub differences: Vec<Difference>,
    /// Whether its answer was already used.
    pub used: bool,
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {} {} {} ({})",
            self.index,
            self.operation.map_or("unknown operation", Operation::name),
            self.method,
            self.target,
            if self.used { "already used" } else { "unused" }
        )?;
        if self.differences.is_empty() {
            if self.used {
                write!(f, "\n      same request, but its answer was already used")?;
            } else {
                write!(f, "\n      same request")?;
            }
        }
        for difference in &self.differences {
            write!(f, "\n      {difference}")?;
        }
        Ok(())
    }
}

/// Why a request could not be answered from the cassette. Its `Display` is the
/// message of the [`TransportError`] the replayer returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The cassette file, if the replayer was loaded from one.
    pub cassette: Option<PathBuf>,
    /// The request's method.
    pub method: String,
    /// The request's target (path and query, redacted as when recording).
    pub target: String,
    /// A summary of the request's body.
    pub body: String,
    /// How many interactions the cassette holds.
    pub interactions: usize,
    /// The closest recorded interactions, best first (at most 3).
    pub candidates: Vec<Candidate>,
    /// With `strict_order`: the interaction that should have come next.
    pub expected_next: Option<Candidate>,
    /// How to fix the cassette.
    pub hint: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let request = format!("{} {} ({})", self.method, self.target, self.body);
        let exhausted = self
            .candidates
            .first()
            .is_some_and(|c| c.differences.is_empty());
        if let Some(next) = &self.expected_next {
            write!(
                f,
                "leap0-replay: request out of order (strict_order): the client sent {request}, but the next recorded request is #{}",
                next.index
            )?;
        } else if exhausted {
            write!(
                f,
                "leap0-replay: {request} was sent more often than when recording: every matching recorded interaction was already used"
            )?;
        } else if self.interactions == 0 {
            write!(
                f,
                "leap0-replay: no recorded interaction matches {request}: the cassette is empty"
            )?;
        } else {
            write!(f, "leap0-replay: no recorded interaction matches {request}")?;
        }
        match &self.cassette {
            Some(path) => write!(f, "\n  cassette: {}", path.display())?,
            None => write!(f, "\n  cassette: (in memory)")?,
        }
        if let Some(next) = &self.expected_next {
            write!(f, "\n  next recorded request:\n    {next}")?;
        }
        if !self.candidates.is_empty() {
            write!(f, "\n  closest recorded requests, best first:")?;
            for candidate in &self.candidates {
                write!(f, "\n    {candidate}")?;
            }
        }
        write!(f, "\n  {}", self.hint)
    }
}

/// A recorded interaction the replay did not use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusedInteraction {
    /// Its position in the cassette (0-based).
    pub index: usize,
    /// Its operation, if recognised.
    pub operation: Option<Operation>,
    /// Its method.
    pub method: String,
    /// Its target.
    pub target: String,
}

impl fmt::Display for UnusedInteraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {} {} {}",
            self.index,
            self.operation.map_or("unknown operation", Operation::name),
            self.method,
            self.target
        )
    }
}

/// Why a replay or recording session could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The cassette could not be read, checked or written.
    #[error(transparent)]
    Cassette(#[from] CassetteError),
    /// Some recorded interactions were never asked for.
    #[error("{}", unused_message(cassette.as_deref(), interactions))]
    Unused {
        /// The cassette file, if any.
        cassette: Option<PathBuf>,
        /// The interactions not used, in recorded order.
        interactions: Vec<UnusedInteraction>,
    },
    /// Replaying was asked for, but there is no cassette file.
    #[error(
        "leap0-replay: cassette {} does not exist; record it by running the test with {RECORD_ENV}=missing (or {RECORD_ENV}=all)",
        path.display()
    )]
    MissingCassette {
        /// The cassette file that does not exist.
        path: PathBuf,
    },
}

fn unused_message(cassette: Option<&Path>, interactions: &[UnusedInteraction]) -> String {
    let mut text = format!(
        "leap0-replay: {} recorded interaction(s) were never requested",
        interactions.len()
    );
    if let Some(path) = cassette {
        text.push_str(&format!(" (cassette {})", path.display()));
    }
    text.push(':');
    for x in interactions {
        text.push_str(&format!("\n  {x}"));
    }
    text.push_str(&format!(
        "\n  the code under test made fewer requests than when recording; re-record with {RECORD_ENV}=all, or set ReplayOptions::allow_unused"
    ));
    text
}

impl Transport for Replayer {
    fn send(&self, request: Request, _timeout: Duration) -> Result<Response, TransportError> {
        self.replay(&request)
    }
}

impl AsyncTransport for Replayer {
    fn send(
        &self,
        request: Request,
        _timeout: Duration,
    ) -> impl Future<Output = Result<Response, TransportError>> + Send {
        std::future::ready(self.replay(&request))
    }
}
