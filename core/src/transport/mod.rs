//! The kit for transport authors: what the core asks of the outside world (a
//! way to send one request, and a clock), the failures a transport reports, and
//! the secret scanner every transport runs its messages through.
//!
//! Transports do I/O and nothing else. They never retry, never interpret status
//! codes and never sleep on their own: a non-2xx answer is a normal
//! [`Response`]; only a failure to get any answer is a [`TransportError`],
//! classified so that the core can decide whether to retry.
//!
//! The traits are implemented for closures, so a test double is one line:
//!
//! ```
//! use std::time::Duration;
//! use leap0_core::http;
//! use leap0_core::transport::{Request, Response, Transport, TransportError};
//!
//! let always_404 = |_req: Request, _timeout: Duration| -> Result<Response, TransportError> {
//!     let body = b"{\"message\":\"nope\"}".to_vec();
//!     http::Response::builder().status(404).body(body).map_err(TransportError::other)
//! };
//! let answer = always_404.send(http::Request::new(Vec::new()), Duration::from_secs(1))?;
//! assert_eq!(answer.status(), 404);
//! # Ok::<(), TransportError>(())
//! ```
//!
//! # `Send`, or not
//!
//! [`AsyncTransport`] and [`AsyncClock`] do not require their futures to be
//! `Send`: a transport over `Rc` state, a single-threaded executor or a
//! browser-style `fetch` future implements them as they are. Whether a client's
//! future is `Send` follows from the concrete transport and clock: with
//! `leap0_hyper::HyperTransport` and `TokioClock` it is, so
//! `tokio::spawn(async move { client.create("sb-1").await })` compiles.

mod clock;
mod kit;
mod proxy;
mod secrets;

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use crate::time::Timestamp;
pub use clock::VirtualClock;
pub use kit::{
    BuildError, BuildTransport, ExchangeSecrets, ParsedProxy, ProxyUrlError, TransportBuilder,
    TransportSettings, error_chain, io_error_kind,
};
pub use proxy::ProxyRules;
pub use secrets::{
    REDACTED, SecretForm, Secrets, is_sensitive_entry, is_sensitive_header,
    is_sensitive_header_name,
};

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
///
/// The future need not be `Send` (see the [module docs](self)).
pub trait AsyncTransport {
    /// Sends one request and resolves to the server's answer, whatever its status.
    fn send(
        &self,
        request: Request,
        timeout: Duration,
    ) -> impl Future<Output = Result<Response, TransportError>>;
}

impl<F, Fut> AsyncTransport for F
where
    F: Fn(Request, Duration) -> Fut,
    Fut: Future<Output = Result<Response, TransportError>>,
{
    fn send(
        &self,
        request: Request,
        timeout: Duration,
    ) -> impl Future<Output = Result<Response, TransportError>> {
        self(request, timeout)
    }
}

/// A source of time for blocking drivers: where "now" is, and how to wait.
pub trait Clock {
    /// The current point on this clock's timeline.
    fn now(&self) -> Timestamp;
    /// Blocks until `deadline` (returns at once if it has passed).
    fn sleep_until(&self, deadline: Timestamp);
    /// Entropy for the retry jitter of the clients built on this clock, when
    /// the policy pins no seed: real clocks give the operating system's, so
    /// that processes do not retry in lockstep; the default, `None`, keeps a
    /// client's delays the same on every run (virtual clocks, tests).
    fn entropy(&self) -> Option<u64> {
        None
    }
    /// A timeline of its own for one call, if this clock gives calls one (see
    /// [`VirtualClock::per_call`]); `None`, the default, means every call
    /// shares this clock's timeline, as real clocks do.
    fn call_timeline(&self) -> Option<VirtualClock> {
        None
    }
}

/// A source of time for asynchronous drivers. The future need not be `Send`.
pub trait AsyncClock {
    /// The current point on this clock's timeline.
    fn now(&self) -> Timestamp;
    /// Resolves at `deadline` (at once if it has passed).
    fn sleep_until(&self, deadline: Timestamp) -> impl Future<Output = ()>;
    /// Entropy for the retry jitter; see [`Clock::entropy`].
    fn entropy(&self) -> Option<u64> {
        None
    }
    /// A timeline of its own for one call; see [`Clock::call_timeline`].
    fn call_timeline(&self) -> Option<VirtualClock> {
        None
    }
}

/// How long an exchange took on a virtual timeline: a transport that replays
/// recorded traffic attaches it to a [`Response`]'s extensions (and a
/// [`TransportError`] carries it, see [`TransportError::elapsed`]), and a
/// drive loop on a [per-call timeline](VirtualClock::per_call) moves that
/// call's time by it. Real transports attach nothing: real time passes by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(pub Duration);

impl Elapsed {
    /// The time an exchange's outcome reports, if its transport said.
    pub fn of(outcome: &Result<Response, TransportError>) -> Option<Duration> {
        match outcome {
            Ok(response) => response.extensions().get::<Elapsed>().map(|e| e.0),
            Err(error) => error.elapsed(),
        }
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
    /// A short lowercase phrase, as used in messages (`body too large`).
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

    /// A stable snake_case name, as used in cassettes and machine-readable
    /// output (`body_too_large`).
    pub fn name(self) -> &'static str {
        match self {
            TransportErrorKind::BodyTooLarge => "body_too_large",
            TransportErrorKind::InvalidResponse => "invalid_response",
            other => other.as_str(),
        }
    }
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The typed cause a transport may attach to a [`TransportError`].
pub type Cause = Arc<dyn StdError + Send + Sync + 'static>;

/// A failure to get any answer from the server, as reported by a transport.
///
/// `may_have_been_sent` is the fact the retry rules hang on: `false` only when the
/// transport knows the request never left (for example the connection was refused),
/// so that even a non-idempotent POST can be re-sent safely.
///
/// A transport may attach a typed cause with [`with_cause`](Self::with_cause)
/// (the replayer attaches its mismatch report); it is what
/// [`source`](StdError::source) returns, so error-chain printers show it and
/// callers can downcast to it. Equality and serialization ignore the cause.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct TransportError {
    /// The class of failure.
    pub kind: TransportErrorKind,
    /// Whether the server may have received (and acted on) the request.
    pub may_have_been_sent: bool,
    /// A human description from the underlying client. Never contains the API key.
    pub message: String,
    #[serde(skip)]
    cause: Option<Cause>,
    #[serde(skip)]
    elapsed: Option<Duration>,
}

impl PartialEq for TransportError {
    fn eq(&self, other: &Self) -> bool {
        (self.kind, self.may_have_been_sent, &self.message)
            == (other.kind, other.may_have_been_sent, &other.message)
    }
}

impl Eq for TransportError {}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportError")
            .field("kind", &self.kind)
            .field("may_have_been_sent", &self.may_have_been_sent)
            .field("message", &self.message)
            .field("cause", &self.cause.as_ref().map(|c| c.to_string()))
            .finish()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sent = if self.may_have_been_sent {
            "the request may have reached the server"
        } else {
            "the request was not sent"
        };
        write!(f, "{} error ({sent}): {}", self.kind, self.message)
    }
}

impl StdError for TransportError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn StdError + 'static))
    }
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
            cause: None,
            elapsed: None,
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

    /// Something else failed, and the request may have been sent: the cautious
    /// classification for an error a transport cannot place.
    pub fn other(error: impl fmt::Display) -> Self {
        Self::new(TransportErrorKind::Other, true, error.to_string())
    }

    /// The answer's body exceeded `limit` bytes.
    pub fn body_too_large(limit: u64) -> Self {
        Self::new(
            TransportErrorKind::BodyTooLarge,
            true,
            format!("response body exceeds the limit of {limit} bytes"),
        )
    }

    /// Records how long the failed exchange took on a virtual timeline (see [`Elapsed`]).
    pub fn with_elapsed(mut self, elapsed: Duration) -> Self {
        self.elapsed = Some(elapsed);
        self
    }

    /// How long the failed exchange took on a virtual timeline, if the
    /// transport says (see [`Elapsed`]).
    pub fn elapsed(&self) -> Option<Duration> {
        self.elapsed
    }

    /// Attaches a typed cause, returned by [`source`](StdError::source).
    pub fn with_cause(mut self, cause: impl StdError + Send + Sync + 'static) -> Self {
        self.cause = Some(Arc::new(cause));
        self
    }

    /// The attached cause, if any.
    pub fn cause(&self) -> Option<&(dyn StdError + Send + Sync + 'static)> {
        self.cause.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_error_messages_say_whether_the_request_left() {
        let refused = TransportError::connect("connection refused");
        assert!(!refused.may_have_been_sent);
        assert_eq!(
            refused.to_string(),
            "connect error (the request was not sent): connection refused"
        );
        assert!(TransportError::timeout("10s").may_have_been_sent);
        assert_eq!(TransportErrorKind::BodyTooLarge.name(), "body_too_large");
    }

    #[test]
    fn a_cause_is_the_source_and_does_not_change_equality() {
        let plain = TransportError::reset("closed");
        let caused = plain.clone().with_cause(std::fmt::Error);
        assert_eq!(plain, caused);
        assert!(plain.source().is_none());
        assert!(caused.source().is_some_and(|e| e.is::<std::fmt::Error>()));
    }
}
