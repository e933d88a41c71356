//! Finding a request's recorded answers in expected constant time.
//!
//! Each recorded request is reduced to a match key (method, decoded path and
//! query, canonical JSON body, and the headers the options compare) and filed
//! under it, in recorded order. A live request's key finds its candidates in one
//! hash lookup. The few recorded requests a hand edit left with a `<redacted>`
//! value where no redaction rule puts one (a wildcard that matches anything)
//! cannot be keyed; they are kept apart and compared one by one.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::cassette::{REDACTED, Redactions};
use crate::normalize::{BodyForm, Compare, Shape, differences};

/// Ends each part of a key. Never the first character of an item, which
/// starts with its length, so a part cannot run into the next.
const PART: char = '|';

/// Appends `text` as one item: its length in bytes, `:`, then the text. A
/// decoded value may hold any character (`%00`, `%3D`, `%2F` included), so
/// no separator alone could tell where it ends.
fn item(key: &mut String, text: &str) {
    push_decimal(key, text.len());
    key.push(':');
    key.push_str(text);
}

/// Appends `n` in decimal (every key holds several: the formatting machinery
/// would cost more than the rest of the key).
fn push_decimal(out: &mut String, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &digit in &digits[at..] {
        out.push(char::from(digit));
    }
}

/// The match key of a request under `compare`: equal for two requests exactly
/// when [`differences`] finds none between them (wildcards aside, which are
/// never keyed).
pub(crate) fn key(shape: &Shape, compare: &Compare) -> String {
    let mut key = String::with_capacity(shape.target.len() + 64);
    item(&mut key, &shape.method);
    for segment in shape.path.iter() {
        item(&mut key, segment);
    }
    key.push(PART);
    if compare.query {
        for (name, value) in &shape.query {
            item(&mut key, name);
            item(&mut key, value);
        }
    }
    key.push(PART);
    if compare.body {
        match &shape.body {
            BodyForm::Empty => {}
            BodyForm::Json(value) => {
                key.push('j');
                canonical(value, &mut key);
            }
            BodyForm::Bytes(bytes) => {
                key.push('b');
                for byte in bytes {
                    let _ = write!(key, "{byte:02x}");
                }
            }
        }
    }
    key.push(PART);
    for name in &compare.headers {
        match shape.headers.get(name) {
            Some(value) => item(&mut key, value),
            None => key.push('-'),
        }
    }
    key
}

/// JSON with object keys sorted at every depth, so that key order does not
/// matter, and equal numbers written alike: as for `Value` equality, under
/// which `-0.0` equals `0.0`. Strings are written in Rust's escaped form,
/// which is as unambiguous as JSON's and needs no temporary string.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            out.push('{');
            let entry = |i: usize, (k, v): (&String, &Value), out: &mut String| {
                if i > 0 {
                    out.push(',');
                }
                string(k, out);
                out.push(':');
                canonical(v, out);
            };
            // Bodies are usually small and already in order: no sorting then.
            if map.keys().is_sorted() {
                for (i, kv) in map.iter().enumerate() {
                    entry(i, kv, out);
                }
            } else {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                for (i, kv) in entries.into_iter().enumerate() {
                    entry(i, kv, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        Value::String(s) => string(s, out),
        Value::Number(n) if n.is_f64() && n.as_f64() == Some(0.0) => out.push_str("0.0"),
        scalar => {
            let _ = write!(out, "{scalar}");
        }
    }
}

/// A JSON string in a canonical body: `"`, then the string as an [`item`]
/// (length-prefixed, so that no character inside can be taken for structure).
fn string(text: &str, out: &mut String) {
    out.push('"');
    item(out, text);
}

/// Whether a recorded request holds `<redacted>` where the live request will
/// not (a hand-edited wildcard), so that it cannot be found by key.
pub(crate) fn has_wildcard(shape: &Shape, compare: &Compare, redactions: &Redactions) -> bool {
    if shape.path.iter().any(|s| s == REDACTED) {
        return true;
    }
    if compare.query
        && shape
            .query
            .iter()
            .any(|(name, value)| value == REDACTED && !redactions.query.contains(name))
    {
        return true;
    }
    if compare
        .headers
        .iter()
        .any(|name| shape.headers.get(name).is_some_and(|v| v == REDACTED))
    {
        return true;
    }
    match &shape.body {
        BodyForm::Json(value) if compare.body => stray_in_json(value, &redactions.json_fields),
        _ => false,
    }
}

fn stray_in_json(value: &Value, redacted_fields: &[String]) -> bool {
    stray_under(None, value, redacted_fields)
}

/// [`stray_in_json`] for `value`, found under the object key `key`.
fn stray_under(key: Option<&String>, value: &Value, redacted_fields: &[String]) -> bool {
    match value {
        Value::String(s) => s == REDACTED && !key.is_some_and(|k| redacted_fields.contains(k)),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| stray_under(Some(k), v, redacted_fields)),
        Value::Array(items) => items.iter().any(|v| stray_under(key, v, redacted_fields)),
        _ => false,
    }
}

/// The interactions filed under one key, in recorded order. Most keys hold
/// one, which then needs no allocation of its own.
enum List {
    One(usize),
    Many(Vec<usize>),
}

impl List {
    fn push(&mut self, i: usize) {
        match self {
            List::One(first) => *self = List::Many(vec![*first, i]),
            List::Many(all) => all.push(i),
        }
    }

    fn as_slice(&self) -> &[usize] {
        match self {
            List::One(only) => std::slice::from_ref(only),
            List::Many(all) => all,
        }
    }
}

/// The recorded requests, filed by key.
pub(crate) struct Index {
    /// Key → position in `lists`.
    keys: HashMap<String, usize>,
    /// For each key, the interactions under it, in recorded order.
    lists: Vec<List>,
    /// The key id of each interaction (`None`: a wildcard).
    key_of: Vec<Option<usize>>,
    /// Wildcard interactions with their shapes, in recorded order.
    wildcards: Vec<(usize, Shape)>,
}

impl Index {
    /// Files `shapes` (in recorded order) under their keys.
    pub(crate) fn new<'a>(
        shapes: impl ExactSizeIterator<Item = &'a Shape>,
        compare: &Compare,
        redactions: &Redactions,
    ) -> Index {
        let mut index = Index {
            keys: HashMap::with_capacity(shapes.len()),
            lists: Vec::with_capacity(shapes.len()),
            key_of: Vec::with_capacity(shapes.len()),
            wildcards: Vec::new(),
        };
        for (i, shape) in shapes.enumerate() {
            if has_wildcard(shape, compare, redactions) {
                index.key_of.push(None);
                index.wildcards.push((i, shape.clone()));
                continue;
            }
            let next = index.lists.len();
            let id = *index.keys.entry(key(shape, compare)).or_insert(next);
            match index.lists.get_mut(id) {
                Some(list) => list.push(i),
                None => index.lists.push(List::One(i)),
            }
            index.key_of.push(Some(id));
        }
        index
    }

    /// How many key lists there are.
    pub(crate) fn lists(&self) -> usize {
        self.lists.len()
    }

    /// The key list of a live request's key, if any.
    pub(crate) fn list_of(&self, key: &str) -> Option<(usize, &[usize])> {
        let id = *self.keys.get(key)?;
        Some((id, self.lists.get(id)?.as_slice()))
    }

    /// Whether interaction `i` answers a request with key list `list` and shape `live`.
    pub(crate) fn matches(
        &self,
        i: usize,
        list: Option<usize>,
        live: &Shape,
        compare: &Compare,
    ) -> bool {
        match self.key_of.get(i).copied().flatten() {
            Some(id) => Some(id) == list,
            None => self
                .wildcards
                .iter()
                .find(|(w, _)| *w == i)
                .is_some_and(|(_, shape)| differences(shape, live, compare).is_empty()),
        }
    }

    /// The wildcard interactions that match `live`, in recorded order.
    pub(crate) fn wildcard_matches<'a>(
        &'a self,
        live: &'a Shape,
        compare: &'a Compare,
    ) -> impl Iterator<Item = usize> + 'a {
        self.wildcards
            .iter()
            .filter(move |(_, shape)| differences(shape, live, compare).is_empty())
            .map(|(i, _)| *i)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::BTreeMap;

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

    #[test]
    fn keys_agree_with_differences() {
        let pairs = [
            (
                r#"{"a":1,"b":[1,{"c":2}]}"#,
                r#"{ "b": [1, {"c": 2}], "a": 1 }"#,
                true,
            ),
            (r#"{"a":1}"#, r#"{"a":1.0}"#, false),
            (r#"{"a":-0.0}"#, r#"{"a":0.0}"#, true),
            (r#"[-0.0]"#, r#"[0]"#, false),
            (r#"{"a":"x"}"#, r#"{"a":"y"}"#, false),
            ("", "", true),
            ("plain", "plain", true),
        ];
        for (a, b, same) in pairs {
            let (a, b) = (shape("POST", "/v1/x", a), shape("post", "/v1/x", b));
            assert_eq!(key(&a, &all()) == key(&b, &all()), same);
            assert_eq!(differences(&a, &b, &all()).is_empty(), same);
        }
        // Decoded values may hold any character: none runs into the next part.
        for (a, b) in [
            ("/v1/a%01b", "/v1/a/b"),
            ("/v1/%01", "/v1//"),
            ("/v1/a%00b", "/v1/a/b"),
            ("/v1/x?a%3Db=c", "/v1/x?a=b%3Dc"),
            ("/v1/x?a=%01b=c", "/v1/x?a=&b=c"),
            ("/v1/x?a=b%7C", "/v1/x%7C?a=b"),
        ] {
            let (a, b) = (shape("GET", a, ""), shape("GET", b, ""));
            assert_ne!(
                key(&a, &all()),
                key(&b, &all()),
                "{} {}",
                a.target,
                b.target
            );
            assert!(!differences(&a, &b, &all()).is_empty());
        }
        let a = shape("GET", "/v1/s?query=a%20b&page=2", "");
        let b = shape("GET", "/v1/s?query=a b&page=2", "");
        assert_eq!(key(&a, &all()), key(&b, &all()), "decoded before keying");
        let c = shape("GET", "/v1/s?page=2&query=a%20b", "");
        assert_ne!(key(&a, &all()), key(&c, &all()), "query order counts");
        let ignore_query = Compare {
            query: false,
            ..all()
        };
        assert_eq!(key(&a, &ignore_query), key(&c, &ignore_query));
    }

    #[test]
    fn only_stray_redactions_are_wildcards() {
        let redactions = Redactions {
            query: vec!["sig".into()],
            json_fields: vec!["token".into()],
            ..Redactions::default()
        };
        let configured = shape("POST", "/v1/x?sig=<redacted>", r#"{"token":"<redacted>"}"#);
        assert!(!has_wildcard(&configured, &all(), &redactions));
        for stray in [
            shape("GET", "/v1/snapshot/<redacted>", ""),
            shape("GET", "/v1/x?page=<redacted>", ""),
            shape("POST", "/v1/x", r#"{"name":"<redacted>"}"#),
            shape("POST", "/v1/x", r#"{"list":["<redacted>"]}"#),
        ] {
            assert!(
                has_wildcard(&stray, &all(), &redactions),
                "{}",
                stray.target
            );
        }
    }
}
