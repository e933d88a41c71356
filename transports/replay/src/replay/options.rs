//! How a replayer matches live requests to recorded ones, and what it does when
//! they run out.

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
