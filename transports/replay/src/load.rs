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
    pipelined: bool,
}

/// The file size from which interactions are converted on a second thread
/// while the file is read: below it, starting a thread costs more than it saves.
const PIPELINE_FROM_BYTES: usize = 256 * 1024;

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
                        pipelined: self.pipelined,
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

/// The `interactions` list, each turned into a [`Recorded`] as it is read
/// (by a second thread when `pipelined`).
struct InteractionsSeed<'k> {
    kept: &'k [String],
    failed: &'k Cell<Option<(usize, String)>>,
    pipelined: bool,
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

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        if self.pipelined {
            std::thread::scope(|scope| self.pipeline(scope, seq))
        } else {
            self.serial(seq)
        }
    }
}

/// Interactions sent to the converting thread at a time.
const BATCH: usize = 64;

impl<'de, 'k> InteractionsSeed<'k> {
    /// Reads and converts each interaction in turn, on this thread.
    fn serial<A: SeqAccess<'de>>(&self, mut seq: A) -> Result<Vec<Recorded>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(x) = seq.next_element::<InteractionIn<'de>>()? {
            if let Err(failure) = convert(&mut out, x, self.kept) {
                return Err(self.fail(failure));
            }
        }
        Ok(out)
    }

    /// Reads interactions on this thread while a second one converts them,
    /// in batches: reading and converting each take about half the load.
    /// The outcome is the serial one: a conversion that fails wins over a
    /// read error further on, which the serial load would never have reached.
    fn pipeline<'scope, A: SeqAccess<'de>>(
        &self,
        scope: &'scope std::thread::Scope<'scope, '_>,
        mut seq: A,
    ) -> Result<Vec<Recorded>, A::Error>
    where
        'de: 'scope,
        'k: 'scope,
    {
        let (batches, received) = std::sync::mpsc::sync_channel::<Vec<InteractionIn<'de>>>(4);
        let kept = self.kept;
        let converter = std::thread::Builder::new()
            .name("leap0-replay-load".into())
            .spawn_scoped(scope, move || {
                let mut out = Vec::new();
                for x in received.into_iter().flatten() {
                    convert(&mut out, x, kept)?;
                }
                Ok(out)
            });
        // No thread to be had: the load goes on without one.
        let Ok(converter) = converter else {
            return self.serial(seq);
        };
        let mut batch = Vec::with_capacity(BATCH);
        let read = loop {
            match seq.next_element::<InteractionIn<'de>>() {
                Ok(Some(x)) => {
                    batch.push(x);
                    if batch.len() == BATCH {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                        // Refused: the converter stopped at a failure, reported below.
                        if batches.send(full).is_err() {
                            break Ok(());
                        }
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        // What was read before the end (or a read error) is converted too:
        // a failure among it is what the serial load would have reported.
        let _ = batches.send(batch);
        drop(batches);
        match converter.join() {
            Ok(Ok(out)) => read.map(|()| out),
            Ok(Err(failure)) => Err(self.fail(failure)),
            Err(_) => Err(de::Error::custom("converting the interactions failed")),
        }
    }

    /// Records why interaction `index` cannot be replayed; the error that ends the read.
    fn fail<E: de::Error>(&self, (index, message): (usize, String)) -> E {
        self.failed.set(Some((index, message)));
        E::custom("an interaction cannot be replayed")
    }
}

/// Converts one interaction read from the file onto `out`; on failure, its
/// position and why.
fn convert(
    out: &mut Vec<Recorded>,
    x: InteractionIn<'_>,
    kept: &[String],
) -> Result<(), (usize, String)> {
    let recorded = recorded_from_file(x, kept).map_err(|message| (out.len(), message))?;
    out.push(recorded);
    Ok(())
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
        Book::read(bytes, path, kept, bytes.len() >= PIPELINE_FROM_BYTES)
    }

    /// [`from_bytes`](Self::from_bytes), converting on a second thread or not.
    fn read(
        bytes: &[u8],
        path: Option<&Path>,
        kept: &[String],
        pipelined: bool,
    ) -> Result<Book, CassetteError> {
        let failed = Cell::new(None);
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let read = FileSeed {
            kept,
            failed: &failed,
            pipelined,
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

    /// A cassette of `n` creates, each answered 201 with its own body.
    fn cassette(n: usize) -> String {
        let interactions: Vec<_> = (0..n)
            .map(|i| {
                serde_json::json!({
                    "operation": "create_snapshot",
                    "request": {
                        "method": "POST",
                        "target": format!("/v1/sandbox/sb-{i}/snapshot/create"),
                        "headers": {"content-type": "application/json", "x-trace": format!("t-{i}")},
                        "body": {"json": {"name": format!("n-{i}")}}
                    },
                    "response": {
                        "status": 201,
                        "headers": {"x-request-id": format!("req-{i}")},
                        "body": {"json": {"id": format!("snap-{i}"), "name": format!("n-{i}")}}
                    }
                })
            })
            .collect();
        let file = serde_json::json!({"version": 1, "interactions": interactions});
        serde_json::to_string_pretty(&file).unwrap()
    }

    /// What a book holds, as comparable text.
    fn summary(book: &Book) -> Vec<String> {
        book.interactions
            .iter()
            .map(|x| match &x.answer {
                Answer::Response {
                    status,
                    headers,
                    body,
                } => format!(
                    "{:?} {} {:?} {status} {headers:?} {}",
                    x.operation,
                    x.request.target,
                    x.request.headers,
                    String::from_utf8_lossy(body)
                ),
                Answer::Failure(failure) => format!("{failure:?}"),
            })
            .collect()
    }

    #[test]
    fn a_pipelined_load_reads_what_a_serial_one_does() {
        let text = cassette(1_000);
        let kept = ["x-trace".to_owned()];
        let serial = Book::read(text.as_bytes(), None, &kept, false).unwrap();
        let pipelined = Book::read(text.as_bytes(), None, &kept, true).unwrap();
        assert_eq!(serial.interactions.len(), 1_000);
        assert_eq!(summary(&pipelined), summary(&serial));
        assert!(summary(&serial)[999].contains(r#"{"id":"snap-999","name":"n-999"}"#));
    }

    #[test]
    fn a_pipelined_load_fails_as_a_serial_one_does() {
        let text = cassette(500);
        // Interaction 300 cannot be replayed (a status out of range), and the
        // file breaks off further on: the serial load stops at 300, and so
        // must the pipelined one, whichever thread notices first.
        let broken = text.replacen("\"status\": 201", "\"status\": 2001", 301);
        let broken = broken.replacen("\"status\": 2001", "\"status\": 201", 300);
        // Cut far on, and just after the failing one (inside its batch).
        let far = &broken[..broken.len() - 2_000];
        let near = &broken[..broken.find("snap-310").unwrap()];
        for bytes in [broken.as_bytes(), far.as_bytes(), near.as_bytes()] {
            let serial = Book::read(bytes, None, &[], false).err().unwrap();
            let pipelined = Book::read(bytes, None, &[], true).err().unwrap();
            assert_eq!(pipelined.to_string(), serial.to_string());
            assert!(
                matches!(serial, CassetteError::Invalid { index: 300, .. }),
                "{serial}"
            );
        }
        // A file that breaks off before any failure: the same syntax error.
        let cut = &text[..text.len() / 2];
        let serial = Book::read(cut.as_bytes(), None, &[], false).err().unwrap();
        let pipelined = Book::read(cut.as_bytes(), None, &[], true).err().unwrap();
        assert_eq!(pipelined.to_string(), serial.to_string());
    }
}
