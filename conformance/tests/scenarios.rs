//! The scenario suite through ureq and hyper against the emulator: both must agree
//! (outcomes, requests seen, virtual time waited), and the outcomes must be right.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use leap0_conformance::{Failure, Run, run_both, scenarios};
use leap0_core::transport::TransportErrorKind;
use serde_json::Value;

fn ok<'a>(run: &'a Run, step: &str) -> &'a Value {
    match run.outcome(step) {
        Ok(value) => value,
        Err(failure) => panic!("{step}: {failure:?}"),
    }
}

fn err<'a>(run: &'a Run, step: &str) -> &'a Failure {
    match run.outcome(step) {
        Err(failure) => failure,
        Ok(value) => panic!("{step} succeeded: {value}"),
    }
}

fn api(run: &Run, step: &str, kind: &str, status: u16) -> Failure {
    let f = err(run, step).clone();
    assert_eq!(
        (f.kind.as_str(), f.status),
        (kind, Some(status)),
        "{step}: {f:?}"
    );
    assert!(f.may_have_reached_server);
    f
}

fn transport(run: &Run, step: &str, kind: TransportErrorKind) -> Failure {
    let f = err(run, step).clone();
    // The kind names the transport failure itself (`timeout`, `reset`, ...).
    assert_eq!(
        (f.kind.as_str(), f.transport),
        (kind.name(), Some(kind)),
        "{step}: {f:?}"
    );
    f
}

fn names(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect()
}

#[test]
fn lifecycle() {
    let run = run_both(&scenarios::lifecycle());
    assert_eq!(ok(&run, "create sandbox")["state"], "starting");
    assert_eq!(ok(&run, "wait running")["state"], "running");
    assert_eq!(
        run.count("GET /v1/sandbox/sb-0001/"),
        4,
        "three polls, one status"
    );
    let warm = ok(&run, "create snapshot");
    assert_eq!(
        (warm["id"].as_str(), warm["name"].as_str()),
        (Some("snap-0001"), Some("warm"))
    );
    let dup = api(&run, "duplicate name", "conflict", 409);
    assert!(!dup.retryable);
    assert!(
        dup.message
            .unwrap()
            .contains("snapshot name already exists")
    );
    assert_eq!(ok(&run, "pause")["state"], "paused");
    assert_eq!(ok(&run, "status after pause")["state"], "stopped");
    let resumed = ok(&run, "resume and wait");
    assert_eq!(
        (resumed["state"].as_str(), resumed["timeout"].as_u64()),
        (Some("running"), Some(1800))
    );
    let restored = ok(&run, "restore");
    assert_eq!(
        (
            restored["timeout"].as_u64(),
            restored["auto_pause"].as_bool()
        ),
        (Some(600), Some(true))
    );
    assert_eq!(names(ok(&run, "list")), ["snapshot-0001", "paused", "warm"]);
    api(&run, "delete in use", "conflict", 409);
    assert_eq!(ok(&run, "delete spare"), &Value::from("deleted"));
    api(&run, "delete unknown", "not_found", 404);
    assert_eq!(ok(&run, "kill after snapshot")["name"], "last");
    assert_eq!(ok(&run, "status after kill")["state"], "deleted");
    assert_eq!(names(ok(&run, "list after")), ["last", "paused", "warm"]);
    assert_eq!(ok(&run, "list after")["total_items"], 3);
}

#[test]
fn errors_map_and_retry_as_the_table_says() {
    let run = run_both(&scenarios::errors());
    api(&run, "unknown sandbox", "not_found", 404);
    let bad = api(&run, "bad request", "bad_request", 400);
    assert!(
        bad.message
            .unwrap()
            .ends_with("Invalid request; name: is reserved (request id req-0002)")
    );
    api(&run, "forbidden", "permission_denied", 403);
    assert!(!api(&run, "server error", "server", 500).retryable);
    api(&run, "bad gateway on post", "server", 502);
    assert_eq!(ok(&run, "bad gateway on get")["total_items"], 0);
    assert_eq!(ok(&run, "rate limited")["name"], "b");
    assert_eq!(ok(&run, "unavailable twice")["state"], "starting");
    // The 504 was retried; the second answer is the real one.
    api(&run, "gateway timeout on delete", "conflict", 409);
    assert!(api(&run, "always unavailable", "server", 503).retryable);
    api(&run, "wrong success status", "unexpected_status", 200);
    for (step, field) in [
        ("invalid name", "name"),
        ("invalid policy", "network_policy.allow_cidrs[0]"),
    ] {
        let f = err(&run, step);
        assert_eq!(
            (f.kind.as_str(), f.field.as_deref()),
            ("validation", Some(field))
        );
        assert!(!f.may_have_reached_server);
    }
    let create = "POST /v1/sandbox/sb-seed-1/snapshot/create";
    let list = "GET /v1/snapshots?query=&sort=created_at&order-by=desc&page=1&page-size=20";
    let resume = "POST /v1/snapshot/resume";
    let delete = "DELETE /v1/snapshot/snap-0001";
    let expected = [
        "POST /v1/sandbox/sb-missing/snapshot/create",
        create,
        create,
        create,
        create, // 400, 403, 500, 502: none retried
        list,
        list, // 502 on GET: retried
        create,
        create, // 429: retried
        resume,
        resume,
        resume, // 429 then 503: retried twice
        delete,
        delete, // 504 on DELETE: retried
        list,
        list,
        list,
        list,   // 503 forever: four attempts in all
        create, // 200 for 201
    ];
    assert_eq!(run.requests, expected);
    // Retry-After 2 s and 1 s were honoured, plus backoff for the rest.
    assert!(run.waited >= Duration::from_secs(3), "{:?}", run.waited);
}

#[test]
fn a_wrong_key_is_unauthorized() {
    let run = run_both(&scenarios::unauthorized());
    let f = api(&run, "list", "unauthorized", 401);
    assert!(f.message.unwrap().contains("invalid or missing API key"));
    assert_eq!(run.requests.len(), 1);
}

#[test]
fn faults_are_classified_and_posts_never_resent() {
    let run = run_both(&scenarios::faults());
    let f = transport(&run, "timeout on post", TransportErrorKind::Timeout);
    assert!(f.may_have_reached_server && !f.retryable);
    // The slow POST did reach the server, which acted before the client gave up.
    assert_eq!(names(ok(&run, "timeout on get")), ["slow"]);
    transport(&run, "dropped post", TransportErrorKind::Reset);
    assert_eq!(ok(&run, "dropped get")["id"], "sb-seed-1");
    transport(&run, "truncated post", TransportErrorKind::Reset);
    let decode = err(&run, "malformed json");
    assert_eq!(
        (decode.kind.as_str(), decode.field.as_deref()),
        ("decode", Some("body"))
    );
    let big = transport(&run, "oversize body", TransportErrorKind::BodyTooLarge);
    assert!(!big.retryable);
    assert_eq!(names(ok(&run, "after the faults")), ["slow"]);
    let post = "POST /v1/sandbox/sb-seed-1/snapshot/create";
    let list = "GET /v1/snapshots?query=&sort=created_at&order-by=desc&page=1&page-size=20";
    let status = "GET /v1/sandbox/sb-seed-1/";
    assert_eq!(
        run.requests,
        [
            post, list, list, post, status, status, post, post, list, list
        ]
    );
}

#[test]
fn pagination_stitches_pages_in_order() {
    let run = run_both(&scenarios::pagination());
    let all = ok(&run, "list all");
    assert_eq!(names(all), ["p1", "p2", "p3", "p4", "p5"]);
    assert_eq!(all["total_items"], 5);
    assert_eq!(names(ok(&run, "one page")), ["p5"]);
    let pages: Vec<&String> = run
        .requests
        .iter()
        .filter(|r| r.starts_with("GET"))
        .collect();
    assert_eq!(
        pages.len(),
        5,
        "pages 1, 2 (429), 2, 3, then one page: {pages:?}"
    );
    assert_eq!(
        run.waited,
        Duration::from_secs(3),
        "Retry-After: 3 and nothing else"
    );
}

#[test]
fn waiting_until_running_and_dead_ends() {
    let run = run_both(&scenarios::waiting());
    assert_eq!(ok(&run, "resume and wait")["state"], "running");
    assert_eq!(ok(&run, "restore and wait")["timeout"], 60);
    // The emulator answers "starting" twice, then "running": three polls each.
    assert_eq!(run.count("GET /v1/sandbox/sb-0001/"), 3);
    assert_eq!(run.count("GET /v1/sandbox/sb-0002/"), 4);
    let stuck = err(&run, "wait for a stopped sandbox");
    assert_eq!(stuck.kind, "wait_failed");
    api(&run, "wait for a missing sandbox", "not_found", 404);
    // Three one-second intervals per wait.
    assert_eq!(run.waited, Duration::from_secs(6));
}
