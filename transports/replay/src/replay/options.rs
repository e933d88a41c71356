//! How a replayer matches live requests to recorded ones, and what it does when
//! they run out.

use std::sync::Arc;
use std::time::Duration;

use leap0_core::transport::{Request, Response};

use crate::rules::{Hooks, Ignored, RequestView, RuleError};

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

/// How a [`Replayer`](super::Replayer) matches live requests to recorded ones.
///
/// Method and path always count (paths compared segment by segment,
/// percent-decoded). By default the query (as a list of decoded parameters, in
/// order) and the body (JSON semantically: key order and whitespace do not
/// matter; anything else byte for byte) count too; headers do not, except those
/// listed in `match_headers`. `user-agent`, `leap0-sdk-version`, every
/// sensitive header (the one rule of
/// [`is_sensitive_header`](leap0_core::transport::is_sensitive_header)) and every
/// header redacted when recording never count. Fields can be left out with
/// [`ignore`](Self::ignore), and a test can bring its own
/// [`matcher`](Self::matcher) and hooks.
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
    /// Let [`Replayer::finish`](super::Replayer::finish) pass although some
    /// interactions were not used (default false).
    pub allow_unused: bool,
    /// Advance the virtual clock by each replayed interaction's recorded latency
    /// (default true).
    pub simulate_latency: bool,
    /// How a mismatch report says to fix the cassette (default: re-record
    /// with `LEAP0_RECORD=missing` or `all`, or delete the file). A program
    /// with its own way to re-record (a command-line flag) names it here.
    pub rerecord_hint: Option<String>,
    /// Refuse a cassette recorded longer ago than this, or of unknown age
    /// (default `None`: any age).
    pub max_age: Option<Duration>,
    /// Fields left out of matching (see [`ignore`](Self::ignore)).
    pub(crate) ignored: Ignored,
    /// A matcher and hooks of the test's own.
    pub(crate) hooks: Hooks,
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
            max_age: None,
            ignored: Ignored::default(),
            hooks: Hooks::default(),
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

    /// Sets [`max_age`](Self::max_age): loading an older cassette fails with
    /// [`CassetteError::Stale`](crate::CassetteError::Stale), naming its age;
    /// it is never re-recorded on its own.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Leaves a field out of matching, in recorded and live requests alike:
    /// `body.PATH` (a JSON body's field: `body.name`,
    /// `body.network_policy.transforms[*].inject_headers`, `body.items[0]`) or
    /// `query.NAME` (a query parameter). A miss still reports the closest
    /// recorded requests, with the differences that remain.
    ///
    /// ```
    /// let options = leap0_replay::ReplayOptions::default()
    ///     .ignore("body.name")?
    ///     .ignore("query.page")?;
    /// assert!(leap0_replay::ReplayOptions::default().ignore("name").is_err());
    /// # Ok::<(), leap0_replay::RuleError>(())
    /// ```
    pub fn ignore(mut self, rule: &str) -> Result<Self, RuleError> {
        self.ignored.add(rule)?;
        Ok(self)
    }

    /// Decides matches with `matcher(recorded, live)` instead of comparing
    /// query, body and headers: each request takes the first unused recorded
    /// request with the same method for which it returns `true` (a scan, not
    /// an index lookup). Ignore rules and redaction apply first; a miss still
    /// reports the closest recorded requests.
    pub fn matcher(
        mut self,
        matcher: impl Fn(RequestView<'_>, RequestView<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.hooks.matcher = Some(Arc::new(matcher));
        self
    }

    /// Changes each live request before it is matched (for a value the test
    /// cannot fix, such as a generated name).
    pub fn before_match(mut self, hook: impl Fn(&mut Request) + Send + Sync + 'static) -> Self {
        self.hooks.before_match = Some(Arc::new(hook));
        self
    }

    /// Changes each replayed answer before the client gets it.
    pub fn before_playback(mut self, hook: impl Fn(&mut Response) + Send + Sync + 'static) -> Self {
        self.hooks.before_playback = Some(Arc::new(hook));
        self
    }
}
