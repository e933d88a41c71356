//! Properties of the parsers over generated input: no answer makes any
//! operation's parser or machine panic, typed models survive a JSON round trip,
//! `Retry-After` means what it says, and a secret is found and scrubbed in
//! every form it leaks in. The fuzz targets in `fuzz/` check the same
//! properties for longer, with the nightly toolchain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use http::{HeaderName, HeaderValue, StatusCode};
use leap0_core::machine::{Action, Machine, Retry};
use leap0_core::model::{ServerTime, SnapshotList};
use leap0_core::transport::{Response, Secrets};
use leap0_core::{
    Call, Config, CreateSandbox, CreateSnapshot, DeleteSandbox, DeleteSnapshot, Error, Exchange,
    GetSandbox, ListSnapshots, NetworkMode, NetworkPolicy, PauseIntoSnapshot, RestoreSnapshot,
    ResumeSnapshot, Sandbox, SandboxState, Snapshot, Timestamp, TransformRule,
};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value, json};

fn config() -> Config {
    Config::new("sk-property-test").unwrap()
}

/// How long a decode error's reason and excerpt may be: the core cuts both at
/// 300 characters and marks the cut with `…`.
const MAX_QUOTED_CHARS: usize = 301;

// ---------------------------------------------------------------------------
// Answers: statuses, headers and bodies, from garbage to almost valid.

/// Object keys the decoders know, so that generated bodies reach their rules.
const KNOWN_KEYS: [&str; 28] = [
    "id",
    "name",
    "template_id",
    "vcpu",
    "memory",
    "memory_mib",
    "disk",
    "disk_mib",
    "state",
    "network_policy",
    "created_at",
    "timeout",
    "auto_pause",
    "items",
    "total_items",
    "mode",
    "allow_domains",
    "allow_cidrs",
    "transforms",
    "domain",
    "inject_headers",
    "strip_headers",
    "message",
    "errors",
    "field",
    "error",
    "page",
    "extra",
];

fn any_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(&KNOWN_KEYS[..]).prop_map(str::to_owned),
        1 => "\\PC{0,8}",
    ]
}

/// Any JSON, floats and known keys included, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        prop::sample::select(
            &[
                "running",
                "paused",
                "custom",
                "",
                " ",
                "2025-01-15T10:30:00Z"
            ][..]
        )
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::vec((any_key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// A body: bytes, any JSON, or a valid answer with one field replaced.
fn any_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        any_json().prop_map(|v| v.to_string().into_bytes()),
        (
            prop::sample::select(&KNOWN_KEYS[..]),
            any_json(),
            any::<bool>()
        )
            .prop_map(|(key, value, in_list)| {
                let mut snapshot =
                    json!({"id": "snap-1", "name": "warm", "state": "running", "vcpu": 2});
                snapshot[key] = value;
                let body = if in_list {
                    json!({"items": [snapshot], "total_items": 1})
                } else {
                    snapshot
                };
                body.to_string().into_bytes()
            }),
    ]
}

fn any_status() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => prop::sample::select(&[200u16, 201, 204, 400, 404, 409, 429, 500, 502, 503, 504][..]),
        1 => 100u16..1000,
    ]
}

/// Header values: arbitrary bytes (those `http` refuses are skipped), numbers and dates.
fn any_header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..40),
        any::<u64>().prop_map(|n| n.to_string().into_bytes()),
        (0u64..253_402_300_799).prop_map(|s| http_date(s).into_bytes()),
    ]
}

fn any_headers() -> impl Strategy<Value = Vec<(&'static str, Vec<u8>)>> {
    prop::collection::vec(
        (
            prop::sample::select(
                &[
                    "retry-after",
                    "date",
                    "x-request-id",
                    "content-type",
                    "x-other",
                ][..],
            ),
            any_header_value(),
        ),
        0..4,
    )
}

fn response(status: u16, headers: &[(&'static str, Vec<u8>)], body: Vec<u8>) -> Response {
    let mut response = http::Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            response
                .headers_mut()
                .append(HeaderName::from_static(name), value);
        }
    }
    response
}

fn http_date(unix_seconds: u64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(unix_seconds))
}

/// What any parser's result must satisfy, whatever the answer.
fn check_parsed<T, E: Exchange<Output = T>>(
    op: &E,
    answer: &Response,
) -> Result<(), TestCaseError> {
    let result = op.parse(answer.clone());
    let success = op.route().success;
    match &result {
        Ok(_) => prop_assert_eq!(answer.status(), success),
        Err(Error::Api(api)) => {
            prop_assert_ne!(answer.status(), success);
            prop_assert_eq!(api.status, answer.status());
        }
        Err(Error::Decode(decode)) => {
            prop_assert_eq!(answer.status(), success);
            prop_assert!(decode.excerpt.chars().count() <= MAX_QUOTED_CHARS);
            prop_assert!(
                decode.reason.chars().count() <= MAX_QUOTED_CHARS,
                "{} chars",
                decode.reason.chars().count()
            );
        }
        Err(other) => prop_assert!(false, "unexpected error {other:?}"),
    }
    if let Err(e) = &result {
        // Both renderings must work on any answer.
        let _ = (e.to_string(), format!("{e:?}"));
    }
    Ok(())
}

/// Every call's machine, one step: it asks to send, takes the answer, and
/// then says what comes next (never that it still awaits the answer).
fn check_machines(answer: &Response) -> Result<(), TestCaseError> {
    let calls = [
        Call::CreateSnapshot(CreateSnapshot::new("sb-1").name("warm")),
        Call::PauseIntoSnapshot(PauseIntoSnapshot::new("sb-1")),
        Call::ResumeSnapshot(ResumeSnapshot::new("warm")),
        Call::ResumeAndWait(ResumeSnapshot::new("warm")),
        Call::RestoreSnapshot(RestoreSnapshot::new("warm")),
        Call::RestoreAndWait(RestoreSnapshot::new("warm")),
        Call::DeleteSnapshot(DeleteSnapshot::new("snap-1")),
        Call::ListSnapshots(ListSnapshots::default()),
        Call::ListAllSnapshots(ListSnapshots::default()),
        Call::GetSandbox(GetSandbox::new("sb-1")),
        Call::WaitUntilRunning(GetSandbox::new("sb-1")),
        Call::CreateSandbox(CreateSandbox::new("base")),
        Call::DeleteSandbox(DeleteSandbox::new("sb-1")),
    ];
    let config = config();
    for call in calls {
        let name = format!("{call:?}");
        let mut machine = call.machine(&config);
        let now = Timestamp::ZERO;
        prop_assert!(matches!(machine.poll(now), Action::Send(_)), "{}", name);
        machine.handle_response(now, answer.clone());
        match machine.poll(now) {
            Action::Awaiting => prop_assert!(false, "{} lost the answer", name),
            Action::WaitUntil(t) => prop_assert!(t >= now),
            Action::Send(_) | Action::Done(_) => {}
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Valid models, generated as the JSON the server sends.

fn required_text() -> impl Strategy<Value = String> {
    "\\PC{1,16}".prop_filter("has a non-blank character", |s| !s.trim().is_empty())
}

fn any_state() -> impl Strategy<Value = SandboxState> {
    prop_oneof![
        prop::sample::select(
            &[
                "starting",
                "running",
                "snapshotting",
                "paused",
                "unpausing",
                "stopping",
                "stopped",
                "deleting",
                "deleted"
            ][..]
        )
        .prop_map(SandboxState::from_wire),
        "\\PC{0,10}".prop_map(|s| SandboxState::from_wire(&s)),
    ]
}

/// JSON without floats (whose text need not survive a round trip exactly).
fn exact_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("\\PC{0,6}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Unknown fields: any key but `known`.
fn extra_fields(known: &'static [&'static str]) -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(
        "\\PC{1,8}".prop_filter("not a known field", move |k| !known.contains(&k.as_str())),
        exact_json(),
        0..3,
    )
    .prop_map(|m| m.into_iter().collect())
}

fn any_policy() -> impl Strategy<Value = NetworkPolicy> {
    let mode = prop_oneof![
        prop::sample::select(&["allow-all", "deny-all", "custom"][..]).prop_map(str::to_owned),
        "\\PC{0,8}",
    ];
    let rule = (
        "\\PC{0,12}",
        prop::option::of(prop::collection::btree_map("\\PC{0,6}", "\\PC{0,8}", 0..3)),
        prop::option::of(prop::collection::vec("\\PC{0,6}", 0..3)),
        extra_fields(&TransformRule::KEYS),
    )
        .prop_map(|(domain, inject, strip, extra)| {
            let mut rule = TransformRule::new(domain);
            for (name, value) in inject.into_iter().flatten() {
                rule = rule.inject_header(name, value);
            }
            if let Some(strip) = strip {
                rule.strip_headers = Some(strip);
            }
            rule.extra = extra;
            rule
        });
    (
        mode,
        prop::option::of(prop::collection::vec("\\PC{0,12}", 0..3)),
        prop::option::of(prop::collection::vec("[0-9./]{0,18}", 0..3)),
        prop::option::of(prop::collection::vec(rule, 0..2)),
        extra_fields(&NetworkPolicy::KEYS),
    )
        .prop_map(|(mode, domains, cidrs, transforms, extra)| {
            let Ok(mode) = mode.parse::<NetworkMode>();
            let mut policy = NetworkPolicy::new(mode);
            policy.allow_domains = domains;
            policy.allow_cidrs = cidrs;
            policy.transforms = transforms;
            policy.extra = extra;
            policy
        })
}

fn any_time() -> impl Strategy<Value = String> {
    prop_oneof![
        (0i64..253_402_300_799).prop_map(|s| jiff::Timestamp::from_second(s).unwrap().to_string()),
        "\\PC{0,20}",
    ]
}

const SNAPSHOT_KEYS: [&str; 11] = [
    "id",
    "name",
    "template_id",
    "vcpu",
    "memory",
    "memory_mib",
    "disk",
    "disk_mib",
    "state",
    "network_policy",
    "created_at",
];

const SANDBOX_KEYS: [&str; 12] = [
    "id",
    "template_id",
    "vcpu",
    "memory",
    "memory_mib",
    "disk",
    "disk_mib",
    "state",
    "network_policy",
    "created_at",
    "timeout",
    "auto_pause",
];

/// The resources in either spelling (`memory` or the older `memory_mib`).
fn resources() -> impl Strategy<Value = (Option<u64>, Option<u64>, Option<u64>, bool)> {
    (
        prop::option::of(any::<u64>()),
        prop::option::of(any::<u64>()),
        prop::option::of(any::<u64>()),
        any::<bool>(),
    )
}

fn put_resources(
    body: &mut Map<String, Value>,
    (vcpu, memory, disk, legacy): (Option<u64>, Option<u64>, Option<u64>, bool),
) {
    let (memory_key, disk_key) = if legacy {
        ("memory_mib", "disk_mib")
    } else {
        ("memory", "disk")
    };
    for (key, value) in [("vcpu", vcpu), (memory_key, memory), (disk_key, disk)] {
        if let Some(n) = value {
            body.insert(key.to_owned(), n.into());
        }
    }
}

/// A snapshot as the server writes it, and what each field must decode to.
#[derive(Debug, Clone)]
struct SnapshotSpec {
    body: Map<String, Value>,
    id: String,
    name: String,
    resources: (u64, u64, u64),
    state: Option<SandboxState>,
    policy: Option<NetworkPolicy>,
    created_at: Option<String>,
    extra: Map<String, Value>,
}

fn snapshot_spec() -> impl Strategy<Value = SnapshotSpec> {
    (
        (
            required_text(),
            required_text(),
            prop::option::of("\\PC{0,10}"),
        ),
        resources(),
        prop::option::of(any_state()),
        prop::option::of(any_policy()),
        prop::option::of(any_time()),
        extra_fields(&SNAPSHOT_KEYS),
    )
        .prop_map(
            |((id, name, template), res, state, policy, created_at, extra)| {
                let mut body = Map::new();
                body.insert("id".into(), id.clone().into());
                body.insert("name".into(), name.clone().into());
                if let Some(t) = &template {
                    body.insert("template_id".into(), t.clone().into());
                }
                put_resources(&mut body, res);
                if let Some(s) = &state {
                    body.insert("state".into(), s.as_str().into());
                }
                if let Some(p) = &policy {
                    body.insert("network_policy".into(), serde_json::to_value(p).unwrap());
                }
                if let Some(t) = &created_at {
                    body.insert("created_at".into(), t.clone().into());
                }
                body.extend(extra.clone());
                SnapshotSpec {
                    body,
                    id: id.trim().to_owned(),
                    name: name.trim().to_owned(),
                    resources: (res.0.unwrap_or(0), res.1.unwrap_or(0), res.2.unwrap_or(0)),
                    state,
                    policy,
                    created_at,
                    extra,
                }
            },
        )
}

fn check_snapshot(decoded: &Snapshot, spec: &SnapshotSpec) -> Result<(), TestCaseError> {
    prop_assert_eq!(&decoded.id, &spec.id);
    prop_assert_eq!(&decoded.name, &spec.name);
    prop_assert_eq!(
        (decoded.vcpu, decoded.memory_mib, decoded.disk_mib),
        spec.resources
    );
    prop_assert_eq!(&decoded.state, &spec.state);
    prop_assert_eq!(&decoded.network_policy, &spec.policy);
    prop_assert_eq!(
        decoded.created_at.as_ref().map(ServerTime::as_str),
        spec.created_at.as_deref()
    );
    prop_assert_eq!(&decoded.extra, &spec.extra);
    Ok(())
}

fn ok_answer(status: u16, body: &impl serde::Serialize) -> Response {
    response(status, &[], serde_json::to_vec(body).unwrap())
}

// ---------------------------------------------------------------------------
// Secrets in their forms.

/// Secrets of at least the four characters `Secrets` looks for, as a caller
/// would configure them (no surrounding whitespace).
fn any_secret() -> impl Strategy<Value = String> {
    prop_oneof!["[!-~]{4,24}", "\\PC{4,24}",]
        .prop_map(|s| s.trim().to_owned())
        .prop_filter("at least 4 characters", |s| s.chars().count() >= 4)
}

/// The forms a secret is written in, around arbitrary text.
#[derive(Debug, Clone, Copy)]
enum Form {
    Plain,
    Base64 { url_safe: bool },
    JsonEscaped,
    PercentEncoded,
}

fn any_form() -> impl Strategy<Value = Form> {
    prop_oneof![
        Just(Form::Plain),
        any::<bool>().prop_map(|url_safe| Form::Base64 { url_safe }),
        Just(Form::JsonEscaped),
        Just(Form::PercentEncoded),
    ]
}

/// JSON string content (without quotes) for `text`, each character of it
/// written as `\u` and four hex digits where `mask` says so.
fn json_escaped(text: &str, mask: &[bool]) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if mask.get(i % mask.len().max(1)).copied().unwrap_or(true) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            let quoted = Value::from(c.to_string()).to_string();
            out.push_str(&quoted[1..quoted.len() - 1]);
        }
    }
    out
}

/// What `utf8_percent_encode` leaves alone besides alphanumerics; `%` is
/// always encoded, so that decoding gives back exactly the text.
const QUERY_SET: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'%')
    .add(b'&')
    .add(b'=')
    .add(b'#')
    .add(b'"');

/// `text` percent-encoded: the characters `mask` marks byte by byte, the rest
/// as the query set requires.
fn percent_encoded(text: &str, mask: &[bool]) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        let mut buf = [0u8; 4];
        let bytes = c.encode_utf8(&mut buf).as_bytes();
        if mask.get(i % mask.len().max(1)).copied().unwrap_or(true) {
            for b in bytes {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.extend(utf8_percent_encode(c.encode_utf8(&mut [0u8; 4]), QUERY_SET));
        }
    }
    out
}

/// `prefix`, the secret and `suffix`, written together in `form`.
fn written(
    form: Form,
    prefix: &str,
    secret: &str,
    suffix: &str,
    lead: &[u8],
    mask: &[bool],
) -> String {
    match form {
        Form::Plain => format!("{prefix}{secret}{suffix}"),
        Form::Base64 { url_safe } => {
            let bytes = [lead, secret.as_bytes(), suffix.as_bytes()].concat();
            let engine = if url_safe { URL_SAFE } else { STANDARD };
            format!("{prefix}{}", engine.encode(bytes))
        }
        Form::JsonEscaped => {
            let all_plain = [false];
            format!(
                "{}{}{}",
                json_escaped(prefix, &all_plain),
                json_escaped(secret, mask),
                json_escaped(suffix, &all_plain)
            )
        }
        Form::PercentEncoded => {
            let none = [false];
            format!(
                "{}{}{}",
                percent_encoded(prefix, &none),
                percent_encoded(secret, mask),
                percent_encoded(suffix, &none)
            )
        }
    }
}

// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// (a) Any status, headers and body: every operation's parser gives a
    /// typed answer or a typed error, and every call's machine moves on.
    #[test]
    fn no_answer_makes_a_parser_or_machine_panic(
        status in any_status(),
        headers in any_headers(),
        body in any_body(),
    ) {
        let answer = response(status, &headers, body);
        check_parsed(&CreateSnapshot::new("sb-1"), &answer)?;
        check_parsed(&PauseIntoSnapshot::new("sb-1"), &answer)?;
        check_parsed(&ResumeSnapshot::new("warm"), &answer)?;
        check_parsed(&RestoreSnapshot::new("warm"), &answer)?;
        check_parsed(&DeleteSnapshot::new("snap-1"), &answer)?;
        check_parsed(&ListSnapshots::default(), &answer)?;
        check_parsed(&GetSandbox::new("sb-1"), &answer)?;
        check_parsed(&CreateSandbox::new("base"), &answer)?;
        check_parsed(&DeleteSandbox::new("sb-1"), &answer)?;
        check_machines(&answer)?;
    }

    /// (a) A snapshot decodes to what its fields say, and our own encoding of
    /// it decodes back to the same value, alone and in a list page.
    #[test]
    fn snapshots_and_list_pages_round_trip(
        specs in prop::collection::vec(snapshot_spec(), 1..4),
        total in any::<u64>(),
    ) {
        let spec = &specs[0];
        let decoded = CreateSnapshot::new("sb-1").parse(ok_answer(201, &spec.body)).unwrap();
        check_snapshot(&decoded, spec)?;
        let again = PauseIntoSnapshot::new("sb-1").parse(ok_answer(201, &decoded)).unwrap();
        prop_assert_eq!(&again, &decoded);

        let page = json!({
            "items": specs.iter().map(|s| Value::Object(s.body.clone())).collect::<Vec<_>>(),
            "total_items": total,
        });
        let list: SnapshotList = ListSnapshots::default().parse(ok_answer(200, &page)).unwrap();
        prop_assert_eq!(list.total_items, total);
        prop_assert_eq!(list.items.len(), specs.len());
        for (item, spec) in list.items.iter().zip(&specs) {
            check_snapshot(item, spec)?;
        }
        let again = ListSnapshots::default().parse(ok_answer(200, &list)).unwrap();
        prop_assert_eq!(again, list);
    }

    /// (a) The same for sandboxes; a status read requires `state`, a start
    /// reads its absence as `starting`.
    #[test]
    fn sandboxes_round_trip(
        id in required_text(),
        template in prop::option::of("\\PC{0,10}"),
        res in resources(),
        timeout in prop::option::of(any::<u64>()),
        auto_pause in prop::option::of(any::<bool>()),
        state in prop::option::of(any_state()),
        policy in prop::option::of(any_policy()),
        created_at in prop::option::of(any_time()),
        extra in extra_fields(&SANDBOX_KEYS),
    ) {
        let mut body = Map::new();
        body.insert("id".into(), id.clone().into());
        if let Some(t) = &template {
            body.insert("template_id".into(), t.clone().into());
        }
        put_resources(&mut body, res);
        if let Some(t) = timeout {
            body.insert("timeout".into(), t.into());
        }
        if let Some(a) = auto_pause {
            body.insert("auto_pause".into(), a.into());
        }
        if let Some(s) = &state {
            body.insert("state".into(), s.as_str().into());
        }
        if let Some(p) = &policy {
            body.insert("network_policy".into(), serde_json::to_value(p).unwrap());
        }
        if let Some(t) = &created_at {
            body.insert("created_at".into(), t.clone().into());
        }
        body.extend(extra.clone());

        let started: Sandbox = ResumeSnapshot::new("warm").parse(ok_answer(201, &body)).unwrap();
        prop_assert_eq!(&started.id, id.trim());
        prop_assert_eq!(&started.template_id, template.as_deref().unwrap_or(""));
        prop_assert_eq!(
            (started.vcpu, started.memory_mib, started.disk_mib),
            (res.0.unwrap_or(0), res.1.unwrap_or(0), res.2.unwrap_or(0))
        );
        prop_assert_eq!(started.timeout, timeout.unwrap_or(0));
        prop_assert_eq!(started.auto_pause, auto_pause.unwrap_or(false));
        prop_assert_eq!(&started.state, state.as_ref().unwrap_or(&SandboxState::Starting));
        prop_assert_eq!(&started.network_policy, &policy);
        prop_assert_eq!(started.created_at.as_ref().map(ServerTime::as_str), created_at.as_deref());
        prop_assert_eq!(&started.extra, &extra);

        let read = GetSandbox::new("sb-1").parse(ok_answer(200, &body));
        match &state {
            Some(_) => prop_assert_eq!(read.as_ref().ok(), Some(&started)),
            None => prop_assert_eq!(read.unwrap_err().field().map(str::to_owned), Some("state".to_owned())),
        }
        // Our encoding always writes `state`, so every sandbox reads back.
        let again = GetSandbox::new("sb-1").parse(ok_answer(200, &started)).unwrap();
        prop_assert_eq!(again, started);
    }

    /// (b) Any `Retry-After` and `Date` values: a typed delay or none, and a
    /// retrying machine that waits exactly that long unless the wait would
    /// pass its total deadline, which ends it at once.
    #[test]
    fn any_retry_after_gives_a_delay_the_machine_honours(
        status in prop::sample::select(&[429u16, 503][..]),
        retry_after in any_header_value(),
        date in any_header_value(),
        start in 0u64..1_000_000_000,
    ) {
        let headers = [("retry-after", retry_after), ("date", date)];
        let answer = response(status, &headers, br#"{"message":"busy"}"#.to_vec());
        let delay = ListSnapshots::default()
            .parse(answer.clone())
            .unwrap_err()
            .api()
            .unwrap()
            .retry_after;
        check_retry_wait(answer, delay, start)?;
    }

    /// (b) Delta-seconds are exactly that many seconds, with or without
    /// leading zeros, up to any size (too large to count saturates).
    #[test]
    fn delta_seconds_are_that_many_seconds(
        secs in prop_oneof![0u64..2000, any::<u64>()],
        zeros in 0usize..3,
        start in 0u64..1_000_000_000,
    ) {
        let value = format!("{}{secs}", "0".repeat(zeros));
        let answer = response(429, &[("retry-after", value.into_bytes())], b"{}".to_vec());
        let delay = CreateSnapshot::new("sb-1").parse(answer.clone()).unwrap_err().api().unwrap().retry_after;
        prop_assert_eq!(delay, Some(Duration::from_secs(secs)));
        check_retry_wait(answer, delay, start)?;
        // Past what a u64 counts: the longest delay there is.
        let huge = response(429, &[("retry-after", format!("{}{}", secs.max(1), "0".repeat(20)).into_bytes())], Vec::new());
        let delay = CreateSnapshot::new("sb-1").parse(huge).unwrap_err().api().unwrap().retry_after;
        prop_assert_eq!(delay, Some(Duration::from_secs(u64::MAX)));
    }

    /// (b) An HTTP-date is read against the answer's own `Date`: the
    /// difference when it is later, zero when it is not.
    #[test]
    fn http_dates_give_the_difference_from_the_answers_date(
        date in 0u64..253_000_000_000,
        ahead in prop_oneof![0u64..3600, 0u64..400_000_000],
        later in any::<bool>(),
    ) {
        let at = if later { date + ahead } else { date.saturating_sub(ahead) };
        let headers = [
            ("retry-after", http_date(at).into_bytes()),
            ("date", http_date(date).into_bytes()),
        ];
        let answer = response(503, &headers, Vec::new());
        let delay = GetSandbox::new("sb-1").parse(answer.clone()).unwrap_err().api().unwrap().retry_after;
        prop_assert_eq!(delay, Some(Duration::from_secs(at.saturating_sub(date))));
        check_retry_wait(answer, delay, 0)?;
    }

    /// (c) A secret written in any of its forms inside arbitrary text is found,
    /// and scrubbing leaves no form of it.
    #[test]
    fn secrets_are_found_and_scrubbed_in_every_form(
        secret in any_secret(),
        bearer in any::<bool>(),
        form in any_form(),
        prefix in "\\PC{0,12}",
        suffix in "\\PC{0,12}",
        lead in prop::collection::vec(any::<u8>(), 0..3),
        mask in prop::collection::vec(any::<bool>(), 1..8),
    ) {
        // Base64 runs are only looked for in secrets of 5 bytes or more: a
        // 4-byte secret has too few characters that are its own.
        prop_assume!(!matches!(form, Form::Base64 { .. }) || secret.len() >= 5);
        let configured = if bearer { format!("Bearer {secret}") } else { secret.clone() };
        let secrets = Secrets::new().with(&configured);
        let text = written(form, &prefix, &secret, &suffix, &lead, &mask);
        prop_assert!(secrets.find(&text).is_some(), "not found in {:?}", text);
        let scrubbed = secrets.scrub(&text);
        prop_assert_eq!(secrets.find(&scrubbed), None, "left in {:?}", scrubbed);
        prop_assert!(!scrubbed.contains(&secret));
    }

    /// (c) Scrubbing is total: whatever the text, no form of a secret survives.
    #[test]
    fn scrubbing_any_text_leaves_no_secret(
        secret in any_secret(),
        text in "\\PC{0,64}",
        at in any::<prop::sample::Index>(),
    ) {
        let secrets = Secrets::new().with(&secret);
        let mut planted = text.clone();
        let cut = planted.char_indices().map(|(i, _)| i).chain([planted.len()]).nth(at.index(planted.chars().count() + 1)).unwrap_or(0);
        planted.insert_str(cut, &secret);
        for t in [&text, &planted] {
            prop_assert_eq!(secrets.find(&secrets.scrub(t)), None);
        }
    }
}

/// A 429 or 503 carrying `delay`, fed to a retrying machine at `start` (its
/// first poll): it waits exactly `delay` (none: the retry goes out at once)
/// when that ends before the default 15-minute total deadline, and otherwise
/// gives up at once.
fn check_retry_wait(
    answer: Response,
    delay: Option<Duration>,
    start: u64,
) -> Result<(), TestCaseError> {
    let now = Timestamp::from_origin(Duration::from_secs(start));
    let deadline = now + Duration::from_secs(15 * 60);
    let mut machine = Retry::new(ListSnapshots::default(), &config());
    prop_assert!(matches!(machine.poll(now), Action::Send(_)));
    machine.handle_response(now, answer);
    match (machine.poll(now), delay) {
        // No wait at all: the retry goes out at once.
        (Action::Send(attempt), Some(Duration::ZERO)) => prop_assert_eq!(attempt.number, 2),
        (Action::WaitUntil(t), Some(d)) => {
            prop_assert_eq!(t, now + d);
            prop_assert!(t < deadline);
        }
        (Action::WaitUntil(t), None) => prop_assert!(t > now && t < deadline),
        (Action::Done(Err(Error::DeadlineExceeded { last, attempts, .. })), Some(d)) => {
            prop_assert!(now + d >= deadline);
            prop_assert_eq!(attempts, 1);
            prop_assert_eq!(last.api().unwrap().retry_after, Some(d));
        }
        (other, _) => prop_assert!(false, "unexpected {other:?} for {delay:?}"),
    }
    Ok(())
}
