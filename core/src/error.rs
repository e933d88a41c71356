//! One error type for every operation.
//!
//! Variants separate "you used the API wrongly" ([`Error::Config`],
//! [`Error::Validation`], [`Error::Misuse`]: nothing was sent) from "the server or the
//! network misbehaved" (everything else). Each error knows whether its request may
//! have reached the server and whether the retry rules consider it retryable.
//! Messages start as the official SDK's do: `Failed to create snapshot: ...`.
//!
//! Text that came from the server (messages, states, request ids) is shown with
//! control characters escaped, so that no answer can move a terminal's cursor or
//! forge a line. `{:?}` prints the message and its chain of causes, one per
//! line, as test harnesses and `main` show it; `{:#?}` prints the fields.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use http::{Method, StatusCode};

use crate::config::ConfigError;
use crate::model::SandboxState;
pub use crate::operation::Operation;
pub use crate::retry_table::ApiErrorKind;
use crate::retry_table::{Meaning, RetryFor};
use crate::text::{Escaped, human};
use crate::transport::TransportError;

/// One entry of a 400 body's `errors` list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct FieldError {
    /// The request field the server rejected.
    pub field: String,
    /// Why.
    pub error: String,
}

/// The server answered with a status other than the operation's success status.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    /// The server's message: the `message` string of a JSON body; otherwise the
    /// start of the body as text (a JSON body without a `message` included).
    pub message: Option<String>,
    /// Field errors of a 400 body.
    pub field_errors: Vec<FieldError>,
    /// How long the server asked us to wait (`Retry-After`, seconds or HTTP-date).
    pub retry_after: Option<Duration>,
    /// The server's request id (`x-request-id`), for support tickets.
    pub request_id: Option<String>,
}

impl ApiError {
    /// Whether the retry rules retry this answer for this operation (see the
    /// [retry table](crate::Error::is_retryable)).
    pub fn is_retryable(&self) -> bool {
        self.retry_for().allows(self.operation.route().idempotent())
    }

    /// Which calls the retry table lets retry this status.
    fn retry_for(&self) -> RetryFor {
        Meaning::of_status(self.status).retry
    }

    /// Whether the server may have acted on the request (everything but 429
    /// and 503, which say it did not).
    pub fn may_have_acted(&self) -> bool {
        Meaning::of_status(self.status).may_have_acted
    }
}

impl FieldError {
    /// The server rejected `field` because of `error`.
    pub fn new(field: impl Into<String>, error: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            error: error.into(),
        }
    }
}

impl StdError for ApiError {}

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
            write!(f, ": {}", Escaped(message))?;
        }
        for e in &self.field_errors {
            write!(f, "; {}: {}", Escaped(&e.field), Escaped(&e.error))?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {})", Escaped(id))?;
        }
        Ok(())
    }
}

/// The success answer could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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

impl StdError for DecodeError {}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Failed to {}: could not decode the response: {}: {} (body starts {:?})",
            self.operation,
            Escaped(&self.field),
            Escaped(&self.reason),
            self.excerpt
        )
    }
}

/// Which limit of [`PaginationLimits`](crate::PaginationLimits) stopped a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// `max_pages`, with its value.
    Pages(u64),
    /// `max_items`, with its value.
    Items(u64),
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Pages(n) => write!(f, "{n} pages (PaginationLimits::max_pages)"),
            Limit::Items(n) => write!(f, "{n} items (PaginationLimits::max_items)"),
        }
    }
}

/// Everything that can go wrong.
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid (usage error; nothing was sent).
    Config(ConfigError),

    /// An input broke a rule of the contract (usage error; nothing was sent).
    Validation {
        /// The operation whose input was rejected.
        operation: Operation,
        /// The field at fault, e.g. `timeout_min` or `network_policy.allow_cidrs[2]`.
        field: String,
        /// The rule it broke.
        reason: String,
    },

    /// The server answered with an error status.
    Api(Box<ApiError>),

    /// No answer: the transport failed.
    Transport {
        /// The operation that failed.
        operation: Operation,
        /// The request's method.
        method: Method,
        /// The request's path.
        path: String,
        /// What the transport reported. Its typed cause, if it attached one, is
        /// this error's [`source`](StdError::source).
        source: TransportError,
    },

    /// The success answer could not be decoded.
    Decode(Box<DecodeError>),

    /// The total deadline passed before the operation could finish.
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
    WaitTimedOut {
        /// The operation during which the wait happened.
        operation: Operation,
        /// The sandbox waited on.
        sandbox_id: String,
        /// The last state seen (`None`: no status read ever answered).
        state: Option<SandboxState>,
        /// The state that was wanted.
        target: SandboxState,
        /// How long was waited.
        waited: Duration,
    },

    /// Listing every page stopped at a limit of
    /// [`PaginationLimits`](crate::PaginationLimits).
    LimitReached {
        /// The listing.
        operation: Operation,
        /// The limit that was reached.
        limit: Limit,
        /// Pages fetched.
        pages: u64,
        /// Items collected (they are dropped with the error).
        items: u64,
        /// The `total_items` the server last reported.
        total_items: u64,
    },

    /// A state machine was driven out of order (usage error).
    Misuse(&'static str),

    /// The caller cancelled the operation before it finished.
    Cancelled {
        /// The operation cancelled, when the machine knows it.
        operation: Option<Operation>,
        /// What the operation may have left behind on the server.
        leftovers: Vec<Leftover>,
    },
}

/// Something a cancelled operation may have left on the server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Leftover {
    /// A sandbox that exists (it was started, and the wait for it was
    /// cancelled): delete it with [`Leftover::cleanup`].
    Sandbox {
        /// Its id.
        id: String,
    },
    /// A sandbox that may have been started, whose id is unknown (the answer
    /// never came): look among the sandboxes made from `from` since the call.
    UnknownSandbox {
        /// The snapshot or template it would have been started from.
        from: String,
    },
    /// A snapshot that may have been created from a sandbox (the answer never
    /// came): list the snapshots named `name` (when one was given) to find it.
    Snapshot {
        /// The sandbox snapshotted.
        sandbox_id: String,
        /// The name asked for; `None`: the server would have made one up.
        name: Option<String>,
    },
}

impl fmt::Display for Leftover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Leftover::Sandbox { id } => write!(f, "sandbox {} is running", Escaped(id)),
            Leftover::UnknownSandbox { from } => write!(
                f,
                "a sandbox may have been started from {} (its id is unknown)",
                Escaped(from)
            ),
            Leftover::Snapshot {
                sandbox_id,
                name: Some(name),
            } => write!(
                f,
                "a snapshot {} of sandbox {} may have been created",
                Escaped(name),
                Escaped(sandbox_id)
            ),
            Leftover::Snapshot {
                sandbox_id,
                name: None,
            } => write!(
                f,
                "a snapshot of sandbox {} may have been created (under a name the server chose)",
                Escaped(sandbox_id)
            ),
        }
    }
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
            Error::Cancelled { leftovers, .. } => !leftovers.is_empty(),
            Error::Transport { source, .. } => source.may_have_been_sent,
            Error::DeadlineExceeded { last, .. } => last.may_have_reached_server(),
            Error::Api(_)
            | Error::Decode(_)
            | Error::WaitFailed { .. }
            | Error::WaitTimedOut { .. }
            | Error::LimitReached { .. } => true,
        }
    }

    /// Whether the retry rules consider this failure worth another attempt:
    /// the one retry table (429 and 503 for any call; 502, 504 and failures
    /// after sending for GET and DELETE; failures before sending for any call)
    /// read with the operation's idempotency.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(api) => api.is_retryable(),
            Error::Transport {
                operation, source, ..
            } => Meaning::of_transport(source.kind, source.may_have_been_sent)
                .retry
                .allows(operation.route().idempotent()),
            _ => false,
        }
    }

    /// Whether the server may have acted on the request that failed so: 429
    /// and 503 say it did not, and neither did a request that never left.
    pub fn may_have_acted(&self) -> bool {
        match self {
            Error::Api(api) => api.may_have_acted(),
            other => other.may_have_reached_server(),
        }
    }

    /// The HTTP status, for API errors.
    pub fn status(&self) -> Option<StatusCode> {
        self.api().map(|api| api.status)
    }

    /// The API error, if this is one (or wraps one).
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            Error::DeadlineExceeded { last, .. } => last.api(),
            _ => None,
        }
    }

    /// The transport failure, if this is one (or wraps one).
    pub fn transport(&self) -> Option<&TransportError> {
        match self {
            Error::Transport { source, .. } => Some(source),
            Error::DeadlineExceeded { last, .. } => last.transport(),
            _ => None,
        }
    }

    /// The operation that failed, when known.
    pub fn operation(&self) -> Option<Operation> {
        match self {
            Error::Config(_) | Error::Misuse(_) => None,
            Error::Cancelled { operation, .. } => *operation,
            Error::Api(api) => Some(api.operation),
            Error::Decode(d) => Some(d.operation),
            Error::Validation { operation, .. }
            | Error::Transport { operation, .. }
            | Error::DeadlineExceeded { operation, .. }
            | Error::WaitFailed { operation, .. }
            | Error::WaitTimedOut { operation, .. }
            | Error::LimitReached { operation, .. } => Some(*operation),
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

    /// A stable snake_case name of the error's class, for machine-readable
    /// output: the API kinds (`not_found`, ...), the transport kinds (`timeout`,
    /// `connect`, `tls`, `reset`, ...), or the variant (`validation`, ...).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Validation { .. } => "validation",
            Error::Api(api) => api.kind.name(),
            Error::Transport { source, .. } => source.kind.name(),
            Error::Decode(_) => "decode",
            Error::DeadlineExceeded { .. } => "deadline_exceeded",
            Error::WaitFailed { .. } => "wait_failed",
            Error::WaitTimedOut { .. } => "wait_timed_out",
            Error::LimitReached { .. } => "limit_reached",
            Error::Misuse(_) => "misuse",
            Error::Cancelled { .. } => "cancelled",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(e) => fmt::Display::fmt(e, f),
            Error::Validation {
                operation,
                field,
                reason,
            } => write!(f, "Failed to {operation}: invalid {field}: {reason}"),
            Error::Api(e) => fmt::Display::fmt(e, f),
            Error::Transport {
                operation,
                method,
                path,
                source,
                ..
            } => write!(
                f,
                "Failed to {operation}: {method} {path}: {}",
                Escaped(&source.to_string())
            ),
            Error::Decode(e) => fmt::Display::fmt(e, f),
            Error::DeadlineExceeded {
                operation,
                deadline,
                attempts,
                last,
            } => write!(
                f,
                "Failed to {operation}: deadline of {} exceeded after {attempts} attempt(s); last error: {last}",
                human(*deadline)
            ),
            Error::WaitFailed {
                operation,
                sandbox_id,
                state,
                target,
            } => write!(
                f,
                "Failed to {operation}: sandbox {} is {} while waiting for it to be {target}",
                Escaped(sandbox_id),
                Escaped(state.as_str())
            ),
            Error::WaitTimedOut {
                operation,
                sandbox_id,
                state,
                target,
                waited,
            } => match state {
                Some(state) => write!(
                    f,
                    "Failed to {operation}: sandbox {} was still {} after {} (wanted {target})",
                    Escaped(sandbox_id),
                    Escaped(state.as_str()),
                    human(*waited)
                ),
                None => write!(
                    f,
                    "Failed to {operation}: no status read of sandbox {} answered within {} (wanted {target})",
                    Escaped(sandbox_id),
                    human(*waited)
                ),
            },
            Error::LimitReached {
                operation,
                limit,
                pages,
                items,
                total_items,
            } => write!(
                f,
                "Failed to {operation}: stopped at the limit of {limit} after {pages} page(s), with {items} of the {total_items} items the server reports collected; raise the limit with Config::builder().pagination(PaginationLimits::new(max_pages, max_items))"
            ),
            Error::Misuse(what) => write!(f, "state machine misuse: {what}"),
            Error::Cancelled {
                operation,
                leftovers,
            } => {
                match operation {
                    Some(operation) => write!(f, "Failed to {operation}: cancelled")?,
                    None => f.write_str("cancelled")?,
                }
                if leftovers.is_empty() {
                    return f.write_str("; nothing was left on the server");
                }
                f.write_str("; it may have left behind: ")?;
                for (i, leftover) in leftovers.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{leftover}")?;
                }
                Ok(())
            }
        }
    }
}

impl StdError for Error {
    /// The cause this error's message does not already include: the typed cause
    /// a transport attached (the replayer's mismatch report, for one). The other
    /// variants carry their whole story in their own message.
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Transport { source, .. } => source.source(),
            Error::DeadlineExceeded { last, .. } => last.source(),
            _ => None,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !f.alternate() {
            // What `fn main() -> Result<..>` and `#[test] fn .. -> Result<..>` print.
            write!(f, "{self}")?;
            let mut cause = self.source();
            if cause.is_some() {
                write!(f, "\n\nCaused by:")?;
            }
            while let Some(e) = cause {
                let text = e.to_string();
                let mut lines = text.lines();
                write!(f, "\n    {}", lines.next().unwrap_or_default())?;
                for line in lines {
                    write!(f, "\n    {line}")?;
                }
                cause = e.source();
            }
            return Ok(());
        }
        match self {
            Error::Config(e) => f.debug_tuple("Config").field(e).finish(),
            Error::Validation {
                operation,
                field,
                reason,
            } => f
                .debug_struct("Validation")
                .field("operation", operation)
                .field("field", field)
                .field("reason", reason)
                .finish(),
            Error::Api(e) => f.debug_tuple("Api").field(e).finish(),
            Error::Transport {
                operation,
                method,
                path,
                source,
            } => f
                .debug_struct("Transport")
                .field("operation", operation)
                .field("method", method)
                .field("path", path)
                .field("source", source)
                .finish(),
            Error::Decode(e) => f.debug_tuple("Decode").field(e).finish(),
            Error::DeadlineExceeded {
                operation,
                deadline,
                attempts,
                last,
            } => f
                .debug_struct("DeadlineExceeded")
                .field("operation", operation)
                .field("deadline", deadline)
                .field("attempts", attempts)
                .field("last", last)
                .finish(),
            Error::WaitFailed {
                operation,
                sandbox_id,
                state,
                target,
            } => f
                .debug_struct("WaitFailed")
                .field("operation", operation)
                .field("sandbox_id", sandbox_id)
                .field("state", state)
                .field("target", target)
                .finish(),
            Error::WaitTimedOut {
                operation,
                sandbox_id,
                state,
                target,
                waited,
            } => f
                .debug_struct("WaitTimedOut")
                .field("operation", operation)
                .field("sandbox_id", sandbox_id)
                .field("state", state)
                .field("target", target)
                .field("waited", waited)
                .finish(),
            Error::LimitReached {
                operation,
                limit,
                pages,
                items,
                total_items,
            } => f
                .debug_struct("LimitReached")
                .field("operation", operation)
                .field("limit", limit)
                .field("pages", pages)
                .field("items", items)
                .field("total_items", total_items)
                .finish(),
            Error::Misuse(what) => f.debug_tuple("Misuse").field(what).finish(),
            Error::Cancelled {
                operation,
                leftovers,
            } => f
                .debug_struct("Cancelled")
                .field("operation", operation)
                .field("leftovers", leftovers)
                .finish(),
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
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
