//! A test's own matching rules: ignored body fields and query parameters, a
//! custom matcher, and hooks before matching and before playback. Each case
//! also shows the miss the same replay meets without the rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use leap0_core::transport::{Request, Response, TransportError, VirtualClock};
use leap0_core::{
    Config, CreateSnapshot, Error, GetSandbox, ListSnapshots, NetworkPolicy, ResumeSnapshot,
    SnapshotsClient, http,
};
use leap0_replay::{Cassette, RecordOptions, Recorder, ReplayError, ReplayOptions, Replayer};
use serde_json::json;

/// A server answering like the API, from the request alone.
fn server(request: Request, _: Duration) -> Result<Response, TransportError> {
    let path = request.uri().path().to_owned();
    let (status, body) = if path.ends_with("/snapshot/create") {
        let name = serde_json::from_slice::<serde_json::Value>(request.body())
            .ok()
            .and_then(|b| b["name"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "generated".to_owned());
        (201, json!({"id": "snap-1", "name": name}))
    } else if path.ends_with("/snapshot/resume") {
        (201, json!({"id": "sb-new", "state": "starting"}))
    } else if path.starts_with("/v1/sandbox/") {
        let id = path
            .trim_start_matches("/v1/sandbox/")
            .trim_end_matches('/');
        (200, json!({"id": id, "state": "running"}))
    } else {
        (200, json!({"items": [], "total_items": 0}))
    };
    http::Response::builder()
        .status(status)
        .body(body.to_string().into_bytes())
        .map_err(TransportError::other)
}

/// The cassette of what `calls` does against the server.
fn recorded(
    calls: impl FnOnce(
        &SnapshotsClient<
            Recorder<fn(Request, Duration) -> Result<Response, TransportError>>,
            VirtualClock,
        >,
    ),
) -> Cassette {
    let recorder = Recorder::new(
        server as fn(Request, Duration) -> Result<Response, TransportError>,
        RecordOptions::new(),
    );
    let client = SnapshotsClient::new(config(), recorder.clone(), VirtualClock::new());
    calls(&client);
    recorder.cassette()
}

fn config() -> Config {
    Config::new("key").unwrap()
}

fn replaying(
    cassette: &Cassette,
    options: ReplayOptions,
) -> (Replayer, SnapshotsClient<Replayer, VirtualClock>) {
    let replayer = Replayer::new(cassette.clone(), options).unwrap();
    let client = SnapshotsClient::new(config(), replayer.clone(), replayer.clock());
    (replayer, client)
}

/// The fields the closest candidate of a miss differs in.
fn missed_fields(error: &Error) -> Vec<String> {
    let Some(ReplayError::Mismatch(report)) = ReplayError::find(error) else {
        panic!("not a miss: {error}");
    };
    report.candidates[0]
        .differences
        .iter()
        .map(|d| d.field.clone())
        .collect()
}

#[test]
fn ignored_body_fields_and_query_parameters_do_not_take_part() {
    let cassette = recorded(|c| {
        c.create(CreateSnapshot::new("sb-1").name("gen-111"))
            .unwrap();
        c.list(ListSnapshots::default().page(1)).unwrap();
    });
    let replay = |client: &SnapshotsClient<Replayer, VirtualClock>| {
        (
            client.create(CreateSnapshot::new("sb-1").name("gen-222")),
            client.list(ListSnapshots::default().page(3)),
        )
    };

    let (_, client) = replaying(&cassette, ReplayOptions::default());
    let (create, list) = replay(&client);
    assert_eq!(missed_fields(&create.unwrap_err()), ["body.name"]);
    assert_eq!(missed_fields(&list.unwrap_err()), ["query page"]);

    let options = ReplayOptions::default()
        .ignore("body.name")
        .unwrap()
        .ignore("query.page")
        .unwrap();
    let (replayer, client) = replaying(&cassette, options);
    let (create, list) = replay(&client);
    assert_eq!(create.unwrap().name, "gen-111", "the recorded answer");
    list.unwrap();
    replayer.finish().unwrap();
}

#[test]
fn a_path_reaches_into_arrays_and_a_miss_names_what_still_differs() {
    let policy = |token: &str| -> NetworkPolicy {
        serde_json::from_value(json!({
            "mode": "custom",
            "allow_domains": ["api.example.com"],
            "transforms": [{"domain": "api.example.com", "inject_headers": {"x-token": token}}],
        }))
        .unwrap()
    };
    let cassette = recorded(|c| {
        c.resume(ResumeSnapshot::new("warm").network_policy(policy("t-1")))
            .unwrap();
    });
    let rule = "body.network_policy.transforms[*].inject_headers";

    let (_, client) = replaying(&cassette, ReplayOptions::default());
    let missed = client
        .resume(ResumeSnapshot::new("warm").network_policy(policy("t-2")))
        .unwrap_err();
    assert_eq!(
        missed_fields(&missed),
        ["body.network_policy.transforms[0].inject_headers.x-token"]
    );

    let (replayer, client) = replaying(&cassette, ReplayOptions::default().ignore(rule).unwrap());
    client
        .resume(ResumeSnapshot::new("warm").network_policy(policy("t-2")))
        .unwrap();
    replayer.finish().unwrap();

    // What the rule does not cover still counts, and the miss names only that.
    let (_, client) = replaying(&cassette, ReplayOptions::default().ignore(rule).unwrap());
    let missed = client
        .resume(
            ResumeSnapshot::new("warm")
                .network_policy(policy("t-2"))
                .auto_pause(true),
        )
        .unwrap_err();
    assert_eq!(missed_fields(&missed), ["body.auto_pause"]);
}

#[test]
fn a_custom_matcher_decides_instead_of_the_key() {
    let cassette = recorded(|c| {
        c.sandbox("sb-111").unwrap();
    });
    let (_, client) = replaying(&cassette, ReplayOptions::default());
    assert_eq!(
        missed_fields(&client.sandbox("sb-999").unwrap_err()),
        ["path"]
    );

    // Any status read answers any other.
    let options = ReplayOptions::default().matcher(|recorded, live| {
        recorded.operation().is_some() && recorded.operation() == live.operation()
    });
    let (replayer, client) = replaying(&cassette, options);
    assert_eq!(client.sandbox("sb-999").unwrap().id, "sb-111");
    replayer.finish().unwrap();
    // It is used up like any other interaction.
    assert!(client.sandbox(GetSandbox::new("sb-999")).is_err());
}

#[test]
fn hooks_change_the_live_request_and_the_replayed_answer() {
    let cassette = recorded(|c| {
        c.create(CreateSnapshot::new("sb-1").name("gen-111"))
            .unwrap();
    });
    let (_, client) = replaying(&cassette, ReplayOptions::default());
    assert!(
        client
            .create(CreateSnapshot::new("sb-1").name("gen-222"))
            .is_err()
    );

    let options = ReplayOptions::default()
        .before_match(|request| {
            // The test's generated name, brought back to the recorded one.
            let body = String::from_utf8_lossy(request.body()).replace("gen-222", "gen-111");
            *request.body_mut() = body.into_bytes();
        })
        .before_playback(|response| {
            let body = String::from_utf8_lossy(response.body()).replace("snap-1", "snap-rewritten");
            *response.body_mut() = body.into_bytes();
        });
    let (replayer, client) = replaying(&cassette, options);
    let snapshot = client
        .create(CreateSnapshot::new("sb-1").name("gen-222"))
        .unwrap();
    assert_eq!(
        (snapshot.id.as_str(), snapshot.name.as_str()),
        ("snap-rewritten", "gen-111")
    );
    replayer.finish().unwrap();
}

#[test]
fn a_replayer_with_a_maximum_age_refuses_an_older_cassette() {
    let mut cassette = recorded(|c| {
        c.sandbox("sb-1").unwrap();
    });
    let max_age = ReplayOptions::default().max_age(Duration::from_secs(90 * 86_400));
    // Just recorded: fine.
    Replayer::new(cassette.clone(), max_age.clone()).unwrap();
    cassette.meta.recorded_at = "2020-01-01T00:00:00Z".to_owned();
    let refused = Replayer::new(cassette.clone(), max_age).unwrap_err();
    let message = refused.to_string();
    assert!(message.contains("2020-01-01T00:00:00Z"), "{message}");
    assert!(message.contains("days"), "{message}");
    // Without a maximum, any age replays.
    Replayer::new(cassette, ReplayOptions::default()).unwrap();
}

#[test]
fn a_before_record_hook_stores_a_stable_value() {
    let record = |options: RecordOptions| {
        let recorder = Recorder::new(
            server as fn(Request, Duration) -> Result<Response, TransportError>,
            options,
        );
        let client = SnapshotsClient::new(config(), recorder.clone(), VirtualClock::new());
        client
            .create(CreateSnapshot::new("sb-1").name("gen-4711"))
            .unwrap();
        recorder.cassette().to_json().unwrap()
    };
    assert!(record(RecordOptions::new()).contains("gen-4711"));
    let stable = record(RecordOptions::new().before_record(|x| {
        let text = serde_json::to_string(&*x)
            .unwrap()
            .replace("gen-4711", "gen-stable");
        *x = serde_json::from_str(&text).unwrap();
    }));
    assert!(!stable.contains("gen-4711"), "{stable}");
    assert!(stable.contains("gen-stable"));
}
