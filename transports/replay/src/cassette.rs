//! The cassette: a versioned, human-diffable JSON file of recorded interactions.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use leap0_core::Operation;
use leap0_core::transport::{Secrets, TransportError};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::store::CassetteLock;

/// The cassette format version this crate reads and writes.
pub const CASSETTE_VERSION: u32 = 1;

/// The value that replaces a redacted header, query parameter or JSON field:
/// the core's one placeholder, [`leap0_core::transport::REDACTED`]. A recorded
/// value equal to it matches any live value.
pub use leap0_core::transport::REDACTED;

/// A recorded conversation with the API: what was sent, what came back, in order.
///
/// On disk it is pretty-printed JSON with a trailing newline; interactions keep
/// their recorded order and header maps are sorted, so re-recording the same
/// scenario gives a small, readable diff.
///
/// ```json
/// {
///   "version": 1,
///   "meta": { "crate_version": "0.1.0", "recorded_at": "2025-01-15T10:30:00Z", "base_path": "" },
///   "interactions": [
///     {
///       "operation": "delete_snapshot",
///       "inputs": { "snapshot_id": "snap-1" },
///       "request": { "method": "DELETE", "target": "/v1/snapshot/snap-1", "headers": {} },
///       "response": { "status": 204, "headers": {} },
///       "latency_ms": 3
///     }
///   ]
/// }
/// ```
///
/// This is the form for reading, editing and writing cassettes. The
/// [`Replayer`](crate::Replayer) loads files into its own, indexed form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cassette {
    /// Always [`CASSETTE_VERSION`].
    pub version: Version,
    /// Where and when it was recorded.
    #[serde(default)]
    pub meta: Meta,
    /// The exchanges, in the order they happened.
    #[serde(default)]
    pub interactions: Vec<Interaction>,
}

/// A cassette's format version; reading refuses any but [`CASSETTE_VERSION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Version(pub u32);

/// The message prefix by which a version error is told from other syntax errors.
const VERSION_ERROR: &str = "unsupported cassette version ";

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        match value.as_u64() {
            Some(n) if n == u64::from(CASSETTE_VERSION) => Ok(Version(CASSETTE_VERSION)),
            _ => Err(serde::de::Error::custom(format!(
                "{VERSION_ERROR}{}",
                excerpt(&value.to_string(), 40)
            ))),
        }
    }
}

/// Facts about a recording.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Meta {
    /// The version of `leap0-replay` that wrote the cassette.
    #[serde(default)]
    pub crate_version: String,
    /// When recording started, RFC 3339 in UTC (`2025-01-15T10:30:00Z`).
    #[serde(default)]
    pub recorded_at: String,
    /// The path prefix of the base URL the requests went to (`""` or e.g. `/leap0`).
    #[serde(default)]
    pub base_path: String,
    /// The redactions configured when recording, beyond the headers that are
    /// always redacted; the replayer applies them to live requests before matching.
    #[serde(default, skip_serializing_if = "Redactions::is_empty")]
    pub redact: Redactions,
}

/// Names whose values were replaced by [`REDACTED`] when recording.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Redactions {
    /// Header names (lowercase).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    /// Query parameter names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<String>,
    /// JSON object keys, at any depth of request and response bodies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub json_fields: Vec<String>,
}

impl Redactions {
    /// Whether nothing beyond the defaults was redacted.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty() && self.query.is_empty() && self.json_fields.is_empty()
    }

    /// Adds every name of `other` not yet listed.
    pub fn merge(&mut self, other: &Redactions) {
        fn add(into: &mut Vec<String>, from: &[String]) {
            for name in from {
                if !into.contains(name) {
                    into.push(name.clone());
                }
            }
        }
        add(&mut self.headers, &other.headers);
        add(&mut self.query, &other.query);
        add(&mut self.json_fields, &other.json_fields);
    }
}

/// One request and what came of it: a response, or a transport failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interaction {
    /// The API operation the request belongs to, when it could be recognised.
    #[serde(default, deserialize_with = "crate::identify::lenient_operation")]
    pub operation: Option<Operation>,
    /// The operation's inputs (the core input struct as JSON), when recognised.
    #[serde(default)]
    pub inputs: Option<Value>,
    /// What was sent.
    pub request: RecordedRequest,
    /// What came back; exactly one of `response` and `failure` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<RecordedResponse>,
    /// The transport failure instead of a response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<TransportError>,
    /// How long the exchange took when recorded, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
}

/// A request as recorded (after redaction).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedRequest {
    /// The method, e.g. `POST`.
    pub method: String,
    /// Path and query, still percent-encoded, without scheme and host.
    pub target: String,
    /// Headers by lowercase name; repeated headers are joined with `, `.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body; absent when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
}

/// A response as recorded (after redaction).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    /// The status code.
    pub status: u16,
    /// Headers by lowercase name; repeated headers are joined with `, `.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body; absent when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
}

/// A non-empty body, stored in the most readable form that still gives back the
/// exact bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Body {
    /// JSON whose compact serialization is exactly the original bytes.
    Json(Value),
    /// UTF-8 text that is not such JSON.
    Text(String),
    /// Anything else, base64 (standard alphabet, padded).
    Base64(String),
}

impl Body {
    /// The stored form of `bytes`; `None` for an empty body.
    pub fn from_bytes(bytes: &[u8]) -> Option<Body> {
        if bytes.is_empty() {
            return None;
        }
        if let Ok(value) = serde_json::from_slice::<Value>(bytes)
            && serde_json::to_vec(&value).is_ok_and(|again| again == bytes)
        {
            return Some(Body::Json(value));
        }
        Some(match std::str::from_utf8(bytes) {
            Ok(text) => Body::Text(text.to_owned()),
            Err(_) => Body::Base64(BASE64.encode(bytes)),
        })
    }

    /// The original bytes (an error only for invalid base64).
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        match self {
            Body::Json(value) => serde_json::to_vec(value).map_err(|e| e.to_string()),
            Body::Text(text) => Ok(text.as_bytes().to_vec()),
            Body::Base64(data) => decode_base64(data),
        }
    }
}

/// A stored base64 body's bytes.
pub(crate) fn decode_base64(data: &str) -> Result<Vec<u8>, String> {
    BASE64
        .decode(data.trim())
        .map_err(|e| format!("invalid base64: {e}"))
}

/// The bytes of an optional body (empty for none).
pub(crate) fn body_bytes(body: Option<&Body>) -> Result<Vec<u8>, String> {
    body.map_or(Ok(Vec::new()), Body::to_bytes)
}

/// Why a cassette could not be read, checked or written. Never contains a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CassetteError {
    /// Reading or writing the file failed.
    #[error("cassette {}: cannot {action}: {source}", path.display())]
    Io {
        /// The cassette file.
        path: PathBuf,
        /// What was being done (`read`, `write`, ...).
        action: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The bytes are not a cassette (not JSON, or not the expected shape).
    #[error("{}: not a valid cassette: {message}", Named(path))]
    Syntax {
        /// The cassette file, if it came from one.
        path: Option<PathBuf>,
        /// What is wrong, with line and column when known.
        message: String,
    },
    /// The cassette was written in a format version this crate cannot read.
    #[error(
        "{}: unsupported cassette version {found} (this leap0-replay reads version {CASSETTE_VERSION}); record it again",
        Named(path)
    )]
    UnsupportedVersion {
        /// The cassette file, if it came from one.
        path: Option<PathBuf>,
        /// The version found, as written.
        found: String,
    },
    /// One interaction cannot be replayed as written.
    #[error("{}: interaction #{index}: {message}", Named(path))]
    Invalid {
        /// The cassette file, if it came from one.
        path: Option<PathBuf>,
        /// The interaction's position (0-based).
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// A configured secret was found in the serialized cassette; nothing was written.
    #[error(
        "refusing to write cassette {}: {location} contains a configured secret ({form}); redact it (RecordOptions::redact_header, redact_query, redact_json_field) or keep it out of the test data",
        path.display()
    )]
    SecretFound {
        /// The cassette file that was not written.
        path: PathBuf,
        /// Where the secret was found, e.g. `interaction #2 response body`.
        location: String,
        /// How it was written there (`as is`, `base64-encoded`, ...).
        form: String,
    },
    /// Another recording holds this cassette (in this process or another).
    #[error(
        "cassette {}: another recording is writing it; wait for it to finish (two recordings into one cassette would lose one's interactions)",
        path.display()
    )]
    Locked {
        /// The cassette file.
        path: PathBuf,
    },
    /// The cassette is older than [`ReplayOptions::max_age`](crate::ReplayOptions::max_age)
    /// allows, or of unknown age; it is never re-recorded on its own.
    #[error(transparent)]
    Stale(Box<crate::Stale>),
}

/// Shows "cassette <path>" or just "cassette".
pub(crate) struct Named<'a>(pub(crate) &'a Option<PathBuf>);

impl fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "cassette {}", path.display()),
            None => f.write_str("cassette"),
        }
    }
}

impl Default for Cassette {
    fn default() -> Self {
        Cassette::new()
    }
}

impl Cassette {
    /// An empty cassette stamped with this crate's version and the current time.
    pub fn new() -> Cassette {
        Cassette {
            version: Version(CASSETTE_VERSION),
            meta: Meta {
                crate_version: env!("CARGO_PKG_VERSION").to_owned(),
                recorded_at: rfc3339(SystemTime::now()),
                base_path: String::new(),
                redact: Redactions::default(),
            },
            interactions: Vec::new(),
        }
    }

    /// Reads and checks a cassette file.
    pub fn load(path: impl AsRef<Path>) -> Result<Cassette, CassetteError> {
        let path = path.as_ref();
        let bytes = read(path)?;
        Self::parse(&bytes, Some(path))
    }

    /// Parses and checks a cassette from bytes. Any input gives a cassette or an
    /// error, never a panic.
    pub fn from_slice(bytes: &[u8]) -> Result<Cassette, CassetteError> {
        Self::parse(bytes, None)
    }

    fn parse(bytes: &[u8], path: Option<&Path>) -> Result<Cassette, CassetteError> {
        let mut cassette: Cassette =
            serde_json::from_slice(bytes).map_err(|e| syntax_error(&e, path))?;
        cassette.check(path)?;
        for x in &mut cassette.interactions {
            x.operation = crate::identify::recorded_operation(
                x.operation,
                &x.request.method,
                &x.request.target,
            );
        }
        Ok(cassette)
    }

    /// Checks that every interaction can be replayed: valid methods, targets,
    /// header names and values, status codes and base64, and exactly one of
    /// `response` and `failure`. Bodies are not serialized to check them.
    pub fn validate(&self) -> Result<(), CassetteError> {
        self.check(None)
    }

    fn check(&self, path: Option<&Path>) -> Result<(), CassetteError> {
        for (index, interaction) in self.interactions.iter().enumerate() {
            interaction
                .check()
                .map_err(|message| CassetteError::Invalid {
                    path: path.map(Path::to_path_buf),
                    index,
                    message,
                })?;
        }
        Ok(())
    }

    /// The cassette as it is written to disk: pretty JSON with a trailing newline.
    pub fn to_json(&self) -> Result<String, CassetteError> {
        let mut text = serde_json::to_string_pretty(self).map_err(|e| CassetteError::Syntax {
            path: None,
            message: format!("cannot serialize: {e}"),
        })?;
        text.push('\n');
        Ok(text)
    }

    /// Writes the cassette atomically (a temporary file in the same directory,
    /// flushed to disk, then renamed over `path`; missing directories are
    /// created), under the cassette's lock, after checking that none of
    /// `secrets` appears in it in any form (as is, as its bare token, base64,
    /// JSON-escaped or percent-encoded). If one does, nothing is written and
    /// the error says where, without the secret. A temporary file a killed
    /// writer left behind is removed.
    pub fn save<I, S>(&self, path: impl AsRef<Path>, secrets: I) -> Result<(), CassetteError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let path = path.as_ref();
        let lock = CassetteLock::acquire(path)?;
        self.save_locked(&lock, path, &secrets_of(secrets))
    }

    /// [`save`](Self::save) under a lock already held.
    pub(crate) fn save_locked(
        &self,
        lock: &CassetteLock,
        path: &Path,
        secrets: &Secrets,
    ) -> Result<(), CassetteError> {
        let text = self.to_json()?;
        if let Some(form) = secrets.find(&text) {
            return Err(CassetteError::SecretFound {
                path: path.to_owned(),
                location: self
                    .locate(secrets)
                    .unwrap_or_else(|| "the cassette".to_owned()),
                form: form.to_string(),
            });
        }
        lock.write(text.as_bytes())
    }

    /// Where in the cassette a secret is, for the error message.
    fn locate(&self, secrets: &Secrets) -> Option<String> {
        let has = |s: &str| secrets.contains(s);
        let meta = &self.meta;
        if has(&meta.crate_version) || has(&meta.recorded_at) || has(&meta.base_path) {
            return Some("meta".to_owned());
        }
        for (i, x) in self.interactions.iter().enumerate() {
            let at = |what: &str| Some(format!("interaction #{i} {what}"));
            let req = &x.request;
            if has(&req.method) || has(&req.target) {
                return at("request target");
            }
            if let Some(what) = headers_with(&req.headers, &has) {
                return at(&format!("request header {what}"));
            }
            if body_has(req.body.as_ref(), &has) {
                return at("request body");
            }
            if x.inputs.as_ref().is_some_and(|v| has(&v.to_string())) {
                return at("inputs");
            }
            if let Some(resp) = &x.response {
                if let Some(what) = headers_with(&resp.headers, &has) {
                    return at(&format!("response header {what}"));
                }
                if body_has(resp.body.as_ref(), &has) {
                    return at("response body");
                }
            }
            if x.failure.as_ref().is_some_and(|f| has(&f.message)) {
                return at("failure message");
            }
        }
        None
    }
}

/// The secrets to look for, from what a caller configured.
pub(crate) fn secrets_of<I, S>(secrets: I) -> Secrets
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut all = Secrets::new();
    for secret in secrets {
        all.add(secret.as_ref());
    }
    all
}

/// Reads a cassette file's bytes.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, CassetteError> {
    fs::read(path).map_err(|source| CassetteError::Io {
        path: path.to_owned(),
        action: "read",
        source,
    })
}

/// The error for bytes serde could not read as a cassette.
pub(crate) fn syntax_error(e: &serde_json::Error, path: Option<&Path>) -> CassetteError {
    let path = path.map(Path::to_path_buf);
    let message = e.to_string();
    if let Some(rest) = message.strip_prefix(VERSION_ERROR) {
        let found = rest.rsplit_once(" at line ").map_or(rest, |(v, _)| v);
        return CassetteError::UnsupportedVersion {
            path,
            found: found.to_owned(),
        };
    }
    if message.starts_with("missing field `version`") {
        return CassetteError::Syntax {
            path,
            message: format!("missing \"version\" (expected {CASSETTE_VERSION})"),
        };
    }
    CassetteError::Syntax { path, message }
}

/// The header holding a secret: its name, or just "name" when the name itself
/// holds one (it would show the secret).
fn headers_with(headers: &BTreeMap<String, String>, has: &dyn Fn(&str) -> bool) -> Option<String> {
    headers.iter().find_map(|(name, value)| {
        if has(name) {
            Some("name".to_owned())
        } else if has(value) {
            Some(name.clone())
        } else {
            None
        }
    })
}

fn body_has(body: Option<&Body>, has: &dyn Fn(&str) -> bool) -> bool {
    match body {
        None => false,
        Some(Body::Json(v)) => has(&v.to_string()),
        Some(Body::Text(t)) => has(t),
        Some(Body::Base64(raw)) => {
            has(raw) || decode_base64(raw).is_ok_and(|bytes| has(&String::from_utf8_lossy(&bytes)))
        }
    }
}

impl Interaction {
    fn check(&self) -> Result<(), String> {
        let req = &self.request;
        check_request_line(&req.method, &req.target)?;
        check_headers("request", &req.headers)?;
        check_stored_body("request", req.body.as_ref())?;
        match (&self.response, &self.failure) {
            (Some(resp), None) => {
                check_status(resp.status)?;
                check_headers("response", &resp.headers)?;
                check_stored_body("response", resp.body.as_ref())
            }
            (None, Some(_)) => Ok(()),
            (Some(_), Some(_)) => Err("has both a \"response\" and a \"failure\"".to_owned()),
            (None, None) => Err("has neither a \"response\" nor a \"failure\"".to_owned()),
        }
    }
}

/// Base64 must decode; JSON and text bodies are valid as they stand.
fn check_stored_body(side: &str, body: Option<&Body>) -> Result<(), String> {
    match body {
        Some(Body::Base64(data)) => decode_base64(data)
            .map(drop)
            .map_err(|e| format!("{side} body: {e}")),
        _ => Ok(()),
    }
}

/// A method and a target (path and query) that can be replayed.
pub(crate) fn check_request_line(method: &str, target: &str) -> Result<(), String> {
    if method.is_empty() || http::Method::from_bytes(method.as_bytes()).is_err() {
        return Err(format!("invalid request method {:?}", excerpt(method, 40)));
    }
    if !target.starts_with('/') {
        return Err(format!(
            "request target {:?} must start with '/' (path and query only)",
            excerpt(target, 80)
        ));
    }
    Ok(())
}

/// A status code that can be replayed.
pub(crate) fn check_status(status: u16) -> Result<(), String> {
    http::StatusCode::from_u16(status)
        .map(drop)
        .map_err(|_| format!("invalid response status {status}"))
}

fn check_headers(side: &str, headers: &BTreeMap<String, String>) -> Result<(), String> {
    for (name, value) in headers {
        check_header(side, name, value)?;
    }
    Ok(())
}

/// A header that can be replayed: the rules `http`'s `HeaderName::from_bytes`
/// and `HeaderValue::from_str` apply, checked without building either (a
/// custom name or any value would be copied, for every header of every
/// interaction).
pub(crate) fn check_header(side: &str, name: &str, value: &str) -> Result<(), String> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(format!(
            "invalid {side} header name {:?}",
            excerpt(name, 40)
        ));
    }
    let visible = |b: u8| b == b'\t' || (b >= 0x20 && b != 0x7f);
    if !value.bytes().all(visible) {
        return Err(format!("invalid value of {side} header {name}"));
    }
    Ok(())
}

pub(crate) use leap0_core::text::excerpt;

/// `t` as RFC 3339 in UTC with whole seconds, e.g. `2025-01-15T10:30:00Z`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn rfc3339_formats_utc_dates() {
        let at = |s: u64| rfc3339(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_736_937_000), "2025-01-15T10:30:00Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn bodies_use_the_most_readable_exact_form() {
        assert_eq!(Body::from_bytes(b""), None);
        assert_eq!(
            Body::from_bytes(br#"{"b":1,"a":[true]}"#),
            Some(Body::Json(serde_json::json!({"b": 1, "a": [true]})))
        );
        // Whitespace or escapes would not survive a compact re-serialization.
        assert_eq!(
            Body::from_bytes(br#"{ "a": 1 }"#),
            Some(Body::Text(r#"{ "a": 1 }"#.into()))
        );
        assert_eq!(
            Body::from_bytes(br#""\u00e9""#),
            Some(Body::Text(r#""\u00e9""#.into()))
        );
        assert_eq!(
            Body::from_bytes(&[0xff, 0]),
            Some(Body::Base64("/wA=".into()))
        );
        for bytes in [&b"{\"x\":1.5}"[..], b"plain", &[0xff, 0xfe, 1]] {
            assert_eq!(Body::from_bytes(bytes).unwrap().to_bytes().unwrap(), bytes);
        }
    }

    #[test]
    fn versions_and_shapes_are_checked() {
        let err = Cassette::from_slice(br#"{"version": 2, "interactions": []}"#).unwrap_err();
        assert!(
            matches!(&err, CassetteError::UnsupportedVersion { found, .. } if found == "2"),
            "{err}"
        );
        let err = Cassette::from_slice(br#"{"interactions": []}"#).unwrap_err();
        assert!(err.to_string().contains("missing \"version\""), "{err}");
        let err = Cassette::from_slice(b"[1,2]").unwrap_err();
        assert!(err.to_string().contains("not a valid cassette"), "{err}");
        let err = Cassette::from_slice(
            br#"{"version": 1, "interactions": [{"request": {"method": "GET", "target": "/x"}}]}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("interaction #0: has neither a \"response\" nor a \"failure\""),
            "{err}"
        );
        let err = Cassette::from_slice(
            br#"{"version": 1, "interactions": [{"request": {"method": "GET", "target": "/x"}, "response": {"status": 7}}]}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("invalid response status 7"),
            "{err}"
        );
        let ok = Cassette::from_slice(
            br#"{"version": 1, "meta": {}, "interactions": [{"request": {"method": "GET", "target": "/x", "body": null}, "failure": {"kind": "connect", "may_have_been_sent": false, "message": "refused"}}]}"#,
        )
        .unwrap();
        assert_eq!(ok.interactions.len(), 1);
    }
}
