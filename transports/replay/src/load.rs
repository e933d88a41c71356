//! From a cassette to what the replayer keeps: each interaction's request in
//! comparable form and its answer ready to hand out.
//!
//! Files take one pass: typed deserialization borrowing from the bytes, JSON
//! bodies taken as raw text (a response body is only stripped of the pretty
//! printer's whitespace, which gives back the recorded bytes exactly), and
//! checks that build what replaying needs anyway (header names and values,
//! status codes, decoded base64) instead of re-serializing anything.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use http::{HeaderName, HeaderValue, StatusCode};
use leap0_core::Operation;
use leap0_core::transport::TransportError;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use crate::cassette::{
    Body, Cassette, CassetteError, Interaction, Meta, Version, check_header, check_request_line,
    decode_base64, syntax_error,
};
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn<'a> {
    #[allow(dead_code)] // Checked while deserializing.
    version: Version,
    #[serde(default)]
    meta: Meta,
    #[serde(default, borrow)]
    interactions: Vec<InteractionIn<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InteractionIn<'a> {
    #[serde(default)]
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
    headers: BTreeMap<Cow<'a, str>, Cow<'a, str>>,
    #[serde(default, borrow)]
    body: Option<BodyIn<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseIn<'a> {
    status: u16,
    #[serde(default, borrow)]
    headers: BTreeMap<Cow<'a, str>, Cow<'a, str>>,
    #[serde(default, borrow)]
    body: Option<BodyIn<'a>>,
}

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
        let file: FileIn<'_> = serde_json::from_slice(bytes).map_err(|e| syntax_error(&e, path))?;
        let invalid = |index: usize| {
            move |message: String| CassetteError::Invalid {
                path: path.map(Path::to_path_buf),
                index,
                message,
            }
        };
        let mut interactions = Vec::with_capacity(file.interactions.len());
        for (index, x) in file.interactions.into_iter().enumerate() {
            interactions.push(recorded_from_file(x, kept).map_err(invalid(index))?);
        }
        Ok(Book {
            meta: file.meta,
            interactions,
        })
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
        x.request.headers.iter(),
        kept,
        || match &x.request.body {
            None => Ok(BodyForm::Empty),
            Some(BodyIn::Json(raw)) => serde_json::from_str(raw.get())
                .map(BodyForm::Json)
                .map_err(|e| format!("request body: {e}")),
            Some(BodyIn::Text(text)) => Ok(BodyForm::from_bytes(text.as_bytes())),
            Some(BodyIn::Base64(data)) => decode_base64(data)
                .map(|bytes| BodyForm::from_bytes(&bytes))
                .map_err(|e| format!("request body: {e}")),
        },
    )?;
    let answer = match (x.response, x.failure) {
        (Some(response), None) => {
            let body = match response.body {
                None => Vec::new(),
                Some(BodyIn::Json(raw)) => minify(raw.get()),
                Some(BodyIn::Text(text)) => text.into_owned().into_bytes(),
                Some(BodyIn::Base64(data)) => {
                    decode_base64(&data).map_err(|e| format!("response body: {e}"))?
                }
            };
            let headers = response
                .headers
                .iter()
                .map(|(name, value)| header(name, value));
            answer(response.status, headers, body)?
        }
        (None, Some(failure)) => Answer::Failure(failure),
        (Some(_), Some(_)) => return Err("has both a \"response\" and a \"failure\"".to_owned()),
        (None, None) => return Err("has neither a \"response\" nor a \"failure\"".to_owned()),
    };
    Ok(Recorded {
        operation: x.operation,
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
    let answer = match (x.response, x.failure) {
        (Some(response), None) => {
            let body = stored_bytes(response.body.as_ref(), "response")?;
            let headers = response
                .headers
                .iter()
                .map(|(name, value)| header(name, value));
            answer(response.status, headers, body)?
        }
        (None, Some(failure)) => Answer::Failure(failure),
        (Some(_), Some(_)) => return Err("has both a \"response\" and a \"failure\"".to_owned()),
        (None, None) => return Err("has neither a \"response\" nor a \"failure\"".to_owned()),
    };
    Ok(Recorded {
        operation: x.operation,
        request,
        answer,
        latency_ms: x.latency_ms,
    })
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
    let mut out = Vec::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for &b in json.as_bytes() {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            in_string = b == b'"';
            out.push(b);
        }
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
