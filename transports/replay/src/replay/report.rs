//! What a replay reports: a request that matched nothing (with the closest
//! recorded requests), recorded interactions never used, and the error that
//! carries them.

use std::error::Error as StdError;
use std::fmt;
use std::path::{Path, PathBuf};

use leap0_core::Operation;

use crate::cassette::CassetteError;
use crate::normalize::{Difference, shown};
use crate::session::RECORD_ENV;

/// A recorded interaction close to a request that matched nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Candidate {
    /// Its position in the cassette (0-based).
    pub index: usize,
    /// Its operation, if recognised.
    pub operation: Option<Operation>,
    /// Its recorded method.
    pub method: String,
    /// Its recorded target.
    pub target: String,
    /// How the live request differs from it (empty: the same request).
    pub differences: Vec<Difference>,
    /// Whether its answer was already used.
    pub used: bool,
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {} {} {} ({})",
            self.index,
            self.operation.map_or("unknown operation", Operation::name),
            shown(&self.method),
            shown(&self.target),
            if self.used { "already used" } else { "unused" }
        )?;
        if self.differences.is_empty() {
            if self.used {
                write!(f, "\n      same request, but its answer was already used")?;
            } else {
                write!(f, "\n      same request")?;
            }
        }
        for difference in &self.differences {
            write!(f, "\n      {difference}")?;
        }
        Ok(())
    }
}

/// Why a request could not be answered from the cassette: the request, the
/// closest recorded requests with their differences, and how to fix it. Its
/// `Display` is multi-line; text from the cassette is shown with control
/// characters escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mismatch {
    /// The cassette file, if the replayer was loaded from one.
    pub cassette: Option<PathBuf>,
    /// The request's method.
    pub method: String,
    /// The request's target (path and query, redacted as when recording).
    pub target: String,
    /// A summary of the request's body.
    pub body: String,
    /// How many interactions the cassette holds.
    pub interactions: usize,
    /// The closest recorded interactions, best first (at most 3).
    pub candidates: Vec<Candidate>,
    /// With `strict_order`: the interaction that should have come next.
    pub expected_next: Option<Candidate>,
    /// How to fix the cassette.
    pub hint: String,
}

impl Mismatch {
    /// The one-line summary the transport error carries.
    pub(super) fn summary(&self) -> String {
        format!(
            "leap0-replay has no recorded answer for {} {} (the report of the closest recorded requests follows)",
            shown(&self.method),
            shown(&self.target)
        )
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let request = format!(
            "{} {} ({})",
            shown(&self.method),
            shown(&self.target),
            shown(&self.body)
        );
        let exhausted = self
            .candidates
            .first()
            .is_some_and(|c| c.differences.is_empty());
        if let Some(next) = &self.expected_next {
            write!(
                f,
                "request out of order (strict_order): the client sent {request}, but the next recorded request is #{}",
                next.index
            )?;
        } else if exhausted {
            write!(
                f,
                "{request} was sent more often than when recording: every matching recorded interaction was already used"
            )?;
        } else if self.interactions == 0 {
            write!(
                f,
                "no recorded interaction matches {request}: the cassette is empty"
            )?;
        } else {
            write!(f, "no recorded interaction matches {request}")?;
        }
        match &self.cassette {
            Some(path) => write!(f, "\n  cassette: {}", path.display())?,
            None => write!(f, "\n  cassette: (in memory)")?,
        }
        if let Some(next) = &self.expected_next {
            write!(f, "\n  next recorded request:\n    {next}")?;
        }
        if !self.candidates.is_empty() {
            write!(f, "\n  closest recorded requests, best first:")?;
            for candidate in &self.candidates {
                write!(f, "\n    {candidate}")?;
            }
        }
        write!(f, "\n  {}", self.hint)
    }
}

/// A recorded interaction the replay did not use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnusedInteraction {
    /// Its position in the cassette (0-based).
    pub index: usize,
    /// Its operation, if recognised.
    pub operation: Option<Operation>,
    /// Its method.
    pub method: String,
    /// Its target.
    pub target: String,
}

impl fmt::Display for UnusedInteraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {} {} {}",
            self.index,
            self.operation.map_or("unknown operation", Operation::name),
            shown(&self.method),
            shown(&self.target)
        )
    }
}

/// Why a replay or recording session could not go on or finish.
///
/// `Debug` is the same multi-line text as `Display`, so a failed
/// `#[test] fn .. -> Result<..>` shows it as it is meant to be read.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The cassette could not be read, checked or written.
    #[error(transparent)]
    Cassette(#[from] CassetteError),
    /// A request matched no recorded interaction.
    #[error("leap0-replay: {0}")]
    Mismatch(Box<Mismatch>),
    /// Some recorded interactions were never asked for.
    #[error("{}", unused_message(cassette.as_deref(), interactions))]
    Unused {
        /// The cassette file, if any.
        cassette: Option<PathBuf>,
        /// The interactions not used, in recorded order.
        interactions: Vec<UnusedInteraction>,
    },
    /// Replaying was asked for, but there is no cassette file.
    #[error(
        "leap0-replay: cassette {} does not exist; record it by running the test with {RECORD_ENV}=missing (or {RECORD_ENV}=all)",
        path.display()
    )]
    MissingCassette {
        /// The cassette file that does not exist.
        path: PathBuf,
    },
    /// `LEAP0_RECORD` names no mode.
    #[error(transparent)]
    Mode(#[from] crate::ModeError),
}

impl fmt::Debug for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl ReplayError {
    /// The replay error in `error` or its chain of causes, if any: how a test
    /// reaches the typed report behind a client's [`leap0_core::Error`].
    ///
    /// ```
    /// # use leap0_replay::{Cassette, ReplayError, ReplayOptions, Replayer};
    /// # let replayer = Replayer::new(Cassette::new(), ReplayOptions::default())?;
    /// # let config = leap0_core::Config::new("key")?;
    /// let client = leap0_core::SnapshotsClient::new(config, replayer.clone(), replayer.clock());
    /// let error = client.delete("snap-1").unwrap_err();
    /// let Some(ReplayError::Mismatch(report)) = ReplayError::find(&error) else { panic!("a report") };
    /// assert_eq!(report.target, "/v1/snapshot/snap-1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn find<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a ReplayError> {
        let mut current = Some(error);
        while let Some(e) = current {
            if let Some(found) = e.downcast_ref::<ReplayError>() {
                return Some(found);
            }
            current = e.source();
        }
        None
    }
}

fn unused_message(cassette: Option<&Path>, interactions: &[UnusedInteraction]) -> String {
    let mut text = format!(
        "leap0-replay: {} recorded interaction(s) were never requested",
        interactions.len()
    );
    if let Some(path) = cassette {
        text.push_str(&format!(" (cassette {})", path.display()));
    }
    text.push(':');
    for x in interactions {
        text.push_str(&format!("\n  {x}"));
    }
    text.push_str(&format!(
        "\n  the code under test made fewer requests than when recording; re-record with {RECORD_ENV}=all, or set ReplayOptions::allow_unused"
    ));
    text
}
