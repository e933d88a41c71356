//! [`Retry`]: one [`Exchange`], re-sent after classified failures.

use std::time::Duration;

use super::telemetry::{Sent, Telemetry, WaitReason};
use super::{Action, Attempt, Machine, Outcome, misuse};
use crate::config::{Config, RetryPolicy};
use crate::error::{Error, Leftover};
use crate::exchange::Exchange;
use crate::operation::Operation;
use crate::time::Timestamp;
use crate::transport::{Response, TransportError};

/// Runs one exchange, retrying the failures the [retry table](crate::Error::is_retryable)
/// marks retryable, after capped exponential
/// backoff with seeded jitter. A server's `Retry-After` overrides the computed
/// backoff; the policy's total deadline caps everything (a wait that would pass
/// it ends the operation with [`Error::DeadlineExceeded`] at once, rather than
/// sleeping first).
///
/// When an earlier attempt may have acted on the server (it timed out, or got a
/// 502 or 504), an answer that says the work is already done settles the call
/// (see [`Exchange::settled_by_earlier_attempt`]): a retried delete that finds
/// nothing to delete reports [`Deletion::AlreadyDeleted`](crate::Deletion).
pub struct Retry<E: Exchange> {
    exchange: E,
    config: Config,
    state: State<E::Output>,
    attempts: u32,
    deadline: Option<Timestamp>,
    deadline_set: bool,
    /// Whether an earlier attempt may have reached the server and acted.
    earlier_may_have_acted: bool,
    jitter: SplitMix64,
    telemetry: Telemetry,
}

enum State<T> {
    Ready,
    InFlight(Sent),
    Backoff(Timestamp, WaitReason),
    Finished(Outcome<T>),
}

impl<E: Exchange> Retry<E> {
    /// Runs `exchange` under `config`'s timeout and retry policy, as a call
    /// of its own (with its own span, under the `tracing` feature).
    pub fn new(exchange: E, config: &Config) -> Self {
        Retry::within(exchange, config, Telemetry::call(E::OPERATION))
    }

    /// One exchange of a larger call, reporting to that call's telemetry.
    pub(crate) fn within(exchange: E, config: &Config, telemetry: Telemetry) -> Self {
        Retry {
            telemetry,
            jitter: SplitMix64(config.jitter_stream()),
            exchange,
            config: config.clone(),
            state: State::Ready,
            attempts: 0,
            deadline: None,
            deadline_set: false,
            earlier_may_have_acted: false,
        }
    }

    /// Uses `deadline` (if any) instead of one computed from the policy at the
    /// first poll; composite machines share theirs this way.
    pub fn with_deadline(mut self, deadline: Option<Timestamp>) -> Self {
        self.deadline = deadline;
        self.deadline_set = true;
        self
    }

    /// The exchange being run.
    pub fn exchange(&self) -> &E {
        &self.exchange
    }

    /// Its successful output, once it has one and until it is handed over.
    pub fn output(&self) -> Option<&E::Output> {
        match &self.state {
            State::Finished(outcome) => outcome.output(),
            _ => None,
        }
    }

    fn policy(&self) -> &RetryPolicy {
        self.config.retry()
    }

    fn send(&mut self, now: Timestamp) -> Action<E::Output> {
        let request = match self.exchange.request(&self.config) {
            Ok(request) => request,
            Err(e) => return Action::Done(Err(e)),
        };
        self.attempts += 1;
        let mut timeout = self.config.timeout();
        if let Some(deadline) = self.deadline {
            timeout = timeout.min(deadline.saturating_duration_since(now));
        }
        let route = self.exchange.route();
        let sent = Sent {
            route,
            number: self.attempts,
            at: now,
        };
        self.telemetry.sending(sent);
        self.state = State::InFlight(sent);
        Action::Send(Attempt {
            request,
            timeout,
            number: self.attempts,
            operation: E::OPERATION,
            route: route.template,
            telemetry: self.telemetry.clone(),
        })
    }

    fn finish(&mut self, result: Result<E::Output, Error>) {
        self.state = State::Finished(Outcome::new(result));
    }

    fn failed(&mut self, now: Timestamp, error: Error) {
        self.earlier_may_have_acted |= error.may_have_acted();
        if !error.is_retryable() || self.attempts >= self.policy().max_attempts {
            return self.finish(Err(error));
        }
        let (delay, reason) = match error.api().and_then(|api| api.retry_after) {
            Some(server_says) => (server_says, WaitReason::RetryAfter),
            None => (self.backoff(), WaitReason::Backoff),
        };
        let resume_at = now + delay;
        if let Some(deadline) = self.deadline
            && resume_at >= deadline
        {
            let total = self.policy().total_deadline.unwrap_or(Duration::MAX);
            return self.finish(Err(Error::DeadlineExceeded {
                operation: E::OPERATION,
                deadline: total,
                attempts: self.attempts,
                last: Box::new(error),
            }));
        }
        self.telemetry.waiting(reason, delay);
        self.state = State::Backoff(resume_at, reason);
    }

    /// `initial * 2^(attempts-1)`, capped, then "equal jitter": a seeded random
    /// point in the upper half, so that clients do not retry in lockstep.
    fn backoff(&mut self) -> Duration {
        let policy = self.policy();
        let doublings = self.attempts.saturating_sub(1).min(31);
        let full = policy
            .initial_backoff
            .saturating_mul(1 << doublings)
            .min(policy.max_backoff);
        let half = full / 2;
        let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let extra = if nanos == 0 {
            0
        } else {
            self.jitter.next() % (nanos + 1)
        };
        half + Duration::from_nanos(extra)
    }
}

impl<E: Exchange> Machine for Retry<E> {
    type Output = E::Output;

    fn operation(&self) -> Option<Operation> {
        Some(E::OPERATION)
    }

    /// What the exchange may have made, once a request may have reached the
    /// server (one is in flight, or an earlier one failed after leaving).
    fn leftovers(&self) -> Vec<Leftover> {
        let may_have_acted =
            matches!(self.state, State::InFlight(_)) || self.earlier_may_have_acted;
        if may_have_acted {
            self.exchange.leftover().into_iter().collect()
        } else {
            Vec::new()
        }
    }

    fn poll(&mut self, now: Timestamp) -> Action<E::Output> {
        if !self.deadline_set {
            self.deadline_set = true;
            self.deadline = self.policy().total_deadline.map(|d| now + d);
        }
        match &mut self.state {
            State::Ready => self.send(now),
            State::Backoff(until, _) if now < *until => Action::WaitUntil(*until),
            State::Backoff(..) => self.send(now),
            State::InFlight(_) => Action::Awaiting,
            State::Finished(outcome) => outcome.take(),
        }
    }

    fn wait_reason(&self) -> Option<WaitReason> {
        match self.state {
            State::Backoff(_, reason) => Some(reason),
            _ => None,
        }
    }

    fn handle_response(&mut self, now: Timestamp, response: Response) {
        let State::InFlight(sent) = self.state else {
            return self.finish(Err(Error::Misuse(misuse::UNEXPECTED_ANSWER)));
        };
        self.telemetry.answered(sent, now, response.status());
        if self.earlier_may_have_acted
            && let Some(output) = self.exchange.settled_by_earlier_attempt(response.status())
        {
            return self.finish(Ok(output));
        }
        match self.exchange.parse(response) {
            Ok(output) => self.finish(Ok(output)),
            Err(e) => self.failed(now, e),
        }
    }

    fn handle_transport_error(&mut self, now: Timestamp, error: TransportError) {
        let State::InFlight(sent) = self.state else {
            return self.finish(Err(Error::Misuse(misuse::UNEXPECTED_ANSWER)));
        };
        self.telemetry.no_answer(sent, now, &error);
        let error = self.exchange.transport_error(error);
        self.failed(now, error);
    }
}

/// A tiny deterministic generator for jitter (SplitMix64); not for secrets.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
