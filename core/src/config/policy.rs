//! How patient a client is: retries, waits on sandbox states and the limits of
//! listing every page.

use std::time::Duration;

/// How failed attempts are retried. Plain data; see the crate docs for the rules.
///
/// ```
/// use std::time::Duration;
/// use leap0_core::RetryPolicy;
///
/// let mut policy = RetryPolicy::default();
/// policy.max_attempts = 6;
/// let policy = policy.with_backoff(Duration::from_millis(100), Duration::from_secs(5));
/// assert_eq!((policy.max_attempts, policy.max_backoff), (6, Duration::from_secs(5)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, including the first (1 disables retries).
    pub max_attempts: u32,
    /// Backoff before the second attempt; it doubles each time.
    pub initial_backoff: Duration,
    /// Cap on the computed backoff (a server's `Retry-After` may exceed it).
    pub max_backoff: Duration,
    /// Cap on the whole operation, all attempts and waits included.
    pub total_deadline: Option<Duration>,
    /// A pinned seed of the jitter: the same seed gives the same delays on
    /// every run. `None` (the default): each client seeds from the entropy
    /// its clock supplies ([`Clock::entropy`](crate::transport::Clock::entropy)),
    /// so that processes do not retry in lockstep. Either way each machine
    /// draws from its own stream.
    pub jitter_seed: Option<u64>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            total_deadline: Some(Duration::from_secs(15 * 60)),
            jitter_seed: None,
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retries.
    pub fn none() -> Self {
        RetryPolicy::default().with_max_attempts(1)
    }

    /// The same policy with `attempts` attempts in all (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The same policy with another first backoff and cap.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// The same policy with another total deadline (`None`: no deadline).
    pub fn with_total_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.total_deadline = deadline;
        self
    }

    /// The same policy with a pinned jitter seed: identical delays on every run.
    pub fn with_jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }
}

/// How a sandbox is polled while waiting for a state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitPolicy {
    /// Delay between two status polls.
    pub interval: Duration,
    /// Give up after this long.
    pub timeout: Duration,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        WaitPolicy {
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(5 * 60),
        }
    }
}

impl WaitPolicy {
    /// Polls every `interval`, for at most `timeout`.
    pub fn new(interval: Duration, timeout: Duration) -> Self {
        WaitPolicy { interval, timeout }
    }
}

/// How far listing every page may go before it stops with
/// [`Error::LimitReached`](crate::Error::LimitReached). A server that keeps
/// answering full pages, or reports an absurd `total_items`, cannot make a
/// client fetch or hold more than this.
///
/// The defaults (10 000 pages, 100 000 snapshots) are far above what an
/// organization holds today and keep a listing's memory below a few hundred MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PaginationLimits {
    /// Most pages fetched by one listing.
    pub max_pages: u64,
    /// Most items collected by one listing; a first page reporting a larger
    /// `total_items` stops the listing at once.
    pub max_items: u64,
}

impl Default for PaginationLimits {
    fn default() -> Self {
        PaginationLimits {
            max_pages: 10_000,
            max_items: 100_000,
        }
    }
}

impl PaginationLimits {
    /// At most `max_pages` pages and `max_items` items.
    pub fn new(max_pages: u64, max_items: u64) -> Self {
        PaginationLimits {
            max_pages,
            max_items,
        }
    }
}
