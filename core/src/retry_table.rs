//! The one retry table: what an error status or a transport failure means.
//!
//! | failure | kind | retry: GET / DELETE | retry: POST | server may have acted |
//! |---|---|---|---|---|
//! | 429 | rate limited | yes | yes | no |
//! | 503 | server | yes | yes | no |
//! | 502, 504 | server | yes | no | yes |
//! | other 5xx | server | no | no | yes |
//! | 400, 401, 403, 404, 409, other | by status | no | no | yes |
//! | connect failure, request not sent | transport kind | yes | yes | no |
//! | timeout or reset after sending | transport kind | yes | no | yes |
//! | TLS, body too large, invalid answer, other | transport kind | no | no | if sent |
//!
//! [`Error::is_retryable`](crate::Error::is_retryable) and the
//! [`Retry`](crate::machine::Retry) machine read this table; nothing else
//! decides. It is a leaf: it knows statuses and transport failure kinds, and
//! nothing of operations or machines.

use http::StatusCode;

use crate::transport::TransportErrorKind;

/// The class of an API error, from its status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// 400: the request was rejected; see the field errors.
    BadRequest,
    /// 401: missing or wrong API key.
    Unauthorized,
    /// 403: the key may not do this.
    PermissionDenied,
    /// 404: no such sandbox, snapshot or route.
    NotFound,
    /// 409: name taken, snapshot in use, sandbox not running.
    Conflict,
    /// 429: slow down (see `retry_after`).
    RateLimited,
    /// 5xx: the server failed (503: no capacity).
    Server,
    /// Any status other than the one the operation expects, e.g. 200 for a 201.
    UnexpectedStatus,
}

impl ApiErrorKind {
    /// The kind for a status that is not the expected success status.
    pub fn from_status(status: StatusCode) -> ApiErrorKind {
        Meaning::of_status(status).kind
    }

    /// A stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            ApiErrorKind::BadRequest => "bad_request",
            ApiErrorKind::Unauthorized => "unauthorized",
            ApiErrorKind::PermissionDenied => "permission_denied",
            ApiErrorKind::NotFound => "not_found",
            ApiErrorKind::Conflict => "conflict",
            ApiErrorKind::RateLimited => "rate_limited",
            ApiErrorKind::Server => "server",
            ApiErrorKind::UnexpectedStatus => "unexpected_status",
        }
    }
}

/// Which calls a failure may be retried for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryFor {
    /// Any call: the server did not act.
    Any,
    /// Only idempotent calls (GET, DELETE): the server may have acted.
    IdempotentOnly,
    /// None: retrying would not help.
    None,
}

impl RetryFor {
    /// Whether a call that is (or is not) idempotent may retry.
    pub fn allows(self, idempotent: bool) -> bool {
        match self {
            RetryFor::Any => true,
            RetryFor::IdempotentOnly => idempotent,
            RetryFor::None => false,
        }
    }
}

/// What one error status means: a row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Meaning {
    /// The error's class.
    pub kind: ApiErrorKind,
    /// Which calls may retry.
    pub retry: RetryFor,
    /// Whether the server may have acted on the request.
    pub may_have_acted: bool,
}

impl Meaning {
    /// What an error status (any status but the operation's success) means.
    pub fn of_status(status: StatusCode) -> Meaning {
        use ApiErrorKind::*;
        let (kind, retry, may_have_acted) = match status.as_u16() {
            // The server says it did nothing and asks to come back.
            429 => (RateLimited, RetryFor::Any, false),
            503 => (Server, RetryFor::Any, false),
            // A gateway lost the answer: the server may have acted.
            502 | 504 => (Server, RetryFor::IdempotentOnly, true),
            500..=599 => (Server, RetryFor::None, true),
            400 => (BadRequest, RetryFor::None, true),
            401 => (Unauthorized, RetryFor::None, true),
            403 => (PermissionDenied, RetryFor::None, true),
            404 => (NotFound, RetryFor::None, true),
            409 => (Conflict, RetryFor::None, true),
            _ => (UnexpectedStatus, RetryFor::None, true),
        };
        Meaning {
            kind,
            retry,
            may_have_acted,
        }
    }

    /// What a transport failure means (its kind is the transport's own).
    pub fn of_transport(kind: TransportErrorKind, may_have_been_sent: bool) -> TransportMeaning {
        let transient = matches!(
            kind,
            TransportErrorKind::Connect | TransportErrorKind::Timeout | TransportErrorKind::Reset
        );
        let retry = match (transient, may_have_been_sent) {
            (false, _) => RetryFor::None,
            (true, false) => RetryFor::Any,
            (true, true) => RetryFor::IdempotentOnly,
        };
        TransportMeaning {
            retry,
            may_have_acted: may_have_been_sent,
        }
    }
}

/// What a transport failure means: a row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportMeaning {
    /// Which calls may retry.
    pub retry: RetryFor,
    /// Whether the server may have acted on the request.
    pub may_have_acted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_as_documented() {
        let row = |status: u16| {
            let m = Meaning::of_status(StatusCode::from_u16(status).unwrap_or_default());
            (
                m.retry.allows(true),
                m.retry.allows(false),
                m.may_have_acted,
            )
        };
        assert_eq!(row(429), (true, true, false));
        assert_eq!(row(503), (true, true, false));
        assert_eq!(row(502), (true, false, true));
        assert_eq!(row(504), (true, false, true));
        for status in [400, 401, 403, 404, 409, 500, 501, 302, 200] {
            assert_eq!(row(status), (false, false, true), "{status}");
        }
        let failure = |kind, sent| {
            let m = Meaning::of_transport(kind, sent);
            (
                m.retry.allows(true),
                m.retry.allows(false),
                m.may_have_acted,
            )
        };
        assert_eq!(
            failure(TransportErrorKind::Connect, false),
            (true, true, false)
        );
        assert_eq!(
            failure(TransportErrorKind::Timeout, true),
            (true, false, true)
        );
        assert_eq!(
            failure(TransportErrorKind::Reset, true),
            (true, false, true)
        );
        assert_eq!(
            failure(TransportErrorKind::Tls, false),
            (false, false, false)
        );
        assert_eq!(
            failure(TransportErrorKind::BodyTooLarge, true),
            (false, false, true)
        );
    }
}
