//! The emulator's clocks: [`EmulatorClock`], which says how much time has passed (for
//! [`EmulatorConfig::ready_after`](crate::EmulatorConfig::ready_after)), and the virtual
//! clock that stamps `created_at` deterministically.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, UNIX_EPOCH};

/// Where the emulator reads the time from: the one place it does.
///
/// The server reads it once per request and hands that reading to the in-memory model,
/// which never reads a clock itself. [`system`](Self::system) (the default) follows real
/// time; [`manual`](Self::manual) stands still until [`advance`](Self::advance)d, so a
/// test can step over [`ready_after`](crate::EmulatorConfig::ready_after) without sleeping:
///
/// ```
/// use std::time::Duration;
/// use leap0_emulator::{EmulatorClock, EmulatorConfig};
///
/// let clock = EmulatorClock::manual();
/// let config = EmulatorConfig::default()
///     .ready_after(Duration::from_secs(30))
///     .clock(clock.clone());
/// // ... start an emulator with `config`, create a sandbox, then:
/// clock.advance(Duration::from_secs(30));
/// assert_eq!(clock.now(), Duration::from_secs(30));
/// # let _ = config;
/// ```
///
/// Clones share one time: advancing a clone advances them all. Two clocks are equal when
/// both are the system clock, or when they are clones of one manual clock.
#[derive(Debug, Clone, Default)]
pub struct EmulatorClock(Source);

#[derive(Debug, Clone, Default)]
enum Source {
    #[default]
    System,
    /// Nanoseconds since the clock was made.
    Manual(Arc<AtomicU64>),
}

impl EmulatorClock {
    /// Real time (monotonic).
    pub fn system() -> Self {
        Self(Source::System)
    }

    /// A clock at zero that moves only when [`advance`](Self::advance)d.
    pub fn manual() -> Self {
        Self(Source::Manual(Arc::new(AtomicU64::new(0))))
    }

    /// The time since this clock's origin: for the system clock, the first reading of any
    /// system clock in this process; for a manual clock, the sum of its advances.
    pub fn now(&self) -> Duration {
        match &self.0 {
            Source::System => {
                static ORIGIN: OnceLock<Instant> = OnceLock::new();
                ORIGIN.get_or_init(Instant::now).elapsed()
            }
            Source::Manual(nanos) => Duration::from_nanos(nanos.load(Ordering::SeqCst)),
        }
    }

    /// Moves a manual clock (and its clones) forward by `by`, saturating after about 584
    /// years. Real time cannot be moved: on the system clock this does nothing.
    pub fn advance(&self, by: Duration) {
        if let Source::Manual(nanos) = &self.0 {
            let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
            let _ = nanos.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(by))
            });
        }
    }
}

impl PartialEq for EmulatorClock {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Source::System, Source::System) => true,
            (Source::Manual(a), Source::Manual(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for EmulatorClock {}

/// Unix time of 2025-01-15T10:30:00Z, the first tick of the virtual clock.
pub(crate) const START_UNIX: i64 = 1_736_937_000;

/// Unix time given to seed sandboxes: half an hour before the clock starts, so that the
/// first object created through the API is stamped exactly `2025-01-15T10:30:00Z`.
pub(crate) const SEED_UNIX: i64 = START_UNIX - 1_800;

/// A clock that advances one second per created object.
#[derive(Debug, Clone)]
pub(crate) struct VirtualClock {
    next: i64,
}

impl VirtualClock {
    /// A clock whose first tick is [`START_UNIX`].
    pub(crate) fn new() -> Self {
        Self { next: START_UNIX }
    }

    /// The current virtual time, formatted, then advances by one second.
    pub(crate) fn tick(&mut self) -> String {
        let now = self.next;
        self.next += 1;
        format_rfc3339(now)
    }
}

/// Formats Unix seconds (at or after 1970) as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn format_rfc3339(unix: i64) -> String {
    let since_epoch = Duration::from_secs(u64::try_from(unix).unwrap_or(0));
    humantime::format_rfc3339_seconds(UNIX_EPOCH + since_epoch).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(START_UNIX), "2025-01-15T10:30:00Z");
        assert_eq!(format_rfc3339(SEED_UNIX), "2025-01-15T10:00:00Z");
        assert_eq!(format_rfc3339(951_825_599), "2000-02-29T11:59:59Z");
        assert_eq!(format_rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
    }

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_clones_share_it() {
        let clock = EmulatorClock::manual();
        let clone = clock.clone();
        assert_eq!(clock.now(), Duration::ZERO);
        clone.advance(Duration::from_millis(1500));
        assert_eq!(clock.now(), Duration::from_millis(1500));
        clock.advance(Duration::MAX);
        assert_eq!(clone.now(), Duration::from_nanos(u64::MAX));
        assert_eq!(clock, clone);
        assert_ne!(clock, EmulatorClock::manual());
        assert_ne!(clock, EmulatorClock::system());
        assert_eq!(EmulatorClock::default(), EmulatorClock::system());
    }

    #[test]
    fn ticks_one_second_per_object() {
        let mut clock = VirtualClock::new();
        assert_eq!(clock.tick(), "2025-01-15T10:30:00Z");
        assert_eq!(clock.tick(), "2025-01-15T10:30:01Z");
        for _ in 0..58 {
            clock.tick();
        }
        assert_eq!(clock.tick(), "2025-01-15T10:31:00Z");
    }
}
