//! [`AndThen`] and [`Map`]: chain machines, or transform a machine's output.

use super::{Action, Machine, WaitProgress, WaitReason, misuse};
use crate::error::{Error, Leftover};
use crate::operation::Operation;
use crate::time::Timestamp;
use crate::transport::{Response, TransportError};

/// Runs `first`; when it succeeds, builds the next machine from its output with
/// `next` and runs that. Errors of either end the chain.
pub struct AndThen<A: Machine, B, F> {
    state: State<A, B, F>,
}

enum State<A, B, F> {
    First(A, Option<F>),
    Second(B),
}

impl<A, B, F> AndThen<A, B, F>
where
    A: Machine,
    B: Machine,
    F: FnOnce(A::Output) -> B,
{
    /// Chains `first` and the machine `next` makes of its output.
    pub fn new(first: A, next: F) -> Self {
        AndThen {
            state: State::First(first, Some(next)),
        }
    }
}

impl<A, B, F> Machine for AndThen<A, B, F>
where
    A: Machine,
    B: Machine,
    F: FnOnce(A::Output) -> B,
{
    type Output = B::Output;

    fn poll(&mut self, now: Timestamp) -> Action<B::Output> {
        match &mut self.state {
            State::First(first, next) => match first.poll(now).split() {
                Ok(Ok(output)) => match next.take() {
                    Some(make) => {
                        self.state = State::Second(make(output));
                        self.poll(now)
                    }
                    None => Action::Done(Err(Error::Misuse(misuse::POLL_AFTER_DONE))),
                },
                Ok(Err(e)) => Action::Done(Err(e)),
                Err(pending) => pending,
            },
            State::Second(second) => second.poll(now),
        }
    }

    fn handle_response(&mut self, now: Timestamp, response: Response) {
        match &mut self.state {
            State::First(first, _) => first.handle_response(now, response),
            State::Second(second) => second.handle_response(now, response),
        }
    }

    fn handle_transport_error(&mut self, now: Timestamp, error: TransportError) {
        match &mut self.state {
            State::First(first, _) => first.handle_transport_error(now, error),
            State::Second(second) => second.handle_transport_error(now, error),
        }
    }

    fn progress(&self) -> Option<WaitProgress<'_>> {
        match &self.state {
            State::First(first, _) => first.progress(),
            State::Second(second) => second.progress(),
        }
    }

    fn wait_reason(&self) -> Option<WaitReason> {
        match &self.state {
            State::First(first, _) => first.wait_reason(),
            State::Second(second) => second.wait_reason(),
        }
    }

    fn operation(&self) -> Option<Operation> {
        match &self.state {
            State::First(first, _) => first.operation(),
            State::Second(second) => second.operation(),
        }
    }

    fn leftovers(&self) -> Vec<Leftover> {
        match &self.state {
            State::First(first, _) => first.leftovers(),
            State::Second(second) => second.leftovers(),
        }
    }
}

/// Transforms a machine's output with a function (no further requests).
pub struct Map<M, F> {
    inner: M,
    f: Option<F>,
}

impl<M, F, T> Map<M, F>
where
    M: Machine,
    F: FnOnce(M::Output) -> T,
{
    /// Applies `f` to `inner`'s output.
    pub fn new(inner: M, f: F) -> Self {
        Map { inner, f: Some(f) }
    }

    /// The machine whose output is transformed.
    pub fn inner(&self) -> &M {
        &self.inner
    }
}

impl<M, F, T> Machine for Map<M, F>
where
    M: Machine,
    F: FnOnce(M::Output) -> T,
{
    type Output = T;

    fn poll(&mut self, now: Timestamp) -> Action<T> {
        match self.inner.poll(now).split() {
            Ok(Ok(output)) => match self.f.take() {
                Some(f) => Action::Done(Ok(f(output))),
                None => Action::Done(Err(Error::Misuse(misuse::POLL_AFTER_DONE))),
            },
            Ok(Err(e)) => Action::Done(Err(e)),
            Err(pending) => pending,
        }
    }

    fn handle_response(&mut self, now: Timestamp, response: Response) {
        self.inner.handle_response(now, response);
    }

    fn handle_transport_error(&mut self, now: Timestamp, error: TransportError) {
        self.inner.handle_transport_error(now, error);
    }

    fn progress(&self) -> Option<WaitProgress<'_>> {
        self.inner.progress()
    }

    fn wait_reason(&self) -> Option<WaitReason> {
        self.inner.wait_reason()
    }

    fn operation(&self) -> Option<Operation> {
        self.inner.operation()
    }

    fn leftovers(&self) -> Vec<Leftover> {
        self.inner.leftovers()
    }
}
