//! Time as a value: the core never reads a clock, it is told what time it is.

use std::ops::Add;
use std::time::Duration;

/// A point on a monotonic timeline, measured from an origin the driver chooses.
///
/// The core never asks for the current time: drivers pass a `Timestamp` to
/// [`Machine::poll`](crate::machine::Machine::poll) and friends, and machines answer with
/// deadlines expressed as `Timestamp`s. A real driver maps its own clock onto this
/// timeline (for example `Instant::now() - origin`); a test or a replayer moves a
/// [`VirtualClock`](crate::transport::VirtualClock) instead, so nothing ever sleeps.
///
/// Arithmetic saturates rather than panicking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(Duration);

impl Timestamp {
    /// The origin of the timeline.
    pub const ZERO: Timestamp = Timestamp(Duration::ZERO);
    /// The last representable point: a deadline that never comes.
    pub const MAX: Timestamp = Timestamp(Duration::MAX);

    /// The point `elapsed` after the origin.
    pub const fn from_origin(elapsed: Duration) -> Self {
        Timestamp(elapsed)
    }

    /// How far this point lies after the origin.
    pub const fn since_origin(self) -> Duration {
        self.0
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// `self + duration`, stopping at [`Timestamp::MAX`] instead of overflowing.
    pub fn saturating_add(self, duration: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(duration))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;

    fn add(self, rhs: Duration) -> Timestamp {
        self.saturating_add(rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        let t = Timestamp::MAX + Duration::from_secs(1);
        assert_eq!(t, Timestamp::MAX);
        let a = Timestamp::from_origin(Duration::from_secs(5));
        let b = Timestamp::from_origin(Duration::from_secs(7));
        assert_eq!(b.saturating_duration_since(a), Duration::from_secs(2));
        assert_eq!(a.saturating_duration_since(b), Duration::ZERO);
    }
}
