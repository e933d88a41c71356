//! Arbitrary requests through a `Replayer` as a transport, against a fixed
//! valid cassette or an arbitrary one, under arbitrary options: no panic, and
//! the index agrees with the report. A request is answered only by a recorded
//! interaction the report finds no difference with, and a request that
//! finds none unused is reported with its differences (or as sent too often).
#![no_main]

use std::collections::BTreeMap;
use std::time::Duration;

use arbitrary::Unstructured;
use leap0_core::transport::{Request, Transport, TransportError};
use leap0_replay::{
    Body, Cassette, Exhausted, Interaction, RecordedRequest, RecordedResponse, ReplayError,
    ReplayOptions, Replayer,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

/// The recorded requests of the fixed cassette: a repeated one, a redacted
/// query parameter and JSON field, and a hand-edited wildcard segment.
fn fixed() -> (Cassette, Vec<&'static str>, Vec<Value>) {
    let requests: [(&str, &str, Option<Value>); 7] = [
        (
            "POST",
            "/v1/sandbox/sb-1/snapshot/create",
            Some(json!({"name": "warm"})),
        ),
        (
            "POST",
            "/v1/sandbox/sb-1/snapshot/create",
            Some(json!({"name": "warm"})),
        ),
        (
            "GET",
            "/v1/snapshots?query=&sort=created_at&order-by=desc&page=1&page-size=20",
            None,
        ),
        ("GET", "/v1/sandbox/sb-1/", None),
        (
            "POST",
            "/v1/snapshot/resume?sig=<redacted>",
            Some(
                json!({"snapshot_name": "<redacted>", "auto_pause": false, "n": [1, -0.0, {"b": null}]}),
            ),
        ),
        ("DELETE", "/v1/snapshot/<redacted>", None),
        ("PUT", "/v1/a%2Fb/%00/x%3Dy?k=%01&k=v", Some(json!("text"))),
    ];
    let mut cassette = Cassette::new();
    cassette.meta.redact.query = vec!["sig".into()];
    cassette.meta.redact.json_fields = vec!["snapshot_name".into()];
    for (i, (method, target, body)) in requests.iter().enumerate() {
        let headers = BTreeMap::from([
            ("authorization".to_owned(), "<redacted>".to_owned()),
            ("x-trace".to_owned(), format!("t{}", i % 2)),
        ]);
        cassette.interactions.push(Interaction {
            operation: None,
            inputs: None,
            request: RecordedRequest {
                method: (*method).to_owned(),
                target: (*target).to_owned(),
                headers,
                body: body
                    .as_ref()
                    .and_then(|b| Body::from_bytes(b.to_string().as_bytes())),
            },
            response: Some(RecordedResponse {
                status: 200,
                headers: BTreeMap::new(),
                body: Body::from_bytes(json!({ "i": i }).to_string().as_bytes()),
            }),
            failure: None,
            latency_ms: 1,
        });
    }
    let targets = requests.iter().map(|(_, t, _)| *t).collect();
    let bodies = requests.iter().filter_map(|(_, _, b)| b.clone()).collect();
    (cassette, targets, bodies)
}

fn options(u: &mut Unstructured<'_>) -> arbitrary::Result<ReplayOptions> {
    let mut options = ReplayOptions::default()
        .match_body(u.ratio(7, 8)?)
        .match_query(u.ratio(7, 8)?)
        .on_exhausted(if u.arbitrary()? {
            Exhausted::RepeatLast
        } else {
            Exhausted::Fail
        });
    if u.arbitrary()? {
        options = options.match_header("x-trace");
    }
    if u.arbitrary()? {
        options = options
            .match_header("user-agent")
            .match_header("Authorization");
    }
    Ok(options)
}

fn send(replayer: &Replayer, request: &Request) -> Result<(), TransportError> {
    Transport::send(replayer, request.clone(), Duration::from_secs(1)).map(drop)
}

/// The report of a miss: its best candidate, the closest recorded request,
/// differs from the request, unless every such request was used already.
fn check_miss(err: &TransportError, repeat_last: bool) {
    let Some(ReplayError::Mismatch(report)) = ReplayError::find(err) else {
        // A recorded failure, replayed as it was.
        return;
    };
    let _ = report.to_string();
    if let Some(best) = report.candidates.first() {
        assert!(
            !best.differences.is_empty() || (best.used && !repeat_last),
            "missed a request with no differences:\n{report}"
        );
    }
}

fn run(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let (fixed, targets, bodies) = fixed();
    let cassette = if u.ratio(3, 4)? {
        fixed
    } else {
        let len = u.int_in_range(0..=u.len())?;
        match Cassette::from_slice(u.bytes(len)?) {
            Ok(cassette) => cassette,
            Err(_) => return Ok(()),
        }
    };
    let options = options(u)?;
    let repeat_last = options.on_exhausted == Exhausted::RepeatLast;
    let Ok(replayer) = Replayer::new(cassette, options) else {
        return Ok(());
    };
    for _ in 0..u.int_in_range(1..=6)? {
        let Some(request) = leap0_fuzz::request(u, &targets, &bodies)? else {
            continue;
        };
        match send(&replayer, &request) {
            // Answered: sent again, it is answered again or reported as the
            // same request with no differences, already used.
            Ok(()) => {
                if let Err(e) = send(&replayer, &request) {
                    let Some(ReplayError::Mismatch(report)) = ReplayError::find(&e) else {
                        continue;
                    };
                    let best = report.candidates.first().expect("a non-empty cassette");
                    assert!(
                        best.differences.is_empty() && best.used,
                        "answered a request that differs:\n{report}"
                    );
                }
            }
            Err(e) => check_miss(&e, repeat_last),
        }
    }
    let _ = replayer.finish().map_err(|e| e.to_string());
    let _ = format!("{replayer:?}");
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
