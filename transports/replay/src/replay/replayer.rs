//! The replayer: picks the recorded answer for each live request, and reports
//! the closest recorded requests when none is left.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use leap0_core::Operation;
use leap0_core::transport::{
    AsyncTransport, Elapsed, Request, Response, Secrets, Transport, TransportError,
    TransportErrorKind, VirtualClock,
};

use crate::cassette::{Cassette, CassetteError, read};
use crate::index::{Index, key};
use crate::load::{Answer, Book};
use crate::normalize::{Compare, Redactor, Shape, VOLATILE, differences};
use crate::session::RECORD_ENV;

use super::options::{Exhausted, ReplayOptions};
use super::report::{Candidate, Mismatch, ReplayError, UnusedInteraction};
use crate::age::refuse_stale;
use crate::rules::RequestView;

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
    /// Per key list: how many requests came after all its entries were used.
    beyond: Vec<usize>,
}

/// Where a live request stands in the queue of recorded interactions that
/// share its match key: what [`Replayer::queue_usage`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueUsage {
    /// How many recorded interactions share the request's key.
    pub recorded: usize,
    /// How many of them were used so far.
    pub used: usize,
    /// How many requests with this key found the queue used up (misses, or
    /// repeats with [`Exhausted::RepeatLast`]).
    pub beyond: usize,
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
        refuse_stale(&cassette.meta, options.max_age, None).map_err(CassetteError::Stale)?;
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
        refuse_stale(&book.meta, options.max_age, Some(path)).map_err(CassetteError::Stale)?;
        Ok(Replayer::build(book, options, Some(path.to_owned())))
    }

    /// Replays the cassette in `bytes` (the file format). Any input gives a
    /// replayer or an error, never a panic.
    pub fn from_slice(bytes: &[u8], options: ReplayOptions) -> Result<Replayer, CassetteError> {
        let book = Book::from_bytes(bytes, None, &options.header_names())?;
        refuse_stale(&book.meta, options.max_age, None).map_err(CassetteError::Stale)?;
        Ok(Replayer::build(book, options, None))
    }

    pub(crate) fn build(mut book: Book, options: ReplayOptions, path: Option<PathBuf>) -> Replayer {
        if !options.ignored.is_empty() {
            for x in &mut book.interactions {
                options.ignored.apply(&mut x.request);
            }
        }
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
            beyond: vec![0; index.lists()],
        };
        Replayer {
            shared: Arc::new(Shared {
                path,
                options,
                book,
                index,
                redactor,
                compare,
                clock: VirtualClock::per_call(),
                state: Mutex::new(state),
            }),
        }
    }

    /// The clock clients must use with this replayer: a
    /// [per-call](VirtualClock::per_call) virtual clock, so that calls in flight
    /// together each wait on a timeline of their own and replay exactly as they
    /// ran. Its time is the furthest any call has reached.
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

    /// Rewinds every queue: all interactions unused, no mismatch noted, as
    /// just after loading.
    pub fn reset(&self) {
        let mut state = self.lock();
        state.used.iter_mut().for_each(|u| *u = false);
        state.cursors.iter_mut().for_each(|c| *c = 0);
        state.beyond.iter_mut().for_each(|b| *b = 0);
        state.next_unused = 0;
        state.mismatches.clear();
    }

    /// How many recorded interactions share `request`'s match key (after
    /// redaction and ignore rules, as matching sees it) and how many of them
    /// were used: how a server reports "the 3rd `GET /v1/sandbox/{id}/`; the
    /// cassette holds 2". `None` when no recorded interaction has its key.
    pub fn queue_usage(&self, request: &Request) -> Option<QueueUsage> {
        let live = self.live_shape(request);
        let live_key = key(&live, &self.shared.compare);
        let (id, entries) = self.shared.index.list_of(&live_key)?;
        let state = self.lock();
        let used = entries
            .iter()
            .filter(|&&i| state.used.get(i).copied().unwrap_or(false))
            .count();
        Some(QueueUsage {
            recorded: entries.len(),
            used,
            beyond: state.beyond.get(id).copied().unwrap_or(0),
        })
    }

    /// Notes a request that came after its key's queue was used up.
    fn note_beyond(&self, live_key: &str, state: &mut State) {
        if let Some((id, entries)) = self.shared.index.list_of(live_key) {
            let exhausted = entries
                .iter()
                .all(|&i| state.used.get(i).copied().unwrap_or(false));
            if exhausted && let Some(count) = state.beyond.get_mut(id) {
                *count += 1;
            }
        }
    }

    /// Answers one request from the cassette: what [`Transport::send`] does.
    pub fn replay(&self, request: &Request) -> Result<Response, TransportError> {
        let live = self.live_shape(request);
        let live_key = key(&live, &self.shared.compare);
        let mut state = self.lock();
        self.note_beyond(&live_key, &mut state);
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
        match &self.shared.options.hooks.before_match {
            Some(hook) => {
                let mut changed = request.clone();
                hook(&mut changed);
                self.shape_of(&changed)
            }
            None => self.shape_of(request),
        }
    }

    /// A live request in comparable form: redacted, ignored fields left out.
    fn shape_of(&self, request: &Request) -> Shape {
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
        let mut shape = Shape::new(
            request.method().as_str(),
            &target,
            headers,
            redactor.body_form(request.body()),
        );
        self.shared.options.ignored.apply(&mut shape);
        shape
    }

    /// Whether interaction `i` answers `live`: by key, or by the custom matcher.
    fn answers(&self, i: usize, list: Option<usize>, live: &Shape) -> bool {
        let shared = &self.shared;
        match &shared.options.hooks.matcher {
            Some(matcher) => shared.book.interactions.get(i).is_some_and(|x| {
                x.request.method == live.method
                    && matcher(RequestView::new(&x.request), RequestView::new(live))
            }),
            None => shared.index.matches(i, list, live, &shared.compare),
        }
    }

    /// With a custom matcher: the first unused interaction it accepts, or
    /// when all are used and `RepeatLast` is asked for, the last one.
    fn pick_by_matcher(&self, live: &Shape, state: &State) -> Pick {
        let accepted = (0..state.used.len()).filter(|&i| self.answers(i, None, live));
        let mut last = None;
        for i in accepted {
            if !state.used.get(i).copied().unwrap_or(true) {
                return Pick::Use(i);
            }
            last = Some(i);
        }
        match last {
            Some(i) if self.shared.options.on_exhausted == Exhausted::RepeatLast => Pick::Use(i),
            _ => Pick::NoMatch {
                expected_next: None,
            },
        }
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
            if next_exists && self.answers(next, list.map(|(id, _)| id), live) {
                return Pick::Use(next);
            }
            return Pick::NoMatch {
                expected_next: next_exists.then_some(next),
            };
        }
        if shared.options.hooks.matcher.is_some() {
            return self.pick_by_matcher(live, state);
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
        // The recorded latency moves the shared clock (for a request sent
        // outside any call) and, through `Elapsed`, the timeline of the call
        // that sent it.
        // A zero latency moves nothing and needs no extension.
        let elapsed = (self.shared.options.simulate_latency && interaction.latency_ms > 0)
            .then(|| Duration::from_millis(interaction.latency_ms));
        if let Some(elapsed) = elapsed {
            self.shared.clock.advance(elapsed);
        }
        match &interaction.answer {
            Answer::Failure(failure) => Err(match elapsed {
                Some(elapsed) => failure.clone().with_elapsed(elapsed),
                None => failure.clone(),
            }),
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
                if let Some(elapsed) = elapsed {
                    response.extensions_mut().insert(Elapsed(elapsed));
                }
                if let Some(hook) = &self.shared.options.hooks.before_playback {
                    hook(&mut response);
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
