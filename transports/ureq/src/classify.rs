//! Turning ureq's errors into [`TransportError`]s.

use std::io;
use std::time::Duration;

use leap0_core::transport::{
    ExchangeSecrets, TransportError, TransportErrorKind, error_chain, io_error_kind,
};

/// Classifies a ureq error; `written` says whether any request byte reached a
/// connection, `timeout` is the call's budget (for the message). The message
/// loses the exchange's credentials.
pub(crate) fn error(
    err: ureq::Error,
    written: bool,
    timeout: Duration,
    sensitive: &ExchangeSecrets<'_>,
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
    sensitive.error(kind, sent, &message)
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
    if error_chain(err).any(|e| e.is::<rustls::Error>()) {
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
    (io_error_kind(err.kind()).unwrap_or(K::Other), true)
}
