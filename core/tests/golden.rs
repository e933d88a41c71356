//! Golden tests: every request the official Python SDK sent, rebuilt by our core
//! byte for byte (except our own `Leap0-Source`, `Leap0-SDK-Version` and
//! `User-Agent`), and every answer it got, parsed to the same values and errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use leap0_core::{
    ApiErrorKind, Config, CreateSnapshot, DeleteSnapshot, Error, Exchange, ListSnapshots,
    PauseIntoSnapshot, RestoreSnapshot, ResumeSnapshot,
};
use serde_json::{Map, Value, json};

const FIXTURE: &str = include_str!("fixtures/official-requests.json");

/// One call of the official SDK, as our operation, with its request and parse
/// checked against the recording.
fn check_scenario(scenario: &Value) {
    let name = scenario["name"].as_str().unwrap();
    let call = &scenario["calls"][0];
    let config = config_for(&scenario["client"]);
    let recorded = &scenario["requests"][0];
    match call["method"].as_str().unwrap() {
        "snapshots.create" | "sandboxes.create_snapshot" => check::<CreateSnapshot>(
            name,
            &config,
            with_id(call, "sandbox_id"),
            recorded,
            scenario,
        ),
        "snapshots.pause" => check::<PauseIntoSnapshot>(
            name,
            &config,
            with_id(call, "sandbox_id"),
            recorded,
            scenario,
        ),
        "snapshots.resume" => {
            check::<ResumeSnapshot>(name, &config, call["kwargs"].clone(), recorded, scenario)
        }
        "snapshots.restore" => {
            check::<RestoreSnapshot>(name, &config, call["kwargs"].clone(), recorded, scenario)
        }
        "snapshots.delete" => check::<DeleteSnapshot>(
            name,
            &config,
            with_id(call, "snapshot_id"),
            recorded,
            scenario,
        ),
        "snapshots.list" => {
            check::<ListSnapshots>(name, &config, call["kwargs"].clone(), recorded, scenario)
        }
        other => panic!("{name}: no mapping for official call {other}"),
    }
}

fn config_for(client: &Value) -> Config {
    let mut builder = Config::builder()
        .api_key(client["api_key"].as_str().unwrap_or("test-key-123"))
        .base_url("http://127.0.0.1:8123");
    if let Some(header) = client["auth_header"].as_str() {
        builder = builder.auth_header(header);
    }
    if let Some(bearer) = client["bearer"].as_bool() {
        builder = builder.bearer(bearer);
    }
    builder.build().unwrap()
}

/// The call's keyword arguments plus its positional id under `field`.
fn with_id(call: &Value, field: &str) -> Value {
    let mut inputs: Map<String, Value> = call["kwargs"].as_object().unwrap().clone();
    inputs.insert(field.into(), call["args"][0].clone());
    Value::Object(inputs)
}

fn check<E>(name: &str, config: &Config, inputs: Value, recorded: &Value, scenario: &Value)
where
    E: Exchange + serde::de::DeserializeOwned,
    E::Output: serde::Serialize + std::fmt::Debug,
{
    let op: E = serde_json::from_value(inputs).unwrap();
    let request = op.request(config).unwrap();

    // Method and target.
    assert_eq!(
        request.method().as_str(),
        recorded["method"],
        "{name}: method"
    );
    assert_eq!(
        request.uri().path_and_query().unwrap().as_str(),
        recorded["target"].as_str().unwrap(),
        "{name}: target"
    );

    // Body: byte-exact (same key order, same compact form as the official SDK).
    let expected_body = match &recorded["body_json"] {
        Value::Null => Vec::new(),
        body => serde_json::to_vec(body).unwrap(),
    };
    assert_eq!(
        String::from_utf8_lossy(request.body()),
        String::from_utf8_lossy(&expected_body),
        "{name}: body"
    );

    // Headers: the same set with the same values, except our three own values.
    let ours: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    let mut expected: Vec<(String, String)> = recorded["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let v = match k.as_str() {
                "leap0-source" => "sdk-rust".to_owned(),
                "leap0-sdk-version" => env!("CARGO_PKG_VERSION").to_owned(),
                "user-agent" => format!("leap0-rust/{}", env!("CARGO_PKG_VERSION")),
                _ => v.as_str().unwrap().to_owned(),
            };
            (k.clone(), v)
        })
        .collect();
    let mut ours_sorted = ours.clone();
    ours_sorted.sort();
    expected.sort();
    assert_eq!(ours_sorted, expected, "{name}: headers");

    // The answer.
    let outcome = &scenario["outcome"];
    let rule = scenario["server_rules"].get(0);
    let (status, body) = match rule {
        Some(rule) => (
            rule["status"].as_u64().unwrap() as u16,
            rule["body"].as_str().unwrap().as_bytes().to_vec(),
        ),
        None => (
            E::OPERATION.route().success.as_u16(),
            match &outcome["value"] {
                Value::Null => Vec::new(),
                value => serde_json::to_vec(value).unwrap(),
            },
        ),
    };
    let mut response = http::Response::builder().status(status);
    if let Some(rule) = rule {
        for (k, v) in rule["headers"].as_object().unwrap() {
            response = response.header(k, v.as_str().unwrap());
        }
    }
    let parsed = op.parse(response.body(body).unwrap());
    match outcome["kind"].as_str().unwrap() {
        "return" => {
            let value = serde_json::to_value(parsed.unwrap()).unwrap();
            if outcome["value"].is_null() {
                // The official delete returns None; ours says what it did.
                assert_eq!(value, json!("deleted"), "{name}");
            } else {
                assert_same_fields(name, &value, &outcome["value"]);
            }
        }
        "raise" => {
            let error = parsed.unwrap_err();
            let api = error.api().unwrap_or_else(|| panic!("{name}: {error:?}"));
            let kind = match outcome["class"].as_str().unwrap() {
                "Leap0NotFoundError" => ApiErrorKind::NotFound,
                "Leap0ConflictError" => ApiErrorKind::Conflict,
                other => panic!("{name}: unmapped class {other}"),
            };
            assert_eq!(api.kind, kind, "{name}");
            assert_eq!(api.status.as_u16() as u64, outcome["status_code"], "{name}");
            assert_eq!(api.is_retryable(), outcome["retryable"], "{name}");
            // Official: "404 Failed to create snapshot: Request failed: ...: detail";
            // ours puts the status after the operation, as the contract shows.
            let official = outcome["str"].as_str().unwrap();
            let (status, rest) = official.split_once(' ').unwrap();
            let (prefix, detail) = rest.split_once(": ").unwrap();
            assert_eq!(
                error.to_string(),
                format!("{prefix}: {status} {detail}"),
                "{name}"
            );
        }
        other => panic!("{name}: unknown outcome {other}"),
    }
}

/// Every field the official SDK returned has the same value in our output.
fn assert_same_fields(name: &str, ours: &Value, theirs: &Value) {
    match theirs {
        Value::Object(fields) => {
            for (key, value) in fields {
                let key = match key.as_str() {
                    "memory_mib" => "memory",
                    "disk_mib" => "disk",
                    k => k,
                };
                assert_same_fields(&format!("{name}.{key}"), &ours[key], value);
            }
        }
        Value::Array(items) => {
            assert_eq!(ours.as_array().map(Vec::len), Some(items.len()), "{name}");
            for (i, item) in items.iter().enumerate() {
                assert_same_fields(&format!("{name}[{i}]"), &ours[i], item);
            }
        }
        scalar => assert_eq!(ours, scalar, "{name}"),
    }
}

#[test]
fn every_official_request_is_rebuilt_and_every_answer_parsed_alike() {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let scenarios = fixture["scenarios"].as_array().unwrap();
    assert!(
        scenarios.len() >= 19,
        "fixture holds {} scenarios",
        scenarios.len()
    );
    for scenario in scenarios {
        check_scenario(scenario);
    }
}

#[test]
fn a_wrong_success_status_is_an_error() {
    let op = CreateSnapshot::new("sb-1");
    let ok_not_created = http::Response::builder()
        .status(200)
        .body(br#"{"id":"snap-1","name":"warm"}"#.to_vec())
        .unwrap();
    let error = op.parse(ok_not_created).unwrap_err();
    assert_eq!(error.api().unwrap().kind, ApiErrorKind::UnexpectedStatus);
    assert_eq!(
        error.to_string(),
        r#"Failed to create snapshot: 200 Request failed: POST /v1/sandbox/sb-1/snapshot/create: {"id":"snap-1","name":"warm"}"#
    );
    // And the other way round: a 201 where delete expects 204.
    let created = http::Response::builder()
        .status(201)
        .body(Vec::new())
        .unwrap();
    assert!(matches!(
        DeleteSnapshot::new("snap-1").parse(created),
        Err(Error::Api(_))
    ));
}

#[test]
fn request_headers_carry_the_rust_identity_and_a_sensitive_key() {
    let config = Config::new("test-key-123").unwrap();
    let request = ResumeSnapshot::new("warm").request(&config).unwrap();
    let h = request.headers();
    assert_eq!(h["leap0-source"], "sdk-rust");
    assert_eq!(h["leap0-sdk-version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        h["user-agent"],
        format!("leap0-rust/{}", env!("CARGO_PKG_VERSION")).as_str()
    );
    assert!(h["authorization"].is_sensitive());
    // http's Debug hides sensitive values, so a logged request does not leak the key.
    assert!(!format!("{request:?}").contains("test-key-123"));
    let body: Value = serde_json::from_slice(request.body()).unwrap();
    assert_eq!(body, json!({"snapshot_name": "warm", "auto_pause": false}));
}
