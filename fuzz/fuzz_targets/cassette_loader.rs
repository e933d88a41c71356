//! Any bytes as a cassette: `Cassette::from_slice` and the replayer's own
//! one-pass loader agree on what is a cassette, never panic, and whatever
//! loads saves to text that loads again, replays and drift-checks.
//!
//! Inputs that do not start with `{` are read as edits of a valid cassette
//! (a JSON value put somewhere in it), so that most of them get past the
//! syntax check.
#![no_main]

use std::time::Duration;

use arbitrary::Unstructured;
use leap0_core::transport::Transport;
use leap0_replay::{Cassette, ReplayOptions, Replayer, check_drift};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const VALID: &str = r#"{
  "version": 1,
  "meta": {"crate_version": "0.1.0", "recorded_at": "2025-01-15T10:30:00Z", "base_path": "",
           "redact": {"query": ["sig"], "json_fields": ["token"]}},
  "interactions": [
    {"operation": "create_snapshot", "inputs": {"sandbox_id": "sb-1", "name": "warm"},
     "request": {"method": "POST", "target": "/v1/sandbox/sb-1/snapshot/create",
                 "headers": {"authorization": "<redacted>", "content-type": "application/json"},
                 "body": {"json": {"name": "warm"}}},
     "response": {"status": 201, "headers": {"x-request-id": "r-1"},
                  "body": {"json": {"id": "snap-1", "name": "warm", "memory": 2048}}},
     "latency_ms": 4},
    {"request": {"method": "GET", "target": "/v1/snapshots?query=&page=1&sig=<redacted>"},
     "response": {"status": 200, "body": {"text": "{ \"items\": [], \"total_items\": 0 }"}}},
    {"request": {"method": "DELETE", "target": "/v1/snapshot/<redacted>", "body": {"base64": "AJ+Slg=="}},
     "failure": {"kind": "timeout", "may_have_been_sent": true, "message": "after 30s"}}
  ]
}"#;

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

/// The valid cassette with one value replaced by anything.
fn edited(data: &[u8]) -> arbitrary::Result<Vec<u8>> {
    let mut u = Unstructured::new(data);
    let mut value: Value =
        serde_json::from_str(VALID).map_err(|_| arbitrary::Error::IncorrectFormat)?;
    for _ in 0..u.int_in_range(1..=3)? {
        let mut all = Vec::new();
        pointers(&value, String::new(), &mut all);
        let pointer = u.choose(&all)?.clone();
        let replacement = leap0_fuzz::json(&mut u, 4)?;
        if let Some(slot) = value.pointer_mut(&pointer) {
            *slot = replacement;
        }
    }
    Ok(value.to_string().into_bytes())
}

fn exercise(bytes: &[u8]) {
    let cassette = Cassette::from_slice(bytes);
    let replayer = Replayer::from_slice(bytes, ReplayOptions::default());
    assert_eq!(
        cassette.is_ok(),
        replayer.is_ok(),
        "the two loaders disagree: {:?} / {:?}",
        cassette.as_ref().err().map(ToString::to_string),
        replayer.as_ref().err().map(ToString::to_string),
    );
    let Ok(cassette) = cassette else {
        return;
    };
    let _ = check_drift(&cassette);
    let text = cassette.to_json().expect("a loaded cassette serializes");
    let again = Cassette::from_slice(text.as_bytes()).expect("a saved cassette loads");
    let replayer =
        Replayer::new(again, ReplayOptions::default()).expect("a loaded cassette replays");
    for (method, target, body) in [
        (
            "POST",
            "/v1/sandbox/sb-1/snapshot/create",
            r#"{"name":"warm"}"#,
        ),
        ("GET", "/v1/snapshots?query=&page=1&sig=abc", ""),
        ("DELETE", "/v1/snapshot/snap-1", ""),
    ] {
        let request = http::Request::builder()
            .method(method)
            .uri(format!("https://api.leap0.dev{target}"))
            .body(body.as_bytes().to_vec())
            .expect("a valid request");
        if let Err(e) = Transport::send(&replayer, request, Duration::from_secs(1)) {
            let _ = (e.to_string(), format!("{e:?}"));
        }
    }
    let _ = replayer.finish().map_err(|e| e.to_string());
}

fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&b'{') {
        exercise(data);
    } else if let Ok(bytes) = edited(data) {
        exercise(&bytes);
    }
});
