//! Turning hyper and hyper-util errors into [`TransportError`]s.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use leap0_core::transport::{
    ExchangeSecrets, TransportError, TransportErrorKind, error_chain as chain, io_error_kind,
};

/// The per-call timeout ran out. `connected` says whether a connection had taken
/// the request to write it (after which its bytes may have been written).
pub(crate) fn timed_out(timeout: Duration, connected: bool) -> TransportError {
    if connected {
        TransportError::timeout(format!("no complete answer within {timeout:?}"))
    } else {
        TransportError::connect(format!(
            "timed out after {timeout:?} before a connection was ready for the request"
        ))
    }
}

/// Classifies an error from the client, before the response head was received.
pub(crate) fn client_error(
    err: &hyper_util::client::legacy::Error,
    secrets: &ExchangeSecrets<'_>,
) -> TransportError {
    use TransportErrorKind as K;
    let (kind, sent) = if err.is_connect() {
        if chain(err).any(|e| e.is::<rustls::Error>()) {
            (K::Tls, false)
        } else {
            (K::Connect, false)
        }
    } else {
        // hyper-util exposes these kinds only through its Display, "client error
        // (Kind)"; an unknown text falls through to the cautious branch below.
        let text = err.to_string();
        if text == "client error (Canceled)" {
            // hyper handed the request back unwritten: a pooled connection closed.
            (K::Reset, false)
        } else if text.starts_with("client error (User") {
            // Refused before any I/O: a URI without host, an unsupported version...
            (K::Other, false)
        } else {
            exchange_kind(err, false)
        }
    };
    secrets.error(kind, sent, &describe(err))
}

/// Classifies an error met while reading the response body.
pub(crate) fn body_error(err: &hyper::Error, secrets: &ExchangeSecrets<'_>) -> TransportError {
    let (kind, sent) = exchange_kind(err, true);
    secrets.error(kind, sent, &describe(err))
}

/// The kind of an error after the request may have been written. `in_body` says the
/// response head had already arrived.
fn exchange_kind(err: &(dyn StdError + 'static), in_body: bool) -> (TransportErrorKind, bool) {
    use TransportErrorKind as K;
    for e in chain(err) {
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_parse() || h.is_parse_status() || h.is_parse_too_large() {
                return (K::InvalidResponse, true);
            }
            if h.is_timeout() {
                return (K::Timeout, true);
            }
            if h.is_incomplete_message() || h.is_canceled() || h.is_closed() {
                return (K::Reset, true);
            }
        } else if e.is::<rustls::Error>() {
            return (K::Reset, true);
        } else if let Some(io) = e.downcast_ref::<io::Error>() {
            // Invalid data from TLS: the rustls error, next in the chain, says more.
            let tls_inside = io.get_ref().is_some_and(|i| i.is::<rustls::Error>());
            match io_error_kind(io.kind()) {
                Some(K::InvalidResponse) if tls_inside => {}
                Some(kind) => return (kind, true),
                None => {}
            }
        }
    }
    if in_body {
        // The head arrived and then the body broke off.
        (K::Reset, true)
    } else {
        (K::Other, true)
    }
}

/// The error and its causes, one per line of the chain, without repeats.
fn describe(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in chain(err) {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}
