//! The emulator's answers, checked against the vendor's OpenAPI schemas (vendored in
//! `tests/openapi/schemas.json`; see the README there) for each route and status.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;

use std::net::SocketAddr;

use client::{KEY, Resp, api, send};
use leap0_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};

/// The vendored `components/schemas`, as the vendor wrote them.
const SCHEMAS: &str = include_str!("openapi/schemas.json");

/// Rewrites OpenAPI 3.0's `nullable: true` into JSON Schema: beside a `$ref` (where
/// 2020-12 ignores siblings' meaning for `null`) into `anyOf: [{$ref}, {type: "null"}]`,
/// beside a `type` into `type: [t, "null"]`.
fn rewrite_nullable(node: &mut Value) {
    match node {
        Value::Object(map) => {
            map.values_mut().for_each(rewrite_nullable);
            if map.remove("nullable") == Some(Value::Bool(true)) {
                if let Some(target) = map.remove("$ref") {
                    map.insert(
                        "anyOf".to_owned(),
                        json!([{ "$ref": target }, { "type": "null" }]),
                    );
                } else if let Some(ty) = map.get("type").cloned() {
                    map.insert("type".to_owned(), json!([ty, "null"]));
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_nullable),
        _ => {}
    }
}

/// The vendored document, with `nullable` rewritten unless `raw`.
fn document(raw: bool) -> Value {
    let mut doc: Value = serde_json::from_str(SCHEMAS).unwrap();
    if !raw {
        rewrite_nullable(&mut doc);
    }
    doc
}

/// A 2020-12 validator for `#/components/schemas/{name}` of `doc`, checking formats
/// (`date-time`; OpenAPI's own `int64` and `cidr` are not JSON Schema formats and pass).
fn validator(doc: &Value, name: &str) -> jsonschema::Validator {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": doc["components"],
    });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("schema {name}: {e}"))
}

/// The schema's complaints about `value`, as text (empty when it is valid).
fn problems(doc: &Value, name: &str, value: &Value) -> Vec<String> {
    validator(doc, name)
        .iter_errors(value)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Asserts the status and that the body is valid against `schema`; returns the body.
fn expect(resp: &Resp, status: u16, schema: &str) -> Value {
    assert_eq!(resp.status, status, "{}", resp.text());
    let body = resp.json();
    let found = problems(&document(false), schema, &body);
    assert!(found.is_empty(), "{schema}: {found:?}\n{body}");
    body
}

/// Asserts memory and disk are sent under both names, with the same value.
fn both_names(body: &Value) {
    assert!(body["memory"].is_u64(), "{body}");
    assert_eq!(body["memory"], body["memory_mib"], "{body}");
    assert!(body["disk"].is_u64(), "{body}");
    assert_eq!(body["disk"], body["disk_mib"], "{body}");
}

/// The `(field, error)` pairs of a validation answer.
fn errors(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["error"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn raw_body(addr: SocketAddr, method: &str, target: &str, body: &[u8]) -> Resp {
    let bearer = format!("Bearer {KEY}");
    send(
        addr,
        method,
        target,
        &[("authorization", &bearer)],
        Some(body),
    )
    .unwrap()
}

#[test]
fn the_loader_makes_nullable_refs_accept_null() {
    let answer = json!({"id": "sb-1", "template_id": "t", "vcpu": 1, "memory": 512, "disk": 1,
                        "timeout": 1, "state": "running", "auto_pause": false,
                        "network_policy": null, "created_at": "2025-01-15T10:30:00Z"});
    assert!(!problems(&document(true), "SandboxCreateResponse", &answer).is_empty());
    assert!(problems(&document(false), "SandboxCreateResponse", &answer).is_empty());
    // And the schemas can fail: a missing field, a bad state, a bad timestamp.
    for (key, bad) in [
        ("memory", Value::Null),
        ("state", json!("asleep")),
        ("created_at", json!("yesterday")),
    ] {
        let mut wrong = answer.clone();
        wrong[key] = bad;
        assert!(
            !problems(&document(false), "SandboxCreateResponse", &wrong).is_empty(),
            "{key}"
        );
    }
    let policy = json!({"mode": "custom", "transforms": null});
    let mut wrong = answer.clone();
    wrong["network_policy"] = policy;
    assert!(!problems(&document(false), "SandboxCreateResponse", &wrong).is_empty());
}

#[test]
fn sandbox_answers_match_the_schemas() {
    let emu = Emulator::start_with(EmulatorConfig::default().ready_after_reads(0)).unwrap();
    let addr = emu.addr();

    let created = api(
        addr,
        "POST",
        "/v1/sandbox/",
        Some(&json!({"template_name": "web", "memory_mib": 2048, "timeout_min": 10})),
    );
    let created = expect(&created, 201, "SandboxCreateResponse");
    both_names(&created);
    assert_eq!(
        (created["memory"].clone(), created["timeout"].clone()),
        (json!(2048), json!(600))
    );

    let status = api(addr, "GET", "/v1/sandbox/sb-0001/", None);
    let status = expect(&status, 200, "SandboxStatusResponse");
    both_names(&status);
    assert_eq!(status["state"], "running");

    let disagree = api(
        addr,
        "POST",
        "/v1/sandbox/",
        Some(
            &json!({"template_name": "web", "memory": 1024, "memory_mib": 2048,
                     "timeout": 600, "timeout_min": 5}),
        ),
    );
    let disagree = expect(&disagree, 400, "ValidationErrorResponse");
    let fields: Vec<String> = errors(&disagree).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["memory_mib", "timeout_min"]);

    let paused = api(addr, "POST", "/v1/sandbox/sb-0001/pause", None);
    let paused = expect(&paused, 201, "SandboxCreateResponse");
    both_names(&paused);
    assert_eq!(
        (paused["id"].clone(), paused["state"].clone()),
        (json!("sb-0001"), json!("paused"))
    );
    let again = api(addr, "POST", "/v1/sandbox/sb-0001/pause", None);
    assert_eq!(
        expect(&again, 409, "ErrorResponse"),
        json!({"message": "sandbox is not running"})
    );
    let unknown = api(addr, "POST", "/v1/sandbox/sb-404/pause", None);
    assert_eq!(
        expect(&unknown, 404, "ErrorResponse"),
        json!({"message": "sandbox not found"})
    );
    let wrong_method = api(addr, "GET", "/v1/sandbox/sb-0001/pause", None);
    expect(&wrong_method, 405, "ErrorResponse");
    assert_eq!(wrong_method.header("allow"), Some("POST"));

    let unauthorized = send(addr, "POST", "/v1/sandbox/sb-0001/pause", &[], None).unwrap();
    expect(&unauthorized, 401, "ErrorResponse");
}

#[test]
fn snapshot_answers_match_the_schemas() {
    let emu = Emulator::start().unwrap();
    let addr = emu.addr();
    let create = |name: &str| {
        api(
            addr,
            "POST",
            "/v1/sandbox/sb-seed-1/snapshot/create",
            Some(&json!({ "name": name })),
        )
    };
    both_names(&expect(&create("warm"), 201, "SnapshotCreateResponse"));
    expect(&create("warm"), 409, "ErrorResponse");
    expect(&create(""), 400, "ValidationErrorResponse");

    let listed = expect(
        &api(addr, "GET", "/v1/snapshots", None),
        200,
        "ListSnapshotsResponse",
    );
    assert_eq!(listed["total_items"], 1);
    both_names(&listed["items"][0]);
    expect(
        &api(addr, "GET", "/v1/snapshots?page=0", None),
        400,
        "ValidationErrorResponse",
    );

    let restored = api(
        addr,
        "POST",
        "/v1/snapshot/restore",
        Some(&json!({"snapshot_name": "warm", "timeout": 60})),
    );
    both_names(&expect(&restored, 201, "SandboxCreateResponse"));
    let missing = api(
        addr,
        "POST",
        "/v1/snapshot/restore",
        Some(&json!({"snapshot_name": "cold"})),
    );
    expect(&missing, 404, "ErrorResponse");

    // The SDK 0.5.1 routes, which the OpenAPI no longer lists, answer as their newer twins.
    let resumed = api(
        addr,
        "POST",
        "/v1/snapshot/resume",
        Some(&json!({"snapshot_name": "warm", "timeout_min": 1})),
    );
    both_names(&expect(&resumed, 201, "SandboxCreateResponse"));
    let paused = api(
        addr,
        "POST",
        "/v1/sandbox/sb-seed-1/snapshot/pause",
        Some(&json!({"name": "nightly"})),
    );
    both_names(&expect(&paused, 201, "SnapshotCreateResponse"));
    expect(
        &api(addr, "DELETE", "/v1/snapshot/snap-404", None),
        404,
        "ErrorResponse",
    );
}

#[test]
fn bad_bodies_answer_with_an_errors_list() {
    let emu = Emulator::start().unwrap();
    let addr = emu.addr();
    for target in [
        "/v1/sandbox/",
        "/v1/sandbox/sb-seed-1/snapshot/create",
        "/v1/snapshot/restore",
        "/v1/snapshot/resume",
    ] {
        for (body, error) in [
            (&b"[null, null]"[..], "must be a JSON object"),
            (&b"{"[..], "must be valid JSON"),
        ] {
            let resp = raw_body(addr, "POST", target, body);
            let answer = expect(&resp, 400, "ValidationErrorResponse");
            assert_eq!(
                errors(&answer),
                [("body".to_owned(), error.to_owned())],
                "{target}"
            );
        }
    }
    assert_eq!(emu.snapshot_count(), 0);
    assert_eq!(emu.sandbox_state("sb-0001"), None);
}

#[test]
fn null_policy_lists_are_refused() {
    let emu = Emulator::start().unwrap();
    let addr = emu.addr();
    for list in ["transforms", "allow_domains", "allow_cidrs"] {
        let policy = json!({ "mode": "custom", list: null });
        for (target, body) in [
            (
                "/v1/sandbox/",
                json!({"template_name": "web", "network_policy": policy}),
            ),
            (
                "/v1/snapshot/restore",
                json!({"snapshot_name": "warm", "network_policy": policy}),
            ),
        ] {
            let resp = api(addr, "POST", target, Some(&body));
            let answer = expect(&resp, 400, "ValidationErrorResponse");
            assert_eq!(
                errors(&answer),
                [(
                    format!("network_policy.{list}"),
                    "must be an array".to_owned()
                )],
                "{target}"
            );
        }
    }
    // A whole policy of null is no policy: that one the schema makes nullable.
    let created = api(
        addr,
        "POST",
        "/v1/sandbox/",
        Some(&json!({"template_name": "web", "network_policy": null})),
    );
    let created = expect(&created, 201, "SandboxCreateResponse");
    assert_eq!(created["network_policy"], Value::Null);
    // Unknown keys are refused by name, in the policy and in a transform rule.
    let resp = api(
        addr,
        "POST",
        "/v1/sandbox/",
        Some(&json!({"template_name": "web", "network_policy": {
            "mode": "custom", "allow_domain": ["a.io"],
            "transforms": [{"domain": "a.io", "strip_header": ["Cookie"]}]
        }})),
    );
    let fields: Vec<String> = errors(&expect(&resp, 400, "ValidationErrorResponse"))
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        fields,
        [
            "network_policy.allow_domain",
            "network_policy.transforms[0].strip_header"
        ]
    );
}
