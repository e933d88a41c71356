//! What the fuzz targets share: turning fuzzer bytes into answers, JSON and
//! requests that reach deep into the parsers and the matcher, and the checks
//! every parser's result must pass.
//!
//! Structure comes from [`arbitrary::Unstructured`]: the first bytes choose
//! statuses, header names and shapes, so that most inputs get past the first
//! check of a parser instead of failing on it.
#![forbid(unsafe_code)]

use std::time::Duration;

use arbitrary::{Result, Unstructured};
use http::{HeaderName, HeaderValue, StatusCode};
use leap0_core::machine::{Action, Machine};
use leap0_core::transport::{Request, Response};
use leap0_core::{
    Call, Config, CreateSandbox, CreateSnapshot, DeleteSandbox, DeleteSnapshot, Error, Exchange,
    GetSandbox, ListSnapshots, PauseIntoSnapshot, RestoreSnapshot, ResumeSnapshot, Timestamp,
};
use serde_json::{Map, Value, json};

/// How deep generated JSON nests: well inside serde_json's recursion limit,
/// so that the fuzzer explores shapes rather than the limit.
const MAX_DEPTH: u32 = 6;

/// The most a decode error's field, reason or excerpt may hold, in characters
/// (the core cuts each at 300 and marks the cut with `…`).
const MAX_QUOTED_CHARS: usize = 301;

/// Object keys and values the decoders and the matcher care about.
const WORDS: [&str; 36] = [
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
    "running",
    "paused",
    "custom",
    "allow-all",
    "<redacted>",
    "2025-01-15T10:30:00Z",
    "snap-1",
    "sb-1",
    "warm",
    "",
];

/// A string: a word the parsers know, or any text.
pub fn text(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(2, 3)? {
        Ok((*u.choose(&WORDS)?).to_owned())
    } else {
        u.arbitrary()
    }
}

/// Any JSON value, nested at most `depth` more levels.
pub fn json(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    let kinds = if depth == 0 { 6 } else { 8 };
    Ok(match u.choose_index(kinds)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(u.arbitrary::<u64>()?),
        3 => Value::from(u.arbitrary::<i64>()?),
        4 => Value::from(u.arbitrary::<f64>()?),
        5 => Value::String(text(u)?),
        6 => {
            let n = u.int_in_range(0..=4)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(json(u, depth - 1)?);
            }
            Value::Array(items)
        }
        _ => {
            let n = u.int_in_range(0..=6)?;
            let mut map = Map::new();
            for _ in 0..n {
                map.insert(text(u)?, json(u, depth - 1)?);
            }
            Value::Object(map)
        }
    })
}

/// An answer's body: raw bytes, any JSON, or a valid snapshot, sandbox or
/// list page with one field replaced by anything.
pub fn body(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    Ok(match u.choose_index(3)? {
        0 => u.bytes(u.len().min(4096))?.to_vec(),
        1 => json(u, MAX_DEPTH)?.to_string().into_bytes(),
        _ => {
            let mut object = json!({
                "id": "snap-1", "name": "warm", "template_id": "base", "vcpu": 2,
                "memory": 2048, "disk": 10240, "state": "running", "timeout": 60,
                "auto_pause": false, "created_at": "2025-01-15T10:30:00Z",
                "network_policy": {"mode": "custom", "allow_domains": ["a.example"],
                    "transforms": [{"domain": "a.example", "inject_headers": {"x": "y"}}]},
            });
            let key = text(u)?;
            let value = json(u, MAX_DEPTH)?;
            if u.arbitrary()? {
                if let Some(policy) = object["network_policy"].as_object_mut() {
                    policy.insert(key, value);
                }
            } else if let Some(map) = object.as_object_mut() {
                map.insert(key, value);
            }
            if u.arbitrary()? {
                object = json!({"items": [object], "total_items": u.arbitrary::<u64>()?});
            }
            object.to_string().into_bytes()
        }
    })
}

/// A header value: bytes (some of which `http` refuses), a number or a date.
pub fn header_value(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    Ok(match u.choose_index(3)? {
        0 => u.arbitrary::<Vec<u8>>()?,
        1 => u.arbitrary::<u64>()?.to_string().into_bytes(),
        _ => {
            let secs = u.int_in_range(0..=253_402_300_799u64)?;
            httpdate::fmt_http_date(std::time::UNIX_EPOCH + Duration::from_secs(secs)).into_bytes()
        }
    })
}

/// An answer: any status (mostly the ones that mean something), a few
/// headers, and a body.
pub fn response(u: &mut Unstructured<'_>) -> Result<Response> {
    let status = if u.ratio(3, 4)? {
        *u.choose(&[200u16, 201, 204, 400, 404, 409, 429, 500, 502, 503, 504])?
    } else {
        u.int_in_range(100..=999)?
    };
    let mut headers = Vec::new();
    for _ in 0..u.int_in_range(0..=3)? {
        let name = *u.choose(&["retry-after", "date", "x-request-id", "content-type"])?;
        headers.push((name, header_value(u)?));
    }
    let mut response = http::Response::new(body(u)?);
    *response.status_mut() =
        StatusCode::from_u16(status).map_err(|_| arbitrary::Error::IncorrectFormat)?;
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_bytes(&value) {
            response
                .headers_mut()
                .append(HeaderName::from_static(name), value);
        }
    }
    Ok(response)
}

/// Checks one operation's parse of `answer`: a success status gives a value
/// or a decode error with short quotes, any other an API error of that status.
pub fn check_parse<E: Exchange>(op: &E, answer: &Response) {
    let success = op.route().success;
    match op.parse(answer.clone()) {
        Ok(_) => assert_eq!(answer.status(), success),
        Err(Error::Api(api)) => {
            assert_ne!(answer.status(), success);
            assert_eq!(api.status, answer.status());
            let _ = Error::Api(api).to_string();
        }
        Err(Error::Decode(decode)) => {
            assert_eq!(answer.status(), success);
            for quoted in [&decode.field, &decode.reason, &decode.excerpt] {
                assert!(
                    quoted.chars().count() <= MAX_QUOTED_CHARS,
                    "{} chars",
                    quoted.len()
                );
            }
            let _ = Error::Decode(decode).to_string();
        }
        Err(other) => panic!("parse gave {other:?}"),
    }
}

/// Every operation's parser on `answer`.
pub fn check_all_parsers(answer: &Response) {
    check_parse(&CreateSnapshot::new("sb-1"), answer);
    check_parse(&PauseIntoSnapshot::new("sb-1"), answer);
    check_parse(&ResumeSnapshot::new("warm"), answer);
    check_parse(&RestoreSnapshot::new("warm"), answer);
    check_parse(&DeleteSnapshot::new("snap-1"), answer);
    check_parse(&ListSnapshots::default(), answer);
    check_parse(&GetSandbox::new("sb-1"), answer);
    check_parse(&CreateSandbox::new("base"), answer);
    check_parse(&DeleteSandbox::new("sb-1"), answer);
}

/// Every call's machine, driven with `answer` for every request it sends, up
/// to a bounded number of steps: it never loses an answer, never asks to
/// wait for the past, and finishes with a result or keeps going.
pub fn check_all_machines(answer: &Response) {
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
    let config = Config::new("sk-fuzz-key").expect("a valid key");
    for call in calls {
        let mut machine = call.machine(&config);
        let mut now = Timestamp::ZERO;
        for _ in 0..32 {
            match machine.poll(now) {
                Action::Send(_) => machine.handle_response(now, answer.clone()),
                // Every request was answered at once: nothing can be awaited.
                Action::Awaiting => panic!("the machine lost an answer"),
                Action::WaitUntil(t) => {
                    assert!(t > now, "waits for {t:?} at {now:?}");
                    now = t;
                }
                Action::Done(result) => {
                    if let Err(e) = result {
                        let _ = (e.to_string(), format!("{e:?}"));
                    }
                    break;
                }
            }
        }
    }
}

/// Methods a request may have (lowercase and odd ones included).
const METHODS: [&str; 8] = [
    "GET", "POST", "DELETE", "PUT", "PATCH", "get", "HEAD", "X-ODD",
];

/// Appends `text` percent-encoded, each byte encoded or not as the fuzzer
/// says (bytes a URI cannot hold as they are always encoded).
fn push_encoded(u: &mut Unstructured<'_>, out: &mut String, text: &str) -> Result<()> {
    for b in text.bytes() {
        let plain = b.is_ascii_alphanumeric() || b"-._~!$'()*+,;:@".contains(&b);
        if plain && u.ratio(7, 8)? {
            out.push(char::from(b));
        } else if u.arbitrary()? {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    Ok(())
}

/// Characters that would join two decoded values into one if a match key
/// ran them together: the old key's separators among them.
const JOINS: [&str; 7] = ["\u{0}", "\u{1}", "/", "=", "&", "|", ":"];

fn decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// A request target: one of `known`, decoded, changed a little (a value
/// replaced, two segments or pairs joined by a separator-like character, a
/// segment split) and encoded again its own way; or one made from scratch.
pub fn target(u: &mut Unstructured<'_>, known: &[&str]) -> Result<String> {
    let (mut segments, mut pairs) = (Vec::new(), Vec::new());
    let has_query = if !known.is_empty() && u.ratio(3, 4)? {
        let base = *u.choose(known)?;
        let (path, query) = match base.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (base, None),
        };
        segments = path.split('/').skip(1).map(decoded).collect();
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            pairs.push((decoded(name), decoded(value)));
        }
        query.is_some()
    } else {
        for _ in 0..u.int_in_range(1..=4)? {
            segments.push(text(u)?);
        }
        for _ in 0..u.int_in_range(0..=3)? {
            pairs.push((text(u)?, text(u)?));
        }
        !pairs.is_empty() || u.arbitrary()?
    };
    for _ in 0..u.int_in_range(0..=2)? {
        let join = *u.choose(&JOINS)?;
        match u.choose_index(5)? {
            0 if !segments.is_empty() => {
                let i = u.choose_index(segments.len())?;
                segments[i] = text(u)?;
            }
            1 if segments.len() >= 2 => {
                let i = u.choose_index(segments.len() - 1)?;
                let next = segments.remove(i + 1);
                segments[i] = format!("{}{join}{next}", segments[i]);
            }
            2 if !segments.is_empty() => {
                let i = u.choose_index(segments.len())?;
                let cut = u.choose_index(segments[i].len() + 1)?;
                if segments[i].is_char_boundary(cut) {
                    let rest = segments[i].split_off(cut);
                    segments.insert(i + 1, rest);
                }
            }
            3 if !pairs.is_empty() => {
                let i = u.choose_index(pairs.len())?;
                pairs[i].1 = text(u)?;
            }
            4 if pairs.len() >= 2 => {
                let i = u.choose_index(pairs.len() - 1)?;
                let (name, value) = pairs.remove(i + 1);
                pairs[i].1 = format!("{}{join}{name}={value}", pairs[i].1);
            }
            _ => {}
        }
    }
    let mut out = String::new();
    for segment in &segments {
        out.push('/');
        push_encoded(u, &mut out, segment)?;
    }
    if out.is_empty() {
        out.push('/');
    }
    if has_query || !pairs.is_empty() {
        out.push('?');
        for (i, (name, value)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            push_encoded(u, &mut out, name)?;
            out.push('=');
            push_encoded(u, &mut out, value)?;
        }
    }
    Ok(out)
}

/// A live request: a method, a target (see [`target`]), a few headers and a
/// body (one of `bodies`, re-encoded, or any); `None` when `http` refuses
/// what came out.
pub fn request(
    u: &mut Unstructured<'_>,
    targets: &[&str],
    bodies: &[Value],
) -> Result<Option<Request>> {
    let method = *u.choose(&METHODS)?;
    let target = target(u, targets)?;
    let body = match u.choose_index(4)? {
        0 => Vec::new(),
        1 if !bodies.is_empty() => {
            let value = u.choose(bodies)?;
            if u.arbitrary()? {
                serde_json::to_vec_pretty(value).unwrap_or_default()
            } else {
                value.to_string().into_bytes()
            }
        }
        2 => json(u, MAX_DEPTH)?.to_string().into_bytes(),
        _ => u.arbitrary::<Vec<u8>>()?,
    };
    let mut builder = http::Request::builder()
        .method(method)
        .uri(format!("https://api.leap0.dev{target}"));
    for _ in 0..u.int_in_range(0..=3)? {
        let name = *u.choose(&[
            "authorization",
            "user-agent",
            "content-type",
            "x-trace",
            "cookie",
        ])?;
        builder = builder.header(name, header_value(u)?);
    }
    Ok(builder.body(body).ok())
}
