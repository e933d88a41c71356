//! Replaying: a transport that answers from a cassette.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use leap0_core::Operation;
use leap0_core::transport::{
    AsyncTransport, Request, Response, Secrets, Transport, TransportError, TransportErrorKind,
    VirtualClock,
};

use crate::cassette::{Cassette, CassetteError, read};
use crate::index::{Index, key};
use crate::load::{Answer, Book};
use crate::normalize::{Compare, Difference, Redactor, Shape, VOLATILE, differences, shown};
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
    /// How a mismatch report says to fix the cassette (default: re-record
    /// with `LEAP0_RECORD=missing` or `all`, or delete the file). A program
    /// with its own way to re-record (a command-line flag) names it here.
    pub rerecord_hint: Option<String>,
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
            rerecord_hint: None,
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

    /// The lowercase names in [`match_headers`](Self::match_headers): the only
    /// request headers a loaded cassette needs to keep.
    pub(crate) fn header_names(&self) -> Vec<String> {
        self.match_headers
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect()
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

    /// Sets [`rerecord_hint`](Self::rerecord_hint).
    pub fn rerecord_hint(mut self, hint: impl Into<String>) -> Self {
        self.rerecord_hint = Some(hint.into());
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
/// Recorded requests are indexed by their match key, so a request finds its
/// answer in constant time whatever the cassette's size, and repeated requests
/// get their recorded answers in order.
///
/// A request that matches nothing fails with a [`TransportError`] of kind
/// `Other` (not sent, not retried) whose cause is [`ReplayError::Mismatch`]:
/// the report of the closest recorded requests and how they differ, as
/// `{:?}` of the client's error shows it. [`mismatches`](Self::mismatches)
/// keeps every report.
///
/// Clones share one state. `Debug` shows no recorded data.
#[derive(Clone)]
pub struct Replayer {
    shared: Arc<Shared>,
}

struct Shared {
    path: Option<PathBuf>,
    options: ReplayOptions,
    book: Book,
    index: Index,
    redactor: Redactor,
    compare: Compare,
    clock: VirtualClock,
    state: Mutex<State>,
}

struct State {
    used: Vec<bool>,
    /// Per key list: how many of its first entries are known to be used.
    cursors: Vec<usize>,
    /// No interaction before this one is unused.
    next_unused: usize,
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
    /// Replays `cassette` (checked first, as when loaded from a file).
    pub fn new(cassette: Cassette, options: ReplayOptions) -> Result<Replayer, CassetteError> {
        Ok(Replayer::build(
            Book::from_cassette(cassette, &options.header_names())?,
            options,
            None,
        ))
    }

    /// Loads and replays the cassette at `path` (named in every message), in
    /// one pass over the file.
    pub fn from_file(
        path: impl AsRef<Path>,
        options: ReplayOptions,
    ) -> Result<Replayer, CassetteError> {
        let path = path.as_ref();
        let bytes = read(path)?;
        let book = Book::from_bytes(&bytes, Some(path), &options.header_names())?;
        Ok(Replayer::build(book, options, Some(path.to_owned())))
    }

    /// Replays the cassette in `bytes` (the file format). Any input gives a
    /// replayer or an error, never a panic.
    pub fn from_slice(bytes: &[u8], options: ReplayOptions) -> Result<Replayer, CassetteError> {
        Ok(Replayer::build(
            Book::from_bytes(bytes, None, &options.header_names())?,
            options,
            None,
        ))
    }

    pub(crate) fn build(book: Book, options: ReplayOptions, path: Option<PathBuf>) -> Replayer {
        let redactor = Redactor::new(&book.meta.redact, &Secrets::new());
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
        let shapes = book.interactions.iter().map(|x| &x.request);
        let index = Index::new(shapes, &compare, &book.meta.redact);
        let state = State {
            used: vec![false; book.interactions.len()],
            cursors: vec![0; index.lists()],
            next_unused: 0,
            mismatches: Vec::new(),
        };
        Replayer {
            shared: Arc::new(Shared {
                path,
                options,
                book,
                index,
                redactor,
                compare,
                clock: VirtualClock::new(),
                state: Mutex::new(state),
            }),
        }
    }

    /// The clock clients must use with this replayer. Clones share its timeline.
    pub fn clock(&self) -> VirtualClock {
        self.shared.clock.clone()
    }

    /// How many interactions the cassette holds.
    pub fn len(&self) -> usize {
        self.shared.book.interactions.len()
    }

    /// Whether the cassette holds no interaction.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
                let x = self.shared.book.interactions.get(index)?;
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
        let live_key = key(&live, &self.shared.compare);
        let mut state = self.lock();
        match self.pick(&live, &live_key, &mut state) {
            Pick::Use(index) => self.deliver(index, &mut state),
            Pick::NoMatch { expected_next } => {
                let mismatch = self.mismatch(&live, &state.used, expected_next);
                let summary = mismatch.summary();
                state.mismatches.push(mismatch.clone());
                Err(
                    TransportError::new(TransportErrorKind::Other, false, summary)
                        .with_cause(ReplayError::Mismatch(Box::new(mismatch))),
                )
            }
        }
    }

    /// Answers from the cassette if a recorded interaction is left for this
    /// request; `None` (and no mismatch noted) otherwise.
    pub(crate) fn try_replay(&self, request: &Request) -> Option<Result<Response, TransportError>> {
        let live = self.live_shape(request);
        let live_key = key(&live, &self.shared.compare);
        let mut state = self.lock();
        match self.pick(&live, &live_key, &mut state) {
            Pick::Use(index) => Some(self.deliver(index, &mut state)),
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
        let headers = if self.shared.compare.headers.is_empty() {
            Default::default()
        } else {
            redactor.headers(request.headers())
        };
        Shape::new(
            request.method().as_str(),
            &target,
            headers,
            redactor.body_form(request.body()),
        )
    }

    fn pick(&self, live: &Shape, live_key: &str, state: &mut State) -> Pick {
        let shared = &self.shared;
        let index = &shared.index;
        while state.used.get(state.next_unused).copied().unwrap_or(false) {
            state.next_unused += 1;
        }
        let list = index.list_of(live_key);
        if shared.options.strict_order {
            let next = state.next_unused;
            let next_exists = next < state.used.len();
            if next_exists && index.matches(next, list.map(|(id, _)| id), live, &shared.compare) {
                return Pick::Use(next);
            }
            return Pick::NoMatch {
                expected_next: next_exists.then_some(next),
            };
        }
        // The first unused entry of the key's list, moving its cursor past used ones.
        let keyed = list.and_then(|(id, entries)| {
            let cursor = state.cursors.get_mut(id)?;
            while entries
                .get(*cursor)
                .is_some_and(|&i| state.used.get(i).copied().unwrap_or(true))
            {
                *cursor += 1;
            }
            entries.get(*cursor).copied()
        });
        let wild: Vec<usize> = index.wildcard_matches(live, &shared.compare).collect();
        let wild_unused = wild
            .iter()
            .copied()
            .find(|&i| !state.used.get(i).copied().unwrap_or(true));
        if let Some(first) = [keyed, wild_unused].into_iter().flatten().min() {
            return Pick::Use(first);
        }
        if shared.options.on_exhausted == Exhausted::RepeatLast {
            let last_keyed = list.and_then(|(_, entries)| entries.last().copied());
            if let Some(last) = [last_keyed, wild.last().copied()]
                .into_iter()
                .flatten()
                .max()
            {
                return Pick::Use(last);
            }
        }
        Pick::NoMatch {
            expected_next: None,
        }
    }

    fn deliver(&self, index: usize, state: &mut State) -> Result<Response, TransportError> {
        if let Some(slot) = state.used.get_mut(index) {
            *slot = true;
        }
        let Some(interaction) = self.shared.book.interactions.get(index) else {
            return Err(TransportError::new(
                TransportErrorKind::Other,
                false,
                format!("leap0-replay: recorded interaction #{index} does not exist"),
            ));
        };
        if self.shared.options.simulate_latency {
            self.shared
                .clock
                .advance(Duration::from_millis(interaction.latency_ms));
        }
        match &interaction.answer {
            Answer::Failure(failure) => Err(failure.clone()),
            Answer::Response {
                status,
                headers,
                body,
            } => {
                let mut response = http::Response::new(body.clone());
                *response.status_mut() = *status;
                let map = response.headers_mut();
                map.reserve(headers.len());
                for (name, value) in headers {
                    map.append(name.clone(), value.clone());
                }
                Ok(response)
            }
        }
    }

    fn candidate(&self, index: usize, live: &Shape, used: &[bool]) -> Option<(Rank, Candidate)> {
        let interaction = self.shared.book.interactions.get(index)?;
        let recorded = &interaction.request;
        let differences = differences(recorded, live, &self.shared.compare);
        let same_route = route_of(recorded) == route_of(live);
        let rank = Rank {
            other_method: recorded.method != live.method,
            other_route: !same_route,
            differences: differences.len(),
        };
        Some((
            rank,
            Candidate {
                index,
                operation: interaction.operation,
                method: recorded.method.clone(),
                target: recorded.target.clone(),
                differences,
                used: used.get(index).copied().unwrap_or(false),
            },
        ))
    }

    fn mismatch(&self, live: &Shape, used: &[bool], expected_next: Option<usize>) -> Mismatch {
        let mut ranked: Vec<(Rank, Candidate)> = (0..self.shared.book.interactions.len())
            .filter_map(|i| self.candidate(i, live, used))
            .collect();
        ranked.sort_by_key(|(rank, c)| (*rank, c.used, c.index));
        let candidates = ranked.into_iter().take(3).map(|(_, c)| c).collect();
        let expected_next = expected_next
            .and_then(|i| self.candidate(i, live, used))
            .map(|(_, c)| c);
        let hint = match &self.shared.options.rerecord_hint {
            Some(hint) => hint.clone(),
            None => default_hint(self.shared.path.as_deref()),
        };
        Mismatch {
            cassette: self.shared.path.clone(),
            method: live.method.clone(),
            target: live.target.clone(),
            body: live.body.summary(),
            interactions: self.shared.book.interactions.len(),
            candidates,
            expected_next,
            hint,
        }
    }
}

/// How far a candidate is from the live request: another method first, then
/// another route, then the number of differing fields (smaller is closer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    other_method: bool,
    other_route: bool,
    differences: usize,
}

fn route_of(shape: &Shape) -> Option<Operation> {
    leap0_core::route::find(&shape.method, shape.raw_path()).map(|(route, _)| route.operation)
}

fn default_hint(path: Option<&Path>) -> String {
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
#[non_exhaustive]
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
            shown(&self.method),
            shown(&self.target),
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

/// Why a request could not be answered from the cassette: the request, the
/// closest recorded requests with their differences, and how to fix it. Its
/// `Display` is multi-line; text from the cassette is shown with control
/// characters escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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

impl Mismatch {
    /// The one-line summary the transport error carries.
    fn summary(&self) -> String {
        format!(
            "leap0-replay has no recorded answer for {} {} (the report of the closest recorded requests follows)",
            shown(&self.method),
            shown(&self.target)
        )
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let request = format!(
            "{} {} ({})",
            shown(&self.method),
            shown(&self.target),
            shown(&self.body)
        );
        let exhausted = self
            .candidates
            .first()
            .is_some_and(|c| c.differences.is_empty());
        if let Some(next) = &self.expected_next {
            write!(
                f,
                "request out of order (strict_order): the client sent {request}, but the next recorded request is #{}",
                next.index
            )?;
        } else if exhausted {
            write!(
                f,
                "{request} was sent more often than when recording: every matching recorded interaction was already used"
            )?;
        } else if self.interactions == 0 {
            write!(
                f,
                "no recorded interaction matches {request}: the cassette is empty"
            )?;
        } else {
            write!(f, "no recorded interaction matches {request}")?;
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
#[non_exhaustive]
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
            shown(&self.method),
            shown(&self.target)
        )
    }
}

/// Why a replay or recording session could not go on or finish.
///
/// `Debug` is the same multi-line text as `Display`, so a failed
/// `#[test] fn .. -> Result<..>` shows it as it is meant to be read.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The cassette could not be read, checked or written.
    #[error(transparent)]
    Cassette(#[from] CassetteError),
    /// A request matched no recorded interaction.
    #[error("leap0-replay: {0}")]
    Mismatch(Box<Mismatch>),
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

impl fmt::Debug for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl ReplayError {
    /// The replay error in `error` or its chain of causes, if any: how a test
    /// reaches the typed report behind a client's [`leap0_core::Error`].
    ///
    /// ```
    /// # use leap0_replay::{Cassette, ReplayError, ReplayOptions, Replayer};
    /// # let replayer = Replayer::new(Cassette::new(), ReplayOptions::default())?;
    /// # let config = leap0_core::Config::new("key")?;
    /// let client = leap0_core::SnapshotsClient::new(config, replayer.clone(), replayer.clock());
    /// let error = client.delete("snap-1").unwrap_err();
    /// let Some(ReplayError::Mismatch(report)) = ReplayError::find(&error) else { panic!("a report") };
    /// assert_eq!(report.target, "/v1/snapshot/snap-1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn find<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a ReplayError> {
        let mut current = Some(error);
        while let Some(e) = current {
            if let Some(found) = e.downcast_ref::<ReplayError>() {
                return Some(found);
            }
            current = e.source();
        }
        None
    }
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
    // A promise beyond the trait's: this future is `Send`.
    #[allow(refining_impl_trait)]
    fn send(
        &self,
        request: Request,
        _timeout: Duration,
    ) -> impl Future<Output = Result<Response, TransportError>> + Send {
        std::future::ready(self.replay(&request))
    }
}
