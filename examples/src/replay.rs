//! A deterministic replay test, the way a user writes one: record a session
//! against a server once, save the cassette, then replay it with no server on
//! a virtual clock and get the same results. What
//! `examples/examples/replay_test.rs` runs.
//!
//! In a test suite of your own, open the session with [`Mode::from_env`]
//! rather than a fixed mode, and check the cassette in: the suite replays by
//! default, and `LEAP0_RECORD=all cargo test` re-records it against the real
//! API.

use std::path::{Path, PathBuf};
use std::time::Duration;

use leap0_clock::SystemClock;
use leap0_core::transport::{Clock, Request, Response, Transport, TransportError};
use leap0_core::{
    CallOutput, Config, CreateSnapshot, Error, ListSnapshots, RetryPolicy, SnapshotsClient,
    WaitPolicy,
};
use leap0_emulator::{Emulator, EmulatorConfig, Fault, FaultRule};
use leap0_replay::{Cassette, Mode, RecordOptions, ReplayOptions, Session};
use leap0_ureq::UreqTransport;

/// The key the emulator accepts; the recorder checks it is nowhere in the cassette.
pub const API_KEY: &str = "replay-example-key";

/// Where replaying "sends" requests: a port nothing listens on. Nothing is
/// sent anyway; the address only has to be a valid base URL.
const NOWHERE: &str = "http://127.0.0.1:9";

/// A recorded session and its replay.
#[derive(Debug)]
#[non_exhaustive]
pub struct RecordAndReplay {
    /// What the calls returned against the emulator.
    pub recorded: Vec<CallOutput>,
    /// What the same calls returned from the cassette.
    pub replayed: Vec<CallOutput>,
    /// The cassette file.
    pub cassette: PathBuf,
    /// Exchanges the cassette holds (a retried request counts once per attempt).
    pub interactions: usize,
    /// How far the replay's virtual clock moved: backoff, status polls and the
    /// recorded latencies, none of it slept.
    pub virtual_time: Duration,
}

/// The calls of the session: a snapshot, a sandbox resumed from it and waited
/// for, a listing, then the clean-up. Later calls use earlier answers, so a
/// replay gets through only if every answer comes back as recorded.
pub fn script<T: Transport, C: Clock>(
    client: &SnapshotsClient<T, C>,
) -> Result<Vec<CallOutput>, Error> {
    let snapshot = client.create(CreateSnapshot::new("sb-seed-1").name("warm"))?;
    let sandbox = client.resume_and_wait(&snapshot)?;
    let listed = client.list_all(ListSnapshots::default())?;
    let sandbox_gone = client.delete_sandbox(&sandbox)?;
    let snapshot_gone = client.delete(&snapshot)?;
    Ok(vec![
        CallOutput::Snapshot(snapshot),
        CallOutput::Sandbox(sandbox),
        CallOutput::List(listed),
        CallOutput::Deleted(sandbox_gone),
        CallOutput::Deleted(snapshot_gone),
    ])
}

/// Quick backoff and polls: the emulator answers at once, and the recording
/// runs on a real clock.
fn session_config(base_url: &str) -> Result<Config, leap0_core::config::ConfigError> {
    Config::builder()
        .api_key(API_KEY)
        .base_url(base_url)
        .retry(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(20), Duration::from_millis(200)),
        )
        .wait(WaitPolicy::new(
            Duration::from_millis(50),
            Duration::from_secs(60),
        ))
        .build()
}

/// Records [`script`] against a fresh emulator into `dir/session.json`
/// (replacing it), then replays it with the emulator gone.
pub fn record_and_replay(
    dir: &Path,
) -> Result<RecordAndReplay, Box<dyn std::error::Error + Send + Sync>> {
    std::fs::create_dir_all(dir)?;
    let cassette = dir.join("session.json");

    // Record. The first create meets a 503, so the cassette holds a retry too.
    let server = Emulator::start_with(EmulatorConfig::default().api_key(API_KEY))?;
    server.inject(
        FaultRule::new(Fault::status(503))
            .method("POST")
            .path_prefix("/v1/sandbox/sb-seed-1/snapshot/create"),
    );
    let config = session_config(&server.base_url())?;
    let session = Session::open(
        &cassette,
        Mode::ReRecordAll,
        UreqTransport::new(),
        RecordOptions::new().config(&config).secret(API_KEY),
        ReplayOptions::default(),
    )?;
    // Recording runs on the real clock: `clock` gives it back while recording.
    let client = SnapshotsClient::new(config, session.clone(), session.clock(SystemClock::new()));
    let recorded = script(&client)?;
    session.finish()?; // saves, after checking the key is nowhere in it
    drop(server);

    // Replay: a transport that cannot reach anything, and the virtual clock.
    let offline = |_: Request, _: Duration| -> Result<Response, TransportError> {
        Err(TransportError::connect("replaying: there is no network"))
    };
    let session = Session::open(
        &cassette,
        Mode::ReplayOnly,
        offline,
        RecordOptions::new(),
        ReplayOptions::default(),
    )?;
    let virtual_clock = session
        .virtual_clock()
        .ok_or("a replay-only session should run on its virtual clock")?;
    // The same configuration, so the client makes the same decisions.
    let client = SnapshotsClient::new(
        session_config(NOWHERE)?,
        session.clone(),
        session.clock(SystemClock::new()),
    );
    let replayed = script(&client)?;
    session.finish()?; // fails if a recorded exchange was never asked for

    Ok(RecordAndReplay {
        recorded,
        replayed,
        interactions: Cassette::load(&cassette)?.interactions.len(),
        cassette,
        virtual_time: virtual_clock.now().since_origin(),
    })
}
