//! The cassette: a versioned, human-diffable JSON file of recorded interactions.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use leap0_core::{Operation, TransportError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The cassette format version this crate reads and writes.
pub const CASSETTE_VERSION: u32 = 1;

/// The value that replaces a redacted header, query parameter or JSON field.
pub const REDACTED: &str = "<redacted>";

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cassette {
    /// Always [`CASSETTE_VERSION`].
    pub version: u32,
    /// Where and when it was recorded.
    #[serde(default)]
    pub meta: Meta,
    /// The exchanges, in the order they happened.
    #[serde(default)]
    pub interactions: Vec<Interaction>,
}

/// Facts about a recording.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
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
    #[serde(default)]
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
        if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
            if serde_json::to_vec(&value).is_ok_and(|again| again == bytes) {
                return Some(Body::Json(value));
            }
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
            Body::Base64(data) => BASE64
                .decode(data.trim())
                .map_err(|e| format!("invalid base64: {e}")),
        }
    }
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
        "{}: unsupported cassette version {found} (this leap0-replay reads version {CASSETTE_VERSION}); re-record it with LEAP0_RECORD=all",
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
        "refusing to write cassette {}: {location} contains a configured secret; redact it (RecordOptions::redact_header, redact_query, redact_json_field) or keep it out of the test data",
        path.display()
    )]
    SecretFound {
        /// The cassette file that was not written.
        path: PathBuf,
        /// Where the secret was found, e.g. `interaction #2 response body`.
        location: String,
    },
}

/// Shows "cassette <path>" or just "cassette".
struct Named<'a>(&'a Option<PathBuf>);

impl fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "cassette {}", path.display()),
            None => f.write_str("cassette"),
        }
    }
}

/// Just enough of a cassette to read its version before anything else.
#[derive(Deserialize)]
#[serde(rename = "cassette")]
struct VersionProbe {
    #[serde(default)]
    version: Option<Value>,
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
            version: CASSETTE_VERSION,
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
        let bytes = fs::read(path).map_err(|source| CassetteError::Io {
            path: path.to_owned(),
            action: "read",
            source,
        })?;
        Self::parse(&bytes, Some(path))
    }

    /// Parses and checks a cassette from bytes. Any input gives a cassette or an
    /// error, never a panic.
    pub fn from_slice(bytes: &[u8]) -> Result<Cassette, CassetteError> {
        Self::parse(bytes, None)
    }

    fn parse(bytes: &[u8], path: Option<&Path>) -> Result<Cassette, CassetteError> {
        let path = path.map(Path::to_path_buf);
        let syntax = |e: serde_json::Error, path: &Option<PathBuf>| CassetteError::Syntax {
            path: path.clone(),
            message: e.to_string(),
        };
        let probe: VersionProbe = serde_json::from_slice(bytes).map_err(|e| syntax(e, &path))?;
        match probe.version {
            None => {
                return Err(CassetteError::Syntax {
                    path,
                    message: format!("missing \"version\" (expected {CASSETTE_VERSION})"),
                });
            }
            Some(Value::Number(n)) if n.as_u64() == Some(u64::from(CASSETTE_VERSION)) => {}
            Some(other) => {
                return Err(CassetteError::UnsupportedVersion {
                    path,
                    found: excerpt(&other.to_string(), 40),
                });
            }
        }
        let cassette: Cassette = serde_json::from_slice(bytes).map_err(|e| syntax(e, &path))?;
        cassette.check(path.as_deref())?;
        Ok(cassette)
    }

    /// Checks that every interaction can be replayed: a known version, valid
    /// methods, targets, header names and values, status codes and base64, and
    /// exactly one of `response` and `failure`.
    pub fn validate(&self) -> Result<(), CassetteError> {
        self.check(None)
    }

    fn check(&self, path: Option<&Path>) -> Result<(), CassetteError> {
        let path = path.map(Path::to_path_buf);
        if self.version != CASSETTE_VERSION {
            return Err(CassetteError::UnsupportedVersion {
                path,
                found: self.version.to_string(),
            });
        }
        for (index, interaction) in self.interactions.iter().enumerate() {
            interaction
                .check()
                .map_err(|message| CassetteError::Invalid {
                    path: path.clone(),
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
    /// created), after checking that none of `secrets` appears in it. If one
    /// does, nothing is written and the error says where, without the secret.
    pub fn save<I, S>(&self, path: impl AsRef<Path>, secrets: I) -> Result<(), CassetteError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let path = path.as_ref();
        let text = self.to_json()?;
        for secret in secrets {
            if let Some(location) = self.find_secret(&text, secret.as_ref()) {
                return Err(CassetteError::SecretFound {
                    path: path.to_owned(),
                    location,
                });
            }
        }
        write_atomically(path, text.as_bytes())
    }

    /// Where `secret` occurs, if it occurs in `text` or in any decoded field.
    fn find_secret(&self, text: &str, secret: &str) -> Option<String> {
        let secret = secret.trim();
        if secret.is_empty() {
            return None;
        }
        let escaped = json_escaped(secret);
        let in_text = text.contains(secret) || text.contains(&escaped);
        match self.locate(secret, &escaped) {
            Some(location) => Some(location),
            None if in_text => Some("the cassette".to_owned()),
            None => None,
        }
    }

    fn locate(&self, secret: &str, escaped: &str) -> Option<String> {
        let has = |s: &str| s.contains(secret) || s.contains(escaped);
        let has_bytes = |b: &[u8]| contains_bytes(b, secret.as_bytes());
        let meta = &self.meta;
        if has(&meta.crate_version) || has(&meta.recorded_at) || has(&meta.base_path) {
            return Some("meta".to_owned());
        }
        for (i, x) in self.interactions.iter().enumerate() {
            let at = |what: &str| Some(format!("interaction #{i} {what}"));
            let req = &x.request;
            if has(&req.method)
                || has(&req.target)
                || has(&percent_encoding::percent_decode_str(&req.target).decode_utf8_lossy())
            {
                return at("request target");
            }
            if let Some(what) = headers_with(&req.headers, &has) {
                return at(&format!("request header {what}"));
            }
            if body_has(req.body.as_ref(), &has, &has_bytes) {
                return at("request body");
            }
            if x.inputs.as_ref().is_some_and(|v| has(&v.to_string())) {
                return at("inputs");
            }
            if let Some(resp) = &x.response {
                if let Some(what) = headers_with(&resp.headers, &has) {
                    return at(&format!("response header {what}"));
                }
                if body_has(resp.body.as_ref(), &has, &has_bytes) {
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

fn headers_with(headers: &BTreeMap<String, String>, has: &dyn Fn(&str) -> bool) -> Option<String> {
    headers.iter().find_map(|(name, value)| {
        if has(value) {
            Some(name.clone())
        } else if has(name) {
            Some("name".to_owned())
        } else {
            None
        }
    })
}

fn body_has(
    body: Option<&Body>,
    has: &dyn Fn(&str) -> bool,
    has_bytes: &dyn Fn(&[u8]) -> bool,
) -> bool {
    match body {
        None => false,
        Some(Body::Json(v)) => has(&v.to_string()),
        Some(Body::Text(t)) => has(t),
        Some(b @ Body::Base64(raw)) => {
            has(raw) || b.to_bytes().is_ok_and(|bytes| has_bytes(&bytes))
        }
    }
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// `secret` as it appears inside a JSON string.
fn json_escaped(secret: &str) -> String {
    let quoted = serde_json::to_string(secret).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .map_or(quoted.clone(), str::to_owned)
}

impl Interaction {
    fn check(&self) -> Result<(), String> {
        let req = &self.request;
        if req.method.is_empty() || http::Method::from_bytes(req.method.as_bytes()).is_err() {
            return Err(format!(
                "invalid request method {:?}",
                excerpt(&req.method, 40)
            ));
        }
        if !req.target.starts_with('/') {
            return Err(format!(
                "request target {:?} must start with '/' (path and query only)",
                excerpt(&req.target, 80)
            ));
        }
        check_headers("request", &req.headers)?;
        body_bytes(req.body.as_ref()).map_err(|e| format!("request body: {e}"))?;
        match (&self.response, &self.failure) {
            (Some(resp), None) => {
                if http::StatusCode::from_u16(resp.status).is_err() {
                    return Err(format!("invalid response status {}", resp.status));
                }
                check_headers("response", &resp.headers)?;
                body_bytes(resp.body.as_ref()).map_err(|e| format!("response body: {e}"))?;
                Ok(())
            }
            (None, Some(_)) => Ok(()),
            (Some(_), Some(_)) => Err("has both a \"response\" and a \"failure\"".to_owned()),
            (None, None) => Err("has neither a \"response\" nor a \"failure\"".to_owned()),
        }
    }
}

fn check_headers(side: &str, headers: &BTreeMap<String, String>) -> Result<(), String> {
    for (name, value) in headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(format!(
                "invalid {side} header name {:?}",
                excerpt(name, 40)
            ));
        }
        if http::HeaderValue::from_str(value).is_err() {
            return Err(format!("invalid value of {side} header {name}"));
        }
    }
    Ok(())
}

/// The first `max` characters of `text`, with `…` if cut.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CassetteError> {
    let io_err = |action: &'static str| {
        move |source: io::Error| CassetteError::Io {
            path: path.to_owned(),
            action,
            source,
        }
    };
    let file_name = path.file_name().ok_or_else(|| {
        io_err("write")(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path has no file name",
        ))
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(io_err("create its directory"))?;
    let temp = dir.join(format!(
        ".{}.{}-{}.tmp",
        file_name.to_string_lossy(),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)
    })();
    if let Err(source) = written {
        let _ = fs::remove_file(&temp);
        return Err(io_err("write")(source));
    }
    // Make the rename itself durable where the platform allows syncing a directory.
    #[cfg(unix)]
    if let Ok(handle) = fs::File::open(&dir) {
        let _ = handle.sync_all();
    }
    Ok(())
}

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
            err.to_string().contains("unsupported cassette version 2"),
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
