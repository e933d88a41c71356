//! The ready-made clients: [`SnapshotsClient`] (blocking) and
//! [`AsyncSnapshotsClient`], thin layers that build machines and run them through
//! the one drive loop. Both expose the same methods, written once below.

use std::sync::Arc;
use std::time::Duration;

use crate::call::{Call, CallOutput};
use crate::config::Config;
use crate::drive::{run_async, run_blocking};
use crate::error::Error;
use crate::exchange::Exchange;
use crate::machine::{AndThen, Machine, Map, Paginate, Retry, WaitFor};
use crate::model::{Sandbox, SandboxState, Snapshot, SnapshotList};
use crate::ops::{
    CreateSandbox, CreateSnapshot, DeleteSnapshot, GetSandbox, ListSnapshots, PauseSandbox,
    RestoreSnapshot, ResumeSnapshot, SandboxRef,
};
use crate::transport::{AsyncClock, AsyncTransport, Clock, Transport};

/// Turns the [`Sandbox`] a resume or restore returns into the caller's own handle
/// type (the seed SDK's `sandbox_factory`). Any `Fn(Sandbox) -> H` is one.
pub trait SandboxFactory {
    /// The handle type.
    type Handle;
    /// Wraps a sandbox.
    fn make(&self, sandbox: Sandbox) -> Self::Handle;
}

/// The default factory: hands back the [`Sandbox`] itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainSandbox;

impl SandboxFactory for PlainSandbox {
    type Handle = Sandbox;

    fn make(&self, sandbox: Sandbox) -> Sandbox {
        sandbox
    }
}

impl<F, H> SandboxFactory for F
where
    F: Fn(Sandbox) -> H,
{
    type Handle = H;

    fn make(&self, sandbox: Sandbox) -> H {
        self(sandbox)
    }
}

/// The machines behind each client method, shared by both clients.
mod plans {
    use super::*;

    pub(super) fn start_and_wait<E>(exchange: E, config: &Config) -> impl Machine<Output = Sandbox>
    where
        E: Exchange<Output = Sandbox>,
    {
        let wait_config = config.clone();
        AndThen::new(Retry::new(exchange, config), move |sandbox| {
            WaitFor::after(sandbox, SandboxState::Running, E::OPERATION, &wait_config)
        })
    }

    pub(super) fn list_all(
        listing: ListSnapshots,
        config: &Config,
    ) -> impl Machine<Output = SnapshotList> {
        Paginate::snapshots(listing, config)
    }

    pub(super) fn wait_for(
        sandbox: impl SandboxRef,
        state: SandboxState,
        config: &Config,
    ) -> impl Machine<Output = Sandbox> {
        WaitFor::new(sandbox.sandbox_id(), state, config)
    }

    pub(super) fn handle<F: SandboxFactory>(
        machine: impl Machine<Output = Sandbox>,
        factory: Arc<F>,
    ) -> impl Machine<Output = F::Handle> {
        Map::new(machine, move |sandbox| factory.make(sandbox))
    }
}

/// Defines the operation methods once, for a blocking or an async client.
macro_rules! operations {
    ($($async:ident)? ; $($await:tt)?) => {
        /// Snapshots a running sandbox without stopping it
        /// (`POST /v1/sandbox/{id}/snapshot/create`). Accepts a sandbox id, a
        /// [`Sandbox`], or a [`CreateSnapshot`] with a name or `kill_sandbox_after`.
        pub $($async)? fn create(&self, input: impl Into<CreateSnapshot>) -> Result<Snapshot, Error> {
            self.execute(input.into()) $(.$await)?
        }

        /// Pauses a running sandbox into a snapshot; the sandbox is stopped
        /// afterwards (`POST /v1/sandbox/{id}/snapshot/pause`).
        pub $($async)? fn pause(&self, input: impl Into<PauseSandbox>) -> Result<Snapshot, Error> {
            self.execute(input.into()) $(.$await)?
        }

        /// Starts a new sandbox from a snapshot (`POST /v1/snapshot/resume`,
        /// `timeout_min` in minutes) and returns it through the sandbox factory.
        pub $($async)? fn resume(&self, input: impl Into<ResumeSnapshot>) -> Result<F::Handle, Error> {
            self.run(plans::handle(Retry::new(input.into(), &self.config), self.factory.clone())) $(.$await)?
        }

        /// Like [`resume`](Self::resume), then polls the new sandbox until it is
        /// running (see [`WaitPolicy`](crate::WaitPolicy)).
        pub $($async)? fn resume_and_wait(&self, input: impl Into<ResumeSnapshot>) -> Result<F::Handle, Error> {
            let machine = plans::start_and_wait(input.into(), &self.config);
            self.run(plans::handle(machine, self.factory.clone())) $(.$await)?
        }

        /// Starts a new sandbox from a snapshot (`POST /v1/snapshot/restore`,
        /// `timeout` in seconds) and returns it through the sandbox factory.
        pub $($async)? fn restore(&self, input: impl Into<RestoreSnapshot>) -> Result<F::Handle, Error> {
            self.run(plans::handle(Retry::new(input.into(), &self.config), self.factory.clone())) $(.$await)?
        }

        /// Like [`restore`](Self::restore), then polls the new sandbox until it is
        /// running.
        pub $($async)? fn restore_and_wait(&self, input: impl Into<RestoreSnapshot>) -> Result<F::Handle, Error> {
            let machine = plans::start_and_wait(input.into(), &self.config);
            self.run(plans::handle(machine, self.factory.clone())) $(.$await)?
        }

        /// Deletes a snapshot (`DELETE /v1/snapshot/{id}`). Accepts an id or a
        /// [`Snapshot`].
        pub $($async)? fn delete(&self, input: impl Into<DeleteSnapshot>) -> Result<(), Error> {
            self.execute(input.into()) $(.$await)?
        }

        /// Lists one page of snapshots (`GET /v1/snapshots`).
        pub $($async)? fn list(&self, listing: ListSnapshots) -> Result<SnapshotList, Error> {
            self.execute(listing) $(.$await)?
        }

        /// Lists every snapshot from `listing`'s page on, fetching page after page
        /// until `total_items` are collected.
        pub $($async)? fn list_all(&self, listing: ListSnapshots) -> Result<SnapshotList, Error> {
            self.run(plans::list_all(listing, &self.config)) $(.$await)?
        }

        /// A sandbox's current status (`GET /v1/sandbox/{id}/`).
        pub $($async)? fn sandbox(&self, sandbox: impl SandboxRef) -> Result<Sandbox, Error> {
            self.execute(GetSandbox::new(sandbox)) $(.$await)?
        }

        /// Polls a sandbox until it is in `state`, fails, or the wait times out.
        pub $($async)? fn wait_for(&self, sandbox: impl SandboxRef, state: SandboxState) -> Result<Sandbox, Error> {
            self.run(plans::wait_for(sandbox, state, &self.config)) $(.$await)?
        }

        /// Starts a sandbox from a template (`POST /v1/sandbox/`), for workflows
        /// that need one to snapshot.
        pub $($async)? fn create_sandbox(&self, input: CreateSandbox) -> Result<Sandbox, Error> {
            self.execute(input) $(.$await)?
        }

        /// Runs a [`Call`] given as data (the sandbox factory is not applied:
        /// sandboxes come back as [`Sandbox`]).
        pub $($async)? fn call(&self, call: Call) -> Result<CallOutput, Error> {
            let config = &self.config;
            Ok(match call {
                Call::CreateSnapshot(i) => CallOutput::Snapshot(self.execute(i) $(.$await)??),
                Call::PauseSandbox(i) => CallOutput::Snapshot(self.execute(i) $(.$await)??),
                Call::ResumeSnapshot(i) => CallOutput::Sandbox(self.execute(i) $(.$await)??),
                Call::ResumeAndWait(i) => {
                    CallOutput::Sandbox(self.run(plans::start_and_wait(i, config)) $(.$await)??)
                }
                Call::RestoreSnapshot(i) => CallOutput::Sandbox(self.execute(i) $(.$await)??),
                Call::RestoreAndWait(i) => {
                    CallOutput::Sandbox(self.run(plans::start_and_wait(i, config)) $(.$await)??)
                }
                Call::DeleteSnapshot(i) => {
                    self.execute(i) $(.$await)??;
                    CallOutput::Deleted
                }
                Call::ListSnapshots(i) => CallOutput::List(self.execute(i) $(.$await)??),
                Call::ListAllSnapshots(i) => {
                    CallOutput::List(self.run(plans::list_all(i, config)) $(.$await)??)
                }
                Call::GetSandbox(i) => CallOutput::Sandbox(self.execute(i) $(.$await)??),
                Call::WaitUntilRunning(i) => CallOutput::Sandbox(
                    self.run(plans::wait_for(i.sandbox_id, SandboxState::Running, config)) $(.$await)??,
                ),
                Call::CreateSandbox(i) => CallOutput::Sandbox(self.execute(i) $(.$await)??),
            })
        }

        /// Runs any [`Exchange`] under this client's retry policy.
        pub $($async)? fn execute<E: Exchange>(&self, exchange: E) -> Result<E::Output, Error> {
            self.run(Retry::new(exchange, &self.config)) $(.$await)?
        }
    };
}

/// Fields and constructors shared by both clients.
macro_rules! client_common {
    ($name:ident) => {
        impl<T, C> $name<T, C, PlainSandbox> {
            /// A client over `transport` and `clock`.
            pub fn new(config: Config, transport: T, clock: C) -> Self {
                $name {
                    config,
                    transport: Arc::new(transport),
                    clock: Arc::new(clock),
                    factory: Arc::new(PlainSandbox),
                }
            }
        }

        impl<T, C, F> $name<T, C, F> {
            /// The same client, returning `factory`'s handles from resume and restore.
            pub fn with_sandbox_factory<G: SandboxFactory>(self, factory: G) -> $name<T, C, G> {
                $name {
                    config: self.config,
                    transport: self.transport,
                    clock: self.clock,
                    factory: Arc::new(factory),
                }
            }

            /// A client sharing this one's transport with another per-call HTTP
            /// timeout (the seed SDK's `http_timeout`).
            pub fn with_http_timeout(&self, timeout: Duration) -> Self {
                $name {
                    config: self.config.clone().with_timeout(timeout),
                    transport: self.transport.clone(),
                    clock: self.clock.clone(),
                    factory: self.factory.clone(),
                }
            }

            /// A client sharing this one's transport with another configuration.
            pub fn with_config(&self, config: Config) -> Self {
                $name {
                    config,
                    transport: self.transport.clone(),
                    clock: self.clock.clone(),
                    factory: self.factory.clone(),
                }
            }

            /// The configuration.
            pub fn config(&self) -> &Config {
                &self.config
            }

            /// The transport.
            pub fn transport(&self) -> &T {
                &self.transport
            }

            /// The clock.
            pub fn clock(&self) -> &C {
                &self.clock
            }
        }

        impl<T, C, F> Clone for $name<T, C, F> {
            fn clone(&self) -> Self {
                $name {
                    config: self.config.clone(),
                    transport: self.transport.clone(),
                    clock: self.clock.clone(),
                    factory: self.factory.clone(),
                }
            }
        }

        impl<T, C, F> std::fmt::Debug for $name<T, C, F> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("config", &self.config)
                    .finish_non_exhaustive()
            }
        }
    };
}

/// A blocking snapshots client: every method runs its operation to completion
/// on the calling thread, retrying and waiting per the [`Config`].
pub struct SnapshotsClient<T, C, F = PlainSandbox> {
    config: Config,
    transport: Arc<T>,
    clock: Arc<C>,
    factory: Arc<F>,
}

client_common!(SnapshotsClient);

impl<T: Transport, C: Clock, F: SandboxFactory> SnapshotsClient<T, C, F> {
    operations!(;);

    /// Runs any [`Machine`] to completion on this client's transport and clock.
    pub fn run<M: Machine>(&self, machine: M) -> Result<M::Output, Error> {
        run_blocking(machine, &*self.transport, &*self.clock)
    }
}

/// An async snapshots client. Cheap to clone; share it across tasks.
pub struct AsyncSnapshotsClient<T, C, F = PlainSandbox> {
    config: Config,
    transport: Arc<T>,
    clock: Arc<C>,
    factory: Arc<F>,
}

client_common!(AsyncSnapshotsClient);

impl<T: AsyncTransport, C: AsyncClock, F: SandboxFactory> AsyncSnapshotsClient<T, C, F> {
    operations!(async; await);

    /// Runs any [`Machine`] to completion on this client's transport and clock.
    pub async fn run<M: Machine>(&self, machine: M) -> Result<M::Output, Error> {
        run_async(machine, &*self.transport, &*self.clock).await
    }
}
