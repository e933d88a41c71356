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
//! The contract: call [`poll`](Machine::poll) with the current time; on
//! [`Action::Send`], send the request with its timeout and feed back exactly one
//! of [`handle_response`](Machine::handle_response) or
//! [`handle_transport_error`](Machine::handle_transport_error); on
//! [`Action::WaitUntil`], poll again once that time has come (polling early is
//! harmless: the machine answers with the same deadline); on [`Action::Done`],
//! stop. Breaking the contract yields [`Error::Misuse`],
//! never a panic.
//!
//! Machines compose: [`Retry`] wraps one [`Exchange`](crate::Exchange);
//! [`Paginate`] and [`WaitFor`] are built from `Retry`s; [`AndThen`] chains two
//! and [`Map`] transforms an output.

mod and_then;
mod paginate;
mod retry;
mod wait;

use std::time::Duration;

pub use and_then::{AndThen, Map};
pub use paginate::{Paged, Paginate};
pub use retry::{Retry, status_is_retryable, transport_failure_is_retryable};
pub use wait::WaitFor;

use crate::error::{Error, Operation};
use crate::time::Timestamp;
use crate::transport::{Request, Response, TransportError};

/// One request the driver must send now.
#[derive(Debug)]
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
}

/// What a machine wants next.
#[derive(Debug)]
pub enum Action<T> {
    /// Send this request, then report the outcome.
    Send(Attempt),
    /// Nothing to do until this time; then poll again.
    WaitUntil(Timestamp),
    /// Finished, with this result. Polling again is misuse.
    Done(Result<T, Error>),
}

/// An operation as a pure state machine. See the [module docs](self) for the
/// driving contract. Object safe: `Box<dyn Machine<Output = T>>` works.
pub trait Machine {
    /// What the operation produces.
    type Output;

    /// Says what to do next, given the current time.
    fn poll(&mut self, now: Timestamp) -> Action<Self::Output>;

    /// Reports the answer to the last [`Action::Send`].
    fn handle_response(&mut self, now: Timestamp, response: Response);

    /// Reports that the last [`Action::Send`] got no answer.
    fn handle_transport_error(&mut self, now: Timestamp, error: TransportError);
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
}

/// Misuse messages, shared by every machine.
pub(crate) mod misuse {
    pub(crate) const POLL_WHILE_AWAITING: &str =
        "poll called while the answer to a Send is still awaited";
    pub(crate) const UNEXPECTED_ANSWER: &str =
        "handle_response or handle_transport_error called without an outstanding Send";
    pub(crate) const POLL_AFTER_DONE: &str = "poll called after Done";
}

/// A finished machine's result, handed over exactly once.
pub(crate) struct Outcome<T>(Option<Result<T, Error>>);

impl<T> Outcome<T> {
    pub(crate) fn new(result: Result<T, Error>) -> Self {
        Outcome(Some(result))
    }

    pub(crate) fn take(&mut self) -> Action<T> {
        Action::Done(
            self.0
                .take()
                .unwrap_or(Err(Error::Misuse(misuse::POLL_AFTER_DONE))),
        )
    }
}
