//! Modes and sessions: record, replay, or both, chosen by `LEAP0_RECORD`.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use leap0_core::Timestamp;
use leap0_core::transport::{
    AsyncClock, AsyncTransport, Clock, Request, Response, Transport, TransportError,
    TransportErrorKind, VirtualClock,
};

use crate::cassette::{Cassette, Interaction};
use crate::load::Book;
use crate::record::{RecordOptions, Recorder};
use crate::replay::{ReplayError, ReplayOptions, Replayer};
use crate::store::CassetteLock;

/// The environment variable [`Mode::from_env`] reads.
pub const RECORD_ENV: &str = "LEAP0_RECORD";

/// Whether a [`Session`] replays, records, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Replay only; a missing cassette or an unmatched request is an error
    /// (`LEAP0_RECORD=replay` or unset).
    #[default]
    ReplayOnly,
    /// Replay what matches; forward and record what does not, then save the
    /// union (`LEAP0_RECORD=missing`).
    RecordMissing,
    /// Forward and record everything, replacing the cassette (`LEAP0_RECORD=all`).
    ReRecordAll,
    /// Forward and record everything, keeping the cassette's interactions and
    /// adding the new ones after them (`LEAP0_RECORD=append`).
    Append,
    /// Replay if the cassette exists, else record it (`LEAP0_RECORD=auto`).
    Auto,
}

/// An unknown mode name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{RECORD_ENV}: unknown mode {value:?}; expected replay, missing, all, append or auto")]
pub struct ModeError {
    /// The value given.
    pub value: String,
}

impl Mode {
    /// Every mode, in the order of [`as_str`](Self::as_str)'s names.
    pub const ALL: [Mode; 5] = [
        Mode::ReplayOnly,
        Mode::RecordMissing,
        Mode::ReRecordAll,
        Mode::Append,
        Mode::Auto,
    ];

    /// Parses `replay`, `missing`, `all`, `append` or `auto` (case-insensitive, trimmed).
    ///
    /// ```
    /// use leap0_replay::Mode;
    /// assert_eq!(Mode::parse("missing"), Ok(Mode::RecordMissing));
    /// assert!(Mode::parse("sometimes").is_err());
    /// ```
    pub fn parse(value: &str) -> Result<Mode, ModeError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "replay" => Ok(Mode::ReplayOnly),
            "missing" => Ok(Mode::RecordMissing),
            "all" => Ok(Mode::ReRecordAll),
            "append" => Ok(Mode::Append),
            "auto" => Ok(Mode::Auto),
            _ => Err(ModeError {
                value: value.to_owned(),
            }),
        }
    }

    /// The mode named by `LEAP0_RECORD`; unset or empty means [`Mode::ReplayOnly`].
    pub fn from_env() -> Result<Mode, ModeError> {
        Mode::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with the environment read through `lookup`.
    ///
    /// ```
    /// use leap0_replay::Mode;
    /// let mode = Mode::from_lookup(|name| (name == "LEAP0_RECORD").then(|| "all".to_owned()));
    /// assert_eq!(mode, Ok(Mode::ReRecordAll));
    /// assert_eq!(Mode::from_lookup(|_| None), Ok(Mode::ReplayOnly));
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Mode, ModeError> {
        match lookup(RECORD_ENV) {
            Some(value) if !value.trim().is_empty() => Mode::parse(&value),
            _ => Ok(Mode::ReplayOnly),
        }
    }

    /// The name [`parse`](Self::parse) accepts.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReplayOnly => "replay",
            Mode::RecordMissing => "missing",
            Mode::ReRecordAll => "all",
            Mode::Append => "append",
            Mode::Auto => "auto",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Record, replay, or both, behind one [`Transport`] / [`AsyncTransport`].
///
/// Open it with a cassette path, a [`Mode`] (usually [`Mode::from_env`]) and the
/// real transport; hand a clone to the client together with
/// [`clock`](Self::clock); call [`finish`](Self::finish) at the end of the test
/// to save the recording or check that every recorded interaction was used.
/// Nothing is saved without `finish`.
///
/// A recording session holds the cassette's lock from `open` to `finish` (or
/// until dropped), so a second recording of the same cassette fails at `open` with
/// [`CassetteError::Locked`](crate::CassetteError::Locked) instead of losing
/// one side's interactions.
///
/// ```
/// use std::time::Duration;
/// use leap0_core::transport::{Request, Response, TransportError, VirtualClock};
/// use leap0_core::{Config, SnapshotsClient, http};
/// use leap0_replay::{Mode, RecordOptions, ReplayOptions, Session};
///
/// let path = std::env::temp_dir().join(format!("leap0-session-doc-{}.json", std::process::id()));
/// let server = |_req: Request, _timeout: Duration| -> Result<Response, TransportError> {
///     Ok(http::Response::builder().status(204).body(Vec::new()).unwrap())
/// };
/// // First run: no cassette yet, so Auto records...
/// for expect_virtual in [false, true] {
///     let session = Session::open(&path, Mode::Auto, server, RecordOptions::new(), ReplayOptions::default())?;
///     assert_eq!(session.clock_is_virtual(), expect_virtual);
///     let clock = session.clock(VirtualClock::new()); // the real clock when recording
///     let client = SnapshotsClient::new(Config::new("key")?, session.clone(), clock);
///     client.delete("snap-1")?;
///     session.finish()?; // ...then the second run replays.
/// }
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Session<T> {
    shared: Arc<Shared<T>>,
}

struct Shared<T> {
    path: PathBuf,
    requested: Mode,
    inner: Arc<T>,
    engine: Engine<T>,
    /// Held while recording, until `finish`.
    lock: Mutex<Option<CassetteLock>>,
}

enum Engine<T> {
    Replay(Replayer),
    Record {
        recorder: Recorder<T>,
        /// Interactions kept before the new ones (appending).
        earlier: Vec<Interaction>,
    },
    Missing {
        replayer: Replayer,
        recorder: Recorder<T>,
        earlier: Vec<Interaction>,
    },
}

impl<T> Clone for Session<T> {
    fn clone(&self) -> Self {
        Session {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> fmt::Debug for Session<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Session");
        s.field("path", &self.shared.path)
            .field("requested", &self.shared.requested)
            .field("mode", &self.mode());
        match &self.shared.engine {
            Engine::Replay(replayer) => s.field("replayer", replayer),
            Engine::Record { recorder, .. } => s.field("recorder", recorder),
            Engine::Missing {
                replayer, recorder, ..
            } => s.field("replayer", replayer).field("recorder", recorder),
        };
        s.finish()
    }
}

impl<T> Session<T> {
    /// Opens a session on the cassette at `path`.
    ///
    /// - [`Mode::ReplayOnly`]: loads the cassette (a missing file is an error
    ///   that says how to record it).
    /// - [`Mode::RecordMissing`]: loads it if it exists; requests it cannot
    ///   answer are forwarded to `inner` and recorded.
    /// - [`Mode::ReRecordAll`]: forwards and records everything.
    /// - [`Mode::Append`]: forwards and records everything, after the
    ///   cassette's interactions.
    /// - [`Mode::Auto`]: replays if the file exists, else records.
    ///
    /// When recording into an existing cassette, its redactions are kept. A
    /// recording session takes the cassette's lock (see above).
    pub fn open(
        path: impl AsRef<Path>,
        mode: Mode,
        inner: T,
        record: RecordOptions,
        replay: ReplayOptions,
    ) -> Result<Session<T>, ReplayError> {
        let path = path.as_ref().to_owned();
        let inner = Arc::new(inner);
        let exists = path.exists();
        let records = match mode {
            Mode::ReplayOnly => false,
            Mode::Auto => !exists,
            Mode::RecordMissing | Mode::ReRecordAll | Mode::Append => true,
        };
        let lock = if records {
            Some(CassetteLock::acquire(&path)?)
        } else {
            None
        };
        // What recording into an existing cassette keeps: its redactions, base
        // path and (except when re-recording all) its interactions.
        let existing =
            |mut record: RecordOptions| -> Result<(RecordOptions, Cassette), ReplayError> {
                let cassette = if exists {
                    Cassette::load(&path)?
                } else {
                    Cassette::new()
                };
                record.merge_redactions(&cassette.meta.redact);
                if record.base_path.is_empty() {
                    record.base_path.clone_from(&cassette.meta.base_path);
                }
                Ok((record, cassette))
            };
        let engine = match (mode, exists) {
            (Mode::ReplayOnly, false) => return Err(ReplayError::MissingCassette { path }),
            (Mode::ReplayOnly | Mode::Auto, true) => {
                Engine::Replay(Replayer::from_file(&path, replay)?)
            }
            (Mode::ReRecordAll, _) | (Mode::Auto, false) => Engine::Record {
                recorder: Recorder::from_arc(Arc::clone(&inner), record),
                earlier: Vec::new(),
            },
            (Mode::Append, _) => {
                let (record, cassette) = existing(record)?;
                Engine::Record {
                    recorder: Recorder::from_arc(Arc::clone(&inner), record),
                    earlier: cassette.interactions,
                }
            }
            (Mode::RecordMissing, _) => {
                let (record, cassette) = existing(record)?;
                let earlier = cassette.interactions.clone();
                let book = Book::from_cassette(cassette, &replay.header_names())?;
                Engine::Missing {
                    replayer: Replayer::build(book, replay, Some(path.clone())),
                    recorder: Recorder::from_arc(Arc::clone(&inner), record),
                    earlier,
                }
            }
        };
        Ok(Session {
            shared: Arc::new(Shared {
                path,
                requested: mode,
                inner,
                engine,
                lock: Mutex::new(lock),
            }),
        })
    }

    /// What the session does: [`Mode::Auto`] is resolved to
    /// [`Mode::ReplayOnly`] or [`Mode::ReRecordAll`].
    pub fn mode(&self) -> Mode {
        match (&self.shared.engine, self.shared.requested) {
            (Engine::Replay(_), _) => Mode::ReplayOnly,
            (Engine::Missing { .. }, _) => Mode::RecordMissing,
            (Engine::Record { .. }, Mode::Append) => Mode::Append,
            (Engine::Record { .. }, _) => Mode::ReRecordAll,
        }
    }

    /// The cassette file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The real transport.
    pub fn inner(&self) -> &T {
        &self.shared.inner
    }

    /// Whether anything may be sent to the real transport.
    pub fn is_recording(&self) -> bool {
        !matches!(self.shared.engine, Engine::Replay(_))
    }

    /// Whether clients must use the [`virtual_clock`](Self::virtual_clock)
    /// (pure replay) rather than a real clock.
    pub fn clock_is_virtual(&self) -> bool {
        !self.is_recording()
    }

    /// The replayer's clock when purely replaying; `None` when recording.
    pub fn virtual_clock(&self) -> Option<VirtualClock> {
        match &self.shared.engine {
            Engine::Replay(replayer) => Some(replayer.clock()),
            _ => None,
        }
    }

    /// The clock to give clients: the replayer's virtual clock when purely
    /// replaying, else `real`.
    pub fn clock<C>(&self, real: C) -> SessionClock<C> {
        match self.virtual_clock() {
            Some(clock) => SessionClock::Virtual(clock),
            None => SessionClock::Real(real),
        }
    }

    /// The replayer, unless everything is re-recorded.
    pub fn replayer(&self) -> Option<&Replayer> {
        match &self.shared.engine {
            Engine::Replay(replayer) | Engine::Missing { replayer, .. } => Some(replayer),
            Engine::Record { .. } => None,
        }
    }

    /// The recorder, when recording.
    pub fn recorder(&self) -> Option<&Recorder<T>> {
        match &self.shared.engine {
            Engine::Record { recorder, .. } | Engine::Missing { recorder, .. } => Some(recorder),
            Engine::Replay(_) => None,
        }
    }

    /// Ends the session. Replaying: checks that every recorded interaction was
    /// used (see [`Replayer::finish`]). Recording: saves the cassette
    /// atomically, refusing if a configured secret appears in it. Recording
    /// missing interactions, or appending: saves the old interactions followed
    /// by the new ones, and leaves the file alone if nothing new was recorded.
    pub fn finish(&self) -> Result<(), ReplayError> {
        let (recorder, earlier) = match &self.shared.engine {
            Engine::Replay(replayer) => return replayer.finish(),
            Engine::Record { recorder, earlier }
            | Engine::Missing {
                recorder, earlier, ..
            } => (recorder, earlier),
        };
        // The lock ends with the session: taken out here, released on return.
        let Some(lock) = self
            .shared
            .lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return Ok(());
        };
        let keeps_old = !matches!(self.mode(), Mode::ReRecordAll);
        if keeps_old && recorder.is_empty() && self.shared.path.exists() {
            return Ok(());
        }
        let cassette = recorder.cassette_with(earlier.clone());
        Ok(cassette.save_locked(&lock, &self.shared.path, recorder.secrets())?)
    }
}

impl<T: Transport> Transport for Session<T> {
    fn send(&self, request: Request, timeout: Duration) -> Result<Response, TransportError> {
        match &self.shared.engine {
            Engine::Replay(replayer) => replayer.replay(&request),
            Engine::Record { recorder, .. } => Transport::send(recorder, request, timeout),
            Engine::Missing {
                replayer, recorder, ..
            } => match replayer.try_replay(&request) {
                Some(outcome) => outcome,
                None => Transport::send(recorder, request, timeout),
            },
        }
    }
}

impl<T: AsyncTransport> AsyncTransport for Session<T> {
    fn send(
        &self,
        request: Request,
        timeout: Duration,
    ) -> impl Future<Output = Result<Response, TransportError>> {
        let (replayed, forward) = match &self.shared.engine {
            Engine::Replay(replayer) => (Some(replayer.replay(&request)), None),
            Engine::Record { recorder, .. } => {
                (None, Some(AsyncTransport::send(recorder, request, timeout)))
            }
            Engine::Missing {
                replayer, recorder, ..
            } => match replayer.try_replay(&request) {
                Some(outcome) => (Some(outcome), None),
                None => (None, Some(AsyncTransport::send(recorder, request, timeout))),
            },
        };
        async move {
            match (replayed, forward) {
                (Some(outcome), _) => outcome,
                (None, Some(exchange)) => exchange.await,
                (None, None) => Err(TransportError::new(
                    TransportErrorKind::Other,
                    false,
                    "leap0-replay: the session had nothing to answer with",
                )),
            }
        }
    }
}

/// The clock a [`Session`] hands out: its virtual clock when replaying, a real
/// one when recording. Implements [`Clock`] and [`AsyncClock`] when the real
/// clock does.
#[derive(Debug, Clone)]
pub enum SessionClock<C> {
    /// The replayer's clock.
    Virtual(VirtualClock),
    /// The real clock given to [`Session::clock`].
    Real(C),
}

impl<C: Clock> Clock for SessionClock<C> {
    fn now(&self) -> Timestamp {
        match self {
            SessionClock::Virtual(clock) => Clock::now(clock),
            SessionClock::Real(clock) => clock.now(),
        }
    }

    fn sleep_until(&self, deadline: Timestamp) {
        match self {
            SessionClock::Virtual(clock) => Clock::sleep_until(clock, deadline),
            SessionClock::Real(clock) => clock.sleep_until(deadline),
        }
    }

    fn call_timeline(&self) -> Option<VirtualClock> {
        match self {
            SessionClock::Virtual(clock) => Clock::call_timeline(clock),
            SessionClock::Real(clock) => clock.call_timeline(),
        }
    }

    fn entropy(&self) -> Option<u64> {
        match self {
            SessionClock::Virtual(clock) => Clock::entropy(clock),
            SessionClock::Real(clock) => clock.entropy(),
        }
    }
}

impl<C: AsyncClock> AsyncClock for SessionClock<C> {
    fn now(&self) -> Timestamp {
        match self {
            SessionClock::Virtual(clock) => AsyncClock::now(clock),
            SessionClock::Real(clock) => clock.now(),
        }
    }

    fn sleep_until(&self, deadline: Timestamp) -> impl Future<Output = ()> {
        let real = match self {
            SessionClock::Virtual(clock) => {
                clock.advance_to(deadline);
                None
            }
            SessionClock::Real(clock) => Some(clock.sleep_until(deadline)),
        };
        async move {
            if let Some(wait) = real {
                wait.await;
            }
        }
    }

    fn call_timeline(&self) -> Option<VirtualClock> {
        match self {
            SessionClock::Virtual(clock) => AsyncClock::call_timeline(clock),
            SessionClock::Real(clock) => clock.call_timeline(),
        }
    }

    fn entropy(&self) -> Option<u64> {
        match self {
            SessionClock::Virtual(clock) => AsyncClock::entropy(clock),
            SessionClock::Real(clock) => clock.entropy(),
        }
    }
}
