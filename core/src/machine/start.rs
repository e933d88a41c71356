//! [`StartAndWait`]: start a sandbox (resume, restore), then wait until it runs.

use super::telemetry::Telemetry;
use super::{Action, Machine, Retry, WaitFor, WaitProgress, WaitReason};
use crate::config::Config;
use crate::error::Leftover;
use crate::exchange::Exchange;
use crate::model::{Sandbox, SandboxState};
use crate::operation::Operation;
use crate::time::Timestamp;
use crate::transport::{Response, TransportError};

/// Runs a call that starts a sandbox under [`Retry`], then [`WaitFor`]s the new
/// sandbox to be `running` (no status poll at all if it already is). Errors of
/// the wait name the starting operation.
///
/// Once the sandbox exists, [`progress`](Machine::progress) reports it, so that
/// a program interrupted during the wait can say what it left running.
pub struct StartAndWait<E: Exchange<Output = Sandbox>> {
    config: Config,
    state: State<E>,
    telemetry: Telemetry,
}

// One machine per call: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum State<E: Exchange<Output = Sandbox>> {
    Start(Retry<E>),
    Wait(WaitFor),
}

impl<E: Exchange<Output = Sandbox>> StartAndWait<E> {
    /// Starts with `exchange`, then waits under `config`'s wait policy.
    pub fn new(exchange: E, config: &Config) -> Self {
        let telemetry = Telemetry::call(E::OPERATION);
        StartAndWait {
            state: State::Start(Retry::within(exchange, config, telemetry.clone())),
            config: config.clone(),
            telemetry,
        }
    }
}

impl<E: Exchange<Output = Sandbox>> Machine for StartAndWait<E> {
    type Output = Sandbox;

    fn poll(&mut self, now: Timestamp) -> Action<Sandbox> {
        match &mut self.state {
            State::Start(start) => match start.poll(now).split() {
                Ok(Ok(sandbox)) => {
                    let wait = WaitFor::after_within(
                        sandbox,
                        SandboxState::Running,
                        E::OPERATION,
                        &self.config,
                        self.telemetry.clone(),
                    );
                    self.state = State::Wait(wait);
                    self.poll(now)
                }
                Ok(Err(e)) => Action::Done(Err(e)),
                Err(pending) => pending,
            },
            State::Wait(wait) => wait.poll(now),
        }
    }

    fn handle_response(&mut self, now: Timestamp, response: Response) {
        match &mut self.state {
            State::Start(start) => start.handle_response(now, response),
            State::Wait(wait) => wait.handle_response(now, response),
        }
    }

    fn handle_transport_error(&mut self, now: Timestamp, error: TransportError) {
        match &mut self.state {
            State::Start(start) => start.handle_transport_error(now, error),
            State::Wait(wait) => wait.handle_transport_error(now, error),
        }
    }

    fn progress(&self) -> Option<WaitProgress<'_>> {
        match &self.state {
            State::Start(_) => None,
            State::Wait(wait) => wait.progress(),
        }
    }

    fn wait_reason(&self) -> Option<WaitReason> {
        match &self.state {
            State::Start(start) => start.wait_reason(),
            State::Wait(wait) => wait.wait_reason(),
        }
    }

    fn operation(&self) -> Option<Operation> {
        Some(E::OPERATION)
    }

    /// Starting: what the start request may have made. Waiting: the sandbox,
    /// which exists.
    fn leftovers(&self) -> Vec<Leftover> {
        match &self.state {
            // Started, and the answer not yet handed over: the sandbox exists.
            State::Start(start) => match start.output() {
                Some(sandbox) => vec![Leftover::Sandbox {
                    id: sandbox.id.clone(),
                }],
                None => start.leftovers(),
            },
            State::Wait(wait) => vec![Leftover::Sandbox {
                id: wait.sandbox_id().to_owned(),
            }],
        }
    }
}
