//! Layer A: one API call as a value.
//!
//! Each operation (in `ops/`) says only what is particular to it: its path
//! parameters, query and body, and how its success body decodes. Its method,
//! route and success status come from the [route table](crate::route). Building
//! the request (URL, headers) and reading the answer (the one status dispatch)
//! are written here, once, for all of them.

use std::time::Duration;

use http::header::{CONTENT_LENGTH, CONTENT_TYPE, DATE, HeaderMap, HeaderValue, RETRY_AFTER};
use http::uri::{PathAndQuery, Uri};
use http::{Method, StatusCode};
use serde_json::Value;

use crate::config::Config;
use crate::error::{ApiError, DecodeError, Error, FieldError, Leftover};
use crate::model::FieldProblem;
use crate::operation::{Operation, Route};
use crate::retry_table::ApiErrorKind;
use crate::text::excerpt_bytes;
use crate::transport::{Request, TransportError};

/// How much of a body error messages quote, in characters.
const EXCERPT_CHARS: usize = 300;

/// One API call: inputs in, a request out; a response in, a typed result out.
///
/// Implementors provide the parts particular to the call; [`request`](Self::request)
/// and [`parse`](Self::parse) are provided and shared by every operation.
///
/// ```
/// use leap0_core::{Config, CreateSnapshot, Exchange, http};
///
/// let op = CreateSnapshot::new("sb-1").name("warm");
/// let request = op.request(&Config::new("key")?)?;
/// assert_eq!(request.uri(), "https://api.leap0.dev/v1/sandbox/sb-1/snapshot/create");
/// assert_eq!(request.body(), br#"{"name":"warm"}"#);
///
/// let answer = http::Response::builder()
///     .status(201)
///     .body(br#"{"id":"snap-1","name":"warm"}"#.to_vec())?;
/// assert_eq!(op.parse(answer)?.id, "snap-1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Exchange {
    /// What a successful call returns.
    type Output;
    /// Which operation this is; its [`route`](Operation::route) gives the
    /// method, path template and success status.
    const OPERATION: Operation;

    /// The values of the route's path parameters, in template order.
    type PathParams<'a>: AsRef<[&'a str]>
    where
        Self: 'a;

    /// The values of the route's path parameters (unchecked, unencoded).
    fn path_params(&self) -> Self::PathParams<'_>;

    /// The encoded query string without `?`, if any, after checking the inputs.
    fn query(&self) -> Result<Option<String>, FieldProblem> {
        Ok(None)
    }

    /// The JSON body, after checking the inputs; `None` for no body.
    fn body(&self) -> Result<Option<Vec<u8>>, FieldProblem> {
        Ok(None)
    }

    /// Decodes the body of a success answer.
    fn decode(&self, body: &[u8]) -> Result<Self::Output, FieldProblem>;

    /// What an error `status` means when an earlier attempt of this same
    /// request may already have acted on the server: `Some` when it settles
    /// the call (a retried delete that finds nothing to delete succeeded
    /// before). Default: nothing special.
    fn settled_by_earlier_attempt(&self, status: StatusCode) -> Option<Self::Output> {
        let _ = status;
        None
    }

    /// What this request leaves on the server if it acted but its answer never
    /// came (a cancelled call): a snapshot it creates, a sandbox it starts.
    /// Default: nothing.
    fn leftover(&self) -> Option<Leftover> {
        None
    }

    /// This operation's route.
    fn route(&self) -> &'static Route {
        Self::OPERATION.route()
    }

    /// Checks the inputs and builds the request. Nothing is sent if this fails.
    fn request(&self, config: &Config) -> Result<Request, Error> {
        let invalid = |p: FieldProblem| Error::Validation {
            operation: Self::OPERATION,
            field: p.field,
            reason: p.reason,
        };
        let route = self.route();
        let base = config.base_url();
        let params = self.path_params();
        let query = self.query().map_err(invalid)?;
        // Exactly the room the target takes when its ids need no escaping (the
        // usual case), so that the URI takes the string over without copying.
        let ids: usize = params.as_ref().iter().map(|id| id.len()).sum();
        let room = base.prefix().len()
            + route.literal_len
            + ids
            + query.as_ref().map_or(0, |q| q.len() + 1);
        let mut target = String::with_capacity(room);
        target.push_str(base.prefix());
        route
            .push_path(&mut target, params.as_ref())
            .map_err(invalid)?;
        if let Some(query) = query {
            target.push('?');
            target.push_str(&query);
        }
        let body = self.body().map_err(invalid)?;
        build_request(config, &route.method, target, body).map_err(|reason| Error::Validation {
            operation: Self::OPERATION,
            field: "request".into(),
            reason,
        })
    }

    /// Reads an answer: the success status decodes to the output; any other status
    /// is an [`ApiError`] carrying the server's message, field errors, `Retry-After`
    /// and request id.
    fn parse<B: AsRef<[u8]>>(&self, response: http::Response<B>) -> Result<Self::Output, Error> {
        let status = response.status();
        let body = response.body().as_ref();
        if status == self.route().success {
            return self.decode(body).map_err(|p| {
                Error::from(DecodeError {
                    operation: Self::OPERATION,
                    field: p.field,
                    reason: p.reason,
                    excerpt: excerpt(body),
                })
            });
        }
        Err(status_error(
            Self::OPERATION,
            self.error_path(),
            status,
            response.headers(),
            body,
        )
        .into())
    }

    /// Wraps a transport failure of this call as an [`Error`].
    fn transport_error(&self, source: TransportError) -> Error {
        Error::Transport {
            operation: Self::OPERATION,
            method: self.route().method.clone(),
            path: self.error_path(),
            source,
        }
    }

    /// The path shown in error messages (the route template if the ids are invalid).
    fn error_path(&self) -> String {
        let route = self.route();
        route
            .path(self.path_params().as_ref())
            .unwrap_or_else(|_| route.template.to_owned())
    }
}

/// The request for `target` (prefix, path and query, encoded): the config's
/// headers, plus a body's length and type.
fn build_request(
    config: &Config,
    method: &Method,
    target: String,
    body: Option<Vec<u8>>,
) -> Result<Request, String> {
    let base = config.base_url();
    let mut uri = http::uri::Parts::default();
    uri.scheme = Some(base.scheme().clone());
    uri.authority = Some(base.authority().clone());
    uri.path_and_query = Some(PathAndQuery::try_from(target).map_err(|e| e.to_string())?);
    let uri = Uri::from_parts(uri).map_err(|e| e.to_string())?;

    // A fresh map with room for all, rather than a clone that grows.
    let mut headers = HeaderMap::with_capacity(config.headers().len() + 2);
    for (name, value) in config.headers() {
        headers.insert(name.clone(), value.clone());
    }
    let body = match body {
        Some(bytes) => {
            headers.insert(CONTENT_LENGTH, content_length(bytes.len()));
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            bytes
        }
        // A POST without a body still says so, as the API expects.
        None if *method == Method::POST => {
            headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
            Vec::new()
        }
        None => Vec::new(),
    };
    let mut request = http::Request::new(body);
    *request.method_mut() = method.clone();
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request)
}

/// A `content-length` value: from a table for the lengths request bodies
/// have (no allocation), else written out.
fn content_length(length: usize) -> HeaderValue {
    /// "0" to "999", three bytes each, left-aligned.
    static DIGITS: [[u8; 3]; 1000] = {
        let mut table = [[0u8; 3]; 1000];
        let mut n = 0;
        while n < 1000 {
            table[n] = [
                b'0' + (n / 100) as u8,
                b'0' + (n / 10 % 10) as u8,
                b'0' + (n % 10) as u8,
            ];
            n += 1;
        }
        table
    };
    let Some(digits) = DIGITS.get(length) else {
        return HeaderValue::from(length);
    };
    let skip = match length {
        0..=9 => 2,
        10..=99 => 1,
        _ => 0,
    };
    match std::str::from_utf8(&digits[skip..]) {
        Ok(text) => HeaderValue::from_static(text),
        Err(_) => HeaderValue::from(length),
    }
}

/// The one status dispatch: turns a non-success answer into an [`ApiError`].
fn status_error(
    operation: Operation,
    path: String,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiError {
    let (message, field_errors) = server_message(body);
    ApiError {
        operation,
        method: operation.route().method.clone(),
        path,
        status,
        kind: ApiErrorKind::from_status(status),
        message,
        field_errors,
        retry_after: retry_after(headers),
        request_id: header_text(headers, "x-request-id"),
    }
}

/// The server's message: the `message` string of a JSON object; otherwise the
/// start of the body as trimmed text (a JSON body without a string `message`
/// included, as the official SDK shows it).
fn server_message(body: &[u8]) -> (Option<String>, Vec<FieldError>) {
    let mut field_errors = Vec::new();
    if let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(body) {
        if let Some(Value::Array(list)) = map.remove("errors") {
            field_errors = list
                .into_iter()
                .filter_map(|e| serde_json::from_value::<FieldError>(e).ok())
                .collect();
        }
        if let Some(Value::String(m)) = map.remove("message")
            && !m.trim().is_empty()
        {
            return (Some(m), field_errors);
        }
    }
    let text = excerpt(body);
    let text = text.trim();
    ((!text.is_empty()).then(|| text.to_owned()), field_errors)
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// `Retry-After` as a delay: whole seconds (digits only; more than a `u64`
/// counts is the longest delay there is, not a reason to retry sooner), or an
/// HTTP-date measured against the response's own `Date` header (so the answer
/// is the same on every replay; an HTTP-date without a `Date` header is
/// ignored and backoff applies).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = header_text(headers, RETRY_AFTER.as_str())?;
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // Non-empty (`header_text` drops blank values), so only overflow fails.
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let at = httpdate::parse_http_date(&value).ok()?;
    let now = httpdate::parse_http_date(&header_text(headers, DATE.as_str())?).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The start of a body, lossily decoded, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    excerpt_bytes(body, EXCERPT_CHARS)
}

/// Serializes a request body (our own types cannot fail to serialize; if one
/// ever did, it is reported instead of sent).
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<Option<Vec<u8>>, FieldProblem> {
    serde_json::to_vec(value)
        .map(Some)
        .map_err(|e| FieldProblem::new("body", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_lengths_from_the_table_read_as_written_out() {
        for length in [0, 7, 10, 15, 99, 100, 512, 999, 1000, 123_456] {
            assert_eq!(
                content_length(length),
                HeaderValue::from(length),
                "{length}"
            );
        }
    }
}
