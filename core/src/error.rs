//! One error type for every operation.
//!
//! Variants separate "you used the API wrongly" ([`Error::Config`],
//! [`Error::Validation`], [`Error::Misuse`]: nothing was sent) from "the server or the
//! network misbehaved" (everything else). Each error knows whether its request may
//! have reached the server and whether the retry rules consider it retryable.
//! Messages start as the official SDK's do: `Failed to create snapshot: ...`.

use std::fmt;
use std::time::Duration;

use http::{Method, StatusCode};

use crate::config::ConfigError;
use crate::model::SandboxState;
use crate::transport::TransportError;

/// Which operation an error belongs to; its [`Display`](fmt::Display) is the verb
/// phrase used in messages ("create snapshot").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Operation {
    /// `POST /v1/sandbox/{id}/snapshot/create`
    CreateSnapshot,
    /// `POST /v1/sandbox/{id}/snapshot/pause`
    PauseSandbox,
    /// `POST /v1/snapshot/resume`
    ResumeSnapshot,
    /// `POST /v1/snapshot/restore`
    RestoreSnapshot,
    /// `DELETE /v1/snapshot/{id}`
    DeleteSnapshot,
    /// `GET /v1/snapshots`
    ListSnapshots,
    /// `GET /v1/sandbox/{id}/`
    GetSandbox,
    /// `POST /v1/sandbox/`
    CreateSandbox,
}

impl Operation {
    /// The verb phrase used in messages, e.g. `"create snapshot"`.
    pub fn action(self) -> &'static str {
        match self {
            Operation::CreateSnapshot => "create snapshot",
            Operation::PauseSandbox => "pause sandbox",
            Operation::ResumeSnapshot => "resume snapshot",
            Operation::RestoreSnapshot => "restore snapshot",
            Operation::DeleteSnapshot => "delete snapshot",
            Operation::ListSnapshots => "list snapshots",
            Operation::GetSandbox => "get sandbox",
            Operation::CreateSandbox => "create sandbox",
        }
    }

    /// A stable snake_case name, as used in cassettes and logs.
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateSnapshot => "create_snapshot",
            Operation::PauseSandbox => "pause_sandbox",
            Operation::ResumeSnapshot => "resume_snapshot",
            Operation::RestoreSnapshot => "restore_snapshot",
            Operation::DeleteSnapshot => "delete_snapshot",
            Operation::ListSnapshots => "list_snapshots",
            Operation::GetSandbox => "get_sandbox",
            Operation::CreateSandbox => "create_sandbox",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.action())
    }
}

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
        match status.as_u16() {
            400 => ApiErrorKind::BadRequest,
            401 => ApiErrorKind::Unauthorized,
            403 => ApiErrorKind::PermissionDenied,
            404 => ApiErrorKind::NotFound,
            409 => ApiErrorKind::Conflict,
            429 => ApiErrorKind::RateLimited,
            500..=599 => ApiErrorKind::Server,
            _ => ApiErrorKind::UnexpectedStatus,
        }
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

/// One entry of a 400 body's `errors` list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    /// The request field the server rejected.
    pub field: String,
    /// Why.
    pub error: String,
}

/// The server answered with a status other than the operation's success status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The operation that failed.
    pub operation: Operation,
    /// The request's method.
    pub method: Method,
    /// The request's path (percent-encoded, without the base URL).
    pub path: String,
    /// The status the server answered with.
    pub status: StatusCode,
    /// The class of error.
    pub kind: ApiErrorKind,
    /// The server's message: the `message` field of a JSON body, else the text body.
    pub message: Option<String>,
    /// Field errors of a 400 body.
    pub field_errors: Vec<FieldError>,
    /// How long the server asked us to wait (`Retry-After`, seconds or HTTP-date).
    pub retry_after: Option<Duration>,
    /// The server's request id (`x-request-id`), for support tickets.
    pub request_id: Option<String>,
    /// Whether the retry rules would retry this for this operation.
    pub retryable: bool,
}

impl std::error::Error for ApiError {}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Failed to {}: {} Request failed: {} {}",
            self.operation,
            self.status.as_u16(),
            self.method,
            self.path
        )?;
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        for e in &self.field_errors {
            write!(f, "; {}: {}", e.field, e.error)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

/// The success answer could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The operation whose answer this was.
    pub operation: Operation,
    /// The field at fault (`body` when the body is not JSON at all).
    pub field: String,
    /// What was wrong.
    pub reason: String,
    /// The first bytes of the body, lossily decoded, for diagnosis.
    pub excerpt: String,
}

impl std::error::Error for DecodeError {}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Failed to {}: could not decode the response: {}: {} (body starts {:?})",
            self.operation, self.field, self.reason, self.excerpt
        )
    }
}

/// Everything that can go wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid (usage error; nothing was sent).
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// An input broke a rule of the contract (usage error; nothing was sent).
    #[error("Failed to {operation}: invalid {field}: {reason}")]
    Validation {
        /// The operation whose input was rejected.
        operation: Operation,
        /// The field at fault, e.g. `timeout_min` or `network_policy.allow_cidrs[2]`.
        field: String,
        /// The rule it broke.
        reason: String,
    },

    /// The server answered with an error status.
    #[error(transparent)]
    Api(Box<ApiError>),

    /// No answer: the transport failed.
    #[error("Failed to {operation}: {method} {path}: {source}")]
    Transport {
        /// The operation that failed.
        operation: Operation,
        /// The request's method.
        method: Method,
        /// The request's path.
        path: String,
        /// Whether the retry rules would retry this for this operation.
        retryable: bool,
        /// What the transport reported.
        #[source]
        source: TransportError,
    },

    /// The success answer could not be decoded.
    #[error(transparent)]
    Decode(Box<DecodeError>),

    /// The total deadline passed before the operation could finish.
    #[error(
        "Failed to {operation}: deadline of {deadline:?} exceeded after {attempts} attempt(s); last error: {last}"
    )]
    DeadlineExceeded {
        /// The operation that ran out of time.
        operation: Operation,
        /// The deadline that was exceeded (a duration from the start).
        deadline: Duration,
        /// How many requests were sent.
        attempts: u32,
        /// The error that would have been retried.
        last: Box<Error>,
    },

    /// While waiting for a sandbox, it reached a state it will not come back from.
    #[error(
        "Failed to {operation}: sandbox {sandbox_id} is {state} while waiting for it to be {target}"
    )]
    WaitFailed {
        /// The operation during which the wait happened.
        operation: Operation,
        /// The sandbox waited on.
        sandbox_id: String,
        /// The state it reached.
        state: SandboxState,
        /// The state that was wanted.
        target: SandboxState,
    },

    /// While waiting for a sandbox, the wait deadline passed.
    #[error(
        "Failed to {operation}: sandbox {sandbox_id} was still {state} after {waited:?} (wanted {target})"
    )]
    WaitTimedOut {
        /// The operation during which the wait happened.
        operation: Operation,
        /// The sandbox waited on.
        sandbox_id: String,
        /// The last state seen.
        state: SandboxState,
        /// The state that was wanted.
        target: SandboxState,
        /// How long was waited.
        waited: Duration,
    },

    /// A state machine was driven out of order (usage error).
    #[error("state machine misuse: {0}")]
    Misuse(&'static str),
}

impl Error {
    /// Whether this is the caller's mistake (bad config, bad input, misuse), as
    /// opposed to the server or network misbehaving. Usage errors never send anything.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::Config(_) | Error::Validation { .. } | Error::Misuse(_)
        )
    }

    /// Whether the request may have reached the server (and so may have acted).
    pub fn may_have_reached_server(&self) -> bool {
        match self {
            Error::Config(_) | Error::Validation { .. } | Error::Misuse(_) => false,
            Error::Transport { source, .. } => source.may_have_been_sent,
            Error::DeadlineExceeded { last, .. } => last.may_have_reached_server(),
            Error::Api(_)
            | Error::Decode(_)
            | Error::WaitFailed { .. }
            | Error::WaitTimedOut { .. } => true,
        }
    }

    /// Whether the retry rules consider this failure worth another attempt.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(api) => api.retryable,
            Error::Transport { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// The HTTP status, for API errors.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::DeadlineExceeded { last, .. } => last.status(),
            _ => None,
        }
    }

    /// The API error, if this is one (or wraps one).
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            Error::DeadlineExceeded { last, .. } => last.api(),
            _ => None,
        }
    }

    /// The field at fault, for validation and decode errors.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Validation { field, .. } => Some(field),
            Error::Decode(d) => Some(&d.field),
            Error::Config(c) => c.field(),
            _ => None,
        }
    }

    /// A stable snake_case name of the error's class, for machine-readable output.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Validation { .. } => "validation",
            Error::Api(api) => api.kind.name(),
            Error::Transport { .. } => "transport",
            Error::Decode(_) => "decode",
            Error::DeadlineExceeded { .. } => "deadline_exceeded",
            Error::WaitFailed { .. } => "wait_failed",
            Error::WaitTimedOut { .. } => "wait_timed_out",
            Error::Misuse(_) => "misuse",
        }
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(Box::new(e))
    }
}
