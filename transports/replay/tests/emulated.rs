//! Record against the emulator over loopback, replay with no network, through
//! both clients and both transports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::time::Duration;

use leap0_core::transport::{Clock, Transport, TransportErrorKind, VirtualClock};
use leap0_core::{
    AsyncSnapshotsClient, Config, CreateSnapshot, Error, ListSnapshots, PauseIntoSnapshot,
    ResumeSnapshot, SnapshotsClient, WaitPolicy,
};
use leap0_emulator::{Emulator, EmulatorConfig, Fault, FaultRule};
use leap0_hyper::{HyperTransport, TokioClock};
use leap0_replay::{
    Body, Cassette, CassetteError, Mode, RecordOptions, Recorder, ReplayError, ReplayOptions,
    Replayer, Session, check_drift,
};
use leap0_ureq::{SystemClock, UreqTransport};

const KEY: &str = "sk-live-distinctive-123";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "leap0-replay-emulated-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn emulator() -> Emulator {
    Emulator::start_with(EmulatorConfig::default().api_key(KEY)).unwrap()
}

/// The client configuration; only the base URL differs between recording and replay.
fn config(base_url: &str) -> Config {
    Config::builder()
        .api_key(KEY)
        .base_url(base_url)
        .wait(WaitPolicy::new(
            Duration::from_millis(2),
            Duration::from_secs(60),
        ))
        .build()
        .unwrap()
}

fn replay_config() -> Config {
    config("https://api.leap0.dev")
}

fn record_options() -> RecordOptions {
    RecordOptions::new().secret(KEY)
}

fn show<T: Debug>(result: &Result<T, Error>) -> String {
    match result {
        Ok(value) => format!("ok {value:?}"),
        Err(error) => format!("err {error}"),
    }
}

/// One scenario, written once for the blocking (`scenario!(c)`) and async
/// (`scenario!(c, await)`) clients.
macro_rules! scenario {
    ($client:expr $(, $await:tt)?) => {{
        let client = &$client;
        vec![
            show(&client.create(CreateSnapshot::new("sb-seed-1").name("warm"))$(.$await)?),
            show(&client.list(ListSnapshots::default())$(.$await)?),
            show(&client.resume_and_wait(ResumeSnapshot::new("warm").timeout_min(5))$(.$await)?),
            show(&client.delete("snap-missing")$(.$await)?),
            show(&client.sandbox("sb-seed-1")$(.$await)?),
            show(&client.pause(PauseIntoSnapshot::new("sb-seed-1").name("paused-1"))$(.$await)?),
        ]
    }};
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn replay_blocking(path: &Path) -> Vec<String> {
    let replayer = Replayer::from_file(path, ReplayOptions::default()).unwrap();
    let client = SnapshotsClient::new(replay_config(), replayer.clone(), replayer.clock());
    let results = scenario!(client);
    replayer.finish().unwrap();
    assert!(replayer.mismatches().is_empty());
    results
}

fn replay_async(path: &Path) -> Vec<String> {
    let replayer = Replayer::from_file(path, ReplayOptions::default()).unwrap();
    let client = AsyncSnapshotsClient::new(replay_config(), replayer.clone(), replayer.clock());
    let results = runtime().block_on(async { scenario!(client, await) });
    replayer.finish().unwrap();
    results
}

fn assert_secret_free(text: &str) {
    assert!(!text.contains(KEY), "the API key leaked into: {text}");
}

#[test]
fn ureq_recording_replays_identically_through_both_clients() {
    let dir = temp_dir("ureq");
    let path = dir.join("scenario.json");
    let emulator = emulator();
    let recorder = Recorder::new(UreqTransport::new(), record_options());
    let client = SnapshotsClient::new(
        config(&emulator.base_url()),
        recorder.clone(),
        SystemClock::new(),
    );
    let recorded = scenario!(client);
    let sent = emulator.request_count();
    drop(client);
    drop(emulator);
    assert_eq!(recorder.len(), sent);
    recorder.save(&path).unwrap();

    // The scenario saw successes, polling and an API error.
    assert!(recorded[0].starts_with("ok Snapshot"), "{recorded:?}");
    assert!(recorded[2].contains("Running"), "{recorded:?}");
    assert!(
        recorded[3].starts_with("err Failed to delete snapshot: 404"),
        "{recorded:?}"
    );

    let text = std::fs::read_to_string(&path).unwrap();
    assert_secret_free(&text);
    assert!(text.ends_with("}\n"));
    assert!(text.contains(r#""authorization": "<redacted>""#));
    assert!(text.contains(r#""operation": "resume_snapshot""#));
    assert!(text.contains(r#""sandbox_id": "sb-seed-1""#));
    // Byte-exact JSON bodies are stored as JSON, so they diff nicely.
    assert!(text.contains(r#""json": {"#), "{text}");

    assert_secret_free(&format!("{recorder:?}"));
    let cassette = Cassette::load(&path).unwrap();
    assert_secret_free(&format!("{cassette:?}"));
    assert_eq!(cassette.to_json().unwrap(), text, "stable serialization");
    assert!(
        check_drift(&cassette).is_empty(),
        "{:?}",
        check_drift(&cassette)
    );

    assert_eq!(replay_blocking(&path), recorded);
    assert_eq!(replay_async(&path), recorded);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hyper_recording_replays_through_the_blocking_client() {
    let dir = temp_dir("hyper");
    let path = dir.join("scenario.json");
    let emulator = emulator();
    let recorder = Recorder::new(HyperTransport::new(), record_options());
    let client = AsyncSnapshotsClient::new(
        config(&emulator.base_url()),
        recorder.clone(),
        TokioClock::new(),
    );
    let recorded = runtime().block_on(async { scenario!(client, await) });
    drop(client);
    drop(emulator);
    recorder.save(&path).unwrap();
    assert_secret_free(&std::fs::read_to_string(&path).unwrap());

    assert_eq!(replay_blocking(&path), recorded);
    assert_eq!(replay_async(&path), recorded);

    // The same scenario recorded through ureq gives the same interactions.
    let emulator = self::emulator();
    let ureq_recorder = Recorder::new(UreqTransport::new(), record_options());
    let client = SnapshotsClient::new(
        config(&emulator.base_url()),
        ureq_recorder.clone(),
        VirtualClock::new(),
    );
    assert_eq!(scenario!(client), recorded);
    let strip = |mut c: Cassette| {
        for x in &mut c.interactions {
            x.latency_ms = 0;
        }
        c.interactions
    };
    assert_eq!(
        strip(ureq_recorder.cassette()),
        strip(Cassette::load(&path).unwrap())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn minutes_of_retry_and_polling_replay_instantly() {
    let dir = temp_dir("retry");
    let path = dir.join("retry.json");
    let emulator = emulator();
    emulator.inject(
        FaultRule::new(Fault::rate_limited("120"))
            .method("POST")
            .path_prefix("/v1/snapshot/resume"),
    );
    let recorder = Recorder::new(UreqTransport::new(), record_options());
    // Default wait policy: one status poll per second of (virtual) time.
    let slow = |base: &str| {
        Config::builder()
            .api_key(KEY)
            .base_url(base)
            .build()
            .unwrap()
    };
    let record_clock = VirtualClock::new();
    let client = SnapshotsClient::new(
        slow(&emulator.base_url()),
        recorder.clone(),
        record_clock.clone(),
    );
    let recorded = vec![
        show(&client.create(CreateSnapshot::new("sb-seed-1").name("warm"))),
        show(&client.resume_and_wait("warm")),
    ];
    drop(emulator);
    assert!(recorded[1].contains("Running"), "{recorded:?}");
    assert!(Clock::now(&record_clock).since_origin() >= Duration::from_secs(120));
    recorder.save(&path).unwrap();
    let cassette = Cassette::load(&path).unwrap();
    let rate_limited = cassette
        .interactions
        .iter()
        .find_map(|x| x.response.as_ref().filter(|r| r.status == 429))
        .expect("the 429 was recorded");
    assert_eq!(rate_limited.headers["retry-after"], "120");

    for options in [
        ReplayOptions::default(),
        ReplayOptions::default().simulate_latency(false),
    ] {
        let replayer = Replayer::new(cassette.clone(), options).unwrap();
        let clock = replayer.clock();
        let client = SnapshotsClient::new(
            slow("https://api.leap0.dev"),
            replayer.clone(),
            clock.clone(),
        );
        let replayed = vec![
            show(&client.create(CreateSnapshot::new("sb-seed-1").name("warm"))),
            show(&client.resume_and_wait("warm")),
        ];
        assert_eq!(replayed, recorded);
        assert!(Clock::now(&clock).since_origin() >= Duration::from_secs(122));
        replayer.finish().unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_planted_secret_blocks_the_write_and_leaves_no_file() {
    let dir = temp_dir("secret");
    let path = dir.join("leak.json");
    let emulator = emulator();
    emulator.inject(FaultRule::new(Fault::Status {
        status: 500,
        retry_after: None,
        body: Some(format!(r#"{{"message":"internal: key {KEY} rejected"}}"#)),
    }));
    let recorder = Recorder::new(UreqTransport::new(), record_options());
    let client = SnapshotsClient::new(
        config(&emulator.base_url()),
        recorder.clone(),
        VirtualClock::new(),
    );
    assert!(client.create("sb-seed-1").is_err());

    let err = recorder.save(&path).unwrap_err();
    let message = err.to_string();
    assert_secret_free(&message);
    assert_secret_free(&format!("{err:?}"));
    assert!(
        matches!(&err, CassetteError::SecretFound { location, .. } if location == "interaction #0 response body"),
        "{message}"
    );
    assert!(message.contains("refusing to write cassette"), "{message}");
    assert!(!path.exists());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "no temp file left"
    );

    // Redacting the field is one way out.
    let recorder = Recorder::new(
        UreqTransport::new(),
        record_options().redact_json_field("message"),
    );
    emulator.inject(FaultRule::new(Fault::Status {
        status: 500,
        retry_after: None,
        body: Some(format!(r#"{{"message":"internal: key {KEY} rejected"}}"#)),
    }));
    let client = SnapshotsClient::new(
        config(&emulator.base_url()),
        recorder.clone(),
        VirtualClock::new(),
    );
    assert!(client.create("sb-seed-1").is_err());
    recorder.save(&path).unwrap();
    assert_secret_free(&std::fs::read_to_string(&path).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_recorded_transport_failure_replays_as_the_same_error() {
    let dir = temp_dir("refused");
    let path = dir.join("refused.json");
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let recorder = Recorder::new(UreqTransport::new(), record_options());
    let client = SnapshotsClient::new(
        config(&format!("http://127.0.0.1:{port}")),
        recorder.clone(),
        VirtualClock::new(),
    );
    let recorded = client.delete("snap-1").unwrap_err();
    assert_eq!(recorded.kind_name(), "connect");
    recorder.save(&path).unwrap();
    let cassette = Cassette::load(&path).unwrap();
    assert!(!cassette.interactions.is_empty());
    let failure = cassette.interactions[0].failure.clone().expect("a failure");
    assert_eq!(failure.kind, TransportErrorKind::Connect);
    assert!(!failure.may_have_been_sent);

    let replayer = Replayer::from_file(&path, ReplayOptions::default()).unwrap();
    let client = SnapshotsClient::new(replay_config(), replayer.clone(), replayer.clock());
    let replayed = client.delete("snap-1").unwrap_err();
    assert_eq!(replayed.to_string(), recorded.to_string());
    assert_eq!(format!("{replayed:?}"), format!("{recorded:?}"));
    replayer.finish().unwrap();

    // Straight through the transport: the very same TransportError.
    let replayer = Replayer::new(cassette, ReplayOptions::default()).unwrap();
    let request = http::Request::delete("https://x.example/v1/snapshot/snap-1")
        .body(Vec::new())
        .unwrap();
    assert_eq!(
        Transport::send(&replayer, request, Duration::from_secs(1)).unwrap_err(),
        failure
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sessions_record_what_is_missing_and_then_replay() {
    let dir = temp_dir("session");
    let path = dir.join("session.json");
    let open = |mode: Mode| {
        Session::open(
            &path,
            mode,
            UreqTransport::new(),
            record_options().config(&replay_config()),
            ReplayOptions::default(),
        )
    };

    let err = open(Mode::ReplayOnly).unwrap_err();
    assert!(matches!(err, ReplayError::MissingCassette { .. }));
    assert!(err.to_string().contains("LEAP0_RECORD=missing"), "{err}");

    let emulator = emulator();
    let base = emulator.base_url();

    // First run records the creation.
    let session = open(Mode::RecordMissing).unwrap();
    assert!(!session.clock_is_virtual());
    let client = SnapshotsClient::new(
        config(&base),
        session.clone(),
        session.clock(SystemClock::new()),
    );
    let created = show(&client.create(CreateSnapshot::new("sb-seed-1").name("warm")));
    session.finish().unwrap();
    assert_eq!(emulator.request_count(), 1);

    // Second run replays the creation and records only the listing.
    let session = open(Mode::RecordMissing).unwrap();
    let client = SnapshotsClient::new(
        config(&base),
        session.clone(),
        session.clock(SystemClock::new()),
    );
    assert_eq!(
        show(&client.create(CreateSnapshot::new("sb-seed-1").name("warm"))),
        created
    );
    let listed = show(&client.list(ListSnapshots::default()));
    session.finish().unwrap();
    assert_eq!(emulator.request_count(), 2);
    drop(emulator);

    // Third run replays both with no server and a virtual clock.
    let session = open(Mode::Auto).unwrap();
    assert_eq!(session.mode(), Mode::ReplayOnly);
    assert!(session.virtual_clock().is_some());
    let client = SnapshotsClient::new(
        config(&base),
        session.clone(),
        session.clock(SystemClock::new()),
    );
    assert_eq!(
        show(&client.create(CreateSnapshot::new("sb-seed-1").name("warm"))),
        created
    );
    assert_eq!(show(&client.list(ListSnapshots::default())), listed);
    session.finish().unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    assert_secret_free(&text);
    assert_secret_free(&format!("{session:?}"));
    assert_eq!(Cassette::load(&path).unwrap().interactions.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn drift_check_reports_an_edited_body() {
    let dir = temp_dir("drift");
    let path = dir.join("drift.json");
    let emulator = emulator();
    let recorder = Recorder::new(UreqTransport::new(), record_options());
    let client = SnapshotsClient::new(
        config(&emulator.base_url()),
        recorder.clone(),
        VirtualClock::new(),
    );
    client
        .create(CreateSnapshot::new("sb-seed-1").name("warm"))
        .unwrap();
    client.list(ListSnapshots::default().at_page(2)).unwrap();
    drop(emulator);
    recorder.save(&path).unwrap();

    let cassette = Cassette::load(&path).unwrap();
    assert_eq!(check_drift(&cassette), vec![]);

    let mut edited = cassette.clone();
    edited.interactions[0].request.body = Some(Body::Json(serde_json::json!({"name": "cold"})));
    edited.interactions[1].request.target = edited.interactions[1]
        .request
        .target
        .replace("page=2", "page=02");
    let edited = edited.to_json().unwrap();
    let drift = check_drift(&Cassette::from_slice(edited.as_bytes()).unwrap());
    let report: Vec<String> = drift.iter().map(ToString::to_string).collect();
    assert_eq!(drift.len(), 2, "{report:#?}");
    assert_eq!(drift[0].interaction, 0);
    assert!(
        report[0].contains(r#"body.name: recorded "cold", got "warm""#),
        "{report:#?}"
    );
    assert!(
        report[1].contains(r#"query page: recorded "02", got "2""#),
        "{report:#?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
