//! Configuration of an [`Emulator`](crate::Emulator).

use std::fmt;
use std::time::Duration;

use crate::clock::EmulatorClock;

/// The default of [`EmulatorConfig::max_logged_requests`].
pub const DEFAULT_MAX_LOGGED_REQUESTS: usize = 10_000;

/// How an [`Emulator`](crate::Emulator) behaves.
///
/// Every field is public; the same-named methods are chainable setters:
///
/// ```
/// use std::time::Duration;
/// use leap0_emulator::EmulatorConfig;
///
/// let config = EmulatorConfig::default()
///     .api_key("secret")
///     .ready_after_reads(0)
///     .ready_after(Duration::from_millis(50))
///     .max_active_sandboxes(Some(3));
/// assert_eq!(config.port, 0);
/// ```
///
/// `Debug` never shows the API key.
#[derive(Clone, PartialEq, Eq)]
pub struct EmulatorConfig {
    /// The API key that `/v1` routes accept. Default `"test-key"`.
    pub api_key: String,
    /// The header that carries the key, matched case-insensitively. Default
    /// `"authorization"`. Its value may be `Bearer <key>` (`Bearer` in any case) or the bare
    /// key.
    pub auth_header: String,
    /// The loopback port to bind; `0` (the default) picks a free one.
    pub port: u16,
    /// How many status reads (`GET /v1/sandbox/{id}/`) of a `starting` sandbox answer
    /// `starting` before it turns `running`. Default 2.
    pub ready_after_reads: u32,
    /// How long after its start a sandbox must have existed, on top of
    /// [`ready_after_reads`](Self::ready_after_reads), before it turns `running`, as told by
    /// [`clock`](Self::clock). Default 0.
    pub ready_after: Duration,
    /// Where the emulator reads the time for [`ready_after`](Self::ready_after). Default
    /// [`EmulatorClock::system`]; give an [`EmulatorClock::manual`] to step time in tests.
    pub clock: EmulatorClock,
    /// Ids of sandboxes that exist, `running`, from the start. Default `["sb-seed-1"]`.
    ///
    /// Each has template `tpl-base`, 2 vCPU, 2048 MiB memory, 10240 MiB disk, timeout 300,
    /// no network policy, and `created_at` `2025-01-15T10:00:00Z` (seeds do not advance the
    /// virtual clock). Generated ids skip any seed id they would collide with.
    pub seed_sandboxes: Vec<String>,
    /// How many sandboxes may be active (`starting` or `running`; not `paused`, `stopped`
    /// nor `deleted`) at once; `None` (the default) means no limit.
    pub max_active_sandboxes: Option<usize>,
    /// How many requests the request log keeps: past that, the oldest are dropped (and
    /// counted, see [`Emulator::dropped_requests`](crate::Emulator::dropped_requests)), so
    /// a long soak runs in bounded memory. Default [`DEFAULT_MAX_LOGGED_REQUESTS`] (10 000).
    pub max_logged_requests: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            api_key: "test-key".to_owned(),
            auth_header: "authorization".to_owned(),
            port: 0,
            ready_after_reads: 2,
            ready_after: Duration::ZERO,
            clock: EmulatorClock::system(),
            seed_sandboxes: vec!["sb-seed-1".to_owned()],
            max_active_sandboxes: None,
            max_logged_requests: DEFAULT_MAX_LOGGED_REQUESTS,
        }
    }
}

impl fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("api_key", &leap0_core::transport::REDACTED)
            .field("auth_header", &self.auth_header)
            .field("port", &self.port)
            .field("ready_after_reads", &self.ready_after_reads)
            .field("ready_after", &self.ready_after)
            .field("clock", &self.clock)
            .field("seed_sandboxes", &self.seed_sandboxes)
            .field("max_active_sandboxes", &self.max_active_sandboxes)
            .field("max_logged_requests", &self.max_logged_requests)
            .finish()
    }
}

impl EmulatorConfig {
    /// Sets [`api_key`](Self::api_key).
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = key.into();
        self
    }

    /// Sets [`auth_header`](Self::auth_header).
    #[must_use]
    pub fn auth_header(mut self, name: impl Into<String>) -> Self {
        self.auth_header = name.into();
        self
    }

    /// Sets [`port`](Self::port).
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Sets [`ready_after_reads`](Self::ready_after_reads).
    #[must_use]
    pub fn ready_after_reads(mut self, reads: u32) -> Self {
        self.ready_after_reads = reads;
        self
    }

    /// Sets [`ready_after`](Self::ready_after).
    #[must_use]
    pub fn ready_after(mut self, delay: Duration) -> Self {
        self.ready_after = delay;
        self
    }

    /// Sets [`clock`](Self::clock).
    #[must_use]
    pub fn clock(mut self, clock: EmulatorClock) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces [`seed_sandboxes`](Self::seed_sandboxes).
    #[must_use]
    pub fn seed_sandboxes<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.seed_sandboxes = ids.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`max_active_sandboxes`](Self::max_active_sandboxes).
    #[must_use]
    pub fn max_active_sandboxes(mut self, limit: Option<usize>) -> Self {
        self.max_active_sandboxes = limit;
        self
    }

    /// Sets [`max_logged_requests`](Self::max_logged_requests).
    #[must_use]
    pub fn max_logged_requests(mut self, max: usize) -> Self {
        self.max_logged_requests = max;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let config = EmulatorConfig::default().api_key("super-secret-value");
        let shown = format!("{config:?}");
        assert!(!shown.contains("super-secret-value"));
        assert!(shown.contains("<redacted>"));
    }
}
