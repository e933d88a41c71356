//! [`VirtualClock`]: time that only moves when someone waits.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{AsyncClock, Clock};
use crate::time::Timestamp;

/// A clock that only moves when someone waits on it: waiting jumps straight to the
/// deadline. Tests and the replayer use it so that minutes of backoff and polling
/// take no real time. Clones share one timeline.
///
/// Do not pair it with a real network: backoff would not wait at all, and a
/// sandbox wait would time out after a handful of polls. Real drivers use a real
/// clock (`leap0_clock::SystemClock`, `leap0_hyper::TokioClock`, or their own).
#[derive(Debug, Clone, Default)]
pub struct VirtualClock {
    nanos: Arc<AtomicU64>,
}

impl VirtualClock {
    /// A clock standing at [`Timestamp::ZERO`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by` (used to simulate latency).
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update cannot fail with a closure that always returns Some.
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(by))
            });
    }

    /// Moves the clock to `deadline` if it is in the future; never moves it back.
    pub fn advance_to(&self, deadline: Timestamp) {
        let target = u64::try_from(deadline.since_origin().as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_max(target, Ordering::SeqCst);
    }

    /// The current point on the timeline.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_origin(Duration::from_nanos(self.nanos.load(Ordering::SeqCst)))
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Timestamp {
        VirtualClock::now(self)
    }

    fn sleep_until(&self, deadline: Timestamp) {
        self.advance_to(deadline);
    }
}

impl AsyncClock for VirtualClock {
    fn now(&self) -> Timestamp {
        VirtualClock::now(self)
    }

    fn sleep_until(&self, deadline: Timestamp) -> impl Future<Output = ()> {
        self.advance_to(deadline);
        std::future::ready(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_jumps_to_deadlines_and_never_goes_back() {
        let clock = VirtualClock::new();
        let later = Timestamp::from_origin(Duration::from_secs(90));
        Clock::sleep_until(&clock, later);
        assert_eq!(clock.now(), later);
        Clock::sleep_until(&clock, Timestamp::from_origin(Duration::from_secs(1)));
        assert_eq!(clock.now(), later);
        clock.clone().advance(Duration::from_millis(250));
        assert_eq!(
            clock.now(),
            later + Duration::from_millis(250),
            "clones share one timeline"
        );
    }
}
