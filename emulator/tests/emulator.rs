//! End-to-end tests of the emulator over loopback, with a tiny blocking client.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;

use std::io::BufReader;
use std::time::{Duration, Instant};

use client::{KEY, api, raw, request_bytes, send};
use leap0_emulator::{AuthSeen, Emulator, EmulatorClock, EmulatorConfig, Fault, FaultRule};
use serde_json::{Value, json};

fn errors_of(resp: &client::Resp) -> Vec<(String, String)> {
    assert_eq!(resp.status, 400, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["message"], "Invalid request");
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

fn fields_of(resp: &client::Resp) -> Vec<String> {
    errors_of(resp).into_iter().map(|(f, _)| f).collect()
}

fn names(resp: &client::Resp) -> Vec<String> {
    resp.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls a sandbox until it is running; returns how many reads it took.
fn wait_running(addr: std::net::SocketAddr, id: &str) -> u32 {
    for reads in 1..=20 {
        let resp = api(addr, "GET", &format!("/v1/sandbox/{id}/"), None);
        assert_eq!(resp.status, 200, "{}", resp.text());
        if resp.json()["state"] == "running" {
            return reads;
        }
    }
    panic!("{id} never ran");
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn auth_is_required_on_v1_routes() {
    let emu = Emulator::start().unwrap();
    let addr = emu.addr();
    let target = "/v1/sandbox/sb-seed-1/";

    let missing = send(addr, "GET", target, &[], None).unwrap();
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.json(),
        json!({"message": "invalid or missing API key"})
    );
    assert_eq!(missing.header("content-type"), Some("application/json"));
    let wrong = send(
        addr,
        "GET",
        target,
        &[("authorization", "Bearer nope")],
        None,
    )
    .unwrap();
    assert_eq!(wrong.status, 401);
    for good in [
        "Bearer test-key",
        "bearer test-key",
        "BEARER  test-key ",
        "test-key",
    ] {
        let resp = send(addr, "GET", target, &[("authorization", good)], None).unwrap();
        assert_eq!(resp.status, 200, "{good}");
    }
    // Unknown /v1 routes still want the key first.
    assert_eq!(
        send(addr, "GET", "/v1/nothing", &[], None).unwrap().status,
        401
    );

    let log = emu.requests();
    let auths: Vec<AuthSeen> = log.iter().map(|r| r.auth).collect();
    assert_eq!(
        auths,
        [
            AuthSeen::Missing,
            AuthSeen::Rejected,
            AuthSeen::Accepted,
            AuthSeen::Accepted,
            AuthSeen::Accepted,
            AuthSeen::Accepted,
            AuthSeen::Missing
        ]
    );
    for seen in &log {
        assert!(seen.header("authorization").is_none());
        assert!(seen.headers.iter().all(|(_, v)| !v.contains(KEY)));
    }
    assert_eq!(log[0].request_id, "req-0001");
    assert_eq!(missing.header("x-request-id"), Some("req-0001"));

    // A custom header carrying the bare key; a stray authorization header is redacted.
    let custom = Emulator::start_with(
        EmulatorConfig::default()
            .auth_header("X-API-Key")
            .api_key("k-123"),
    )
    .unwrap();
    let ok = send(
        custom.addr(),
        "GET",
        target,
        &[("x-api-key", "k-123")],
        None,
    )
    .unwrap();
    assert_eq!(ok.status, 200);
    let stray = send(
        custom.addr(),
        "GET",
        target,
        &[("authorization", "Bearer k-123")],
        None,
    )
    .unwrap();
    assert_eq!(stray.status, 401);
    let log = custom.requests();
    assert_eq!(log[0].auth, AuthSeen::Accepted);
    assert!(log[0].header("x-api-key").is_none());
    assert_eq!(log[1].auth, AuthSeen::Missing);
    assert_eq!(log[1].header("authorization"), Some("<redacted>"));
}

#[test]
fn full_lifecycle() {
    let emu = Emulator::start().unwrap();
    let addr = emu.addr();

    let created = api(
        addr,
        "POST",
        "/v1/sandbox/",
        Some(&json!({"template_name": "web", "vcpu": 2, "memory": 2048})),
    );
    assert_eq!(created.status, 201);
    assert_eq!(
        created.json(),
        json!({"id": "sb-0001", "template_id": "tpl-web", "vcpu": 2, "memory": 2048, "memory_mib": 2048,
               "disk": 10240, "disk_mib": 10240, "timeout": 300, "state": "starting", "auto_pause": false, "network_policy": null,
               "created_at": "2025-01-15T10:30:00Z"})
    );
    let early = api(
        addr,
        "POST",
        "/v1/sandbox/sb-0001/snapshot/create",
        Some(&json!({})),
    );
    assert_eq!(
        (early.status, early.json()),
        (409, json!({"message": "sandbox is not running"}))
    );
    assert_eq!(
        wait_running(addr, "sb-0001"),
        3,
        "two reads answer starting, the third running"
    );
    // Without the trailing slash too.
    assert_eq!(
        api(addr, "GET", "/v1/sandbox/sb-0001", None).json()["state"],
        "running"
    );

    let warm = api(
        addr,
        "POST",
        "/v1/sandbox/sb-0001/snapshot/create",
        Some(&json!({"name": "  warm "})),
    );
    assert_eq!(warm.status, 201);
    assert_eq!(
        warm.json(),
        json!({"id": "snap-0001", "name": "warm", "template_id": "tpl-web", "vcpu": 2, "memory": 2048,
               "memory_mib": 2048, "disk": 10240, "disk_mib": 10240, "state": null, "network_policy": null, "created_at": "2025-01-15T10:30:01Z"})
    );
    let dup = api(
        addr,
        "POST",
        "/v1/sandbox/sb-0001/snapshot/create",
        Some(&json!({"name": "warm"})),
    );
    assert_eq!(
        (dup.status, dup.json()),
        (409, json!({"message": "snapshot name already exists"}))
    );
    let unnamed = api(addr, "POST", "/v1/sandbox/sb-0001/snapshot/create", None);
    assert_eq!(unnamed.status, 201);
    assert_eq!(unnamed.json()["name"], "snapshot-0001");
    let missing = api(
        addr,
        "POST",
        "/v1/sandbox/sb-404/snapshot/create",
        Some(&json!({})),
    );
    assert_eq!(
        (missing.status, missing.json()),
        (404, json!({"message": "sandbox not found"}))
    );

    let paused = api(
        addr,
        "POST",
        "/v1/sandbox/sb-0001/snapshot/pause",
        Some(&json!({"name": "nightly"})),
    );
    assert_eq!(paused.status, 201);
    assert_eq!(paused.json()["state"], "paused");
    assert_eq!(
        api(addr, "GET", "/v1/sandbox/sb-0001/", None).json()["state"],
        "stopped"
    );
    let again = api(
        addr,
        "POST",
        "/v1/sandbox/sb-0001/snapshot/pause",
        Some(&json!({})),
    );
    assert_eq!(again.status, 409);

    let policy = json!({"mode": "custom", "allow_domains": ["*.example.com"], "allow_cidrs": ["1.2.3.4/32"],
                        "transforms": [{"domain": "api.example.org", "inject_headers": {"X-Token": "abc"}, "strip_headers": ["Cookie"]}]});
    let resumed = api(
        addr,
        "POST",
        "/v1/snapshot/resume",
        Some(
            &json!({"snapshot_name": "warm", "auto_pause": true, "timeout_min": 30, "network_policy": policy}),
        ),
    );
    assert_eq!(resumed.status, 201, "{}", resumed.text());
    let resumed = resumed.json();
    assert_eq!(resumed["id"], "sb-0002");
    assert_eq!(resumed["state"], "starting");
    assert_eq!(resumed["timeout"], 1800);
    assert_eq!(resumed["auto_pause"], true);
    assert_eq!(resumed["template_id"], "tpl-web");
    assert_eq!(resumed["memory"], 2048);
    assert_eq!(resumed["network_policy"], policy);

    let restored = api(
        addr,
        "POST",
        "/v1/snapshot/restore",
        Some(&json!({"snapshot_name": "nightly", "timeout": 3600})),
    );
    assert_eq!(restored.status, 201);
    assert_eq!(restored.json()["timeout"], 3600);
    assert_eq!(restored.json()["network_policy"], Value::Null);
    let nothing = api(
        addr,
        "POST",
        "/v1/snapshot/restore",
        Some(&json!({"snapshot_name": "nope"})),
    );
    assert_eq!(
        (nothing.status, nothing.json()),
        (404, json!({"message": "snapshot not found"}))
    );

    // A second template, to sort by.
    api(
        addr,
        "POST",
        "/v1/sandbox/",
        Some(&json!({"template_name": "api"})),
    );
    wait_running(addr, "sb-0004");
    assert_eq!(
        api(
            addr,
            "POST",
            "/v1/sandbox/sb-0004/snapshot/create",
            Some(&json!({"name": "api-base"}))
        )
        .status,
        201
    );

    let all = api(
        addr,
        "GET",
        "/v1/snapshots?query=&sort=created_at&order-by=desc&page=1&page-size=20",
        None,
    );
    assert_eq!(all.status, 200);
    assert_eq!(all.json()["total_items"], 4);
    assert_eq!(
        names(&all),
        ["api-base", "nightly", "snapshot-0001", "warm"]
    );
    let defaults = api(addr, "GET", "/v1/snapshots", None);
    assert_eq!(defaults.body, all.body);
    let page = api(
        addr,
        "GET",
        "/v1/snapshots?order-by=asc&page=2&page-size=3",
        None,
    );
    assert_eq!(names(&page), ["api-base"]);
    assert_eq!(page.json()["total_items"], 4);
    let by_template = api(
        addr,
        "GET",
        "/v1/snapshots?sort=template_id&order-by=asc",
        None,
    );
    assert_eq!(
        names(&by_template),
        ["api-base", "warm", "snapshot-0001", "nightly"]
    );
    let filtered = api(addr, "GET", "/v1/snapshots?query=SNAP", None);
    assert_eq!(
        (names(&filtered), filtered.json()["total_items"].clone()),
        (vec!["snapshot-0001".to_owned()], json!(1))
    );
    let beyond = api(addr, "GET", "/v1/snapshots?page=9", None);
    assert_eq!(beyond.json(), json!({"items": [], "total_items": 4}));

    // warm (snap-0001) is in use by sb-0002 until that one is stopped.
    let busy = api(addr, "DELETE", "/v1/snapshot/snap-0001", None);
    assert_eq!(
        (busy.status, busy.json()),
        (
            409,
            json!({"message": "snapshot is in use by an active sandbox"})
        )
    );
    wait_running(addr, "sb-0002");
    assert_eq!(
        api(addr, "POST", "/v1/sandbox/sb-0002/snapshot/pause", None).status,
        201
    );
    let deleted = api(addr, "DELETE", "/v1/snapshot/snap-0001", None);
    assert_eq!(deleted.status, 204);
    assert!(deleted.body.is_empty());
    assert_eq!(deleted.header("content-type"), None);
    assert!(deleted.header("x-request-id").is_some());
    assert_eq!(
        api(addr, "DELETE", "/v1/snapshot/snap-0001", None).status,
        404
    );
    // Its name is free again.
    assert_eq!(
        api(
            addr,
            "POST",
            "/v1/sandbox/sb-0004/snapshot/create",
            Some(&json!({"name": "warm"}))
        )
        .status,
        201
    );

    // kill_sandbox_after deletes the source sandbox.
    let killed = api(
        addr,
        "POST",
        "/v1/sandbox/sb-seed-1/snapshot/create",
        Some(&json!({"name": "last", "kill_sandbox_after": true})),
    );
    assert_eq!(killed.status, 201);
    assert_eq!(killed.json()["template_id"], "tpl-base");
    assert_eq!(emu.sandbox_state("sb-seed-1").as_deref(), Some("deleted"));
    // Deleting a sandbox.
    assert_eq!(
        api(addr, "DELETE", "/v1/sandbox/sb-0004/", None).status,
        204
    );
    assert_eq!(emu.sandbox_state("sb-0004").as_deref(), Some("deleted"));
}

#[test]
fn field_errors_and_bad_bodies() {
    let emu = Emulator::start().unwrap();
    let addr = emu.addr();

    assert_eq!(
        errors_of(&api(addr, "POST", "/v1/sandbox/", Some(&json!({})))),
        [("template_name".to_owned(), "is required".to_owned())]
    );
    let bad = api(
        addr,
        "POST",
        "/v1/sandbox/",
        Some(
            &json!({"template_name": "x", "vcpu": 9, "memory": 513, "timeout": 0, "auto_pause": "yes"}),
        ),
    );
    assert_eq!(fields_of(&bad), ["vcpu", "memory", "timeout", "auto_pause"]);
    let bad = api(
        addr,
        "POST",
        "/v1/sandbox/",
        Some(&json!({"template_name": "x", "memory": 16384})),
    );
    assert_eq!(
        errors_of(&bad),
        [(
            "memory".to_owned(),
            "must be between 512 and 8192".to_owned()
        )]
    );

    let bad = api(
        addr,
        "POST",
        "/v1/snapshot/resume",
        Some(&json!({"snapshot_name": " ", "timeout_min": 0,
                     "network_policy": {"mode": "custom", "allow_cidrs": ["1.2.3.4/33"], "allow_domains": ["1.2.3.4"]}})),
    );
    assert_eq!(
        fields_of(&bad),
        [
            "snapshot_name",
            "timeout_min",
            "network_policy.allow_domains[0]",
            "network_policy.allow_cidrs[0]"
        ]
    );
    let bad = api(
        addr,
        "POST",
        "/v1/snapshot/resume",
        Some(&json!({"snapshot_name": "s", "timeout_min": 481})),
    );
    assert_eq!(fields_of(&bad), ["timeout_min"]);
    let bad = api(
        addr,
        "POST",
        "/v1/snapshot/restore",
        Some(&json!({"timeout": 28801, "network_policy": {"mode": "open"}})),
    );
    assert_eq!(
        fields_of(&bad),
        ["snapshot_name", "timeout", "network_policy.mode"]
    );
    let bad = api(
        addr,
        "POST",
        "/v1/sandbox/sb-seed-1/snapshot/create",
        Some(&json!({"name": "n".repeat(65)})),
    );
    assert_eq!(
        errors_of(&bad),
        [(
            "name".to_owned(),
            "must be at most 64 characters".to_owned()
        )]
    );
    let bad = api(
        addr,
        "POST",
        "/v1/sandbox/sb-seed-1/snapshot/create",
        Some(&json!({"name": ""})),
    );
    assert_eq!(fields_of(&bad), ["name"]);
    let bad = api(
        addr,
        "GET",
        "/v1/snapshots?page=0&page-size=101&sort=name&order-by=up",
        None,
    );
    assert_eq!(fields_of(&bad), ["sort", "order-by", "page", "page-size"]);
    let long = format!("/v1/snapshots?query={}", "q".repeat(65));
    assert_eq!(fields_of(&api(addr, "GET", &long, None)), ["query"]);

    let bearer = format!("Bearer {KEY}");
    let malformed = send(
        addr,
        "POST",
        "/v1/sandbox/",
        &[("authorization", &bearer)],
        Some(b"{\"template_name\":"),
    )
    .unwrap();
    assert_eq!(
        (malformed.status, malformed.json()),
        (
            400,
            json!({"message": "invalid JSON body", "errors": [{"field": "body", "error": "must be valid JSON"}]})
        )
    );
    let array = send(
        addr,
        "POST",
        "/v1/snapshot/resume",
        &[("authorization", &bearer)],
        Some(b"[]"),
    )
    .unwrap();
    assert_eq!(
        (array.status, array.json()),
        (
            400,
            json!({"message": "request body must be a JSON object",
                   "errors": [{"field": "body", "error": "must be a JSON object"}]})
        )
    );
    // Nothing was created by any of that.
    assert_eq!(emu.snapshot_count(), 0);
    assert_eq!(emu.sandbox_state("sb-0001"), None);
}

#[test]
fn routing_errors() {
    let emu = Emulator::start().unwrap();
    let addr = emu.addr();
    let unknown = api(addr, "GET", "/v1/sandboxes/nope", None);
    assert_eq!(
        (unknown.status, unknown.json()),
        (404, json!({"message": "route not found"}))
    );
    let wrong = api(addr, "PUT", "/v1/snapshots", None);
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("allow"), Some("GET"));
    let wrong = api(addr, "GET", "/v1/snapshot/restore", None);
    assert_eq!(wrong.status, 405);
    // Outside /v1: no key needed to be told there is nothing.
    assert_eq!(send(addr, "GET", "/", &[], None).unwrap().status, 404);
    let missing = api(addr, "GET", "/v1/sandbox/sb-404/", None);
    assert_eq!(
        (missing.status, missing.json()),
        (404, json!({"message": "sandbox not found"}))
    );
}

#[test]
fn ids_with_encoded_slashes_stay_whole() {
    let emu =
        Emulator::start_with(EmulatorConfig::default().seed_sandboxes(["team/sb-1", "plain"]))
            .unwrap();
    let addr = emu.addr();
    let got = api(addr, "GET", "/v1/sandbox/team%2Fsb-1/", None);
    assert_eq!(got.status, 200);
    assert_eq!(got.json()["id"], "team/sb-1");
    assert_eq!(got.json()["state"], "running");
    assert_eq!(api(addr, "GET", "/v1/sandbox/team/sb-1/", None).status, 404);
    let snap = api(
        addr,
        "POST",
        "/v1/sandbox/team%2Fsb-1/snapshot/create",
        Some(&json!({"name": "a/b"})),
    );
    assert_eq!(snap.status, 201);
    assert_eq!(emu.requests()[0].target, "/v1/sandbox/team%2Fsb-1/");
    assert_eq!(emu.request_count_for("POST", "/v1/sandbox/team%2Fsb-1/"), 1);
}

#[test]
fn sandbox_limit() {
    let emu =
        Emulator::start_with(EmulatorConfig::default().max_active_sandboxes(Some(1))).unwrap();
    let addr = emu.addr();
    let full = api(
        addr,
        "POST",
        "/v1/sandbox/",
        Some(&json!({"template_name": "x"})),
    );
    assert_eq!(full.status, 409);
    assert_eq!(
        api(
            addr,
            "POST",
            "/v1/sandbox/sb-seed-1/snapshot/create",
            Some(&json!({"name": "s"}))
        )
        .status,
        201
    );
    let limited = api(
        addr,
        "POST",
        "/v1/snapshot/resume",
        Some(&json!({"snapshot_name": "s"})),
    );
    assert_eq!(
        (limited.status, limited.json()),
        (
            429,
            json!({"message": "organization sandbox limit reached"})
        )
    );
    assert_eq!(
        api(addr, "POST", "/v1/sandbox/sb-seed-1/snapshot/pause", None).status,
        201
    );
    assert_eq!(
        api(
            addr,
            "POST",
            "/v1/snapshot/resume",
            Some(&json!({"snapshot_name": "s"}))
        )
        .status,
        201
    );
}

#[test]
fn ready_after_follows_the_emulator_clock() {
    let clock = EmulatorClock::manual();
    let timed = Emulator::start_with(
        EmulatorConfig::default()
            .ready_after_reads(0)
            .ready_after(Duration::from_secs(150))
            .clock(clock.clone()),
    )
    .unwrap();
    let addr = timed.addr();
    let state = || api(addr, "GET", "/v1/sandbox/sb-0001/", None).json()["state"].clone();
    api(
        addr,
        "POST",
        "/v1/sandbox/",
        Some(&json!({"template_name": "x"})),
    );
    assert_eq!(state(), "starting");
    clock.advance(Duration::from_secs(149));
    assert_eq!(state(), "starting", "one second short");
    let early = api(
        addr,
        "POST",
        "/v1/sandbox/sb-0001/snapshot/create",
        Some(&json!({})),
    );
    assert_eq!(early.status, 409, "not running yet: {}", early.text());
    clock.advance(Duration::from_secs(1));
    assert_eq!(state(), "running");

    // Age is measured from each sandbox's own start, on the same clock.
    api(
        addr,
        "POST",
        "/v1/sandbox/",
        Some(&json!({"template_name": "y"})),
    );
    clock.advance(Duration::from_secs(100));
    assert_eq!(
        api(addr, "GET", "/v1/sandbox/sb-0002/", None).json()["state"],
        "starting"
    );
    clock.advance(Duration::from_secs(50));
    assert_eq!(
        api(addr, "GET", "/v1/sandbox/sb-0002/", None).json()["state"],
        "running"
    );
}

#[test]
fn status_faults() {
    let emu = Emulator::start().unwrap();
    let addr = emu.addr();
    emu.inject(
        FaultRule::new(Fault::rate_limited("2"))
            .times(2)
            .method("get")
            .path_prefix("/v1/sandbox/"),
    );
    emu.inject(FaultRule::new(Fault::status(503)));
    emu.inject(FaultRule::new(Fault::Status {
        status: 502,
        retry_after: None,
        body: Some("<html>bad gateway</html>".to_owned()),
    }));
    for _ in 0..2 {
        let limited = api(addr, "GET", "/v1/sandbox/sb-seed-1/", None);
        assert_eq!(limited.status, 429);
        assert_eq!(limited.header("retry-after"), Some("2"));
        assert_eq!(limited.json(), json!({"message": "rate limit exceeded"}));
    }
    let busy = api(
        addr,
        "POST",
        "/v1/sandbox/",
        Some(&json!({"template_name": "x"})),
    );
    assert_eq!(
        (busy.status, busy.json()),
        (503, json!({"message": "no runner capacity available"}))
    );
    assert_eq!(
        emu.sandbox_state("sb-0001"),
        None,
        "a faulted request is not acted on"
    );
    // Faults come before auth.
    let text = send(addr, "GET", "/v1/snapshots", &[], None).unwrap();
    assert_eq!(text.status, 502);
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(text.text(), "<html>bad gateway</html>");
    assert!(emu.pending_faults().is_empty());
    assert_eq!(api(addr, "GET", "/v1/sandbox/sb-seed-1/", None).status, 200);
    let log = emu.requests();
    assert_eq!(log.len(), 5);
    assert_eq!(log[0].fault, Some(Fault::rate_limited("2")));
    assert_eq!(log[4].fault, None);
    emu.inject(FaultRule::new(Fault::status(500)).times(5));
    emu.clear_faults();
    assert_eq!(api(addr, "GET", "/v1/snapshots", None).status, 200);
}

#[test]
fn delay_fault_then_acts() {
    let emu = Emulator::start().unwrap();
    emu.inject(FaultRule::new(Fault::Delay(Duration::from_millis(300))).method("POST"));
    let started = Instant::now();
    let resp = api(
        emu.addr(),
        "POST",
        "/v1/sandbox/",
        Some(&json!({"template_name": "slow"})),
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(resp.status, 201);
    assert_eq!(emu.sandbox_state("sb-0001").as_deref(), Some("starting"));
}

#[test]
fn drop_connection_fault() {
    let emu = Emulator::start().unwrap();
    emu.inject(
        FaultRule::new(Fault::DropConnection).path_prefix("/v1/sandbox/sb-seed-1/snapshot/"),
    );
    let bearer = format!("Bearer {KEY}");
    let request = request_bytes(
        "POST",
        "/v1/sandbox/sb-seed-1/snapshot/create",
        &[("authorization", &bearer)],
        Some(b"{\"name\":\"x\"}"),
    );
    let answer = raw(emu.addr(), &request).unwrap_or_default();
    assert!(answer.is_empty(), "{:?}", String::from_utf8_lossy(&answer));
    assert_eq!(emu.snapshot_count(), 0);
    let seen = emu.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].fault, Some(Fault::DropConnection));
    assert_eq!(seen[0].body_json(), Some(json!({"name": "x"})));
    // The next one goes through.
    assert_eq!(
        api(
            emu.addr(),
            "POST",
            "/v1/sandbox/sb-seed-1/snapshot/create",
            Some(&json!({}))
        )
        .status,
        201
    );
}

#[test]
fn truncated_and_malformed_faults() {
    let emu = Emulator::start().unwrap();
    let addr = emu.addr();
    let bearer = format!("Bearer {KEY}");
    emu.inject(FaultRule::new(Fault::TruncatedBody));
    let request = request_bytes(
        "POST",
        "/v1/sandbox/sb-seed-1/snapshot/create",
        &[("authorization", &bearer)],
        Some(b"{}"),
    );
    let answer = raw(addr, &request).unwrap();
    let mut reader = BufReader::new(answer.as_slice());
    let (status, headers) = client::read_head(&mut reader).unwrap();
    assert_eq!(status, 201);
    let declared: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .unwrap()
        .1
        .parse()
        .unwrap();
    let head_len = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let sent = answer.len() - head_len;
    assert!(sent > 0 && sent < declared, "sent {sent} of {declared}");
    // A client reading by Content-Length sees the body cut short.
    let err = send(
        addr,
        "POST",
        "/v1/sandbox/sb-seed-1/snapshot/create",
        &[("authorization", &bearer)],
        Some(b"{}"),
    );
    assert!(err.is_ok(), "only one truncation was injected");
    emu.inject(FaultRule::new(Fault::TruncatedBody).method("GET"));
    let err = send(
        addr,
        "GET",
        "/v1/snapshots",
        &[("authorization", &bearer)],
        None,
    )
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);

    emu.inject(FaultRule::new(Fault::MalformedJson));
    let malformed = api(
        addr,
        "POST",
        "/v1/sandbox/sb-seed-1/snapshot/create",
        Some(&json!({"name": "m"})),
    );
    assert_eq!(malformed.status, 201);
    assert_eq!(malformed.header("content-type"), Some("application/json"));
    assert!(serde_json::from_slice::<Value>(&malformed.body).is_err());
    emu.inject(FaultRule::new(Fault::MalformedJson));
    assert_eq!(
        api(addr, "DELETE", "/v1/snapshot/snap-0001", None).status,
        200
    );
    // One snapshot from the unfaulted request; the truncated and malformed ones did not act.
    assert_eq!(emu.snapshot_count(), 1);
}

#[test]
fn oversize_body_is_streamed() {
    const SIZE: u64 = 100 * 1024 * 1024;
    let emu = Emulator::start().unwrap();
    emu.inject(FaultRule::new(Fault::OversizeBody { bytes: SIZE }));
    let before = rss_kib();
    let bearer = format!("Bearer {KEY}");
    let mut stream = client::connect(emu.addr()).unwrap();
    std::io::Write::write_all(
        &mut stream,
        &request_bytes("GET", "/v1/snapshots", &[("authorization", &bearer)], None),
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let (status, headers) = client::read_head(&mut reader).unwrap();
    assert_eq!(status, 200);
    assert!(headers.contains(&("content-length".to_owned(), SIZE.to_string())));
    let mut first = Vec::new();
    let read = client::read_body(&mut reader, status, &headers, |piece| {
        if first.len() < 16 {
            first.extend_from_slice(&piece[..piece.len().min(16)]);
        }
    })
    .unwrap();
    assert_eq!(read, SIZE);
    assert!(first.starts_with(b"{\"message\":\""));
    if let (Some(before), Some(after)) = (before, rss_kib()) {
        let grown_mib = after.saturating_sub(before) / 1024;
        assert!(
            grown_mib < 40,
            "memory grew by {grown_mib} MiB while streaming"
        );
    }

    emu.inject(FaultRule::new(Fault::OversizeChunked { bytes: 1_000_000 }));
    let resp = api(
        emu.addr(),
        "POST",
        "/v1/snapshot/resume",
        Some(&json!({"snapshot_name": "x"})),
    );
    assert_eq!(resp.status, 201);
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert_eq!(resp.header("content-length"), None);
    assert_eq!(resp.body.len(), 1_000_000);
}

#[test]
fn admin_routes() {
    let emu = Emulator::start().unwrap();
    let addr = emu.addr();
    let rule = br#"{"fault": {"kind": "status", "status": 429, "retry_after": "3"}, "times": 1, "method": "POST", "path_prefix": "/v1/snapshot/"}"#;
    let queued = send(addr, "POST", "/_emulator/faults", &[], Some(rule)).unwrap();
    assert_eq!(queued.status, 201);
    assert_eq!(queued.header("x-request-id"), Some("req-admin-0001"));
    assert_eq!(
        emu.pending_faults(),
        [FaultRule::new(Fault::rate_limited("3"))
            .method("POST")
            .path_prefix("/v1/snapshot/")]
    );
    let listed = send(addr, "GET", "/_emulator/faults", &[], None).unwrap();
    assert_eq!(listed.json()[0]["fault"]["kind"], "status");

    let bad = send(
        addr,
        "POST",
        "/_emulator/faults",
        &[],
        Some(br#"{"fault": {"kind": "explode"}}"#),
    )
    .unwrap();
    assert_eq!(bad.status, 400);
    let bad = send(
        addr,
        "POST",
        "/_emulator/faults",
        &[],
        Some(br#"{"fault": {"kind": "status", "status": 42}}"#),
    )
    .unwrap();
    assert_eq!(bad.status, 400);

    let limited = api(
        addr,
        "POST",
        "/v1/snapshot/resume",
        Some(&json!({"snapshot_name": "x"})),
    );
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("3"));
    assert_eq!(limited.header("x-request-id"), Some("req-0001"));

    let delay = br#"{"fault": {"kind": "delay", "ms": 10}, "times": 5}"#;
    assert_eq!(
        send(addr, "POST", "/_emulator/faults", &[], Some(delay))
            .unwrap()
            .status,
        201
    );
    assert_eq!(
        send(addr, "DELETE", "/_emulator/faults", &[], None)
            .unwrap()
            .status,
        204
    );
    assert!(emu.pending_faults().is_empty());

    let log = send(addr, "GET", "/_emulator/requests", &[], None).unwrap();
    assert_eq!(log.status, 200);
    let log = log.json();
    assert_eq!(
        log.as_array().unwrap().len(),
        1,
        "admin requests are not logged: {log}"
    );
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[0]["target"], "/v1/snapshot/resume");
    assert_eq!(log[0]["auth"], "accepted");
    assert_eq!(log[0]["body"], r#"{"snapshot_name":"x"}"#);
    assert_eq!(log[0]["fault"]["kind"], "status");
    assert!(!log.to_string().contains(KEY));
    assert_eq!(emu.request_count(), 1);

    assert_eq!(
        send(addr, "DELETE", "/_emulator/requests", &[], None)
            .unwrap()
            .status,
        204
    );
    assert_eq!(emu.request_count(), 0);
    assert_eq!(
        send(addr, "PUT", "/_emulator/requests", &[], None)
            .unwrap()
            .status,
        405
    );
    assert_eq!(
        send(addr, "GET", "/_emulator/other", &[], None)
            .unwrap()
            .status,
        404
    );
}

#[test]
fn request_log_keeps_what_was_sent() {
    let emu = Emulator::start().unwrap();
    let addr = emu.addr();
    api(addr, "GET", "/v1/snapshots?query=a%20b&page=1", None);
    api(
        addr,
        "POST",
        "/v1/sandbox/",
        Some(&json!({"template_name": "x"})),
    );
    assert_eq!(emu.request_count(), 2);
    assert_eq!(emu.request_count_for("get", "/v1/snapshots"), 1);
    assert_eq!(emu.request_count_for("POST", "/v1/"), 1);
    let seen = emu.requests();
    assert_eq!(seen[0].target, "/v1/snapshots?query=a%20b&page=1");
    assert_eq!(seen[0].path(), "/v1/snapshots");
    assert_eq!(seen[0].query(), Some("query=a%20b&page=1"));
    assert_eq!(seen[0].header("User-Agent"), Some("emulator-tests"));
    assert!(seen[0].body.is_empty());
    assert_eq!(seen[1].body_text(), r#"{"template_name":"x"}"#);
    assert_eq!(seen[1].header("content-type"), Some("application/json"));
    assert_eq!(emu.requests_for("POST", "/v1/sandbox/").len(), 1);
    emu.clear_requests();
    assert_eq!(emu.request_count(), 0);
}

#[test]
fn same_requests_give_identical_bytes() {
    let script: Vec<Vec<u8>> = {
        let bearer = format!("Bearer {KEY}");
        let auth = [("authorization", bearer.as_str())];
        vec![
            request_bytes(
                "POST",
                "/v1/sandbox/",
                &auth,
                Some(br#"{"template_name":"web","network_policy":{"mode":"deny-all"}}"#),
            ),
            request_bytes("GET", "/v1/sandbox/sb-0001/", &auth, None),
            request_bytes(
                "POST",
                "/v1/sandbox/sb-seed-1/snapshot/create",
                &auth,
                Some(b"{}"),
            ),
            request_bytes(
                "POST",
                "/v1/sandbox/sb-seed-1/snapshot/pause",
                &auth,
                Some(br#"{"name":"p"}"#),
            ),
            request_bytes(
                "POST",
                "/v1/snapshot/restore",
                &auth,
                Some(br#"{"snapshot_name":"p","timeout":60}"#),
            ),
            request_bytes("GET", "/v1/snapshots", &auth, None),
            request_bytes("POST", "/v1/sandbox/sb-0002/pause", &auth, None),
            request_bytes(
                "POST",
                "/v1/sandbox/",
                &auth,
                Some(br#"{"template_name":"web","memory_mib":2048,"timeout_min":5}"#),
            ),
            request_bytes("DELETE", "/v1/snapshot/snap-0001", &auth, None),
            request_bytes("GET", "/v1/nothing", &[], None),
        ]
    };
    let run = || {
        let emu = Emulator::start().unwrap();
        script
            .iter()
            .map(|r| raw(emu.addr(), r).unwrap())
            .collect::<Vec<_>>()
    };
    let (first, second) = (run(), run());
    assert_eq!(first, second);
    let first_text = String::from_utf8(first[0].clone()).unwrap();
    assert!(
        first_text.starts_with("HTTP/1.1 201 Created\r\n"),
        "{first_text}"
    );
    assert!(!first_text.to_ascii_lowercase().contains("\r\ndate:"));
}

#[test]
fn drop_does_not_hang_during_a_delay() {
    let emu = Emulator::start().unwrap();
    emu.inject(FaultRule::new(Fault::Delay(Duration::from_secs(60))));
    let addr = emu.addr();
    let client = std::thread::spawn(move || send(addr, "GET", "/v1/snapshots", &[], None));
    let waiting = Instant::now();
    while emu.request_count() == 0 {
        assert!(
            waiting.elapsed() < Duration::from_secs(5),
            "request never arrived"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let dropping = Instant::now();
    drop(emu);
    assert!(dropping.elapsed() < Duration::from_secs(2));
    let outcome = client.join().unwrap();
    assert!(outcome.is_err(), "{outcome:?}");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still listening"
    );
}

#[test]
fn works_inside_a_tokio_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let emu = Emulator::start().unwrap();
        let addr = emu.addr();
        let resp =
            tokio::task::spawn_blocking(move || api(addr, "GET", "/v1/sandbox/sb-seed-1/", None))
                .await
                .unwrap();
        assert_eq!(resp.status, 200);
        assert!(emu.base_url().starts_with("http://127.0.0.1:"));
        drop(emu);
    });
}

#[test]
fn binary_prints_its_url_and_not_the_key() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_leap0-emulator"))
        .args(["--port", "0", "--api-key", "very-secret-key"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("leap0 emulator listening on http://127.0.0.1:")
        .map(str::to_owned);
    let port: Option<u16> = url.as_deref().and_then(|p| p.parse().ok());
    let answer = port.map(|port| {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        send(
            addr,
            "GET",
            "/v1/snapshots",
            &[("authorization", "Bearer very-secret-key")],
            None,
        )
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(port.is_some(), "unexpected line {line:?}");
    assert!(!line.contains("very-secret-key"));
    assert_eq!(answer.unwrap().unwrap().status, 200);
}

#[test]
fn handle_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Emulator>();
    check::<EmulatorConfig>();
    check::<FaultRule>();
    check::<leap0_emulator::SeenRequest>();
}

#[test]
fn pausing_a_sandbox_frees_its_place() {
    let emu =
        Emulator::start_with(EmulatorConfig::default().max_active_sandboxes(Some(1))).unwrap();
    let addr = emu.addr();
    let create = || {
        api(
            addr,
            "POST",
            "/v1/sandbox/",
            Some(&json!({"template_name": "x"})),
        )
    };
    assert_eq!(
        create().status,
        409,
        "the running seed fills the only place"
    );
    let paused = api(addr, "POST", "/v1/sandbox/sb-seed-1/pause", None);
    assert_eq!(paused.status, 201, "{}", paused.text());
    assert_eq!(paused.json()["state"], "paused");
    assert_eq!(emu.sandbox_state("sb-seed-1").as_deref(), Some("paused"));
    assert_eq!(emu.snapshot_count(), 0, "pausing makes no snapshot");
    assert_eq!(create().status, 201, "a paused sandbox is not active");

    // Only a running sandbox can be paused, or snapshotted.
    let starting = api(addr, "POST", "/v1/sandbox/sb-0001/pause", None);
    assert_eq!(
        (starting.status, starting.json()),
        (409, json!({"message": "sandbox is not running"}))
    );
    let snapshot = api(
        addr,
        "POST",
        "/v1/sandbox/sb-seed-1/snapshot/create",
        Some(&json!({})),
    );
    assert_eq!(snapshot.status, 409);
    // A paused sandbox can be deleted.
    assert_eq!(
        api(addr, "DELETE", "/v1/sandbox/sb-seed-1/", None).status,
        204
    );
    assert_eq!(emu.sandbox_state("sb-seed-1").as_deref(), Some("deleted"));
    let wrong = api(addr, "DELETE", "/v1/sandbox/sb-0001/pause", None);
    assert_eq!((wrong.status, wrong.header("allow")), (405, Some("POST")));
}

#[test]
fn sandbox_creation_takes_the_sdk_0_5_1_spellings() {
    let emu = Emulator::start().unwrap();
    let addr = emu.addr();
    let create = |body: Value| api(addr, "POST", "/v1/sandbox/", Some(&body));
    let made = create(json!({"template_name": "x", "memory_mib": 4096, "timeout_min": 30}));
    assert_eq!(made.status, 201, "{}", made.text());
    let made = made.json();
    assert_eq!(
        (&made["memory"], &made["memory_mib"], &made["timeout"]),
        (&json!(4096), &json!(4096), &json!(1800))
    );
    // Both spellings, alike.
    let alike = create(
        json!({"template_name": "x", "memory": 1024, "memory_mib": 1024,
                              "timeout": 60, "timeout_min": 1}),
    );
    assert_eq!(alike.status, 201, "{}", alike.text());
    assert_eq!(alike.json()["timeout"], 60);

    let disagree = create(
        json!({"template_name": "x", "memory": 1024, "memory_mib": 2048,
                                 "timeout": 60, "timeout_min": 2}),
    );
    assert_eq!(
        errors_of(&disagree),
        [
            (
                "memory_mib".to_owned(),
                "disagrees with memory; give one of them, or both alike".to_owned()
            ),
            (
                "timeout_min".to_owned(),
                "disagrees with timeout; give one of them, or both alike".to_owned()
            ),
        ]
    );
    let bad = create(json!({"template_name": "x", "memory_mib": 513, "timeout_min": 481}));
    assert_eq!(fields_of(&bad), ["memory_mib", "timeout_min"]);
    let bad = create(json!({"template_name": "x", "timeout_min": 0}));
    assert_eq!(
        errors_of(&bad),
        [(
            "timeout_min".to_owned(),
            "must be between 1 and 480".to_owned()
        )]
    );
    assert_eq!(emu.sandbox_state("sb-0003"), None, "nothing more was made");
}

#[test]
fn the_request_log_keeps_the_latest_and_counts_all() {
    let emu = Emulator::start_with(EmulatorConfig::default().max_logged_requests(3)).unwrap();
    let addr = emu.addr();
    for page in 1..=5 {
        api(addr, "GET", &format!("/v1/snapshots?page={page}"), None);
    }
    assert_eq!(emu.request_count(), 5);
    assert_eq!(emu.dropped_requests(), 2);
    let kept: Vec<String> = emu.requests().into_iter().map(|r| r.request_id).collect();
    assert_eq!(kept, ["req-0003", "req-0004", "req-0005"]);
    assert_eq!(emu.request_count_for("GET", "/v1/snapshots"), 3);
    let served = send(addr, "GET", "/_emulator/requests", &[], None).unwrap();
    let targets: Vec<Value> = served
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["target"].clone())
        .collect();
    assert_eq!(
        targets,
        [
            "/v1/snapshots?page=3",
            "/v1/snapshots?page=4",
            "/v1/snapshots?page=5"
        ]
    );
    emu.clear_requests();
    assert_eq!((emu.request_count(), emu.dropped_requests()), (0, 0));
    // Request ids go on counting: they name answers, not log entries.
    api(addr, "GET", "/v1/snapshots", None);
    assert_eq!(emu.requests()[0].request_id, "req-0006");
    assert_eq!(EmulatorConfig::default().max_logged_requests, 10_000);
}
