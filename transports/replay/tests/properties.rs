//! Properties of the replay matcher over generated requests: a request equal
//! to a recorded one (modulo header order, JSON key order and whitespace,
//! percent-encoding, and the headers the options ignore) always gets that
//! recorded answer; one that differs in method, path, query, body or a matched
//! header never does, and the miss report names what differs. Together: the
//! index's key is equal exactly when the report finds no difference.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use leap0_core::transport::{Request, Response, Transport, TransportError};
use leap0_replay::{
    Body, Cassette, Interaction, Mismatch, RecordedRequest, RecordedResponse, ReplayError,
    ReplayOptions, Replayer,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value, json};

const METHODS: [&str; 5] = ["GET", "POST", "DELETE", "PUT", "PATCH"];

/// The header whose value the options compare; user-agent is asked for too,
/// but is volatile and never compared.
const TRACE: &str = "x-trace";

/// A request as a test thinks of it: decoded parts, before any encoding.
#[derive(Debug, Clone, PartialEq)]
struct Req {
    method: &'static str,
    path: Vec<String>,
    query: Vec<(String, String)>,
    body: Payload,
    trace: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Payload {
    None,
    Json(Value),
    /// Text that is not JSON: compared byte for byte.
    Text(String),
}

impl Req {
    /// Whether the replayer must treat `self` and `other` as the same request.
    fn same(&self, other: &Req) -> bool {
        self.method == other.method
            && self.path == other.path
            && self.query == other.query
            && self.body == other.body
            && self.trace == other.trace
    }
}

/// How a request is written on the wire, beyond what it means.
#[derive(Debug, Clone)]
struct Writing {
    /// Which alphanumerics of the path and query are percent-encoded anyway.
    mask: Vec<bool>,
    lowercase_hex: bool,
    /// JSON keys in reverse order, pretty-printed.
    reorder_json: bool,
    /// Headers inserted in reverse order.
    reverse_headers: bool,
    user_agent: String,
    authorization: String,
}

fn encode(text: &str, writing: &Writing, counter: &mut usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let forced = writing.mask.get(*counter % writing.mask.len().max(1)) == Some(&true);
        *counter += 1;
        if c.is_ascii_alphanumeric() && !forced {
            out.push(c);
            continue;
        }
        let mut buf = [0u8; 4];
        for b in c.encode_utf8(&mut buf).bytes() {
            if writing.lowercase_hex {
                out.push_str(&format!("%{b:02x}"));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn target(req: &Req, writing: &Writing) -> String {
    let mut counter = 0;
    let mut target = String::new();
    for segment in &req.path {
        target.push('/');
        target.push_str(&encode(segment, writing, &mut counter));
    }
    if !req.query.is_empty() {
        let pairs: Vec<String> = req
            .query
            .iter()
            .map(|(n, v)| {
                format!(
                    "{}={}",
                    encode(n, writing, &mut counter),
                    encode(v, writing, &mut counter)
                )
            })
            .collect();
        target.push('?');
        target.push_str(&pairs.join("&"));
    }
    target
}

fn reversed(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .rev()
                .map(|(k, v)| (k.clone(), reversed(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(reversed).collect()),
        other => other.clone(),
    }
}

fn body_bytes(payload: &Payload, writing: Option<&Writing>) -> Vec<u8> {
    match payload {
        Payload::None => Vec::new(),
        Payload::Text(text) => text.as_bytes().to_vec(),
        Payload::Json(value) => match writing {
            Some(w) if w.reorder_json => serde_json::to_vec_pretty(&reversed(value)).unwrap(),
            _ => serde_json::to_vec(value).unwrap(),
        },
    }
}

const PLAIN: Writing = Writing {
    mask: Vec::new(),
    lowercase_hex: false,
    reorder_json: false,
    reverse_headers: false,
    user_agent: String::new(),
    authorization: String::new(),
};

fn recorded(reqs: &[Req]) -> Cassette {
    let mut cassette = Cassette::new();
    for (i, req) in reqs.iter().enumerate() {
        let mut headers = BTreeMap::from([
            ("authorization".to_owned(), "<redacted>".to_owned()),
            ("user-agent".to_owned(), "leap0-rust/0.1.0".to_owned()),
            (TRACE.to_owned(), req.trace.clone()),
        ]);
        if req.body != Payload::None {
            headers.insert("content-type".into(), "application/json".into());
        }
        cassette.interactions.push(Interaction {
            operation: None,
            inputs: None,
            request: RecordedRequest {
                method: req.method.to_owned(),
                target: target(req, &PLAIN),
                headers,
                body: Body::from_bytes(&body_bytes(&req.body, None)),
            },
            response: Some(RecordedResponse {
                status: 200,
                headers: BTreeMap::new(),
                body: Body::from_bytes(json!({ "i": i }).to_string().as_bytes()),
            }),
            failure: None,
            latency_ms: 0,
        });
    }
    cassette
}

fn options() -> ReplayOptions {
    ReplayOptions::default()
        .match_header(TRACE)
        .match_header("User-Agent")
}

fn live(req: &Req, writing: &Writing) -> Request {
    let mut headers = vec![
        ("authorization", writing.authorization.clone()),
        ("user-agent", writing.user_agent.clone()),
        (TRACE, req.trace.clone()),
        ("content-type", "application/json".to_owned()),
    ];
    if writing.reverse_headers {
        headers.reverse();
    }
    let mut builder = http::Request::builder()
        .method(req.method)
        .uri(format!("https://api.leap0.dev{}", target(req, writing)));
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    builder.body(body_bytes(&req.body, Some(writing))).unwrap()
}

fn send(replayer: &Replayer, request: Request) -> Result<Response, TransportError> {
    Transport::send(replayer, request, Duration::from_secs(1))
}

fn answered_index(response: &Response) -> usize {
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    body["i"].as_u64().unwrap() as usize
}

fn mismatch(err: &TransportError) -> Result<&Mismatch, TestCaseError> {
    match ReplayError::find(err) {
        Some(ReplayError::Mismatch(m)) => Ok(m),
        _ => Err(TestCaseError::fail(format!(
            "no mismatch report behind {err}"
        ))),
    }
}

// ---------------------------------------------------------------------------
// Generators.

/// Text from a small alphabet (so that requests often nearly agree), with the
/// characters that carry meaning in a target, and control characters; or any
/// text at all.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[ab\\x00\\x01/%?#&=+ é]{0,3}",
        1 => "(?s).{0,6}",
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..3).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(&[0.0, -0.0, 1.0, 1.5, -2.25, 1e300][..]).prop_map(Value::from),
        text().prop_map(Value::from),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::vec(("[abc]{1,2}", inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        1 => Just(Payload::None),
        3 => json().prop_map(Payload::Json),
        1 => "[a-z ]{0,6}".prop_map(|t| Payload::Text(format!("~{t}"))),
    ]
}

fn req() -> impl Strategy<Value = Req> {
    (
        prop::sample::select(&METHODS[..]),
        prop::collection::vec(text(), 1..4),
        prop::collection::vec((text(), text()), 0..3),
        payload(),
        prop::sample::select(&["t1", "t2"][..]),
    )
        .prop_map(|(method, path, query, body, trace)| Req {
            method,
            path,
            query,
            body,
            trace: trace.to_owned(),
        })
}

/// Requests from a very small space, where two are often equal or nearly so.
fn tiny_req() -> impl Strategy<Value = Req> {
    let tiny = "[a\\x00\\x01/]{0,2}";
    (
        prop::sample::select(&METHODS[..2]),
        prop::collection::vec(tiny, 1..3),
        prop::collection::vec((tiny, tiny), 0..2),
        prop::sample::select(vec![
            Payload::None,
            Payload::Json(json!({"a": 0.0})),
            Payload::Json(json!({"a": -0.0})),
            Payload::Json(json!({"a": 1})),
            Payload::Json(json!({"a": 1.0})),
            Payload::Json(json!({"a": [0.0, "\u{0}"]})),
            Payload::Text("~a".to_owned()),
        ]),
    )
        .prop_map(|(method, path, query, body)| Req {
            method,
            path,
            query,
            body,
            trace: "t1".to_owned(),
        })
}

/// Two requests that are equal, nearly equal, or written so that a careless
/// key would run their parts together: segments `x`, `y` against the one
/// segment `x\u{1}y`, the pair `n` = `x=y` against `n=x` = `y`.
fn near_pair() -> impl Strategy<Value = (Req, Req)> {
    let tiny_payload = tiny_req().prop_map(|r| r.body);
    prop_oneof![
        (tiny_req(), tiny_req()),
        tiny_req().prop_map(|a| (a.clone(), a)),
        // Equal under `Value` equality, written differently.
        tiny_req().prop_map(|a| {
            let a = Req {
                body: Payload::Json(json!({"a": [1, -0.0]})),
                ..a
            };
            let b = Req {
                body: Payload::Json(json!({"a": [1, 0.0]})),
                ..a.clone()
            };
            (a, b)
        }),
        (tiny_req(), tiny_payload).prop_map(|(a, body)| {
            let b = Req { body, ..a.clone() };
            (a, b)
        }),
        (tiny_req(), "[a\\x01]{0,2}").prop_map(|(a, extra)| {
            let mut a = a;
            a.path.push(extra);
            let b = Req {
                path: vec![a.path.join("\u{1}")],
                ..a.clone()
            };
            (a, b)
        }),
        (tiny_req(), "[a=]{0,2}", "[a=]{0,2}", "[a=]{0,2}").prop_map(|(base, n, x, y)| {
            let mut a = base.clone();
            a.query.push((n.clone(), format!("{x}={y}")));
            let mut b = base;
            b.query.push((format!("{n}={x}"), y));
            (a, b)
        }),
    ]
}

fn writing() -> impl Strategy<Value = Writing> {
    (
        prop::collection::vec(any::<bool>(), 1..6),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        "[a-z0-9./]{1,12}",
        "Bearer [a-z0-9]{4,12}",
    )
        .prop_map(
            |(mask, lowercase_hex, reorder_json, reverse_headers, user_agent, authorization)| {
                Writing {
                    mask,
                    lowercase_hex,
                    reorder_json,
                    reverse_headers,
                    user_agent,
                    authorization,
                }
            },
        )
}

/// One change that makes a request differ, and the field the report must name.
#[derive(Debug, Clone)]
enum Change {
    Method(&'static str),
    Segment(prop::sample::Index, String),
    ExtraSegment(String),
    QueryValue(prop::sample::Index, String),
    QueryAdded(String, String),
    BodyField(String, Value),
    BodyRemoved,
    Trace,
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        prop::sample::select(&METHODS[..]).prop_map(Change::Method),
        (any::<prop::sample::Index>(), text()).prop_map(|(i, s)| Change::Segment(i, s)),
        text().prop_map(Change::ExtraSegment),
        (any::<prop::sample::Index>(), text()).prop_map(|(i, v)| Change::QueryValue(i, v)),
        (text(), text()).prop_map(|(n, v)| Change::QueryAdded(n, v)),
        ("[abc]{1,2}", json()).prop_map(|(k, v)| Change::BodyField(k, v)),
        Just(Change::BodyRemoved),
        Just(Change::Trace),
    ]
}

/// `base` changed by `change`, and the field the report must name (a prefix
/// for body fields, whose difference may lie deeper); `None` when the change
/// happens to change nothing.
fn changed(base: &Req, change: &Change) -> Option<(Req, String)> {
    let mut req = base.clone();
    let field = match change {
        Change::Method(m) => {
            req.method = m;
            "method".to_owned()
        }
        Change::Segment(i, s) => {
            let i = i.index(req.path.len());
            req.path[i] = s.clone();
            "path".to_owned()
        }
        Change::ExtraSegment(s) => {
            req.path.push(s.clone());
            "path".to_owned()
        }
        Change::QueryValue(i, v) => {
            if req.query.is_empty() {
                return None;
            }
            let i = i.index(req.query.len());
            req.query[i].1 = v.clone();
            format!("query {}", req.query[i].0)
        }
        Change::QueryAdded(n, v) => {
            let at = req.query.len() / 2;
            req.query.insert(at, (n.clone(), v.clone()));
            format!("query {n}")
        }
        Change::BodyField(key, value) => match &mut req.body {
            Payload::Json(Value::Object(map)) => {
                map.insert(key.clone(), value.clone());
                format!("body.{key}")
            }
            _ => {
                req.body = Payload::Json(json!({ key.clone(): value.clone() }));
                "body".to_owned()
            }
        },
        Change::BodyRemoved => {
            req.body = Payload::None;
            "body".to_owned()
        }
        Change::Trace => {
            req.trace = if req.trace == "t1" { "t2" } else { "t1" }.to_owned();
            format!("header {TRACE}")
        }
    };
    (!req.same(base)).then_some((req, field))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A request equal to a recorded one gets the first recorded answer for
    /// that request, however it is written.
    #[test]
    fn an_equal_request_always_matches(
        reqs in prop::collection::vec(req(), 1..6),
        pick in any::<prop::sample::Index>(),
        writing in writing(),
    ) {
        let replayer = Replayer::new(recorded(&reqs), options()).unwrap();
        let wanted = &reqs[pick.index(reqs.len())];
        let first = reqs.iter().position(|r| r.same(wanted)).unwrap();
        let answer = match send(&replayer, live(wanted, &writing)) {
            Ok(answer) => answer,
            Err(err) => return Err(TestCaseError::fail(mismatch(&err)?.to_string())),
        };
        prop_assert_eq!(answered_index(&answer), first);
    }

    /// A request that differs from the recorded one in one part is never
    /// answered, and the report names that part.
    #[test]
    fn a_differing_request_never_matches_and_the_report_names_the_field(
        base in req(),
        change in change(),
        writing in writing(),
    ) {
        let Some((other, field)) = changed(&base, &change) else {
            return Ok(());
        };
        let replayer = Replayer::new(recorded(std::slice::from_ref(&base)), options()).unwrap();
        let err = send(&replayer, live(&other, &writing)).unwrap_err();
        let report = mismatch(&err)?;
        let named: Vec<&str> = report.candidates[0].differences.iter().map(|d| d.field.as_str()).collect();
        let found = named
            .iter()
            .any(|f| *f == field || (field.starts_with("body.") && f.starts_with(&field)));
        prop_assert!(found, "{:?} not among {:?}", field, named);
        let first_shown = report.candidates[0].differences[0].to_string();
        let expected = format!("\n      {first_shown}");
        prop_assert!(report.to_string().contains(&expected));
        prop_assert!(replayer.unused() == vec![0]);
    }

    /// The key the index files a request under is equal exactly when the
    /// report finds no difference: a match is followed, once its answer is
    /// used, by a report of the same request; a miss reports a difference.
    #[test]
    fn index_keys_agree_with_differences(
        (a, b) in near_pair(),
        writing in writing(),
    ) {
        let replayer = Replayer::new(recorded(std::slice::from_ref(&a)), options()).unwrap();
        match send(&replayer, live(&b, &writing)) {
            Ok(_) => {
                prop_assert!(a.same(&b), "{:?} answered {:?}", b, a);
                let err = send(&replayer, live(&b, &writing)).unwrap_err();
                let again = &mismatch(&err)?.candidates[0];
                prop_assert!(again.used);
                prop_assert_eq!(&again.differences, &vec![]);
            }
            Err(err) => {
                let report = mismatch(&err)?;
                prop_assert!(!a.same(&b), "{:?} missed itself:\n{}", b, report);
                prop_assert!(!report.candidates[0].differences.is_empty(), "{}", report);
            }
        }
    }
}
