//! How old a cassette is, and a maximum age past which it must be recorded
//! again: `meta.recorded_at` read back.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::cassette::{Meta, Named, excerpt};
use crate::normalize::{quote, shown};
use crate::session::RECORD_ENV;

/// Why a cassette's age is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AgeError {
    /// `meta.recorded_at` is absent or empty.
    #[error("it has no meta.recorded_at")]
    Missing,
    /// `meta.recorded_at` is not an RFC 3339 time.
    #[error(
        "its meta.recorded_at {} is not an RFC 3339 time like 2025-01-15T10:30:00Z ({reason})",
        quote(recorded_at)
    )]
    Unparsable {
        /// The value as written.
        recorded_at: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A cassette older than the maximum age allowed, or whose age is unknown
/// (nothing then shows it to be young enough).
///
/// Its `Display` names the cassette, its age and the maximum, and says to
/// record it again: a stale cassette is never re-recorded on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stale {
    /// The cassette file, when it came from one.
    pub cassette: Option<PathBuf>,
    /// `meta.recorded_at` as written (empty when absent).
    pub recorded_at: String,
    /// How long ago it was recorded, or why that is not known.
    pub age: Result<Duration, AgeError>,
    /// The maximum age allowed.
    pub max_age: Duration,
}

impl Stale {
    /// The same report, naming the cassette file.
    pub fn in_file(mut self, path: impl Into<PathBuf>) -> Stale {
        self.cassette = Some(path.into());
        self
    }
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Named(&self.cassette);
        let max = format_exact(self.max_age);
        match &self.age {
            Ok(age) => write!(
                f,
                "{name} was recorded {} ago (at {}), longer ago than the maximum age of {max}",
                format_age(*age),
                shown(&excerpt(&self.recorded_at, 40)),
            )?,
            Err(unknown) => write!(
                f,
                "{name}: its age is unknown, so it cannot be shown to be younger than the maximum age of {max}: {unknown}"
            )?,
        }
        write!(
            f,
            "; record it again (with {RECORD_ENV}=all): it is never re-recorded on its own"
        )
    }
}

impl std::error::Error for Stale {}

/// How long before `now` the cassette was recorded, read from
/// `meta.recorded_at` (RFC 3339; a time after `now` counts as no age at all).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use leap0_replay::{AgeError, Cassette, cassette_age};
///
/// let mut cassette = Cassette::new();
/// cassette.meta.recorded_at = "2025-01-15T10:30:00Z".into();
/// let now = UNIX_EPOCH + Duration::from_secs(1_736_937_000 + 3 * 86_400);
/// assert_eq!(cassette_age(&cassette.meta, now), Ok(Duration::from_secs(3 * 86_400)));
/// cassette.meta.recorded_at.clear();
/// assert_eq!(cassette_age(&cassette.meta, now), Err(AgeError::Missing));
/// ```
pub fn cassette_age(meta: &Meta, now: SystemTime) -> Result<Duration, AgeError> {
    let text = meta.recorded_at.trim();
    if text.is_empty() {
        return Err(AgeError::Missing);
    }
    let recorded = humantime::parse_rfc3339(text)
        .or_else(|strict| humantime::parse_rfc3339_weak(text).map_err(|_| strict))
        .map_err(|e| AgeError::Unparsable {
            recorded_at: excerpt(&meta.recorded_at, 60).into_owned(),
            reason: e.to_string(),
        })?;
    Ok(now.duration_since(recorded).unwrap_or(Duration::ZERO))
}

/// The max-age policy: `Some` report when the cassette was recorded more than
/// `max_age` before `now`, or when its age is unknown (`meta.recorded_at`
/// absent or unreadable); `None` when it is young enough.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use leap0_replay::{Cassette, check_age};
///
/// let mut cassette = Cassette::new();
/// cassette.meta.recorded_at = "2025-01-15T10:30:00Z".into();
/// let now = UNIX_EPOCH + Duration::from_secs(1_736_937_000 + 100 * 86_400);
/// let ninety_days = Duration::from_secs(90 * 86_400);
/// let stale = check_age(&cassette.meta, ninety_days, now).expect("too old");
/// assert_eq!(stale.age, Ok(Duration::from_secs(100 * 86_400)));
/// assert!(stale.to_string().contains("was recorded 100 days ago"));
/// assert!(check_age(&cassette.meta, 2 * ninety_days, now).is_none());
/// ```
pub fn check_age(meta: &Meta, max_age: Duration, now: SystemTime) -> Option<Stale> {
    let age = cassette_age(meta, now);
    if matches!(age, Ok(age) if age <= max_age) {
        return None;
    }
    Some(Stale {
        cassette: None,
        recorded_at: meta.recorded_at.clone(),
        age,
        max_age,
    })
}

/// What a replayer with a maximum age does on loading a cassette: refuses it
/// when [`check_age`] finds it stale as of now. Nothing is re-recorded.
pub(crate) fn refuse_stale(
    meta: &Meta,
    max_age: Option<Duration>,
    path: Option<&Path>,
) -> Result<(), Box<Stale>> {
    let Some(max_age) = max_age else {
        return Ok(());
    };
    match check_age(meta, max_age, SystemTime::now()) {
        None => Ok(()),
        Some(stale) => Err(Box::new(match path {
            Some(path) => stale.in_file(path),
            None => stale,
        })),
    }
}

/// An age in the largest whole unit that keeps it readable: `412 days`,
/// `5 hours`, `3 minutes`, `40 seconds`.
pub(crate) fn format_age(age: Duration) -> String {
    let secs = age.as_secs();
    let (n, unit) = match secs {
        s if s >= 2 * 86_400 => (s / 86_400, "day"),
        s if s >= 2 * 3_600 => (s / 3_600, "hour"),
        s if s >= 2 * 60 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// A duration in whole days, hours, minutes and seconds, as a maximum is
/// typed: `90 days`, `1 day 12 hours`, `45 seconds` (milliseconds only when
/// under a second).
pub(crate) fn format_exact(span: Duration) -> String {
    let secs = span.as_secs();
    if secs == 0 {
        return format!("{} ms", span.as_millis());
    }
    let parts = [
        (secs / 86_400, "day"),
        (secs % 86_400 / 3_600, "hour"),
        (secs % 3_600 / 60, "minute"),
        (secs % 60, "second"),
    ];
    let words: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}{}", if *n == 1 { "" } else { "s" }))
        .collect();
    words.join(" ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::time::UNIX_EPOCH;

    const DAY: u64 = 86_400;
    /// 2025-01-15T10:30:00Z.
    const RECORDED: u64 = 1_736_937_000;

    fn meta(recorded_at: &str) -> Meta {
        Meta {
            recorded_at: recorded_at.to_owned(),
            ..Meta::default()
        }
    }

    fn days_later(days: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(RECORDED + days * DAY)
    }

    #[test]
    fn an_old_cassette_is_stale_and_says_how_old() {
        let stale = check_age(
            &meta("2025-01-15T10:30:00Z"),
            Duration::from_secs(90 * DAY),
            days_later(412),
        )
        .unwrap()
        .in_file("tests/cassettes/list.json");
        assert_eq!(stale.age, Ok(Duration::from_secs(412 * DAY)));
        assert_eq!(
            stale.to_string(),
            "cassette tests/cassettes/list.json was recorded 412 days ago (at 2025-01-15T10:30:00Z), \
             longer ago than the maximum age of 90 days; record it again (with LEAP0_RECORD=all): \
             it is never re-recorded on its own"
        );
    }

    #[test]
    fn a_young_or_future_cassette_is_not() {
        let max = Duration::from_secs(90 * DAY);
        assert!(check_age(&meta("2025-01-15T10:30:00Z"), max, days_later(90)).is_none());
        assert!(check_age(&meta("2025-01-15T10:30:00Z"), max, days_later(0)).is_none());
        // Recorded "after" now (a clock set wrong): no age at all.
        let before = UNIX_EPOCH + Duration::from_secs(RECORDED - DAY);
        assert_eq!(
            cassette_age(&meta("2025-01-15T10:30:00Z"), before),
            Ok(Duration::ZERO)
        );
        // Fractions of seconds and the weak form are read too.
        assert_eq!(
            cassette_age(&meta("2025-01-15T10:30:00.250Z"), days_later(1)),
            Ok(Duration::from_millis(DAY * 1000 - 250))
        );
        assert_eq!(
            cassette_age(&meta("2025-01-15 10:30:00"), days_later(1)),
            Ok(Duration::from_secs(DAY))
        );
    }

    #[test]
    fn an_unknown_age_is_reported_not_a_crash() {
        let max = Duration::from_secs(DAY);
        let missing = check_age(&meta(" "), max, days_later(1)).unwrap();
        assert_eq!(missing.age, Err(AgeError::Missing));
        assert!(
            missing
                .to_string()
                .starts_with("cassette: its age is unknown"),
            "{missing}"
        );
        let garbled = check_age(&meta("last tuesday\u{1b}[2J"), max, days_later(1)).unwrap();
        let Err(AgeError::Unparsable { recorded_at, .. }) = &garbled.age else {
            panic!("{garbled:?}");
        };
        assert_eq!(recorded_at, "last tuesday\u{1b}[2J");
        let text = garbled.to_string();
        assert!(text.contains(r#""last tuesday\u001b[2J""#), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
    }

    #[test]
    fn refusing_needs_a_maximum() {
        let old = meta("2025-01-15T10:30:00Z");
        assert!(refuse_stale(&old, None, None).is_ok());
        let refused = refuse_stale(
            &old,
            Some(Duration::from_secs(DAY)),
            Some(Path::new("a.json")),
        )
        .unwrap_err();
        assert_eq!(refused.cassette.as_deref(), Some(Path::new("a.json")));
        assert!(
            refuse_stale(
                &meta(&crate::cassette::rfc3339(SystemTime::now())),
                Some(Duration::from_secs(DAY)),
                None
            )
            .is_ok()
        );
    }

    #[test]
    fn ages_read_in_whole_units() {
        assert_eq!(format_age(Duration::from_secs(412 * DAY + 5)), "412 days");
        assert_eq!(format_age(Duration::from_secs(DAY + 3_600)), "25 hours");
        assert_eq!(format_age(Duration::from_secs(61)), "61 seconds");
        assert_eq!(format_age(Duration::from_secs(1)), "1 second");
        assert_eq!(format_age(Duration::from_secs(300)), "5 minutes");
        assert_eq!(format_exact(Duration::from_secs(90 * DAY)), "90 days");
        assert_eq!(
            format_exact(Duration::from_secs(DAY + 12 * 3_600 + 1)),
            "1 day 12 hours 1 second"
        );
        assert_eq!(format_exact(Duration::from_millis(500)), "500 ms");
    }
}
