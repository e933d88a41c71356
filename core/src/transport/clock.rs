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
/// # One timeline, or one per call
///
/// [`VirtualClock::new`] is one timeline for everything: a wait anywhere moves
/// it for everyone, and a test may [`advance`](Self::advance) it to simulate
/// time passing. That is exact for calls made one after another, but not for
/// calls in flight together: one call's backoff would jump the time under
/// another's wait and age its deadlines.
///
/// [`VirtualClock::per_call`] (the replayer's clock) gives each call a timeline
/// of its own through [`Clock::call_timeline`]: it starts where the furthest
/// call so far has reached, moves only by that call's own waits and by the
/// [`Elapsed`](super::Elapsed) time its transport reports, and pushes the shared
/// clock forward as it goes. Concurrent calls, on any executor or thread, then
/// wait exactly as they would have live, whatever order they run in. Moving
/// the shared clock by hand does not reach calls already running.
///
/// Do not pair either with a real network: backoff would not wait at all, and a
/// sandbox wait would time out after a handful of polls. Real drivers use a real
/// clock (`leap0_clock::SystemClock`, `leap0_hyper::TokioClock`, or their own).
///
/// ```
/// use std::time::Duration;
/// use leap0_core::Timestamp;
/// use leap0_core::transport::{Clock, VirtualClock};
///
/// let shared = VirtualClock::per_call();
/// let (a, b) = (shared.call_timeline().unwrap(), shared.call_timeline().unwrap());
/// a.advance_to(Timestamp::ZERO + Duration::from_secs(3)); // a's backoff...
/// assert_eq!(b.now(), Timestamp::ZERO); // ...does not age b's deadlines
/// assert_eq!(Clock::now(&shared), Timestamp::ZERO + Duration::from_secs(3));
/// ```
#[derive(Debug, Clone, Default)]
pub struct VirtualClock {
    nanos: Arc<AtomicU64>,
    /// Per-call mode: hand each call a timeline of its own.
    per_call: bool,
    /// On a call's own timeline: the shared clock it pushes forward.
    shared: Option<Arc<AtomicU64>>,
}

impl VirtualClock {
    /// One timeline, standing at [`Timestamp::ZERO`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock standing at [`Timestamp::ZERO`] that gives each call a timeline
    /// of its own (see the type's docs).
    pub fn per_call() -> Self {
        VirtualClock {
            per_call: true,
            ..Self::default()
        }
    }

    /// Whether this clock gives each call a timeline of its own.
    pub fn is_per_call(&self) -> bool {
        self.per_call
    }

    /// A new timeline for one call, starting at this clock's time and pushing
    /// it forward as it moves.
    pub fn timeline(&self) -> VirtualClock {
        VirtualClock {
            nanos: Arc::new(AtomicU64::new(self.nanos.load(Ordering::SeqCst))),
            per_call: false,
            shared: Some(self.nanos.clone()),
        }
    }

    /// Moves the clock forward by `by` (used to simulate latency).
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update cannot fail with a closure that always returns Some.
        let previous = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(by))
            })
            .unwrap_or_default();
        self.push_shared(previous.saturating_add(by));
    }

    /// Moves the clock to `deadline` if it is in the future; never moves it back.
    pub fn advance_to(&self, deadline: Timestamp) {
        let target = u64::try_from(deadline.since_origin().as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_max(target, Ordering::SeqCst);
        self.push_shared(target);
    }

    /// The current point on the timeline.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_origin(Duration::from_nanos(self.nanos.load(Ordering::SeqCst)))
    }

    fn push_shared(&self, nanos: u64) {
        if let Some(shared) = &self.shared {
            shared.fetch_max(nanos, Ordering::SeqCst);
        }
    }

    fn own_timeline(&self) -> Option<VirtualClock> {
        self.per_call.then(|| self.timeline())
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Timestamp {
        VirtualClock::now(self)
    }

    fn sleep_until(&self, deadline: Timestamp) {
        self.advance_to(deadline);
    }

    fn call_timeline(&self) -> Option<VirtualClock> {
        self.own_timeline()
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

    fn call_timeline(&self) -> Option<VirtualClock> {
        self.own_timeline()
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
        assert!(Clock::call_timeline(&clock).is_none());
    }

    #[test]
    fn per_call_timelines_start_at_the_furthest_point_and_push_it() {
        let shared = VirtualClock::per_call();
        let a = Clock::call_timeline(&shared).unwrap_or_default();
        let b = AsyncClock::call_timeline(&shared).unwrap_or_default();
        a.advance(Duration::from_secs(3));
        b.advance_to(Timestamp::from_origin(Duration::from_secs(1)));
        assert_eq!(a.now(), Timestamp::from_origin(Duration::from_secs(3)));
        assert_eq!(b.now(), Timestamp::from_origin(Duration::from_secs(1)));
        assert_eq!(shared.now(), Timestamp::from_origin(Duration::from_secs(3)));
        // A call starting now starts where the furthest call got to.
        let c = shared.timeline();
        assert_eq!(c.now(), Timestamp::from_origin(Duration::from_secs(3)));
        assert!(!c.is_per_call(), "a call's timeline does not fork again");
    }
}
