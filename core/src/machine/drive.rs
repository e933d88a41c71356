//! The one drive loop. Blocking and async clients both run machines through
//! [`drive`]; the blocking side simply hands it futures that are always ready.
//!
//! Nothing here demands `Send`: a run's future is `Send` exactly when the
//! machine, transport and clock futures are.
//!
//! A clock that gives each call a timeline of its own ([`Clock::call_timeline`])
//! gets one per run: the run's waits and its transport's [`Elapsed`] times move
//! that timeline only, so concurrent runs never age each other's deadlines.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::cancel::{Cancel, unless_cancelled};
use super::{Action, Machine, misuse};
use crate::error::Error;
use crate::time::Timestamp;
use crate::transport::{
    AsyncClock, AsyncTransport, Clock, Elapsed, Request, Response, Transport, TransportError,
    VirtualClock,
};

/// What the drive loop needs from the outside: time, sending, waiting.
trait Io {
    fn now(&self) -> Timestamp;
    fn send(
        &self,
        request: Request,
        timeout: Duration,
    ) -> impl Future<Output = Result<Response, TransportError>>;
    fn sleep_until(&self, deadline: Timestamp) -> impl Future<Output = ()>;
}

/// The call's own timeline when its clock gives calls one, else the clock's.
struct Time<'a, C: ?Sized> {
    clock: &'a C,
    own: Option<VirtualClock>,
}

struct Blocking<'a, T: ?Sized, C: ?Sized>(&'a T, Time<'a, C>, Option<&'a Cancel>);

/// How long a blocking wait sleeps at a time when a [`Cancel`] may end it.
const CANCEL_SLICE: Duration = Duration::from_millis(50);

impl<T: Transport + ?Sized, C: Clock + ?Sized> Io for Blocking<'_, T, C> {
    fn now(&self) -> Timestamp {
        match &self.1.own {
            Some(own) => own.now(),
            None => self.1.clock.now(),
        }
    }

    fn send(
        &self,
        request: Request,
        timeout: Duration,
    ) -> impl Future<Output = Result<Response, TransportError>> {
        std::future::ready(elapse(self.1.own.as_ref(), self.0.send(request, timeout)))
    }

    fn sleep_until(&self, deadline: Timestamp) -> impl Future<Output = ()> {
        match (&self.1.own, self.2) {
            (Some(own), _) => own.advance_to(deadline),
            (None, None) => self.1.clock.sleep_until(deadline),
            // In slices, so that a cancellation from another thread is seen.
            (None, Some(cancel)) => loop {
                let now = self.1.clock.now();
                if now >= deadline || cancel.is_cancelled() {
                    break;
                }
                self.1.clock.sleep_until(deadline.min(now + CANCEL_SLICE));
            },
        }
        std::future::ready(())
    }
}

struct Async<'a, T: ?Sized, C: ?Sized>(&'a T, Time<'a, C>);

impl<T: AsyncTransport + ?Sized, C: AsyncClock + ?Sized> Io for Async<'_, T, C> {
    fn now(&self) -> Timestamp {
        match &self.1.own {
            Some(own) => own.now(),
            None => self.1.clock.now(),
        }
    }

    async fn send(&self, request: Request, timeout: Duration) -> Result<Response, TransportError> {
        elapse(self.1.own.as_ref(), self.0.send(request, timeout).await)
    }

    async fn sleep_until(&self, deadline: Timestamp) {
        match &self.1.own {
            Some(own) => own.advance_to(deadline),
            None => self.1.clock.sleep_until(deadline).await,
        }
    }
}

/// Moves a call's own timeline by the time its transport says the exchange took.
fn elapse(
    own: Option<&VirtualClock>,
    outcome: Result<Response, TransportError>,
) -> Result<Response, TransportError> {
    if let (Some(own), Some(elapsed)) = (own, Elapsed::of(&outcome)) {
        own.advance(elapsed);
    }
    outcome
}

/// Runs `machine` to completion over a blocking transport and clock: what
/// [`SnapshotsClient`](crate::SnapshotsClient) does for every call.
pub fn run_blocking<M, T, C>(machine: M, transport: &T, clock: &C) -> Result<M::Output, Error>
where
    M: Machine,
    T: Transport + ?Sized,
    C: Clock + ?Sized,
{
    run_blocking_cancellable(machine, transport, clock, None)
}

/// [`run_blocking`], ending with [`Error::Cancelled`] once `cancel` fires
/// (see [`Cancel`]).
pub fn run_blocking_cancellable<M, T, C>(
    machine: M,
    transport: &T,
    clock: &C,
    cancel: Option<&Cancel>,
) -> Result<M::Output, Error>
where
    M: Machine,
    T: Transport + ?Sized,
    C: Clock + ?Sized,
{
    let time = Time {
        own: clock.call_timeline(),
        clock,
    };
    let mut future = pin!(drive(machine, Blocking(transport, time, cancel), cancel));
    let mut cx = Context::from_waker(Waker::noop());
    // Every future the blocking `Io` hands out is ready, so the first poll
    // completes; looping keeps this correct without assuming it.
    loop {
        if let Poll::Ready(result) = future.as_mut().poll(&mut cx) {
            return result;
        }
    }
}

/// Runs `machine` to completion over an async transport and clock: what
/// [`AsyncSnapshotsClient`](crate::AsyncSnapshotsClient) does for every call.
pub async fn run_async<M, T, C>(machine: M, transport: &T, clock: &C) -> Result<M::Output, Error>
where
    M: Machine,
    T: AsyncTransport + ?Sized,
    C: AsyncClock + ?Sized,
{
    run_async_cancellable(machine, transport, clock, None).await
}

/// [`run_async`], ending with [`Error::Cancelled`] once `cancel` fires; if
/// the future is dropped before it finishes, `cancel` records what the call
/// may have left (see [`Cancel::leftovers`]).
pub async fn run_async_cancellable<M, T, C>(
    machine: M,
    transport: &T,
    clock: &C,
    cancel: Option<&Cancel>,
) -> Result<M::Output, Error>
where
    M: Machine,
    T: AsyncTransport + ?Sized,
    C: AsyncClock + ?Sized,
{
    let time = Time {
        own: clock.call_timeline(),
        clock,
    };
    drive(machine, Async(transport, time), cancel).await
}

/// A machine being driven. Dropped before it finished (a dropped future),
/// it is cancelled and its leftovers recorded in the call's [`Cancel`].
struct Running<'c, M: Machine> {
    machine: M,
    cancel: Option<&'c Cancel>,
    now: Timestamp,
    finished: bool,
}

impl<M: Machine> Running<'_, M> {
    /// Ends the call as cancelled, recording its leftovers.
    fn cancelled(&mut self) -> Error {
        self.finished = true;
        let error = self.machine.cancel(self.now);
        if let (Some(cancel), Error::Cancelled { leftovers, .. }) = (self.cancel, &error) {
            cancel.record(leftovers.clone());
        }
        error
    }

    fn finish<T>(&mut self, result: Result<T, Error>) -> Result<T, Error> {
        self.finished = true;
        result
    }
}

impl<M: Machine> Drop for Running<'_, M> {
    fn drop(&mut self) {
        if !self.finished && self.cancel.is_some() {
            self.cancelled();
        }
    }
}

async fn drive<M: Machine>(
    machine: M,
    io: impl Io,
    cancel: Option<&Cancel>,
) -> Result<M::Output, Error> {
    let mut running = Running {
        machine,
        cancel,
        now: io.now(),
        finished: false,
    };
    loop {
        running.now = io.now();
        if cancel.is_some_and(Cancel::is_cancelled) {
            return Err(running.cancelled());
        }
        match running.machine.poll(running.now) {
            Action::Send(attempt) => {
                let (request, timeout) = (attempt.request, attempt.timeout);
                // The transport works inside the call's span, so its own log
                // lines nest there.
                let send = attempt.telemetry.around(|| io.send(request, timeout));
                let Some(outcome) = unless_cancelled(send, cancel).await else {
                    // Cancelled with the request in flight: it may have acted.
                    running.now = io.now();
                    return Err(running.cancelled());
                };
                running.now = io.now();
                match outcome {
                    Ok(response) => running.machine.handle_response(running.now, response),
                    Err(error) => running.machine.handle_transport_error(running.now, error),
                }
            }
            Action::WaitUntil(deadline) => {
                // Cancelled or not, the next turn of the loop decides.
                let _ = unless_cancelled(io.sleep_until(deadline), cancel).await;
            }
            // Every answer is handed over before the next poll.
            Action::Awaiting => {
                return running.finish(Err(Error::Misuse(misuse::AWAITING_IN_DRIVER)));
            }
            Action::Done(result) => return running.finish(result),
        }
    }
}
