//! Requests in comparable form, their differences, and redaction.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use percent_encoding::percent_decode_str;
use serde_json::Value;

use leap0_core::transport::{Secrets, is_sensitive_header, is_sensitive_header_name};

use crate::cassette::{Body, REDACTED, RecordedRequest, Redactions, excerpt};

/// Headers that never take part in matching, even when listed in `match_headers`.
pub(crate) const VOLATILE: [&str; 2] = ["user-agent", "leap0-sdk-version"];

/// One way a live request differs from a recorded one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// What differs: `method`, `path`, `query page`, `body.name`, `header content-type`, ...
    pub field: String,
    /// The recorded value, rendered (JSON-quoted strings); `None` when absent.
    pub recorded: Option<String>,
    /// The live value, rendered the same way; `None` when absent.
    pub got: Option<String>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".to_owned());
        // The values are JSON-quoted; the field may hold a query name or JSON
        // key as decoded, so its control characters are escaped here.
        write!(
            f,
            "{}: recorded {}, got {}",
            shown(&self.field),
            show(&self.recorded),
            show(&self.got)
        )
    }
}

/// A body in comparable form.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BodyForm {
    Empty,
    Json(Value),
    Bytes(Vec<u8>),
}

impl BodyForm {
    pub(crate) fn from_bytes(bytes: &[u8]) -> BodyForm {
        if bytes.is_empty() {
            BodyForm::Empty
        } else if let Ok(value) = serde_json::from_slice(bytes) {
            BodyForm::Json(value)
        } else {
            BodyForm::Bytes(bytes.to_vec())
        }
    }

    fn from_stored(body: Option<&Body>) -> BodyForm {
        match body {
            None => BodyForm::Empty,
            Some(Body::Json(value)) => BodyForm::Json(value.clone()),
            Some(Body::Text(text)) => BodyForm::from_bytes(text.as_bytes()),
            // An undecodable body is compared as its stored text.
            Some(body @ Body::Base64(raw)) => match body.to_bytes() {
                Ok(bytes) => BodyForm::from_bytes(&bytes),
                Err(_) => BodyForm::Bytes(raw.as_bytes().to_vec()),
            },
        }
    }

    /// A short description for messages.
    pub(crate) fn summary(&self) -> String {
        match self {
            BodyForm::Empty => "no body".to_owned(),
            BodyForm::Json(value) => format!("JSON body {}", render_json(value, 120)),
            BodyForm::Bytes(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => format!("text body {}", quote(&excerpt(text, 120))),
                Err(_) => format!("binary body of {} bytes", bytes.len()),
            },
        }
    }
}

/// A path's percent-decoded segments, held in one string: a request's shape
/// is built for every recorded interaction, and a string per segment would be
/// most of its allocations.
#[derive(Debug, Clone, Default)]
pub(crate) struct Segments {
    text: String,
    /// Where each segment ends in `text`.
    ends: Vec<usize>,
}

impl Segments {
    fn decode(path: &str) -> Segments {
        let mut segments = Segments {
            text: String::with_capacity(path.len()),
            ends: Vec::with_capacity(path.len() / 4 + 1),
        };
        for segment in path.split('/') {
            segments
                .text
                .push_str(&percent_decode_str(segment).decode_utf8_lossy());
            segments.ends.push(segments.text.len());
        }
        segments
    }

    /// The decoded segments, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(start, end)| self.text.get(start..end).unwrap_or_default())
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }
}

/// A request in comparable form.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) path: Segments,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: BodyForm,
    pub(crate) headers: BTreeMap<String, String>,
}

impl Shape {
    pub(crate) fn new(
        method: &str,
        target: &str,
        headers: BTreeMap<String, String>,
        body: BodyForm,
    ) -> Shape {
        let (path, query) = split_target(target);
        Shape {
            method: method.to_ascii_uppercase(),
            target: target.to_owned(),
            path: Segments::decode(path),
            query: parse_query(query),
            body,
            headers,
        }
    }

    pub(crate) fn of_recorded(request: &RecordedRequest) -> Shape {
        let headers = request
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        Shape::new(
            &request.method,
            &request.target,
            headers,
            BodyForm::from_stored(request.body.as_ref()),
        )
    }

    pub(crate) fn raw_path(&self) -> &str {
        split_target(&self.target).0
    }
}

/// A path prefix as `""` or `/prefix`, without a trailing `/`.
pub(crate) fn normalize_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim().trim_end_matches('/');
    if trimmed.is_empty() || trimmed.starts_with('/') {
        trimmed.to_owned()
    } else {
        format!("/{trimmed}")
    }
}

/// Splits a target into path and query (without `?`; a fragment is dropped).
pub(crate) fn split_target(target: &str) -> (&str, Option<&str>) {
    let target = target.split('#').next().unwrap_or_default();
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

pub(crate) fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

pub(crate) fn parse_query(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// What to compare.
#[derive(Debug, Clone)]
pub(crate) struct Compare {
    pub(crate) query: bool,
    pub(crate) body: bool,
    /// Lowercase header names to compare (volatile ones already removed).
    pub(crate) headers: Vec<String>,
}

/// Every difference of `got` from `recorded` (empty: they match).
pub(crate) fn differences(recorded: &Shape, got: &Shape, what: &Compare) -> Vec<Difference> {
    let mut out = Vec::new();
    if recorded.method != got.method {
        out.push(diff(
            "method",
            Some(quote(&recorded.method)),
            Some(quote(&got.method)),
        ));
    }
    if !same_path(&recorded.path, &got.path) {
        out.push(diff(
            "path",
            Some(quote(recorded.raw_path())),
            Some(quote(got.raw_path())),
        ));
    }
    if what.query {
        diff_query(&recorded.query, &got.query, &mut out);
    }
    if what.body {
        diff_body(&recorded.body, &got.body, &mut out);
    }
    for name in &what.headers {
        let rec = recorded.headers.get(name);
        if rec.is_some_and(|v| v == REDACTED) {
            continue;
        }
        let live = got.headers.get(name);
        if rec != live {
            out.push(diff(
                &format!("header {name}"),
                rec.map(|v| quote(v)),
                live.map(|v| quote(v)),
            ));
        }
    }
    out
}

fn same_path(recorded: &Segments, got: &Segments) -> bool {
    recorded.len() == got.len()
        && recorded
            .iter()
            .zip(got.iter())
            .all(|(r, g)| r == g || r == REDACTED)
}

fn diff(field: &str, recorded: Option<String>, got: Option<String>) -> Difference {
    Difference {
        field: field.to_owned(),
        recorded,
        got,
    }
}

fn same_value(recorded: &str, got: &str) -> bool {
    recorded == got || recorded == REDACTED
}

fn diff_query(recorded: &[(String, String)], got: &[(String, String)], out: &mut Vec<Difference>) {
    let same_list = recorded.len() == got.len()
        && recorded
            .iter()
            .zip(got)
            .all(|((rn, rv), (gn, gv))| rn == gn && same_value(rv, gv));
    if same_list {
        return;
    }
    let mut names: Vec<&str> = Vec::new();
    for (name, _) in recorded.iter().chain(got) {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    let before = out.len();
    for name in names {
        let values = |list: &[(String, String)]| -> Vec<String> {
            list.iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .collect()
        };
        let (rec, live) = (values(recorded), values(got));
        let same = rec.len() == live.len() && rec.iter().zip(&live).all(|(r, g)| same_value(r, g));
        if !same {
            let show = |vs: &[String]| {
                (!vs.is_empty()).then(|| vs.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", "))
            };
            out.push(diff(&format!("query {name}"), show(&rec), show(&live)));
        }
    }
    if out.len() == before {
        let show = |list: &[(String, String)]| {
            list.iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        };
        out.push(diff(
            "query order",
            Some(quote(&show(recorded))),
            Some(quote(&show(got))),
        ));
    }
}

const MAX_BODY_DIFFERENCES: usize = 20;

fn diff_body(recorded: &BodyForm, got: &BodyForm, out: &mut Vec<Difference>) {
    match (recorded, got) {
        (BodyForm::Json(r), BodyForm::Json(g)) => {
            let mut found = Vec::new();
            diff_json("body", r, g, &mut found);
            out.extend(found);
        }
        (r, g) if r == g => {}
        (r, g) => out.push(diff("body", Some(r.summary()), Some(g.summary()))),
    }
}

fn diff_json(path: &str, recorded: &Value, got: &Value, out: &mut Vec<Difference>) {
    if out.len() >= MAX_BODY_DIFFERENCES || recorded.as_str() == Some(REDACTED) {
        return;
    }
    match (recorded, got) {
        (Value::Object(r), Value::Object(g)) => {
            for (key, rv) in r {
                let here = format!("{path}.{key}");
                match g.get(key) {
                    Some(gv) => diff_json(&here, rv, gv, out),
                    None => out.push(diff(&here, Some(render_json(rv, 80)), None)),
                }
            }
            for (key, gv) in g {
                if !r.contains_key(key) {
                    out.push(diff(
                        &format!("{path}.{key}"),
                        None,
                        Some(render_json(gv, 80)),
                    ));
                }
            }
        }
        (Value::Array(r), Value::Array(g)) => {
            for i in 0..r.len().max(g.len()) {
                let here = format!("{path}[{i}]");
                match (r.get(i), g.get(i)) {
                    (Some(rv), Some(gv)) => diff_json(&here, rv, gv, out),
                    (rv, gv) => out.push(diff(
                        &here,
                        rv.map(|v| render_json(v, 80)),
                        gv.map(|v| render_json(v, 80)),
                    )),
                }
            }
        }
        (r, g) if r == g => {}
        (r, g) => out.push(diff(
            path,
            Some(render_json(r, 80)),
            Some(render_json(g, 80)),
        )),
    }
    out.truncate(MAX_BODY_DIFFERENCES);
}

/// A JSON value, compact, cut after `max` characters.
pub(crate) fn render_json(value: &Value, max: usize) -> String {
    excerpt(&value.to_string(), max).into_owned()
}

/// Text from a cassette or a live request, with control characters escaped
/// so that it cannot steer a terminal.
pub(crate) use leap0_core::text::escape as shown;

/// A string in JSON quotes, cut after 120 characters.
pub(crate) fn quote(text: &str) -> String {
    Value::String(excerpt(text, 120).into_owned()).to_string()
}

/// Applies redactions: every header the core's one rule calls sensitive
/// ([`is_sensitive_header`]: marked sensitive, or named like auth, key, token,
/// secret, cookie or session) plus the configured names, and values containing
/// a secret.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    /// The configured header names (lowercase), beyond the sensitive ones.
    headers: BTreeSet<String>,
    query: BTreeSet<String>,
    json_fields: BTreeSet<String>,
    secrets: Secrets,
}

impl Redactor {
    pub(crate) fn new(redactions: &Redactions, secrets: &Secrets) -> Redactor {
        Redactor {
            headers: redactions
                .headers
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
            query: redactions.query.iter().cloned().collect(),
            json_fields: redactions.json_fields.iter().cloned().collect(),
            secrets: secrets.clone(),
        }
    }

    /// Whether a header's value is always redacted, whatever it holds.
    pub(crate) fn is_redacted_header(&self, name: &str) -> bool {
        is_sensitive_header_name(name) || self.headers.contains(&name.to_ascii_lowercase())
    }

    pub(crate) fn headers(&self, map: &http::HeaderMap) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in map {
            let name = name.as_str().to_ascii_lowercase();
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            let text = if is_sensitive_header(&name, value)
                || self.headers.contains(&name)
                || self.secrets.contains(&text)
            {
                REDACTED.to_owned()
            } else {
                text
            };
            match out.get_mut(&name) {
                Some(existing) if existing != REDACTED && text != REDACTED => {
                    existing.push_str(", ");
                    existing.push_str(&text);
                }
                Some(existing) => *existing = REDACTED.to_owned(),
                None => {
                    out.insert(name, text);
                }
            }
        }
        out
    }

    /// The target with the values of redacted query parameters replaced.
    pub(crate) fn target(&self, target: &str) -> String {
        let (path, query) = split_target(target);
        let Some(query) = query else {
            return target.to_owned();
        };
        if self.query.is_empty() {
            return target.to_owned();
        }
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| {
                let name = pair.split_once('=').map_or(pair, |(n, _)| n);
                if self.query.contains(&decode(name)) {
                    format!("{name}={REDACTED}")
                } else {
                    pair.to_owned()
                }
            })
            .collect();
        format!("{path}?{}", pairs.join("&"))
    }

    /// The stored form of a body, with redacted JSON fields replaced.
    pub(crate) fn body(&self, bytes: &[u8]) -> Option<Body> {
        if !self.json_fields.is_empty()
            && let Ok(mut value) = serde_json::from_slice::<Value>(bytes)
            && self.json(&mut value)
        {
            return Some(Body::Json(value));
        }
        Body::from_bytes(bytes)
    }

    /// The comparable form of a live body, with redacted JSON fields replaced.
    pub(crate) fn body_form(&self, bytes: &[u8]) -> BodyForm {
        let mut form = BodyForm::from_bytes(bytes);
        if let BodyForm::Json(value) = &mut form {
            self.json(value);
        }
        form
    }

    fn json(&self, value: &mut Value) -> bool {
        if self.json_fields.is_empty() {
            return false;
        }
        let mut changed = false;
        // An explicit stack, so that no input nests deeper than serde_json allows.
        let mut stack = vec![value];
        while let Some(v) = stack.pop() {
            match v {
                Value::Object(map) => {
                    for (key, child) in map.iter_mut() {
                        if self.json_fields.contains(key) {
                            if child.as_str() != Some(REDACTED) {
                                *child = Value::String(REDACTED.to_owned());
                                changed = true;
                            }
                        } else {
                            stack.push(child);
                        }
                    }
                }
                Value::Array(items) => stack.extend(items.iter_mut()),
                _ => {}
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn shape(method: &str, target: &str, body: &str) -> Shape {
        Shape::new(
            method,
            target,
            BTreeMap::new(),
            BodyForm::from_bytes(body.as_bytes()),
        )
    }

    fn all() -> Compare {
        Compare {
            query: true,
            body: true,
            headers: vec![],
        }
    }

    fn texts(d: &[Difference]) -> Vec<String> {
        d.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn json_bodies_compare_semantically() {
        let a = shape("POST", "/v1/x", r#"{"a":1,"b":{"c":[1,2]}}"#);
        let b = shape("post", "/v1/x", r#"{ "b": {"c": [1, 2]}, "a": 1 }"#);
        assert!(differences(&a, &b, &all()).is_empty());
        let c = shape("POST", "/v1/x", r#"{"a":2,"b":{"c":[1]},"d":null}"#);
        assert_eq!(
            texts(&differences(&a, &c, &all())),
            [
                "body.a: recorded 1, got 2",
                "body.b.c[1]: recorded 2, got (absent)",
                "body.d: recorded (absent), got null"
            ]
        );
    }

    #[test]
    fn queries_compare_as_decoded_lists() {
        let a = shape("GET", "/v1/s?query=a%20b&page=2", "");
        let b = shape("GET", "/v1/s?query=a%20b&page=3", "");
        assert_eq!(
            texts(&differences(&a, &b, &all())),
            [r#"query page: recorded "2", got "3""#]
        );
        let c = shape("GET", "/v1/s?page=2&query=a%20b", "");
        assert_eq!(
            texts(&differences(&a, &c, &all())),
            [r#"query order: recorded "query=a b&page=2", got "page=2&query=a b""#]
        );
        let d = shape("GET", "/v1/s?query=a+b&page=2", "");
        assert!(!differences(&a, &d, &all()).is_empty());
        let e = shape("GET", "/v1/s?query=%61%20b&page=2", "");
        assert!(differences(&a, &e, &all()).is_empty());
    }

    #[test]
    fn differences_show_control_characters_escaped() {
        let a = shape("POST", "/v1/x?%1B%5B2J=1", "{\"k\\u001b\":1}");
        let b = shape("POST", "/v1/x?%1B%5B2J=2", "{\"k\\u001b\":2}");
        let found = differences(&a, &b, &all());
        assert_eq!(found[0].field, "query \u{1b}[2J");
        assert_eq!(
            texts(&found),
            [
                r#"query \u{1b}[2J: recorded "1", got "2""#,
                r#"body.k\u{1b}: recorded 1, got 2"#
            ]
        );
    }

    #[test]
    fn redaction_replaces_values() {
        let r = Redactor::new(
            &Redactions {
                headers: vec!["X-Token".into()],
                query: vec!["sig".into()],
                json_fields: vec!["password".into()],
            },
            &Secrets::new().with("s3cr3t"),
        );
        assert_eq!(r.target("/v1/a?sig=abc&x=1"), "/v1/a?sig=<redacted>&x=1");
        assert_eq!(
            r.body(br#"{"u":"me","nested":[{"password":"p"}]}"#),
            Some(Body::Json(
                json!({"u": "me", "nested": [{"password": REDACTED}]})
            ))
        );
        let mut headers = http::HeaderMap::new();
        headers.insert("x-token", "t".parse().unwrap());
        headers.insert("authorization", "Bearer k".parse().unwrap());
        headers.insert("x-other", "has s3cr3t inside".parse().unwrap());
        headers.append("accept", "a".parse().unwrap());
        headers.append("accept", "b".parse().unwrap());
        let out = r.headers(&headers);
        assert_eq!(out["x-token"], REDACTED);
        assert_eq!(out["authorization"], REDACTED);
        assert_eq!(out["x-other"], REDACTED);
        assert_eq!(out["accept"], "a, b");
    }

    #[test]
    fn every_sensitive_header_is_redacted_by_the_one_rule() {
        let r = Redactor::new(&Redactions::default(), &Secrets::new());
        let mut headers = http::HeaderMap::new();
        for name in [
            "x-session-token",
            "x-auth-token",
            "set-cookie",
            "cookie",
            "authorization",
            "proxy-authorization",
            "x-api-key",
        ] {
            headers.insert(
                http::HeaderName::from_static(name),
                "SECRET-XYZ".parse().unwrap(),
            );
            assert!(r.is_redacted_header(name), "{name}");
        }
        let mut marked = http::HeaderValue::from_static("SECRET-XYZ");
        marked.set_sensitive(true);
        headers.insert("x-custom", marked);
        headers.insert("x-request-id", "req-1".parse().unwrap());
        let out = r.headers(&headers);
        assert!(
            out.values().filter(|v| *v == REDACTED).count() == 8,
            "{out:?}"
        );
        assert_eq!(out["x-request-id"], "req-1");
        assert!(!r.is_redacted_header("content-type"));
    }
}
