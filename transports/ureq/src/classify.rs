//! Turning ureq's errors into [`TransportError`]s.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use http::HeaderValue;
use leap0_core::transport::{ProxyRules, TransportError, TransportErrorKind};

/// The credentials of one exchange: its sensitive header values and the
/// proxies'. They are scrubbed from error messages; the scrubber is built only
/// when there is a message.
pub(crate) struct Sensitive<'a> {
    pub(crate) headers: Vec<HeaderValue>,
    pub(crate) proxy: &'a ProxyRules,
}

/// Classifies a ureq error; `written` says whether any request byte reached a
/// connection, `timeout` is the call's budget (for the message).
pub(crate) fn error(
    err: ureq::Error,
    written: bool,
    timeout: Duration,
    sensitive: &Sensitive<'_>,
) -> TransportError {
    let (kind, sent) = kind_of(&err, written);
    let message = match (&err, kind) {
        (ureq::Error::Timeout(_), TransportErrorKind::Connect) => {
            format!("timed out before the request was sent ({err}, call timeout {timeout:?})")
        }
        (ureq::Error::Timeout(_), _) => {
            format!("no complete answer within {timeout:?} ({err})")
        }
        _ => err.to_string(),
    };
    let mut secrets = sensitive.proxy.secrets();
    for value in &sensitive.headers {
        secrets.add(&String::from_utf8_lossy(value.as_bytes()));
    }
    TransportError::new(kind, sent, secrets.scrub(&message))
}

fn kind_of(err: &ureq::Error, written: bool) -> (TransportErrorKind, bool) {
    use TransportErrorKind as K;
    use ureq::Error as E;
    match err {
        E::BodyExceedsLimit(_) => (K::BodyTooLarge, true),
        E::Timeout(_) if written => (K::Timeout, true),
        E::Timeout(_) => (K::Connect, false),
        E::HostNotFound | E::ConnectProxyFailed(_) => (K::Connect, false),
        E::ConnectionFailed if written => (K::Reset, true),
        E::ConnectionFailed => (K::Connect, false),
        E::Tls(_) | E::Pem(_) | E::Rustls(_) if written => (K::Reset, true),
        E::Tls(_) | E::Pem(_) | E::Rustls(_) => (K::Tls, false),
        E::Io(io) => io_kind(io, written),
        E::Protocol(_) | E::LargeResponseHeader(..) if written => (K::InvalidResponse, true),
        E::BodyStalled if written => (K::Reset, true),
        _ => (K::Other, written),
    }
}

fn io_kind(err: &io::Error, written: bool) -> (TransportErrorKind, bool) {
    use TransportErrorKind as K;
    use io::ErrorKind as Io;
    if holds_tls_error(err) {
        return if written {
            (K::Reset, true)
        } else {
            (K::Tls, false)
        };
    }
    if !written {
        // Nothing was written: whatever broke, it broke while connecting.
        return (K::Connect, false);
    }
    match err.kind() {
        Io::TimedOut | Io::WouldBlock => (K::Timeout, true),
        Io::ConnectionReset
        | Io::ConnectionAborted
        | Io::BrokenPipe
        | Io::UnexpectedEof
        | Io::NotConnected => (K::Reset, true),
        Io::InvalidData => (K::InvalidResponse, true),
        _ => (K::Other, true),
    }
}

/// Whether a rustls error sits somewhere inside `err`.
fn holds_tls_error(err: &io::Error) -> bool {
    let mut current: Option<&(dyn StdError + 'static)> = err.get_ref().map(|e| e as _);
    while let Some(e) = current {
        if e.is::<rustls::Error>() {
            return true;
        }
        current = match e.downcast_ref::<io::Error>() {
            // `io::Error::source` skips the wrapped error itself: look at it directly.
            Some(io) => io.get_ref().map(|e| e as _),
            None => e.source(),
        };
    }
    false
}
