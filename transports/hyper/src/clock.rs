//! A tokio [`AsyncClock`] for asynchronous drivers.

use std::future::Future;

use leap0_core::Timestamp;
use leap0_core::transport::AsyncClock;
use tokio::time::Instant;

/// An [`AsyncClock`] on tokio's clock.
///
/// Its timeline starts at construction: [`now`](AsyncClock::now) is the time elapsed
/// since then, and [`sleep_until`](AsyncClock::sleep_until) waits with
/// [`tokio::time::sleep_until`]. Because it reads tokio's clock, tests that pause
/// tokio time (`tokio::time::pause`) move it too. Copies share the same origin.
///
/// `sleep_until` must be awaited inside a tokio runtime with the time driver enabled.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: Instant,
}

impl TokioClock {
    /// A clock whose timeline starts now.
    pub fn new() -> Self {
        TokioClock {
            origin: Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        TokioClock::new()
    }
}

impl AsyncClock for TokioClock {
    fn entropy(&self) -> Option<u64> {
        Some(leap0_clock::os_entropy())
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_origin(Instant::now().saturating_duration_since(self.origin))
    }

    // A promise beyond the trait's: this future is `Send`, so calls can be spawned.
    #[allow(refining_impl_trait)]
    fn sleep_until(&self, deadline: Timestamp) -> impl Future<Output = ()> + Send {
        let target = self.origin.checked_add(deadline.since_origin());
        async move {
            match target {
                Some(target) => tokio::time::sleep_until(target).await,
                // Past the end of the representable timeline: a deadline that never comes.
                None => std::future::pending().await,
            }
        }
    }
}
