//! Layer A: one API call as a value.
//!
//! Each operation (in `ops/`) says only what is particular to it: its route, how
//! its inputs become a path, query and body, and how its success body decodes.
//! Building the request (URL, headers) and reading the answer (the one status
//! dispatch) are written here, once, for all of them.

use std::time::Duration;

use http::header::{CONTENT_LENGTH, CONTENT_TYPE, DATE, HeaderMap, RETRY_AFTER, USER_AGENT};
use http::{Method, StatusCode};
use serde_json::Value;

use crate::config::{Config, SDK_VERSION};
use crate::error::{ApiError, ApiErrorKind, DecodeError, Error, FieldError, Operation};
use crate::machine as retry;
use crate::model::FieldProblem;
use crate::transport::{Request, TransportError};

/// `User-Agent` sent with every request.
pub const USER_AGENT_VALUE: &str = concat!("leap0-rust/", env!("CARGO_PKG_VERSION"));
/// `Leap0-Source` sent with every request.
pub const SOURCE_VALUE: &str = "sdk-rust";
/// How much of a body error messages quote.
const EXCERPT_CHARS: usize = 200;

/// One API call: inputs in, a request out; a response in, a typed result out.
///
/// Implementors provide the parts particular to the call; [`request`](Self::request)
/// and [`parse`](Self::parse) are provided and shared by every operation.
pub trait Exchange {
    /// What a successful call returns.
    type Output;
    /// Which operation this is (for messages and logs).
    const OPERATION: Operation;
    /// The HTTP method.
    const METHOD: Method;
    /// The route template, e.g. `/v1/snapshot/{snapshot_id}` (for logs and errors).
    const ROUTE: &'static str;
    /// The only status that means success.
    const SUCCESS: StatusCode;

    /// The percent-encoded path below the base URL, after checking the ids.
    fn path(&self) -> Result<String, FieldProblem>;

    /// The encoded query string without `?`, if any.
    fn query(&self) -> Result<Option<String>, FieldProblem> {
        Ok(None)
    }

    /// The JSON body, after checking the inputs; `None` for no body.
    fn body(&self) -> Result<Option<Vec<u8>>, FieldProblem> {
        Ok(None)
    }

    /// Decodes the body of a success answer.
    fn decode(&self, body: &[u8]) -> Result<Self::Output, FieldProblem>;

    /// Whether sending this twice is harmless (GET, DELETE); decides retries.
    fn idempotent(&self) -> bool {
        Self::METHOD == Method::GET || Self::METHOD == Method::DELETE
    }

    /// Checks the inputs and builds the request. Nothing is sent if this fails.
    fn request(&self, config: &Config) -> Result<Request, Error> {
        let invalid = |p: FieldProblem| Error::Validation {
            operation: Self::OPERATION,
            field: p.field,
            reason: p.reason,
        };
        let path = self.path().map_err(invalid)?;
        let query = self.query().map_err(invalid)?;
        let body = self.body().map_err(invalid)?;
        build_request(config, Self::METHOD, &path, query.as_deref(), body).map_err(|reason| {
            Error::Validation {
                operation: Self::OPERATION,
                field: "request".into(),
                reason,
            }
        })
    }

    /// Reads an answer: the success status decodes to the output; any other status
    /// is an [`ApiError`] carrying the server's message, field errors, `Retry-After`
    /// and request id.
    fn parse<B: AsRef<[u8]>>(&self, response: http::Response<B>) -> Result<Self::Output, Error> {
        let status = response.status();
        let body = response.body().as_ref();
        if status == Self::SUCCESS {
            return self.decode(body).map_err(|p| {
                Error::from(DecodeError {
                    operation: Self::OPERATION,
                    field: p.field,
                    reason: p.reason,
                    excerpt: excerpt(body),
                })
            });
        }
        Err(api_error(
            Self::OPERATION,
            Self::METHOD,
            self.error_path(),
            self.idempotent(),
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
            method: Self::METHOD,
            path: self.error_path(),
            retryable: retry::transport_failure_is_retryable(&source, self.idempotent()),
            source,
        }
    }

    /// The path shown in error messages (the route template if the ids are invalid).
    fn error_path(&self) -> String {
        self.path().unwrap_or_else(|_| Self::ROUTE.to_owned())
    }
}

fn build_request(
    config: &Config,
    method: Method,
    path: &str,
    query: Option<&str>,
    body: Option<Vec<u8>>,
) -> Result<Request, String> {
    let base = config.base_url();
    let mut target = format!("{}{}", base.prefix(), path);
    if let Some(q) = query {
        target.push('?');
        target.push_str(q);
    }
    let uri = http::Uri::builder()
        .scheme(base.scheme().clone())
        .authority(base.authority().clone())
        .path_and_query(target)
        .build()
        .map_err(|e| e.to_string())?;
    let mut builder = http::Request::builder()
        .method(method)
        .uri(uri)
        .header(config.auth_header(), config.auth_value().clone())
        .header("leap0-source", SOURCE_VALUE)
        .header("leap0-sdk-version", SDK_VERSION)
        .header(USER_AGENT, USER_AGENT_VALUE);
    let body = match body {
        Some(bytes) => {
            builder = builder
                .header(CONTENT_LENGTH, bytes.len())
                .header(CONTENT_TYPE, "application/json");
            bytes
        }
        None => Vec::new(),
    };
    builder.body(body).map_err(|e| e.to_string())
}

/// The one status dispatch: turns a non-success answer into an [`ApiError`].
pub fn api_error(
    operation: Operation,
    method: Method,
    path: String,
    idempotent: bool,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiError {
    let (message, field_errors) = server_message(body);
    ApiError {
        operation,
        method,
        path,
        status,
        kind: ApiErrorKind::from_status(status),
        message,
        field_errors,
        retry_after: retry_after(headers),
        request_id: header_text(headers, "x-request-id"),
        retryable: retry::status_is_retryable(status, idempotent),
    }
}

/// The server's message: `message` of a JSON object, else the trimmed text.
fn server_message(body: &[u8]) -> (Option<String>, Vec<FieldError>) {
    if let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(body) {
        let message = match map.remove("message") {
            Some(Value::String(m)) if !m.is_empty() => Some(m),
            _ => None,
        };
        let field_errors = match map.remove("errors") {
            Some(Value::Array(list)) => list
                .into_iter()
                .filter_map(|e| serde_json::from_value::<FieldError>(e).ok())
                .collect(),
            _ => Vec::new(),
        };
        return (message, field_errors);
    }
    let text = excerpt(body);
    let text = text.trim();
    ((!text.is_empty()).then(|| text.to_owned()), Vec::new())
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// `Retry-After` as a delay: whole seconds, or an HTTP-date measured against the
/// response's own `Date` header (so the answer is the same on every replay; an
/// HTTP-date without a `Date` header is ignored and backoff applies).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = header_text(headers, RETRY_AFTER.as_str())?;
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(&value).ok()?;
    let now = httpdate::parse_http_date(&header_text(headers, DATE.as_str())?).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The start of a body, lossily decoded, for error messages.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}

/// Parses a JSON body, reporting a body that is not JSON as a problem of `body`.
pub(crate) fn json(body: &[u8]) -> Result<Value, FieldProblem> {
    serde_json::from_slice(body).map_err(|e| FieldProblem {
        field: "body".into(),
        reason: format!("not valid JSON: {e}"),
    })
}

/// Serializes a request body (our own types cannot fail to serialize; if one
/// ever did, it is reported instead of sent).
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<Option<Vec<u8>>, FieldProblem> {
    serde_json::to_vec(value)
        .map(Some)
        .map_err(|e| FieldProblem {
            field: "body".into(),
            reason: e.to_string(),
        })
}
