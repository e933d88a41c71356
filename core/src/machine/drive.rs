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

struct Blocking<'a, T: ?Sized, C: ?Sized>(&'a T, Time<'a, C>);

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
        match &self.1.own {
            Some(own) => own.advance_to(deadline),
            None => self.1.clock.sleep_until(deadline),
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
    if let Some(own) = own {
        let elapsed = match &outcome {
            Ok(response) => response.extensions().get::<Elapsed>().map(|e| e.0),
            Err(error) => error.elapsed(),
        };
        if let Some(elapsed) = elapsed {
            own.advance(elapsed);
        }
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
    let time = Time {
        own: clock.call_timeline(),
        clock,
    };
    let mut future = pin!(drive(machine, Blocking(transport, time)));
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
    let time = Time {
        own: clock.call_timeline(),
        clock,
    };
    drive(machine, Async(transport, time)).await
}

async fn drive<M: Machine>(mut machine: M, io: impl Io) -> Result<M::Output, Error> {
    #[cfg(feature = "tracing")]
    let span = tracing::debug_span!("leap0", operation = tracing::field::Empty);
    #[cfg(feature = "tracing")]
    let mut named = false;
    loop {
        match machine.poll(io.now()) {
            Action::Send(attempt) => {
                #[cfg(feature = "tracing")]
                {
                    if !named {
                        span.record("operation", attempt.operation.name());
                        named = true;
                    }
                    let _enter = span.enter();
                    tracing::debug!(route = attempt.route, attempt = attempt.number, "sending");
                }
                #[cfg(feature = "tracing")]
                let (route, number) = (attempt.route, attempt.number);
                let outcome = io.send(attempt.request, attempt.timeout).await;
                #[cfg(feature = "tracing")]
                {
                    let _enter = span.enter();
                    match &outcome {
                        Ok(response) => tracing::debug!(
                            route,
                            attempt = number,
                            status = response.status().as_u16(),
                            "answered"
                        ),
                        Err(e) => {
                            tracing::debug!(route, attempt = number, error = %e.kind, may_have_been_sent = e.may_have_been_sent, "no answer")
                        }
                    }
                }
                match outcome {
                    Ok(response) => machine.handle_response(io.now(), response),
                    Err(error) => machine.handle_transport_error(io.now(), error),
                }
            }
            Action::WaitUntil(deadline) => {
                #[cfg(feature = "tracing")]
                {
                    let _enter = span.enter();
                    let delay = deadline.saturating_duration_since(io.now());
                    tracing::debug!(delay_ms = delay.as_millis() as u64, "waiting");
                }
                io.sleep_until(deadline).await;
            }
            // Every answer is handed over before the next poll.
            Action::Awaiting => return Err(Error::Misuse(misuse::AWAITING_IN_DRIVER)),
            Action::Done(result) => return result,
        }
    }
}
