//! A cassette per test in one line: [`test_session!`](crate::test_session).

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::record::RecordOptions;
use crate::replay::{ReplayError, ReplayOptions};
use crate::session::{Mode, Session};

/// The variable naming the folder cassettes of [`test_session!`](crate::test_session)
/// live in (relative paths are under the crate's folder); default `tests/cassettes`.
pub const CASSETTE_DIR_ENV: &str = "LEAP0_CASSETTE_DIR";

/// Which test a session belongs to: the crate's folder and the test function's
/// path, as [`test_session!`](crate::test_session) finds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestName {
    manifest_dir: PathBuf,
    /// The module path segments, then the test's name.
    segments: Vec<String>,
}

impl TestName {
    /// The test whose function has the path `function` (as
    /// `std::any::type_name` spells a function item declared inside it, e.g.
    /// `replay::lifecycle::here`, or `replay::lifecycle::{{closure}}::here` in
    /// an async test), in the crate at `manifest_dir`.
    pub fn from_item_path(manifest_dir: impl Into<PathBuf>, function: &str) -> TestName {
        let mut segments: Vec<String> = function
            .split("::")
            .filter(|s| !s.starts_with('{') && !s.is_empty())
            .map(str::to_owned)
            .collect();
        segments.pop(); // the item declared inside the test
        TestName {
            manifest_dir: manifest_dir.into(),
            segments,
        }
    }

    /// The test's name with its module path, e.g. `replay::lifecycle`.
    pub fn full_name(&self) -> String {
        self.segments.join("::")
    }

    /// The cassette's path: `DIR/module/.../test.json`, where `DIR` is `dir`
    /// if given, else [`CASSETTE_DIR_ENV`], else `tests/cassettes`, relative
    /// to the crate's folder.
    pub fn cassette(&self, dir: Option<&Path>) -> PathBuf {
        let from_env = std::env::var_os(CASSETTE_DIR_ENV).map(PathBuf::from);
        self.cassette_in(dir.map(Path::to_path_buf).or(from_env))
    }

    /// The cassette's path under `dir`, or under `tests/cassettes` when none.
    fn cassette_in(&self, dir: Option<PathBuf>) -> PathBuf {
        let dir = dir.unwrap_or_else(|| PathBuf::from("tests").join("cassettes"));
        let mut path = self.manifest_dir.join(dir);
        for segment in &self.segments {
            path.push(segment);
        }
        path.set_extension("json");
        path
    }
}

/// How a [`TestSession`] records and replays.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TestOptions {
    /// The folder of cassettes (see [`TestName::cassette`]).
    pub dir: Option<PathBuf>,
    /// The mode; `None` reads [`RECORD_ENV`](crate::RECORD_ENV).
    pub mode: Option<Mode>,
    /// How to record (pass the API key as a secret).
    pub record: RecordOptions,
    /// How to replay.
    pub replay: ReplayOptions,
}

impl TestOptions {
    /// The defaults: `tests/cassettes`, the mode from the environment.
    pub fn new() -> TestOptions {
        TestOptions::default()
    }

    /// Keeps cassettes in `dir` (relative to the crate's folder, or absolute).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Uses `mode` whatever the environment says.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Records with `record`.
    pub fn record(mut self, record: RecordOptions) -> Self {
        self.record = record;
        self
    }

    /// Replays with `replay`.
    pub fn replay(mut self, replay: ReplayOptions) -> Self {
        self.replay = replay;
        self
    }
}

/// A [`Session`] that belongs to one test and ends with it.
///
/// When it is dropped without [`finish`](Self::finish):
/// - recording, it saves the cassette, also when the test panicked (what was
///   recorded before the failure is kept), unless nothing new was recorded;
/// - replaying, it fails the test if an interaction went unused or a request
///   matched nothing, unless the test is already failing.
///
/// It dereferences to its [`Session`]: hand clients a `session.clone()` and
/// `session.clock(real_clock)`.
pub struct TestSession<T> {
    session: Session<T>,
    name: TestName,
    finished: AtomicBool,
}

impl<T> TestSession<T> {
    /// Opens the session of test `name`, recording through `live` when the
    /// mode records.
    pub fn open(name: TestName, live: T, options: TestOptions) -> Result<Self, ReplayError> {
        let mode = match options.mode {
            Some(mode) => mode,
            None => Mode::from_env()?,
        };
        let path = name.cassette(options.dir.as_deref());
        let session = Session::open(&path, mode, live, options.record, options.replay)?;
        Ok(TestSession {
            session,
            name,
            finished: AtomicBool::new(false),
        })
    }

    /// [`open`](Self::open), failing the test with the reason if the session
    /// cannot be opened (what [`test_session!`](crate::test_session) does).
    #[track_caller]
    pub fn open_for_test(name: TestName, live: T, options: TestOptions) -> Self {
        match TestSession::open(name, live, options) {
            Ok(session) => session,
            Err(e) => panic!("leap0-replay: the test's cassette session did not open: {e}"),
        }
    }

    /// The test it belongs to.
    pub fn test(&self) -> &TestName {
        &self.name
    }

    /// Ends the session now, with the [`Result`]: the first request that
    /// matched nothing, if any, else what [`Session::finish`] says. Dropping
    /// it afterwards does nothing more.
    pub fn finish(&self) -> Result<(), ReplayError> {
        self.finished.store(true, Ordering::SeqCst);
        self.end()
    }

    fn end(&self) -> Result<(), ReplayError> {
        let missed = self
            .session
            .replayer()
            .and_then(|replayer| replayer.mismatches().into_iter().next());
        if let Some(miss) = missed {
            return Err(ReplayError::Mismatch(Box::new(miss)));
        }
        self.session.finish()
    }
}

impl<T> Deref for TestSession<T> {
    type Target = Session<T>;

    fn deref(&self) -> &Session<T> {
        &self.session
    }
}

impl<T> std::fmt::Debug for TestSession<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestSession")
            .field("test", &self.name.full_name())
            .field("session", &self.session)
            .finish()
    }
}

impl<T> Drop for TestSession<T> {
    fn drop(&mut self) {
        if self.finished.swap(true, Ordering::SeqCst) {
            return;
        }
        let panicking = std::thread::panicking();
        let nothing_new = self.session.recorder().is_some_and(|r| r.is_empty());
        if panicking && (!self.session.is_recording() || nothing_new) {
            // Replaying, the test's own failure says more; recording, there is
            // nothing to keep and an empty save would wipe the cassette.
            return;
        }
        if let Err(e) = self.end() {
            let test = self.name.full_name();
            if panicking {
                eprintln!("leap0-replay: {test}: {e}");
            } else {
                panic!("leap0-replay: {test}: {e}");
            }
        }
    }
}

/// Opens the [`TestSession`] of the test it is written in: the cassette is
/// named after the test's module path and name (`tests/cassettes/MODULE/TEST.json`
/// under the crate, or under [`CASSETTE_DIR_ENV`]), the mode comes from
/// `LEAP0_RECORD` (unset: replay only), and `live` is the transport that
/// recording sends through. A second argument gives [`TestOptions`].
///
/// ```no_run
/// use leap0_core::{Config, SnapshotsClient};
/// use leap0_core::transport::VirtualClock;
///
/// # fn live() -> impl leap0_core::transport::Transport { |_: leap0_core::transport::Request, _: std::time::Duration| Err(leap0_core::transport::TransportError::connect("offline")) }
/// // In a #[test] fn:
/// let session = leap0_replay::test_session!(live());
/// let client = SnapshotsClient::new(Config::new("key")?, session.clone(), session.clock(VirtualClock::new()));
/// client.list(leap0_core::ListSnapshots::default())?;
/// // Dropped here: saved when recording; checked for unused interactions when replaying.
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[macro_export]
macro_rules! test_session {
    ($live:expr) => {
        $crate::test_session!($live, $crate::TestOptions::default())
    };
    ($live:expr, $options:expr) => {{
        fn here() {}
        let name = $crate::TestName::from_item_path(
            env!("CARGO_MANIFEST_DIR"),
            ::std::any::type_name_of_val(&here),
        );
        $crate::TestSession::open_for_test(name, $live, $options)
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cassette_is_named_after_the_test() {
        let name = TestName::from_item_path("/crate", "replay::lifecycle::{{closure}}::here");
        assert_eq!(name.full_name(), "replay::lifecycle");
        assert_eq!(
            name.cassette(Some(Path::new("fixtures"))),
            Path::new("/crate/fixtures/replay/lifecycle.json")
        );
        assert_eq!(
            name.cassette(Some(Path::new("/elsewhere"))),
            Path::new("/elsewhere/replay/lifecycle.json")
        );
        assert_eq!(
            name.cassette_in(None),
            Path::new("/crate/tests/cassettes/replay/lifecycle.json")
        );
    }
}
