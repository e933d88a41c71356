//! [`WaitFor`]: poll a sandbox's status until it reaches a state.

use super::telemetry::{Telemetry, WaitReason};
use super::{Action, Machine, Outcome, Retry, WaitProgress, misuse};
use crate::config::Config;
use crate::error::{Error, Operation};
use crate::model::SandboxRef;
use crate::model::{Sandbox, SandboxState};
use crate::ops::GetSandbox;
use crate::time::Timestamp;
use crate::transport::{Response, TransportError};

/// Polls `GET /v1/sandbox/{id}/` every [`WaitPolicy::interval`](crate::WaitPolicy)
/// until the sandbox is in the target state ([`Done`](Action::Done) with the
/// sandbox), reaches a state it will not leave by itself (stopping, stopped,
/// deleting, deleted, or paused when paused is not the target:
/// [`Error::WaitFailed`]), or the wait policy's timeout passes
/// ([`Error::WaitTimedOut`]). Each status poll is itself a [`Retry`].
pub struct WaitFor {
    config: Config,
    sandbox_id: String,
    target: SandboxState,
    operation: Operation,
    state: State,
    started: Option<Timestamp>,
    last_seen: Option<SandboxState>,
    telemetry: Telemetry,
}

// One machine per wait: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum State {
    /// Not polled yet; `delay_first`: wait one interval before the first check.
    Start {
        delay_first: bool,
    },
    Check(Box<Retry<GetSandbox>>),
    Sleep(Timestamp),
    Finished(Outcome<Sandbox>),
}

impl WaitFor {
    /// Waits for `sandbox` (an id or a [`Sandbox`]) to be in `target`, checking at once.
    pub fn new(sandbox: impl SandboxRef, target: SandboxState, config: &Config) -> Self {
        let telemetry = Telemetry::call(Operation::GetSandbox);
        WaitFor::within(sandbox, target, Operation::GetSandbox, config, telemetry)
    }

    fn within(
        sandbox: impl SandboxRef,
        target: SandboxState,
        operation: Operation,
        config: &Config,
        telemetry: Telemetry,
    ) -> Self {
        WaitFor {
            state: State::Start { delay_first: false },
            config: config.clone(),
            sandbox_id: sandbox.sandbox_id().to_owned(),
            target,
            operation,
            started: None,
            last_seen: None,
            telemetry,
        }
    }

    /// Waits for a sandbox just returned by another call (resume, restore): if it
    /// is already in `target` no request is made; errors name `operation`.
    pub fn after(
        sandbox: Sandbox,
        target: SandboxState,
        operation: Operation,
        config: &Config,
    ) -> Self {
        let telemetry = Telemetry::call(operation);
        WaitFor::after_within(sandbox, target, operation, config, telemetry)
    }

    /// [`after`](Self::after), as the second half of a call reporting to `telemetry`.
    pub(crate) fn after_within(
        sandbox: Sandbox,
        target: SandboxState,
        operation: Operation,
        config: &Config,
        telemetry: Telemetry,
    ) -> Self {
        let mut wait = WaitFor::within(&sandbox, target, operation, config, telemetry);
        wait.last_seen = Some(sandbox.state.clone());
        wait.state = match wait.verdict(sandbox) {
            Some(result) => State::Finished(Outcome::new(result)),
            // Not there yet: the first status poll comes one interval later.
            None => State::Start { delay_first: true },
        };
        wait
    }

    /// The sandbox waited on.
    pub fn sandbox_id(&self) -> &str {
        &self.sandbox_id
    }

    fn deadline(&self) -> Timestamp {
        self.started.unwrap_or(Timestamp::ZERO) + self.config.wait().timeout
    }

    /// `Some(result)` once the wait is over, `None` to keep waiting.
    fn verdict(&self, sandbox: Sandbox) -> Option<Result<Sandbox, Error>> {
        let reached = &sandbox.state;
        if *reached == self.target {
            return Some(Ok(sandbox));
        }
        let stuck = reached.is_terminal() || *reached == SandboxState::Paused;
        if stuck {
            return Some(Err(Error::WaitFailed {
                operation: self.operation,
                sandbox_id: self.sandbox_id.clone(),
                state: sandbox.state,
                target: self.target.clone(),
            }));
        }
        None
    }

    fn timed_out(&self, now: Timestamp) -> Error {
        Error::WaitTimedOut {
            operation: self.operation,
            sandbox_id: self.sandbox_id.clone(),
            state: self.last_seen.clone(),
            target: self.target.clone(),
            waited: now.saturating_duration_since(self.started.unwrap_or(now)),
        }
    }

    /// Reports a poll interval from `now` to `until`, and returns `until`.
    fn sleep(&self, now: Timestamp, until: Timestamp) -> Timestamp {
        let delay = until.saturating_duration_since(now);
        self.telemetry.waiting(WaitReason::Poll, delay);
        until
    }

    fn finish(&mut self, now: Timestamp, result: Result<Sandbox, Error>) -> Action<Sandbox> {
        self.state = State::Finished(Outcome::new(result));
        self.poll(now)
    }
}

impl Machine for WaitFor {
    type Output = Sandbox;

    fn operation(&self) -> Option<Operation> {
        Some(self.operation)
    }

    fn poll(&mut self, now: Timestamp) -> Action<Sandbox> {
        match &mut self.state {
            State::Start { delay_first } => {
                self.started = Some(now);
                let first_check = match delay_first {
                    true => self.sleep(now, now + self.config.wait().interval),
                    false => now,
                };
                self.state = State::Sleep(first_check);
                self.poll(now)
            }
            State::Finished(outcome) => outcome.take(),
            State::Sleep(at) if now < *at => Action::WaitUntil(*at),
            State::Sleep(_) => {
                let status = GetSandbox::new(self.sandbox_id.as_str());
                let check = Retry::within(status, &self.config, self.telemetry.clone())
                    .with_deadline(Some(self.deadline()));
                self.state = State::Check(Box::new(check));
                self.poll(now)
            }
            State::Check(check) => match check.poll(now).split() {
                Ok(Ok(sandbox)) => {
                    self.telemetry
                        .polled(&self.sandbox_id, &sandbox.state, &self.target);
                    self.last_seen = Some(sandbox.state.clone());
                    match self.verdict(sandbox) {
                        Some(result) => self.finish(now, result),
                        None => {
                            let deadline = self.deadline();
                            if now >= deadline {
                                let error = self.timed_out(now);
                                return self.finish(now, Err(error));
                            }
                            // The last look is at the deadline itself: a wait
                            // of 2 s polling every 1.5 s looks at 1.5 s and 2 s.
                            let next = (now + self.config.wait().interval).min(deadline);
                            let next = self.sleep(now, next);
                            self.state = State::Sleep(next);
                            Action::WaitUntil(next)
                        }
                    }
                }
                // The status poll's retries ran into the wait's own deadline.
                Ok(Err(Error::DeadlineExceeded { .. })) => {
                    let error = self.timed_out(now);
                    self.finish(now, Err(error))
                }
                Ok(Err(e)) => self.finish(now, Err(e)),
                Err(pending) => pending,
            },
        }
    }

    fn handle_response(&mut self, now: Timestamp, response: Response) {
        match &mut self.state {
            State::Check(check) => check.handle_response(now, response),
            _ => {
                self.state =
                    State::Finished(Outcome::new(Err(Error::Misuse(misuse::UNEXPECTED_ANSWER))))
            }
        }
    }

    fn handle_transport_error(&mut self, now: Timestamp, error: TransportError) {
        match &mut self.state {
            State::Check(check) => check.handle_transport_error(now, error),
            _ => {
                self.state =
                    State::Finished(Outcome::new(Err(Error::Misuse(misuse::UNEXPECTED_ANSWER))))
            }
        }
    }

    fn wait_reason(&self) -> Option<WaitReason> {
        match &self.state {
            State::Sleep(_) => Some(WaitReason::Poll),
            State::Check(check) => check.wait_reason(),
            _ => None,
        }
    }

    fn progress(&self) -> Option<WaitProgress<'_>> {
        Some(WaitProgress {
            sandbox_id: &self.sandbox_id,
            state: self.last_seen.as_ref(),
            target: &self.target,
            started: self.started,
            deadline: self.started.map(|_| self.deadline()),
        })
    }
}
