//! Layer B: operations as state machines that do no I/O.
//!
//! A [`Machine`] is driven by one loop with three calls:
//!
//! ```text
//!            ┌───────────────────── poll(now) ─────────────────────┐
//!            ▼                                                     │
//!   ┌─────────────────┐  Send(attempt)   ┌──────────────────────┐  │
//!   │ machine decides ├─────────────────►│ caller sends request │  │
//!   └──┬───────────┬──┘                  └──────────┬───────────┘  │
//!      │           │ WaitUntil(deadline)            │ handle_response(now, resp)
//!      │           ▼                                │ or handle_transport_error(now, err)
//!      │   caller waits until the deadline ─────────┴──────────────┘
//!      │ Done(result)
//!      ▼
//!   finished: the result is handed over exactly once
//! ```
//!
//! The contract:
//!
//! - Call [`poll`](Machine::poll) with the current time. It is always safe to
//!   call: while an answer is awaited it returns [`Action::Awaiting`] and changes
//!   nothing; before a deadline it returns the same [`Action::WaitUntil`]; so an
//!   event loop may poll every machine on every wake-up.
//! - On [`Action::Send`], send the request with its timeout, then feed back
//!   exactly one of [`handle_response`](Machine::handle_response) or
//!   [`handle_transport_error`](Machine::handle_transport_error).
//! - On [`Action::WaitUntil`], poll again once that time has come.
//! - On [`Action::Done`], stop: the result is handed over once; polling again
//!   gives [`Error::Misuse`].
//! - Handing over an answer when none is awaited finishes the machine with
//!   [`Error::Misuse`]. Nothing ever panics.
//!
//! Machines compose: [`Retry`] wraps one [`Exchange`](crate::Exchange);
//! [`Paginate`], [`WaitFor`] and [`StartAndWait`] are built from `Retry`s;
//! [`AndThen`] chains two and [`Map`] transforms an output. Every client call
//! is reachable as a machine through [`Call::machine`](crate::Call::machine).
//!
//! [`run_blocking`] and [`run_async`] are the one drive loop the clients use.
//!
//! # Telemetry
//!
//! Machines report themselves, so a machine driven by any loop (the clients',
//! an event loop's, a WASM host's) reports the same spans and events.
//! [`Machine::wait_reason`] says why a machine waits.
//!
//! With the `tracing` feature, each call (the outermost machine a constructor
//! builds) owns one `leap0` span, made where the machine is built (so it nests
//! in the caller's span then), with the field `leap0.operation`. Every event of
//! the call names that span as its parent:
//!
//! | event | fields |
//! |---|---|
//! | `sending` | `http.request.method`, `url.template`, `http.request.resend_count` (resends only), `leap0.operation` |
//! | `answered` / `no answer` | the same, plus `http.response.status_code` (when answered), `error.type` (the status from 400 on, or the transport failure's kind), `http.client.request.duration` (seconds), `leap0.may_have_been_sent` |
//! | `waiting` | `leap0.wait.reason` (`backoff`, `retry_after`, `poll`), `leap0.wait.delay` (seconds) |
//! | `polled` | `leap0.sandbox.id`, `leap0.sandbox.state`, `leap0.sandbox.target` |
//! | `page` | `leap0.page`, `leap0.page.items`, `leap0.items` (collected so far) |
//!
//! Field names follow the OpenTelemetry HTTP client conventions where one
//! exists. No event sees a header, so the key cannot reach one. A driver of
//! its own runs the transport inside [`Attempt::span`], as the clients do, so
//! the transport's own log lines nest in the call.

mod and_then;
mod cancel;
mod drive;
mod paginate;
mod retry;
mod start;
mod telemetry;
mod wait;

use std::time::Duration;

pub use and_then::{AndThen, Map};
pub use cancel::Cancel;
pub use drive::{run_async, run_async_cancellable, run_blocking, run_blocking_cancellable};
pub use paginate::{Paged, Paginate};
pub use retry::Retry;
pub use start::StartAndWait;
pub use telemetry::WaitReason;
pub use wait::WaitFor;

use crate::error::{Error, Leftover};
use crate::model::SandboxState;
use crate::operation::Operation;
use crate::time::Timestamp;
use crate::transport::{Request, Response, TransportError};

/// One request the driver must send now.
#[derive(Debug)]
#[non_exhaustive]
pub struct Attempt {
    /// The request, complete with headers and body.
    pub request: Request,
    /// How long the transport may take for the whole exchange (the per-call timeout,
    /// shortened so as not to run past the operation's deadline).
    pub timeout: Duration,
    /// 1 for the first try of a request, 2 for its first retry, and so on.
    pub number: u32,
    /// The operation being attempted.
    pub operation: Operation,
    /// The route template, e.g. `/v1/sandbox/{sandbox_id}/snapshot/create`.
    pub route: &'static str,
    pub(crate) telemetry: telemetry::Telemetry,
}

impl Attempt {
    /// The span of the call this attempt belongs to. A driver of its own runs
    /// the transport inside it (`span.in_scope`, or `Instrument::instrument`
    /// for a future), as the clients do, so that the transport's own log lines
    /// nest in the call.
    #[cfg(feature = "tracing")]
    pub fn span(&self) -> &tracing::Span {
        self.telemetry.span()
    }
}

/// What a machine wants next.
#[derive(Debug)]
// Boxing the attempt would cost an allocation per request; an action is made
// and moved once per poll.
#[allow(clippy::large_enum_variant)]
pub enum Action<T> {
    /// Send this request, then report the outcome.
    Send(Attempt),
    /// Nothing to do until this time; then poll again.
    WaitUntil(Timestamp),
    /// The answer to the last [`Send`](Action::Send) is still awaited; report it
    /// with `handle_response` or `handle_transport_error`.
    Awaiting,
    /// Finished, with this result. Polling again is misuse.
    Done(Result<T, Error>),
}

impl<T> Action<T> {
    /// Splits off the result: `Ok(result)` for `Done`, else the same action
    /// re-typed (it carries no result), for a composite machine to pass on.
    // Actions travel by value everywhere; boxing this one would buy nothing.
    #[allow(clippy::result_large_err)]
    pub(crate) fn split<U>(self) -> Result<Result<T, Error>, Action<U>> {
        match self {
            Action::Done(result) => Ok(result),
            Action::Send(attempt) => Err(Action::Send(attempt)),
            Action::WaitUntil(t) => Err(Action::WaitUntil(t)),
            Action::Awaiting => Err(Action::Awaiting),
        }
    }
}

/// How a wait for a sandbox state is going: what a progress display shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitProgress<'a> {
    /// The sandbox waited on.
    pub sandbox_id: &'a str,
    /// The last state seen, if any.
    pub state: Option<&'a SandboxState>,
    /// The state wanted.
    pub target: &'a SandboxState,
    /// When the wait started (once it has).
    pub started: Option<Timestamp>,
    /// When the wait gives up (once it has started).
    pub deadline: Option<Timestamp>,
}

/// An operation as a pure state machine. See the [module docs](self) for the
/// driving contract. Object safe: `Box<dyn Machine<Output = T>>` works.
pub trait Machine {
    /// What the operation produces.
    type Output;

    /// Says what to do next, given the current time. Always safe to call.
    fn poll(&mut self, now: Timestamp) -> Action<Self::Output>;

    /// Reports the answer to the last [`Action::Send`].
    fn handle_response(&mut self, now: Timestamp, response: Response);

    /// Reports that the last [`Action::Send`] got no answer.
    fn handle_transport_error(&mut self, now: Timestamp, error: TransportError);

    /// How a wait for a sandbox is going, for machines that wait (and those
    /// built on them); `None` otherwise.
    fn progress(&self) -> Option<WaitProgress<'_>> {
        None
    }

    /// Why the machine waits, while its last poll said
    /// [`WaitUntil`](Action::WaitUntil): a backoff, a server's `Retry-After`,
    /// or a wait's poll interval. `None` when it is not waiting.
    fn wait_reason(&self) -> Option<WaitReason> {
        None
    }

    /// The operation it runs (the first, for a composite), when it knows.
    fn operation(&self) -> Option<Operation> {
        None
    }

    /// What the operation would leave on the server if it stopped now: a
    /// sandbox started and waited on, or what a request that may have reached
    /// the server may have made.
    fn leftovers(&self) -> Vec<Leftover> {
        Vec::new()
    }

    /// Cancels the operation at `now`: the error it ends with, listing what it
    /// may have left behind ([`Error::Cancelled`]). Drive it no further. A
    /// driver that gives up (a timeout of its own, a user's Ctrl-C, a dropped
    /// future) calls this instead of dropping the machine silently.
    fn cancel(&mut self, now: Timestamp) -> Error {
        let _ = now;
        Error::Cancelled {
            operation: self.operation(),
            leftovers: self.leftovers(),
        }
    }
}

impl<M: Machine + ?Sized> Machine for Box<M> {
    type Output = M::Output;

    fn poll(&mut self, now: Timestamp) -> Action<M::Output> {
        (**self).poll(now)
    }

    fn handle_response(&mut self, now: Timestamp, response: Response) {
        (**self).handle_response(now, response)
    }

    fn handle_transport_error(&mut self, now: Timestamp, error: TransportError) {
        (**self).handle_transport_error(now, error)
    }

    fn progress(&self) -> Option<WaitProgress<'_>> {
        (**self).progress()
    }

    fn wait_reason(&self) -> Option<WaitReason> {
        (**self).wait_reason()
    }

    fn operation(&self) -> Option<Operation> {
        (**self).operation()
    }

    fn leftovers(&self) -> Vec<Leftover> {
        (**self).leftovers()
    }

    fn cancel(&mut self, now: Timestamp) -> Error {
        (**self).cancel(now)
    }
}

/// Misuse messages, shared by every machine.
pub(crate) mod misuse {
    pub(crate) const UNEXPECTED_ANSWER: &str =
        "handle_response or handle_transport_error called without an outstanding Send";
    pub(crate) const POLL_AFTER_DONE: &str = "poll called after Done";
    pub(crate) const AWAITING_IN_DRIVER: &str =
        "the machine awaited an answer the drive loop had already delivered";
}

/// A finished machine's result, handed over exactly once.
pub(crate) struct Outcome<T>(Option<Result<T, Error>>);

impl<T> Outcome<T> {
    pub(crate) fn new(result: Result<T, Error>) -> Self {
        Outcome(Some(result))
    }

    /// The successful output, before it is handed over.
    pub(crate) fn output(&self) -> Option<&T> {
        self.0.as_ref().and_then(|result| result.as_ref().ok())
    }

    pub(crate) fn take(&mut self) -> Action<T> {
        Action::Done(
            self.0
                .take()
                .unwrap_or(Err(Error::Misuse(misuse::POLL_AFTER_DONE))),
        )
    }
}
