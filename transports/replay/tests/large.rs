//! A large cassette behaves like a small one: repeated identical requests get
//! their recorded answers in order wherever they sit among 20,000 others, and a
//! miss still reports the closest recorded requests, best first.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use leap0_core::transport::{Request, Response, Transport, TransportError};
use leap0_replay::{
    Body, Cassette, Exhausted, Interaction, RecordedRequest, RecordedResponse, ReplayError,
    ReplayOptions, Replayer,
};
use serde_json::Value;

const DISTINCT: usize = 20_000;
/// The status reads of one sandbox, recorded between the distinct creates.
const READS: usize = 40;

fn interaction(method: &str, target: &str, body: &str, answer: String) -> Interaction {
    Interaction {
        operation: None,
        inputs: None,
        request: RecordedRequest {
            method: method.to_owned(),
            target: target.to_owned(),
            headers: BTreeMap::new(),
            body: Body::from_bytes(body.as_bytes()),
        },
        response: Some(RecordedResponse {
            status: if method == "POST" { 201 } else { 200 },
            headers: BTreeMap::new(),
            body: Body::from_bytes(answer.as_bytes()),
        }),
        failure: None,
        latency_ms: 0,
    }
}

fn create(i: usize) -> (String, String) {
    (
        format!("/v1/sandbox/sb-{i:05}/snapshot/create"),
        format!(r#"{{"name":"snapshot-{i:05}"}}"#),
    )
}

/// 20,000 distinct creates, with the 40 reads of one sandbox spread among
/// them; read `n` answers `{"read": n}`.
fn large() -> Cassette {
    let mut cassette = Cassette::new();
    let every = DISTINCT / READS;
    for i in 0..DISTINCT {
        let (target, body) = create(i);
        let answer = format!(r#"{{"id":"snap-{i}","name":"snapshot-{i:05}"}}"#);
        cassette
            .interactions
            .push(interaction("POST", &target, &body, answer));
        if i % every == every - 1 {
            let n = i / every;
            let answer = format!(r#"{{"read":{n}}}"#);
            cassette
                .interactions
                .push(interaction("GET", "/v1/sandbox/sb-watched/", "", answer));
        }
    }
    cassette
}

fn request(method: &str, target: &str, body: &str) -> Request {
    http::Request::builder()
        .method(method)
        .uri(format!("https://api.leap0.dev{target}"))
        .body(body.as_bytes().to_vec())
        .unwrap()
}

fn send(replayer: &Replayer, request: Request) -> Result<Response, TransportError> {
    Transport::send(replayer, request, Duration::from_secs(1))
}

fn json(response: Response) -> Value {
    serde_json::from_slice(response.body()).unwrap()
}

#[test]
fn repeated_requests_among_many_get_their_answers_in_recorded_order() {
    let replayer = Replayer::new(large(), ReplayOptions::default()).unwrap();
    assert_eq!(replayer.len(), DISTINCT + READS);
    // The creates go first, in reverse; the reads still come in recorded order.
    for i in (0..DISTINCT).rev() {
        let (target, body) = create(i);
        let answer = json(send(&replayer, request("POST", &target, &body)).unwrap());
        assert_eq!(answer["id"], format!("snap-{i}"));
    }
    for n in 0..READS {
        let answer = json(send(&replayer, request("GET", "/v1/sandbox/sb-watched/", "")).unwrap());
        assert_eq!(answer["read"], n);
    }
    replayer.finish().unwrap();
    let extra = send(&replayer, request("GET", "/v1/sandbox/sb-watched/", ""));
    assert!(extra.is_err(), "the reads are used up");

    let repeating = Replayer::new(
        large(),
        ReplayOptions::default().on_exhausted(Exhausted::RepeatLast),
    )
    .unwrap();
    for _ in 0..READS {
        send(&repeating, request("GET", "/v1/sandbox/sb-watched/", "")).unwrap();
    }
    for _ in 0..3 {
        let answer = json(send(&repeating, request("GET", "/v1/sandbox/sb-watched/", "")).unwrap());
        assert_eq!(answer["read"], READS - 1, "the last answer again");
    }
}

#[test]
fn a_miss_among_many_names_the_closest_recorded_requests() {
    let replayer = Replayer::new(large(), ReplayOptions::default()).unwrap();
    let (target, _) = create(12_345);
    let err = send(
        &replayer,
        request("POST", &target, r#"{"name":"snapshot-renamed"}"#),
    )
    .unwrap_err();
    let Some(ReplayError::Mismatch(mismatch)) = ReplayError::find(&err) else {
        panic!("no mismatch report behind {err}")
    };
    let best = &mismatch.candidates[0];
    let differences: Vec<String> = best.differences.iter().map(ToString::to_string).collect();
    assert_eq!(
        differences,
        [r#"body.name: recorded "snapshot-12345", got "snapshot-renamed""#],
        "the same route with one field off comes first"
    );
    assert!(
        mismatch.candidates.len() > 1 && mismatch.candidates.len() <= 5,
        "a few candidates, not 20,000: {}",
        mismatch.candidates.len()
    );
    let report = mismatch.to_string();
    assert!(report.contains(&target), "{report}");
    assert!(report.lines().count() < 40, "a readable report:\n{report}");

    // A DELETE of that path is no better a candidate than any POST.
    let err = send(&replayer, request("DELETE", &target, "")).unwrap_err();
    let Some(ReplayError::Mismatch(mismatch)) = ReplayError::find(&err) else {
        panic!("no mismatch report behind {err}")
    };
    assert!(
        mismatch.candidates[0]
            .differences
            .iter()
            .any(|d| d.to_string().starts_with("method")),
        "{mismatch}"
    );
}
