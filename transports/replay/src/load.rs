//! From a cassette to what the replayer keeps: each interaction's request in
//! comparable form and its answer ready to hand out.
//!
//! Files take one pass: typed deserialization borrowing from the bytes, JSON
//! bodies taken as raw text (a response body is only stripped of the pretty
//! printer's whitespace, which gives back the recorded bytes exactly), and
//! checks that build what replaying needs anyway (header names and values,
//! status codes, decoded base64) instead of re-serializing anything.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use http::{HeaderName, HeaderValue, StatusCode};
use leap0_core::Operation;
use leap0_core::transport::TransportError;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::cassette::{
    Body, Cassette, CassetteError, Interaction, Meta, Version, check_header, check_request_line,
    decode_base64, syntax_error,
};
use crate::identify::recorded_operation;
use crate::normalize::{BodyForm, Shape};

/// One recorded interaction, as the replayer keeps it.
pub(crate) struct Recorded {
    pub(crate) operation: Option<Operation>,
    pub(crate) request: Shape,
    pub(crate) answer: Answer,
    pub(crate) latency_ms: u64,
}

/// What a recorded request got.
pub(crate) enum Answer {
    Response {
        status: StatusCode,
        headers: Vec<(HeaderName, HeaderValue)>,
        body: Vec<u8>,
    },
    Failure(TransportError),
}

/// A cassette in the replayer's form.
pub(crate) struct Book {
    pub(crate) meta: Meta,
    pub(crate) interactions: Vec<Recorded>,
}

/// The file's top level, read by hand so that each interaction becomes a
/// [`Recorded`] as soon as it is read: no list of the file's interactions is
/// ever built, grown or dropped. `failed` receives an interaction that reads
/// but cannot be replayed (its position and why), which ends the read.
struct FileSeed<'k> {
    kept: &'k [String],
    failed: &'k Cell<Option<(usize, String)>>,
}

const FIELDS: &[&str] = &["version", "meta", "interactions"];

impl<'de> DeserializeSeed<'de> for FileSeed<'_> {
    type Value = (Meta, Vec<Recorded>);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_struct("Cassette", FIELDS, self)
    }
}

impl<'de> Visitor<'de> for FileSeed<'_> {
    type Value = (Meta, Vec<Recorded>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a cassette: an object with \"version\", \"meta\" and \"interactions\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut version, mut meta, mut interactions) = (None, None, None);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "version" if version.is_none() => version = Some(map.next_value::<Version>()?),
                "meta" if meta.is_none() => meta = Some(map.next_value::<Meta>()?),
                "interactions" if interactions.is_none() => {
                    interactions = Some(map.next_value_seed(InteractionsSeed {
                        kept: self.kept,
                        failed: self.failed,
                    })?);
                }
                "version" | "meta" | "interactions" => {
                    return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
                }
                other => return Err(de::Error::unknown_field(other, FIELDS)),
            }
        }
        if version.is_none() {
            return Err(de::Error::missing_field("version"));
        }
        Ok((meta.unwrap_or_default(), interactions.unwrap_or_default()))
    }
}

/// The `interactions` list, each turned into a [`Recorded`] as it is read.
struct InteractionsSeed<'k> {
    kept: &'k [String],
    failed: &'k Cell<Option<(usize, String)>>,
}

impl<'de> DeserializeSeed<'de> for InteractionsSeed<'_> {
    type Value = Vec<Recorded>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for InteractionsSeed<'_> {
    type Value = Vec<Recorded>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of interactions")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(x) = seq.next_element::<InteractionIn<'de>>()? {
            match recorded_from_file(x, self.kept) {
                Ok(recorded) => out.push(recorded),
                Err(message) => {
                    self.failed.set(Some((out.len(), message)));
                    return Err(de::Error::custom("an interaction cannot be replayed"));
                }
            }
        }
        Ok(out)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InteractionIn<'a> {
    #[serde(default, deserialize_with = "crate::identify::lenient_operation")]
    operation: Option<Operation>,
    #[serde(default)]
    #[allow(dead_code)] // The drift check reads inputs; replaying does not.
    inputs: IgnoredAny,
    #[serde(borrow)]
    request: RequestIn<'a>,
    #[serde(default, borrow)]
    response: Option<ResponseIn<'a>>,
    #[serde(default)]
    failure: Option<TransportError>,
    #[serde(default)]
    latency_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestIn<'a> {
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow)]
    target: Cow<'a, str>,
    #[serde(default, borrow)]
    headers: HeadersIn<'a>,
    #[serde(default, borrow)]
    body: Option<RequestBodyIn<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseIn<'a> {
    status: u16,
    #[serde(default, borrow)]
    headers: HeadersIn<'a>,
    #[serde(default, borrow)]
    body: Option<BodyIn<'a>>,
}

/// A headers object as a list, borrowed from the file: a few entries, for
/// which a map would cost allocations for nothing. A name given twice keeps
/// its last value, as in the cassette model's map.
#[derive(Default)]
struct HeadersIn<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'de: 'a, 'a> Deserialize<'de> for HeadersIn<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeadersVisitor<'a>(std::marker::PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for HeadersVisitor<'a> {
            type Value = HeadersIn<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of header names and values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut headers: Vec<(Cow<'a, str>, Cow<'a, str>)> =
                    Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((Text(name), Text(value))) =
                    map.next_entry::<Text<'de>, Text<'de>>()?
                {
                    match headers.iter_mut().find(|(n, _)| *n == name) {
                        Some(earlier) => earlier.1 = value,
                        None => headers.push((name, value)),
                    }
                }
                // In name order, as the map of the cassette model keeps them.
                headers.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                Ok(HeadersIn(headers))
            }
        }

        deserializer.deserialize_map(HeadersVisitor(std::marker::PhantomData))
    }
}

/// A string borrowed from the file when it holds no escapes. (serde's own
/// `Cow<str>` always copies: it borrows only as a derived struct's field.)
pub(crate) struct Text<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(text)))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }
        }

        deserializer.deserialize_str(TextVisitor(std::marker::PhantomData))
    }
}

/// A request's body: JSON read straight into the value matching compares.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RequestBodyIn<'a> {
    Json(Value),
    Text(#[serde(borrow)] Cow<'a, str>),
    Base64(#[serde(borrow)] Cow<'a, str>),
}

/// A response's body: JSON kept as written, to be replayed byte for byte.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum BodyIn<'a> {
    Json(#[serde(borrow)] &'a RawValue),
    Text(#[serde(borrow)] Cow<'a, str>),
    Base64(#[serde(borrow)] Cow<'a, str>),
}

impl Book {
    /// Reads a cassette file in one pass, keeping of each request only the
    /// headers named in `kept` (lowercase): the only ones matching compares.
    pub(crate) fn from_bytes(
        bytes: &[u8],
        path: Option<&Path>,
        kept: &[String],
    ) -> Result<Book, CassetteError> {
        let failed = Cell::new(None);
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let read = FileSeed {
            kept,
            failed: &failed,
        }
        .deserialize(&mut deserializer)
        .and_then(|file| deserializer.end().map(|()| file));
        match (read, failed.take()) {
            (Ok((meta, interactions)), _) => Ok(Book { meta, interactions }),
            (Err(_), Some((index, message))) => Err(CassetteError::Invalid {
                path: path.map(Path::to_path_buf),
                index,
                message,
            }),
            (Err(e), None) => Err(syntax_error(&e, path)),
        }
    }

    /// Takes an in-memory cassette, keeping the request headers named in `kept`.
    pub(crate) fn from_cassette(
        cassette: Cassette,
        kept: &[String],
    ) -> Result<Book, CassetteError> {
        let mut interactions = Vec::with_capacity(cassette.interactions.len());
        for (index, x) in cassette.interactions.into_iter().enumerate() {
            interactions.push(recorded_from_model(x, kept).map_err(|message| {
                CassetteError::Invalid {
                    path: None,
                    index,
                    message,
                }
            })?);
        }
        Ok(Book {
            meta: cassette.meta,
            interactions,
        })
    }
}

fn recorded_from_file(x: InteractionIn<'_>, kept: &[String]) -> Result<Recorded, String> {
    let request = request_shape(
        &x.request.method,
        &x.request.target,
        x.request.headers.0.iter().map(|(k, v)| (k, v)),
        kept,
        || match x.request.body {
            None => Ok(BodyForm::Empty),
            Some(RequestBodyIn::Json(value)) => Ok(BodyForm::Json(value)),
            Some(RequestBodyIn::Text(text)) => Ok(BodyForm::from_bytes(text.as_bytes())),
            Some(RequestBodyIn::Base64(data)) => decode_base64(&data)
                .map(|bytes| BodyForm::from_bytes(&bytes))
                .map_err(|e| format!("request body: {e}")),
        },
    )?;
    let answer = one_answer(x.response, x.failure, |response| {
        let body = match response.body {
            None => Vec::new(),
            Some(BodyIn::Json(raw)) => minify(raw.get()),
            Some(BodyIn::Text(text)) => text.into_owned().into_bytes(),
            Some(BodyIn::Base64(data)) => {
                decode_base64(&data).map_err(|e| format!("response body: {e}"))?
            }
        };
        let headers = response.headers.0.iter().map(|(n, v)| header(n, v));
        answer(response.status, headers, body)
    })?;
    Ok(Recorded {
        operation: recorded_operation(x.operation, &x.request.method, &x.request.target),
        request,
        answer,
        latency_ms: x.latency_ms,
    })
}

fn recorded_from_model(x: Interaction, kept: &[String]) -> Result<Recorded, String> {
    let body = x.request.body.clone();
    let request = request_shape(
        &x.request.method,
        &x.request.target,
        x.request.headers.iter(),
        kept,
        || stored_bytes(body.as_ref(), "request").map(|bytes| BodyForm::from_bytes(&bytes)),
    )?;
    let answer = one_answer(x.response, x.failure, |response| {
        let body = stored_bytes(response.body.as_ref(), "response")?;
        let headers = response.headers.iter().map(|(n, v)| header(n, v));
        answer(response.status, headers, body)
    })?;
    Ok(Recorded {
        operation: recorded_operation(x.operation, &x.request.method, &x.request.target),
        request,
        answer,
        latency_ms: x.latency_ms,
    })
}

/// An interaction's answer, which is exactly one of a response (turned into
/// an answer by `respond`) and a transport failure.
fn one_answer<R>(
    response: Option<R>,
    failure: Option<TransportError>,
    respond: impl FnOnce(R) -> Result<Answer, String>,
) -> Result<Answer, String> {
    match (response, failure) {
        (Some(response), None) => respond(response),
        (None, Some(failure)) => Ok(Answer::Failure(failure)),
        (Some(_), Some(_)) => Err("has both a \"response\" and a \"failure\"".to_owned()),
        (None, None) => Err("has neither a \"response\" nor a \"failure\"".to_owned()),
    }
}

fn stored_bytes(body: Option<&Body>, side: &str) -> Result<Vec<u8>, String> {
    match body {
        None => Ok(Vec::new()),
        Some(body) => body.to_bytes().map_err(|e| format!("{side} body: {e}")),
    }
}

fn request_shape<K: AsRef<str>, V: AsRef<str>>(
    method: &str,
    target: &str,
    headers: impl Iterator<Item = (K, V)>,
    kept: &[String],
    body: impl FnOnce() -> Result<BodyForm, String>,
) -> Result<Shape, String> {
    check_request_line(method, target)?;
    let mut compared = BTreeMap::new();
    for (name, value) in headers {
        let (name, value) = (name.as_ref(), value.as_ref());
        check_header("request", name, value)?;
        if kept.iter().any(|k| k.eq_ignore_ascii_case(name)) {
            compared.insert(name.to_ascii_lowercase(), value.to_owned());
        }
    }
    Ok(Shape::new(method, target, compared, body()?))
}

fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), String> {
    check_header("response", name, value)?;
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
    let value = HeaderValue::from_str(value).map_err(|e| e.to_string())?;
    Ok((name, value))
}

fn answer(
    status: u16,
    headers: impl Iterator<Item = Result<(HeaderName, HeaderValue), String>>,
    body: Vec<u8>,
) -> Result<Answer, String> {
    let status =
        StatusCode::from_u16(status).map_err(|_| format!("invalid response status {status}"))?;
    Ok(Answer::Response {
        status,
        headers: headers.collect::<Result<_, _>>()?,
        body,
    })
}

/// JSON text without whitespace outside strings: the compact form serde
/// writes, which a `json` body held exactly before it was pretty-printed.
pub(crate) fn minify(json: &str) -> Vec<u8> {
    let bytes = json.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let space = |b: u8| matches!(b, b' ' | b'\n' | b'\r' | b'\t');
    let mut at = 0;
    // Runs are copied whole: a string (escapes and all), or the structure and
    // numbers between whitespace; whitespace outside strings is skipped.
    while let Some(&first) = bytes.get(at) {
        let start = at;
        if first == b'"' {
            at += 1;
            while let Some(&b) = bytes.get(at) {
                at += if b == b'\\' { 2 } else { 1 };
                if b == b'"' {
                    break;
                }
            }
        } else if space(first) {
            at += 1;
            continue;
        } else {
            while bytes.get(at).is_some_and(|&b| b != b'"' && !space(b)) {
                at += 1;
            }
        }
        out.extend_from_slice(&bytes[start..at.min(bytes.len())]);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn minifying_pretty_json_gives_back_the_compact_bytes() {
        let compact = r#"{"b":[1,{"c":"a \" b\\ "}],"a":{},"e":[],"s":"x y\n"}"#;
        let value: serde_json::Value = serde_json::from_str(compact).unwrap();
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        assert_eq!(minify(&pretty), compact.as_bytes());
    }
}
