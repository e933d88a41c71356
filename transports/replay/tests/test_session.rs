//! `test_session!`: the cassette is named after the test, a forgotten
//! `finish()` still checks the replay, and a recording test that panics keeps
//! what it recorded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::Duration;

use leap0_core::transport::{Request, Response, TransportError, VirtualClock};
use leap0_core::{Config, ListSnapshots, SnapshotsClient, http};
use leap0_replay::{Cassette, Mode, RecordOptions, TestOptions, test_session};

const KEY: &str = "sk-test-session-4e5f";

/// A server answering every list with one empty page.
fn server(_: Request, _: Duration) -> Result<Response, TransportError> {
    let body = br#"{"items":[],"total_items":0,"page":1,"page_size":20}"#.to_vec();
    http::Response::builder()
        .status(200)
        .body(body)
        .map_err(TransportError::other)
}

type Server = fn(Request, Duration) -> Result<Response, TransportError>;

fn dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("leap0-test-session-{name}-{}", std::process::id()))
}

fn options(dir: &PathBuf, mode: Mode) -> TestOptions {
    TestOptions::new()
        .dir(dir)
        .mode(mode)
        .record(RecordOptions::new().secret(KEY))
}

fn list_pages(pages: &[u64], session: &leap0_replay::Session<Server>) {
    let client = SnapshotsClient::new(
        Config::new(KEY).unwrap(),
        session.clone(),
        session.clock(VirtualClock::new()),
    );
    for &page in pages {
        let _ = client.list(ListSnapshots::default().page(page));
    }
}

/// The message a caught panic carried.
fn message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn a_forgotten_finish_fails_the_test_on_unused_interactions_and_misses() {
    let dir = dir("forgotten");
    // Record two pages.
    let path = {
        let session = test_session!(server as Server, options(&dir, Mode::ReRecordAll));
        list_pages(&[1, 2], &session);
        session.path().to_owned()
    };
    assert!(path.ends_with(
        "test_session/a_forgotten_finish_fails_the_test_on_unused_interactions_and_misses.json"
    ));
    assert_eq!(Cassette::load(&path).unwrap().interactions.len(), 2);

    // Replaying one of them and dropping the session without finish() fails.
    let unused = catch_unwind(AssertUnwindSafe(|| {
        let session = test_session!(server as Server, options(&dir, Mode::ReplayOnly));
        list_pages(&[1], &session);
    }))
    .unwrap_err();
    let unused = message(unused);
    assert!(unused.contains("were never requested"), "{unused}");
    assert!(
        unused.contains("a_forgotten_finish_fails_the_test"),
        "{unused}"
    );

    // A request that matched nothing fails it too, even if the test swallowed the error.
    let missed = catch_unwind(AssertUnwindSafe(|| {
        let session = test_session!(server as Server, options(&dir, Mode::ReplayOnly));
        list_pages(&[1, 2, 7], &session);
    }))
    .unwrap_err();
    let missed = message(missed);
    assert!(missed.contains("page: recorded"), "{missed}");

    // Used fully, it passes; finish() still gives the Result to those who want it.
    let session = test_session!(server as Server, options(&dir, Mode::ReplayOnly));
    list_pages(&[1, 2], &session);
    session.finish().unwrap();
    drop(session);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_recording_test_that_panics_keeps_its_recording() {
    let dir = dir("panicking");
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let session = test_session!(server as Server, options(&dir, Mode::ReRecordAll));
        list_pages(&[1, 2, 3], &session);
        assert!(!session.path().exists(), "nothing is saved before the end");
        panic!("the test fails after recording");
    }))
    .unwrap_err();
    assert_eq!(message(caught), "the test fails after recording");
    let name = "a_recording_test_that_panics_keeps_its_recording.json";
    let path = dir.join("test_session").join(name);
    let cassette = Cassette::load(&path).unwrap();
    assert_eq!(cassette.interactions.len(), 3);
    assert!(!std::fs::read_to_string(&path).unwrap().contains(KEY));

    // Appending nothing before a panic leaves the cassette as it was.
    let before = std::fs::read(&path).unwrap();
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let _session = test_session!(server as Server, options(&dir, Mode::Append));
        panic!("fails before any request");
    }));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    std::fs::remove_dir_all(&dir).ok();
}
