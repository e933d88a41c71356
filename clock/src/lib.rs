//! # leap0-clock
//!
//! A real [`Clock`] for [`leap0_core`], with nothing but `std`: for a
//! transport of your own, or an event loop that drives machines itself.
//!
//! [`SystemClock`] maps the monotonic system clock onto the core's
//! [`Timestamp`] timeline, which starts when the clock is made. Its
//! [`sleep_until`](Clock::sleep_until) blocks the thread; an event loop instead
//! turns a machine's deadline back into an [`Instant`] with
//! [`SystemClock::instant`] and hands it to its own timer.
//!
//! ```
//! use std::time::Duration;
//! use leap0_clock::SystemClock;
//! use leap0_core::transport::Clock;
//!
//! let clock = SystemClock::new();
//! let deadline = clock.now() + Duration::from_millis(5);
//! clock.sleep_until(deadline);
//! assert!(clock.now() >= deadline);
//! assert!(clock.instant(deadline) <= std::time::Instant::now());
//! ```
//!
//! The core never reads a clock itself: this crate is where the reading
//! happens, so the core stays pure.
//!
//! ## Where it cannot run
//!
//! `SystemClock` is `std::time::Instant`, so it works wherever `Instant::now`
//! does: every native target, and `wasm32-wasip1` (WASI's monotonic clock).
//! On `wasm32-unknown-unknown`, as in a browser or any WASM host without WASI,
//! `Instant::now` panics ("time not implemented on this platform"), and so do
//! [`SystemClock::new`] and [`now`](Clock::now); [`sleep_until`](Clock::sleep_until)
//! would block a thread such a host usually does not have. There, do not use
//! this crate: the host supplies the time, as the core's design intends. It
//! passes its own monotonic milliseconds (`performance.now()`, say) to
//! `poll(now)` as a [`Timestamp`], and it owns the timers that
//! `WaitUntil` asks for. `examples/wasm-host` in the repository does exactly that.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use leap0_core::Timestamp;
use leap0_core::transport::Clock;

/// A [`Clock`] on the monotonic system clock.
///
/// Not for `wasm32-unknown-unknown`, where `Instant::now` panics: there the host
/// supplies the time (see the [crate docs](crate#where-it-cannot-run)).
///
/// Its timeline starts at construction: [`now`](Clock::now) is the time elapsed since
/// then, and [`sleep_until`](Clock::sleep_until) blocks the thread for the time left.
/// Copies share the same origin.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose timeline starts now.
    pub fn new() -> Self {
        SystemClock {
            origin: Instant::now(),
        }
    }

    /// The current point on this clock's timeline.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_origin(self.origin.elapsed())
    }

    /// The [`Instant`] of a point on this clock's timeline (for an event loop's
    /// timer); a point too far to represent is about a century away.
    pub fn instant(&self, at: Timestamp) -> Instant {
        self.origin
            .checked_add(at.since_origin())
            .unwrap_or_else(|| self.origin + Duration::from_secs(100 * 365 * 24 * 3600))
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        SystemClock::now(self)
    }

    fn sleep_until(&self, deadline: Timestamp) {
        let remaining = deadline.saturating_duration_since(SystemClock::now(self));
        if !remaining.is_zero() {
            std::thread::sleep(remaining);
        }
    }

    fn entropy(&self) -> Option<u64> {
        Some(os_entropy())
    }
}

/// 64 bits from the operating system's randomness, different on every call
/// and in every process (through std's `RandomState`, which the OS seeds): what
/// real clocks hand the clients for their retry jitter.
pub fn os_entropy() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_differs_from_call_to_call() {
        let draws: std::collections::HashSet<u64> = (0..100).map(|_| os_entropy()).collect();
        assert_eq!(draws.len(), 100);
        assert!(SystemClock::new().entropy().is_some());
    }

    #[test]
    fn sleeping_reaches_the_deadline_and_the_past_returns_at_once() {
        let clock = SystemClock::new();
        let start = clock.now();
        let deadline = start + Duration::from_millis(20);
        clock.sleep_until(deadline);
        assert!(clock.now() >= deadline);
        let before = Instant::now();
        clock.sleep_until(start);
        assert!(before.elapsed() < Duration::from_millis(20));
        let far = clock.instant(Timestamp::MAX);
        assert!(far > Instant::now());
    }
}
