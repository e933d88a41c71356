//! What the core asks of the outside world: a way to send one request, and a clock.
//!
//! Transports do I/O and nothing else. They never retry, never interpret status
//! codes and never sleep on their own: a non-2xx answer is a normal
//! [`Response`]; only a failure to get any answer is a [`TransportError`], classified
//! so that the core can decide whether to retry.
//!
//! Both traits are implemented for closures, so a test double is one line:
//!
//! ```
//! use std::time::Duration;
//! use leap0_core::{Request, Response, Transport, TransportError};
//!
//! let always_404 = |_req: Request, _timeout: Duration| -> Result<Response, TransportError> {
//!     Ok(http::Response::builder().status(404).body(b"{\"message\":\"nope\"}".to_vec()).unwrap())
//! };
//! let answer = always_404.send(http::Request::new(Vec::new()), Duration::from_secs(1)).unwrap();
//! assert_eq!(answer.status(), 404);
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::time::Timestamp;

/// A request as the core builds it: the body is always fully in memory.
pub type Request = http::Request<Vec<u8>>;
/// A response as transports hand it back: status, headers and the whole (capped) body.
pub type Response = http::Response<Vec<u8>>;

/// The response body cap every bundled transport uses by default: 8 MiB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 8 * 1024 * 1024;

/// The connect timeout every bundled transport uses by default: 10 seconds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A blocking HTTP transport.
///
/// `send` performs exactly one exchange and must give up after `timeout` (the whole
/// exchange, connect to last body byte). Any status, including 4xx and 5xx, is an
/// `Ok(Response)`.
pub trait Transport {
    /// Sends one request and returns the server's answer, whatever its status.
    fn send(&self, request: Request, timeout: Duration) -> Result<Response, TransportError>;
}

impl<F> Transport for F
where
    F: Fn(Request, Duration) -> Result<Response, TransportError>,
{
    fn send(&self, request: Request, timeout: Duration) -> Result<Response, TransportError> {
        self(request, timeout)
    }
}

/// An asynchronous HTTP transport: the same contract as [`Transport`], as a future.
pub trait AsyncTransport {
    /// Sends one request and resolves to the server's answer, whatever its status.
    fn send(
        &self,
        request: Request,
        timeout: Duration,
    ) -> impl Future<Output = Result<Response, TransportError>> + Send;
}

impl<F, Fut> AsyncTransport for F
where
    F: Fn(Request, Duration) -> Fut,
    Fut: Future<Output = Result<Response, TransportError>> + Send,
{
    fn send(
        &self,
        request: Request,
        timeout: Duration,
    ) -> impl Future<Output = Result<Response, TransportError>> + Send {
        self(request, timeout)
    }
}

/// A source of time for blocking drivers: where "now" is, and how to wait.
pub trait Clock {
    /// The current point on this clock's timeline.
    fn now(&self) -> Timestamp;
    /// Blocks until `deadline` (returns at once if it has passed).
    fn sleep_until(&self, deadline: Timestamp);
}

/// A source of time for asynchronous drivers.
pub trait AsyncClock {
    /// The current point on this clock's timeline.
    fn now(&self) -> Timestamp;
    /// Resolves at `deadline` (at once if it has passed).
    fn sleep_until(&self, deadline: Timestamp) -> impl Future<Output = ()> + Send;
}

/// A clock that only moves when someone waits on it: waiting jumps straight to the
/// deadline. Tests and the replayer use it so that minutes of backoff and polling
/// take no real time. Clones share one timeline.
#[derive(Debug, Clone, Default)]
pub struct VirtualClock {
    nanos: Arc<AtomicU64>,
}

impl VirtualClock {
    /// A clock standing at [`Timestamp::ZERO`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by` (used to simulate latency).
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update cannot fail with a closure that always returns Some.
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(by))
            });
    }

    /// Moves the clock to `deadline` if it is in the future; never moves it back.
    pub fn advance_to(&self, deadline: Timestamp) {
        let target = u64::try_from(deadline.since_origin().as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_max(target, Ordering::SeqCst);
    }

    fn read(&self) -> Timestamp {
        Timestamp::from_origin(Duration::from_nanos(self.nanos.load(Ordering::SeqCst)))
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Timestamp {
        self.read()
    }

    fn sleep_until(&self, deadline: Timestamp) {
        self.advance_to(deadline);
    }
}

impl AsyncClock for VirtualClock {
    fn now(&self) -> Timestamp {
        self.read()
    }

    fn sleep_until(&self, deadline: Timestamp) -> impl Future<Output = ()> + Send {
        self.advance_to(deadline);
        std::future::ready(())
    }
}

/// What went wrong when a transport could not get an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection could be made (DNS, refused, unreachable, connect timeout).
    Connect,
    /// The TLS handshake failed, for example a certificate that does not verify.
    Tls,
    /// The exchange took longer than its timeout.
    Timeout,
    /// The connection was closed or reset before the whole answer arrived.
    Reset,
    /// The answer's body was larger than the transport's cap.
    BodyTooLarge,
    /// The answer was not valid HTTP.
    InvalidResponse,
    /// Anything else.
    Other,
}

impl TransportErrorKind {
    /// A short lowercase name, as used in messages and cassettes.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportErrorKind::Connect => "connect",
            TransportErrorKind::Tls => "tls",
            TransportErrorKind::Timeout => "timeout",
            TransportErrorKind::Reset => "reset",
            TransportErrorKind::BodyTooLarge => "body too large",
            TransportErrorKind::InvalidResponse => "invalid response",
            TransportErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure to get any answer from the server, as reported by a transport.
///
/// `may_have_been_sent` is the fact the retry rules hang on: `false` only when the
/// transport knows the request never left (for example the connection was refused),
/// so that even a non-idempotent POST can be re-sent safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{kind} error ({}): {message}", if *.may_have_been_sent { "the request may have reached the server" } else { "the request was not sent" })]
pub struct TransportError {
    /// The class of failure.
    pub kind: TransportErrorKind,
    /// Whether the server may have received (and acted on) the request.
    pub may_have_been_sent: bool,
    /// A human description from the underlying client. Never contains the API key.
    pub message: String,
}

impl TransportError {
    /// A failure of the given kind.
    pub fn new(
        kind: TransportErrorKind,
        may_have_been_sent: bool,
        message: impl Into<String>,
    ) -> Self {
        TransportError {
            kind,
            may_have_been_sent,
            message: message.into(),
        }
    }

    /// No connection could be made; the request was not sent.
    pub fn connect(message: impl Into<String>) -> Self {
        Self::new(TransportErrorKind::Connect, false, message)
    }

    /// The exchange timed out after the request may have been sent.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(TransportErrorKind::Timeout, true, message)
    }

    /// The connection broke after the request may have been sent.
    pub fn reset(message: impl Into<String>) -> Self {
        Self::new(TransportErrorKind::Reset, true, message)
    }

    /// The answer's body exceeded `limit` bytes.
    pub fn body_too_large(limit: u64) -> Self {
        Self::new(
            TransportErrorKind::BodyTooLarge,
            true,
            format!("response body exceeds the limit of {limit} bytes"),
        )
    }
}

/// Values of a request's sensitive headers, scrubbed from transport error messages.
///
/// HTTP clients are not known to quote request headers in their errors; transports
/// run every message through this anyway, as a second line of defence, so that an
/// API key can never reach a log through a transport error.
///
/// ```
/// use leap0_core::SecretScrubber;
/// let mut headers = http::HeaderMap::new();
/// headers.insert("authorization", "Bearer sk-very-secret".parse().unwrap());
/// let scrubber = SecretScrubber::from_headers(&headers);
/// assert_eq!(scrubber.scrub("failed with sk-very-secret".into()), "failed with [redacted]");
/// ```
#[derive(Default)]
pub struct SecretScrubber {
    values: Vec<String>,
}

impl std::fmt::Debug for SecretScrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretScrubber({} values)", self.values.len())
    }
}

impl SecretScrubber {
    /// Collects the values of headers that may carry credentials (names containing
    /// auth, key, token, secret, cookie or session), and their words.
    pub fn from_headers(headers: &http::HeaderMap) -> Self {
        let mut values = Vec::new();
        for (name, value) in headers {
            let name = name.as_str();
            let sensitive = ["auth", "key", "token", "secret", "cookie", "session"]
                .iter()
                .any(|needle| name.contains(needle));
            if !sensitive {
                continue;
            }
            if let Ok(value) = value.to_str() {
                let value = value.trim();
                // Also catch the bare credential after a scheme such as "Bearer ".
                for part in std::iter::once(value).chain(value.split_whitespace()) {
                    if part.len() >= 4 {
                        values.push(part.to_owned());
                    }
                }
            }
        }
        // Longest first, so that a whole header value is replaced before its parts.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        SecretScrubber { values }
    }

    /// `message` with every collected value replaced by `[redacted]`.
    pub fn scrub(&self, message: String) -> String {
        let mut message = message;
        for secret in &self.values {
            if message.contains(secret.as_str()) {
                message = message.replace(secret.as_str(), "[redacted]");
            }
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_jumps_to_deadlines_and_never_goes_back() {
        let clock = VirtualClock::new();
        let later = Timestamp::from_origin(Duration::from_secs(90));
        Clock::sleep_until(&clock, later);
        assert_eq!(Clock::now(&clock), later);
        Clock::sleep_until(&clock, Timestamp::from_origin(Duration::from_secs(1)));
        assert_eq!(Clock::now(&clock), later);
        clock.advance(Duration::from_millis(250));
        assert_eq!(
            Clock::now(&clock),
            later + Duration::from_millis(250),
            "clones share one timeline"
        );
    }

    #[test]
    fn transport_error_messages_say_whether_the_request_left() {
        let refused = TransportError::connect("connection refused");
        assert!(!refused.may_have_been_sent);
        assert_eq!(
            refused.to_string(),
            "connect error (the request was not sent): connection refused"
        );
        assert!(TransportError::timeout("10s").may_have_been_sent);
    }
}
