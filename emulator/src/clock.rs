//! The emulator's virtual clock: deterministic RFC 3339 timestamps.

use std::time::{Duration, UNIX_EPOCH};

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
