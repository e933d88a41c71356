//! Matching, reports and cassette handling, with hand-made cassettes and no network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use leap0_core::transport::{
    Clock, Request, Response, Transport, TransportError, TransportErrorKind, VirtualClock,
};
use leap0_core::{Config, SnapshotsClient};
use leap0_replay::{
    Body, Cassette, Exhausted, Interaction, Mode, RecordOptions, RecordedRequest, RecordedResponse,
    Recorder, ReplayError, ReplayOptions, Replayer, check_drift, identify,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const KEY: &str = "sk-live-distinctive-123";
const LIST_PAGE_2: &str = "/v1/snapshots?query=&sort=created_at&order-by=desc&page=2&page-size=20";
const LIST_PAGE_3: &str = "/v1/snapshots?query=&sort=created_at&order-by=desc&page=3&page-size=20";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "leap0-replay-offline-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn interaction(method: &str, target: &str, body: &str, status: u16, answer: &str) -> Interaction {
    let identified = identify(method, target, body.as_bytes());
    let mut headers = BTreeMap::from([("authorization".to_owned(), "<redacted>".to_owned())]);
    if !body.is_empty() {
        headers.insert("content-type".to_owned(), "application/json".to_owned());
    }
    Interaction {
        operation: identified.as_ref().map(|(op, _)| *op),
        inputs: identified.map(|(_, inputs)| inputs),
        request: RecordedRequest {
            method: method.to_owned(),
            target: target.to_owned(),
            headers,
            body: Body::from_bytes(body.as_bytes()),
        },
        response: Some(RecordedResponse {
            status,
            headers: BTreeMap::new(),
            body: Body::from_bytes(answer.as_bytes()),
        }),
        failure: None,
        latency_ms: 5,
    }
}

fn cassette(interactions: Vec<Interaction>) -> Cassette {
    let mut cassette = Cassette::new();
    cassette.interactions = interactions;
    cassette
}

fn request(method: &str, target: &str, body: &str) -> Request {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(format!("https://api.leap0.dev{target}"))
        .header("authorization", format!("Bearer {KEY}"))
        .header("user-agent", "something-else/9");
    if !body.is_empty() {
        builder = builder.header("content-type", "application/json");
    }
    builder.body(body.as_bytes().to_vec()).unwrap()
}

fn send(replayer: &Replayer, req: Request) -> Result<Response, TransportError> {
    Transport::send(replayer, req, Duration::from_secs(1))
}

/// The mismatch report behind a failed replay, as its `Display` shows it.
fn report(err: &TransportError) -> String {
    match ReplayError::find(err) {
        Some(ReplayError::Mismatch(mismatch)) => mismatch.to_string(),
        _ => panic!("no mismatch report behind {err}"),
    }
}

fn sandbox(state: &str) -> String {
    format!(
        r#"{{"id":"sb-1","template_id":"t","vcpu":1,"memory":512,"disk":1,"timeout":60,"state":"{state}","created_at":"2025-01-15T10:30:00Z"}}"#
    )
}

fn state_of(response: Response) -> String {
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    body["state"].as_str().unwrap().to_owned()
}

fn standard() -> Cassette {
    cassette(vec![
        interaction(
            "POST",
            "/v1/sandbox/sb-1/snapshot/create",
            r#"{"name":"warm"}"#,
            201,
            "{}",
        ),
        interaction(
            "POST",
            "/v1/sandbox/sb-2/snapshot/create",
            r#"{"name":"warm"}"#,
            201,
            "{}",
        ),
        interaction(
            "GET",
            LIST_PAGE_2,
            "",
            200,
            r#"{"items":[],"total_items":0}"#,
        ),
        interaction("DELETE", "/v1/snapshot/snap-1", "", 204, ""),
    ])
}

#[test]
fn mismatch_reports_show_ranked_candidates_field_differences_and_a_hint() {
    let dir = temp_dir("mismatch");
    let path = dir.join("standard.json");
    standard().save(&path, [KEY]).unwrap();
    let replayer = Replayer::from_file(&path, ReplayOptions::default()).unwrap();

    let err = send(
        &replayer,
        request(
            "POST",
            "/v1/sandbox/sb-1/snapshot/create",
            r#"{ "name": "cold" }"#,
        ),
    )
    .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Other);
    assert!(!err.may_have_been_sent);
    let message = &report(&err);
    assert!(!message.contains(KEY), "{message}");
    assert!(
        message.starts_with(
            r#"no recorded interaction matches POST /v1/sandbox/sb-1/snapshot/create (JSON body {"name":"cold"})"#
        ),
        "{message}"
    );
    assert!(
        message.contains(&format!("cassette: {}", path.display())),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "re-record with LEAP0_RECORD=missing (add what is missing) or LEAP0_RECORD=all, or delete {}",
            path.display()
        )),
        "{message}"
    );

    let mismatches = replayer.mismatches();
    assert_eq!(mismatches.len(), 1);
    let mismatch = &mismatches[0];
    assert_eq!(&mismatch.to_string(), message);
    assert_eq!(mismatch.cassette.as_deref(), Some(path.as_path()));
    assert_eq!(mismatch.candidates.len(), 3);
    let ranked: Vec<usize> = mismatch.candidates.iter().map(|c| c.index).collect();
    assert_eq!(
        ranked[..2],
        [0, 1],
        "same path first, then the other sandbox"
    );
    let best = &mismatch.candidates[0];
    assert!(!best.used);
    assert_eq!(
        best.differences
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [r#"body.name: recorded "warm", got "cold""#]
    );
    assert_eq!(
        mismatch.candidates[1]
            .differences
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            r#"path: recorded "/v1/sandbox/sb-2/snapshot/create", got "/v1/sandbox/sb-1/snapshot/create""#,
            r#"body.name: recorded "warm", got "cold""#
        ]
    );
    assert!(
        message.contains(
            "#0 create_snapshot POST /v1/sandbox/sb-1/snapshot/create (unused)\n      body.name: recorded \"warm\", got \"cold\""
        ),
        "{message}"
    );

    // Query parameters are compared one by one.
    let err = send(&replayer, request("GET", LIST_PAGE_3, "")).unwrap_err();
    let mismatch = replayer.mismatches().pop().unwrap();
    assert_eq!(mismatch.candidates[0].index, 2);
    assert_eq!(
        mismatch.candidates[0].differences[0].to_string(),
        r#"query page: recorded "2", got "3""#
    );
    assert!(report(&err).contains(r#"query page: recorded "2", got "3""#));

    // A used answer is not given twice, and the report says so.
    assert_eq!(
        send(&replayer, request("DELETE", "/v1/snapshot/snap-1", ""))
            .unwrap()
            .status(),
        204
    );
    let err = send(&replayer, request("DELETE", "/v1/snapshot/snap-1", "")).unwrap_err();
    assert!(
        report(&err).starts_with(
            "DELETE /v1/snapshot/snap-1 (no body) was sent more often than when recording"
        ),
        "{}",
        report(&err)
    );
    assert!(report(&err).contains("#3 delete_snapshot DELETE /v1/snapshot/snap-1 (already used)"));
    let mismatch = replayer.mismatches().pop().unwrap();
    assert!(mismatch.candidates[0].used);
    assert!(mismatch.candidates[0].differences.is_empty());
    assert_eq!(replayer.mismatches().len(), 3);
    assert!(!format!("{replayer:?}").contains(KEY));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_miss_reads_well_where_tests_and_chain_printers_show_it() {
    let replayer = Replayer::new(standard(), ReplayOptions::default()).unwrap();
    let client = SnapshotsClient::new(
        Config::new(KEY).unwrap(),
        replayer.clone(),
        replayer.clock(),
    );
    let err = client.delete("snap-2").unwrap_err();
    // The one-line message says what failed, once.
    let text = err.to_string();
    assert_eq!(
        text,
        "Failed to delete snapshot: DELETE /v1/snapshot/snap-2: other error (the request was not sent): leap0-replay has no recorded answer for DELETE /v1/snapshot/snap-2 (the report of the closest recorded requests follows)"
    );
    assert!(!text.contains('\n'));
    // What `#[test] fn .. -> Result<(), leap0_core::Error>` prints on failure
    // is `Error: {err:?}`: the message, then the report, with real line breaks.
    let printed = format!("Error: {err:?}");
    assert!(
        printed.starts_with(&format!("Error: {text}\n\nCaused by:\n")),
        "{printed}"
    );
    assert!(
        printed.contains("\n    leap0-replay: no recorded interaction matches DELETE /v1/snapshot/snap-2 (no body)\n"),
        "{printed}"
    );
    assert!(
        printed.contains(
            "\n        #3 delete_snapshot DELETE /v1/snapshot/snap-1 (unused)\n          path: recorded \"/v1/snapshot/snap-1\", got \"/v1/snapshot/snap-2\""
        ),
        "{printed}"
    );
    assert!(printed.contains("cassette: (in memory)"), "{printed}");
    assert!(
        !printed.contains("\\n"),
        "no escaped line breaks: {printed}"
    );
    assert!(!printed.contains(KEY));
    // A chain printer (anyhow, eyre, the CLI) walks `source()`: the report, once.
    let mut chain = Vec::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = cause {
        chain.push(e.to_string());
        cause = e.source();
    }
    assert_eq!(chain.len(), 2, "{chain:?}");
    assert_eq!(
        chain.iter().filter(|c| c.contains("best first:")).count(),
        1
    );
    // The typed report is reachable from the client's error.
    let Some(ReplayError::Mismatch(mismatch)) = ReplayError::find(&err) else {
        panic!("no report");
    };
    assert_eq!(mismatch.candidates[0].method, "DELETE");
    assert!(
        format!("{:?}", ReplayError::find(&err).unwrap()).contains("\n  cassette: (in memory)")
    );
    assert!(!err.is_retryable());
    assert_eq!(replayer.mismatches().len(), 1, "not retried");
}

#[test]
fn repeated_requests_get_their_answers_in_order_then_fail_or_repeat_the_last() {
    let polls = cassette(vec![
        interaction("GET", "/v1/sandbox/sb-1/", "", 200, &sandbox("starting")),
        interaction("POST", "/v1/sandbox/sb-1/snapshot/create", "{}", 201, "{}"),
        interaction("GET", "/v1/sandbox/sb-1/", "", 200, &sandbox("starting")),
        interaction("GET", "/v1/sandbox/sb-1/", "", 200, &sandbox("running")),
    ]);
    let poll = || request("GET", "/v1/sandbox/sb-1/", "");

    let replayer = Replayer::new(polls.clone(), ReplayOptions::default()).unwrap();
    let states: Vec<String> = (0..3)
        .map(|_| state_of(send(&replayer, poll()).unwrap()))
        .collect();
    assert_eq!(states, ["starting", "starting", "running"]);
    let err = send(&replayer, poll()).unwrap_err();
    assert!(
        report(&err).contains("was sent more often than when recording"),
        "{}",
        report(&err)
    );
    let err = replayer.finish().unwrap_err();
    assert!(err.to_string().contains("#1 create_snapshot POST"), "{err}");

    let replayer = Replayer::new(
        polls,
        ReplayOptions::default().on_exhausted(Exhausted::RepeatLast),
    )
    .unwrap();
    let states: Vec<String> = (0..5)
        .map(|_| state_of(send(&replayer, poll()).unwrap()))
        .collect();
    assert_eq!(
        states,
        ["starting", "starting", "running", "running", "running"]
    );
    assert!(replayer.mismatches().is_empty());
}

#[test]
fn strict_order_requires_the_recorded_sequence() {
    let create = || {
        request(
            "POST",
            "/v1/sandbox/sb-1/snapshot/create",
            r#"{"name":"warm"}"#,
        )
    };
    let list = || request("GET", LIST_PAGE_2, "");

    let relaxed = Replayer::new(standard(), ReplayOptions::default()).unwrap();
    assert!(send(&relaxed, list()).is_ok());
    assert!(send(&relaxed, create()).is_ok());

    let strict = Replayer::new(standard(), ReplayOptions::default().strict_order(true)).unwrap();
    let err = send(&strict, list()).unwrap_err();
    assert!(
        report(&err).starts_with(&format!(
            "request out of order (strict_order): the client sent GET {LIST_PAGE_2} (no body), but the next recorded request is #0"
        )),
        "{}",
        report(&err)
    );
    assert!(
        report(&err).contains("next recorded request:\n    #0 create_snapshot"),
        "{}",
        report(&err)
    );
    let mismatch = strict.mismatches().pop().unwrap();
    assert_eq!(mismatch.expected_next.as_ref().map(|c| c.index), Some(0));
    assert_eq!(
        mismatch.candidates[0].index, 2,
        "the identical request is still the closest"
    );
    assert!(send(&strict, create()).is_ok());
    let err = send(&strict, list()).unwrap_err();
    assert!(
        report(&err).contains("next recorded request is #1"),
        "{}",
        report(&err)
    );
}

#[test]
fn finish_lists_unused_interactions_unless_allowed() {
    let dir = temp_dir("unused");
    let path = dir.join("unused.json");
    standard().save(&path, Vec::<String>::new()).unwrap();
    for allow in [false, true] {
        let replayer =
            Replayer::from_file(&path, ReplayOptions::default().allow_unused(allow)).unwrap();
        send(
            &replayer,
            request(
                "POST",
                "/v1/sandbox/sb-1/snapshot/create",
                r#"{"name":"warm"}"#,
            ),
        )
        .unwrap();
        send(&replayer, request("DELETE", "/v1/snapshot/snap-1", "")).unwrap();
        assert_eq!(replayer.unused(), [1, 2]);
        if allow {
            replayer.finish().unwrap();
            continue;
        }
        let err = replayer.finish().unwrap_err();
        let ReplayError::Unused {
            interactions,
            cassette,
        } = &err
        else {
            panic!("{err}")
        };
        assert_eq!(cassette.as_deref(), Some(path.as_path()));
        assert_eq!(
            interactions.iter().map(|x| x.index).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(
            err.to_string(),
            format!(
                "leap0-replay: 2 recorded interaction(s) were never requested (cassette {}):\n  #1 create_snapshot POST /v1/sandbox/sb-2/snapshot/create\n  #2 list_snapshots GET {LIST_PAGE_2}\n  the code under test made fewer requests than when recording; re-record with LEAP0_RECORD=all, or set ReplayOptions::allow_unused",
                path.display()
            )
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn matching_ignores_volatile_headers_and_key_order_and_honours_match_headers() {
    let options = ReplayOptions::default()
        .match_header("Content-Type")
        .match_header("authorization")
        .match_header("user-agent");
    let replayer = Replayer::new(standard(), options).unwrap();
    // Another key order and whitespace, another key and user agent: still a match.
    assert!(
        send(
            &replayer,
            request(
                "POST",
                "/v1/sandbox/sb-1/snapshot/create",
                "{\n \"name\" : \"warm\" }"
            )
        )
        .is_ok()
    );
    let mut req = request(
        "POST",
        "/v1/sandbox/sb-2/snapshot/create",
        r#"{"name":"warm"}"#,
    );
    req.headers_mut()
        .insert("content-type", "text/plain".parse().unwrap());
    let err = send(&replayer, req).unwrap_err();
    assert!(
        report(&err)
            .contains(r#"header content-type: recorded "application/json", got "text/plain""#),
        "{}",
        report(&err)
    );
}

#[test]
fn live_requests_are_redacted_like_the_recording_before_matching() {
    let mut recorded = cassette(vec![interaction(
        "POST",
        "/v1/snapshot/resume?sig=<redacted>",
        r#"{"snapshot_name":"<redacted>","auto_pause":false}"#,
        201,
        &sandbox("starting"),
    )]);
    recorded.meta.redact.query = vec!["sig".into()];
    recorded.meta.redact.json_fields = vec!["snapshot_name".into()];
    let replayer = Replayer::new(recorded, ReplayOptions::default()).unwrap();
    assert!(
        send(
            &replayer,
            request(
                "POST",
                "/v1/snapshot/resume?sig=abc",
                r#"{"snapshot_name":"private-name","auto_pause":false}"#
            )
        )
        .is_ok()
    );
    let err = send(
        &replayer,
        request(
            "POST",
            "/v1/snapshot/resume?sig=abc",
            r#"{"snapshot_name":"private-name","auto_pause":true}"#,
        ),
    )
    .unwrap_err();
    assert!(
        report(&err).contains("body.auto_pause: recorded false, got true"),
        "{}",
        report(&err)
    );
    assert!(!report(&err).contains("private-name"), "{}", report(&err));
    assert!(!report(&err).contains("abc"), "{}", report(&err));
}

#[test]
fn recorder_redacts_before_storing_and_remembers_its_redactions() {
    let server = |req: Request, _: Duration| -> Result<Response, TransportError> {
        assert_eq!(
            req.uri().query(),
            Some("query=mine&sort=created_at&order-by=desc&page=1&page-size=20")
        );
        Ok(http::Response::builder()
            .status(200)
            .header("set-cookie", "session=abc")
            .header("x-request-id", "req-1")
            .body(br#"{"items":[],"total_items":0,"token":"tok-1"}"#.to_vec())
            .unwrap())
    };
    let options = RecordOptions::new()
        .secret(KEY)
        .redact_query("query")
        .redact_json_field("token")
        .base_path("/leap0/");
    let recorder = Recorder::new(server, options);
    let config = Config::builder()
        .api_key(KEY)
        .base_url("https://proxy.example/leap0")
        .build()
        .unwrap();
    let client = SnapshotsClient::new(config.clone(), recorder.clone(), VirtualClock::new());
    let listing = leap0_core::ListSnapshots::default().query("mine");
    client.list(listing.clone()).unwrap();

    let cassette = recorder.cassette();
    assert_eq!(cassette.meta.base_path, "/leap0");
    assert_eq!(cassette.meta.redact.query, ["query"]);
    let x = &cassette.interactions[0];
    assert_eq!(
        x.request.target,
        "/leap0/v1/snapshots?query=<redacted>&sort=created_at&order-by=desc&page=1&page-size=20"
    );
    assert_eq!(x.operation, Some(leap0_core::Operation::ListSnapshots));
    let response = x.response.as_ref().unwrap();
    assert_eq!(response.headers["set-cookie"], "<redacted>");
    assert_eq!(response.headers["x-request-id"], "req-1");
    assert_eq!(
        response.body,
        Some(Body::Json(
            json!({"items": [], "total_items": 0, "token": "<redacted>"})
        ))
    );
    let text = cassette.to_json().unwrap();
    assert!(!text.contains("tok-1") && !text.contains("mine") && !text.contains(KEY));
    assert!(text.ends_with("}\n"));
    assert!(!format!("{recorder:?}").contains(KEY));
    assert!(!format!("{cassette:?}").contains(KEY));
    assert!(
        check_drift(&cassette).is_empty(),
        "{:?}",
        check_drift(&cassette)
    );

    // The replayer redacts the live query the same way, so the same call matches.
    let replayer = Replayer::new(cassette, ReplayOptions::default()).unwrap();
    let client = SnapshotsClient::new(config, replayer.clone(), replayer.clock());
    client.list(listing).unwrap();
    replayer.finish().unwrap();
}

#[test]
fn latency_moves_the_virtual_clock_only_when_asked() {
    for (simulate, expected) in [(true, 10), (false, 0)] {
        let replayer = Replayer::new(
            standard(),
            ReplayOptions::default().simulate_latency(simulate),
        )
        .unwrap();
        let clock = replayer.clock();
        send(&replayer, request("DELETE", "/v1/snapshot/snap-1", "")).unwrap();
        send(&replayer, request("GET", LIST_PAGE_2, "")).unwrap();
        assert_eq!(
            Clock::now(&clock).since_origin(),
            Duration::from_millis(expected)
        );
    }
}

#[test]
fn async_replay_is_immediately_ready_and_shares_state() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Replayer>();
    assert_send_sync::<Recorder<leap0_ureq::UreqTransport>>();
    let replayer = Replayer::new(standard(), ReplayOptions::default()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let response = runtime.block_on(leap0_core::transport::AsyncTransport::send(
        &replayer,
        request("DELETE", "/v1/snapshot/snap-1", ""),
        Duration::from_secs(1),
    ));
    assert_eq!(response.unwrap().status(), 204);
    assert_eq!(replayer.clone().unused(), [0, 1, 2]);
}

#[test]
fn modes_parse_from_names_and_the_environment() {
    for (text, mode) in [
        ("replay", Mode::ReplayOnly),
        ("missing", Mode::RecordMissing),
        (" ALL ", Mode::ReRecordAll),
        ("auto", Mode::Auto),
    ] {
        assert_eq!(Mode::parse(text), Ok(mode));
    }
    let err = Mode::parse("yes").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"LEAP0_RECORD: unknown mode "yes"; expected replay, missing, all, append or auto"#
    );
    assert_eq!(Mode::from_lookup(|_| None), Ok(Mode::ReplayOnly));
    assert_eq!(
        Mode::from_lookup(|_| Some(String::new())),
        Ok(Mode::ReplayOnly)
    );
    assert_eq!(
        Mode::from_lookup(|n| (n == "LEAP0_RECORD").then(|| "missing".into())),
        Ok(Mode::RecordMissing)
    );
    assert_eq!(Mode::default(), Mode::ReplayOnly);
}

#[test]
fn saved_cassettes_round_trip_and_secrets_in_any_form_are_refused() {
    let dir = temp_dir("roundtrip");
    let path = dir.join("nested").join("c.json");
    let mut c = standard();
    c.interactions.push(Interaction {
        failure: Some(TransportError::timeout("after 30s")),
        response: None,
        ..interaction("GET", "/v1/sandbox/sb-9/", "", 200, "")
    });
    c.interactions[3].response.as_mut().unwrap().body = Body::from_bytes(&[0, 159, 146, 150]);
    c.save(&path, [KEY]).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(r#""base64": "AJ+Slg==""#), "{text}");
    assert!(text.contains(r#""kind": "timeout""#), "{text}");
    assert_eq!(Cassette::load(&path).unwrap(), c);

    // Hidden in base64, in a header, or JSON-escaped: still found, never shown.
    let planted = [
        (
            Body::from_bytes(&[&[0xff_u8][..], KEY.as_bytes()].concat()),
            "interaction #0 response body",
        ),
        (
            Body::from_bytes(format!(r#"{{"k":"{KEY}"}}"#).as_bytes()),
            "interaction #0 response body",
        ),
    ];
    for (body, location) in planted {
        let mut leaky = c.clone();
        leaky.interactions[0].response.as_mut().unwrap().body = body;
        let err = leaky.save(dir.join("leak.json"), [KEY]).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("{location} contains a configured secret")),
            "{err}"
        );
        assert!(!err.to_string().contains(KEY));
    }
    let mut leaky = c.clone();
    leaky.interactions[1]
        .request
        .headers
        .insert("x-debug".into(), format!("k={KEY}"));
    let err = leaky.save(dir.join("leak.json"), [KEY]).unwrap_err();
    assert!(
        err.to_string()
            .contains("interaction #1 request header x-debug"),
        "{err}"
    );
    let weird = "a\"b\\c";
    let mut leaky = c.clone();
    leaky.interactions[2].failure = None;
    leaky.interactions[2].response.as_mut().unwrap().body =
        Body::from_bytes(json!({"x": weird}).to_string().as_bytes());
    let err = leaky.save(dir.join("leak.json"), [weird]).unwrap_err();
    assert!(
        err.to_string().contains("interaction #2 response body"),
        "{err}"
    );
    assert!(!dir.join("leak.json").exists());
    // Blank secrets are ignored.
    c.save(&path, ["", "  "]).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Where a leaked key is planted in a cassette, and how the refusal names it.
#[derive(Debug, Clone, Copy)]
enum Place {
    ResponseBody,
    ResponseHeader,
    FailureMessage,
}

impl Place {
    const ALL: [Place; 3] = [
        Place::ResponseBody,
        Place::ResponseHeader,
        Place::FailureMessage,
    ];

    fn plant(self, cassette: &mut Cassette, text: &str) -> &'static str {
        match self {
            Place::ResponseBody => {
                cassette.interactions[0].response.as_mut().unwrap().body =
                    Body::from_bytes(format!("echo: {text}").as_bytes());
                "interaction #0 response body"
            }
            Place::ResponseHeader => {
                cassette.interactions[1]
                    .response
                    .as_mut()
                    .unwrap()
                    .headers
                    .insert("x-echo".into(), format!("seen {text}"));
                "interaction #1 response header x-echo"
            }
            Place::FailureMessage => {
                let x = &mut cassette.interactions[2];
                x.response = None;
                x.failure = Some(TransportError::connect(format!("proxy said {text}")));
                "interaction #2 failure message"
            }
        }
    }
}

#[test]
fn saving_refuses_the_key_in_every_form_and_place_and_names_the_place_only() {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};

    // Its base64 holds `+` and `/` at every alignment, so the two alphabets differ.
    let key = "sk-live-?>~~?>-distinctive";
    let configured = format!("Bearer {key}");
    let mut forms: Vec<(String, String, &str)> = vec![
        ("bare token".into(), key.to_owned(), "as is"),
        (
            "JSON-escaped".into(),
            key.chars()
                .map(|c| format!("\\u{:04x}", c as u32))
                .collect(),
            "JSON-escaped",
        ),
        (
            "partly JSON-escaped".into(),
            format!("\\u0073{}", &key[1..]),
            "JSON-escaped",
        ),
        (
            "percent-encoded".into(),
            key.bytes().map(|b| format!("%{b:02X}")).collect(),
            "percent-encoded",
        ),
    ];
    for lead in ["", "x", "xy"] {
        let bytes = [lead.as_bytes(), key.as_bytes(), b"!"].concat();
        let (standard, url_safe) = (STANDARD.encode(&bytes), URL_SAFE.encode(&bytes));
        assert_ne!(standard[4..20], url_safe[4..20], "alignment {}", lead.len());
        for (alphabet, encoded) in [("standard", standard), ("URL-safe", url_safe)] {
            let name = format!("base64 {alphabet}, alignment {}", lead.len());
            forms.push((name, encoded, "base64-encoded"));
        }
    }
    let dir = temp_dir("secret-forms");
    let path = dir.join("leak.json");
    for (name, text, form) in &forms {
        for place in Place::ALL {
            let mut leaky = standard();
            let location = place.plant(&mut leaky, text);
            let err = leaky.save(&path, [configured.as_str()]).unwrap_err();
            let message = err.to_string();
            assert!(
                message.contains(&format!("{location} contains a configured secret ({form})")),
                "{name} in {place:?}: {message}"
            );
            for shown in [message, format!("{err:?}")] {
                assert!(
                    !shown.contains(key) && !shown.contains(text.as_str()),
                    "{shown}"
                );
            }
            assert!(!path.exists(), "{name} in {place:?} was written");
        }
    }
    // A header whose name and value both hold the key is named without it.
    let mut leaky = standard();
    leaky.interactions[0]
        .response
        .as_mut()
        .unwrap()
        .headers
        .insert(format!("x-{key}"), key.to_owned());
    let err = leaky.save(&path, [configured.as_str()]).unwrap_err();
    assert!(
        err.to_string()
            .contains("interaction #0 response header name contains a configured secret"),
        "{err}"
    );
    assert!(!err.to_string().contains(key), "{err}");
    // The clean cassette is written.
    standard().save(&path, [configured.as_str()]).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

fn valid_text() -> String {
    let mut c = standard();
    c.interactions.push(Interaction {
        failure: Some(TransportError::connect("refused")),
        response: None,
        ..interaction("GET", "/v1/sandbox/sb-9/", "", 200, "")
    });
    c.to_json().unwrap()
}

/// Every JSON pointer in `value`.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                pointers(
                    v,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        Just(Value::from("GET")),
        Just(Value::from("/v1/x")),
        Just(Value::from("<redacted>")),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Whatever loads must also replay and drift-check without panicking.
fn exercise(bytes: &[u8]) {
    if let Ok(cassette) = Cassette::from_slice(bytes) {
        let _ = check_drift(&cassette);
        let replayer = Replayer::new(cassette, ReplayOptions::default()).unwrap();
        for (method, target, body) in [
            (
                "POST",
                "/v1/sandbox/sb-1/snapshot/create",
                r#"{"name":"warm"}"#,
            ),
            ("GET", "/v1/sandbox/sb-9/", ""),
            ("DELETE", "/v1/snapshot/snap-1", ""),
        ] {
            let _ = send(&replayer, request(method, target, body));
        }
        let _ = replayer.finish();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_are_an_error_not_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        prop_assert!(Cassette::from_slice(&bytes).is_err() || serde_json::from_slice::<Value>(&bytes).is_ok());
        exercise(&bytes);
    }

    #[test]
    fn byte_mutations_of_a_valid_cassette_never_panic(
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        how in 0..3u8,
    ) {
        let mut bytes = valid_text().into_bytes();
        let i = at.index(bytes.len());
        match how {
            0 => bytes[i] = byte,
            1 => bytes.insert(i, byte),
            _ => { bytes.remove(i); }
        }
        exercise(&bytes);
    }

    #[test]
    fn json_mutations_of_a_valid_cassette_never_panic(
        at in any::<prop::sample::Index>(),
        replacement in arb_json(),
        remove in any::<bool>(),
    ) {
        let mut value: Value = serde_json::from_str(&valid_text()).unwrap();
        let mut all = Vec::new();
        pointers(&value, String::new(), &mut all);
        let pointer = all[at.index(all.len())].clone();
        if remove && !pointer.is_empty() {
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            match value.pointer_mut(parent) {
                Some(Value::Object(map)) => { map.remove(&key.replace("~1", "/").replace("~0", "~")); }
                Some(Value::Array(items)) => { let i: usize = key.parse().unwrap(); items.remove(i); }
                _ => {}
            }
        } else if let Some(slot) = value.pointer_mut(&pointer) {
            *slot = replacement;
        }
        exercise(value.to_string().as_bytes());
    }
}
