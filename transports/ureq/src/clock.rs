//! A wall-clock [`Clock`] for blocking drivers.

use std::time::Instant;

use leap0_core::{Clock, Timestamp};

/// A [`Clock`] on the monotonic system clock.
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
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_origin(self.origin.elapsed())
    }

    fn sleep_until(&self, deadline: Timestamp) {
        let remaining = deadline.saturating_duration_since(self.now());
        if !remaining.is_zero() {
            std::thread::sleep(remaining);
        }
    }
}
