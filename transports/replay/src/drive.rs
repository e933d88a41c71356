//! A virtual-time loop for many machines: what an embedder's event loop does,
//! with time that moves only when every machine waits.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use leap0_core::machine::{Action, Machine};
use leap0_core::transport::{Elapsed, Transport, VirtualClock};
use leap0_core::{Error, Timestamp};

/// A machine and, once it is done, its result.
type Slot<M> = (M, Option<Result<<M as Machine>::Output, Error>>);

/// Drives `machines` together on one thread, as an event loop would, over a
/// blocking `transport` (a [`Replayer`](crate::Replayer), usually) and on
/// virtual time starting at `clock`'s: each machine has a time of its own,
/// moved by its waits and by the [`Elapsed`] time its answers report, and the
/// machine whose next step comes earliest always goes first (ties in the
/// order given). So no machine's backoff ages another's deadlines, requests
/// leave in the order they would have live, and the result is the same on
/// every run. `clock` ends at the time the last machine finished.
///
/// The results come back in the order of `machines`.
///
/// ```
/// use std::time::Duration;
/// use leap0_core::transport::{Request, Response, TransportError, VirtualClock};
/// use leap0_core::{Call, Config, GetSandbox, http};
///
/// // Every status read answers `running`.
/// let server = |_: Request, _: Duration| -> Result<Response, TransportError> {
///     let body = br#"{"id":"sb-1","state":"running"}"#.to_vec();
///     http::Response::builder().status(200).body(body).map_err(TransportError::other)
/// };
/// let config = Config::new("key")?;
/// let machines: Vec<_> = (0..3)
///     .map(|_| Call::WaitUntilRunning(GetSandbox::new("sb-1")).machine(&config))
///     .collect();
/// let results = leap0_replay::drive_all(machines, &server, &VirtualClock::new());
/// assert!(results.iter().all(Result::is_ok));
/// # Ok::<(), leap0_core::config::ConfigError>(())
/// ```
pub fn drive_all<M, T>(
    machines: Vec<M>,
    transport: &T,
    clock: &VirtualClock,
) -> Vec<Result<M::Output, Error>>
where
    M: Machine,
    T: Transport + ?Sized,
{
    let start = clock.now();
    let mut machines: Vec<Slot<M>> = machines.into_iter().map(|m| (m, None)).collect();
    let mut next: BinaryHeap<Reverse<(Timestamp, usize)>> =
        (0..machines.len()).map(|i| Reverse((start, i))).collect();
    let mut end = start;
    while let Some(Reverse((now, i))) = next.pop() {
        let Some((machine, result)) = machines.get_mut(i) else {
            continue;
        };
        match machine.poll(now) {
            Action::Send(attempt) => {
                let outcome = transport.send(attempt.request, attempt.timeout);
                let later = now + Elapsed::of(&outcome).unwrap_or_default();
                match outcome {
                    Ok(response) => machine.handle_response(later, response),
                    Err(error) => machine.handle_transport_error(later, error),
                }
                next.push(Reverse((later, i)));
            }
            Action::WaitUntil(deadline) => next.push(Reverse((deadline.max(now), i))),
            Action::Done(done) => {
                end = end.max(now);
                *result = Some(done);
            }
            // The answer was handed over above; nothing can be outstanding.
            Action::Awaiting => {
                *result = Some(Err(Error::Misuse(
                    "a machine awaited an answer the loop had already delivered",
                )));
            }
        }
    }
    clock.advance_to(end);
    machines
        .into_iter()
        .map(|(_, result)| {
            result.unwrap_or(Err(Error::Misuse("the loop ended before the machine did")))
        })
        .collect()
}
