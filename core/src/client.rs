//! The ready-made clients: [`SnapshotsClient`] (blocking) and
//! [`AsyncSnapshotsClient`], thin layers that build a call's machine and run it
//! through the one drive loop. Both expose the same methods, written once below.

use std::sync::Arc;
use std::time::Duration;

use crate::call::{Call, CallOutput};
use crate::config::Config;
use crate::error::Error;
use crate::machine::{
    Machine, Map, Paginate, Retry, StartAndWait, WaitFor, run_async, run_blocking,
};
use crate::model::{Deletion, Sandbox, SandboxRef, SandboxState, Snapshot, SnapshotList};
use crate::ops::{
    CreateSandbox, CreateSnapshot, DeleteSandbox, DeleteSnapshot, GetSandbox, ListSnapshots,
    PauseSandbox, RestoreSnapshot, ResumeSnapshot,
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

/// Defines the operation methods once, for a blocking or an async client. Each
/// builds the machine [`Call::machine`] would build for it, typed.
macro_rules! operations {
    ($($async:ident)? ; $($await:tt)?) => {
        /// Snapshots a running sandbox without stopping it
        /// (`POST /v1/sandbox/{id}/snapshot/create`). Accepts a sandbox id, a
        /// [`Sandbox`], or a [`CreateSnapshot`] with a name or `kill_sandbox_after`.
        pub $($async)? fn create(&self, input: impl Into<CreateSnapshot>) -> Result<Snapshot, Error> {
            self.run(Retry::new(input.into(), &self.config)) $(.$await)?
        }

        /// Pauses a running sandbox into a snapshot; the sandbox is stopped
        /// afterwards (`POST /v1/sandbox/{id}/snapshot/pause`).
        pub $($async)? fn pause(&self, input: impl Into<PauseSandbox>) -> Result<Snapshot, Error> {
            self.run(Retry::new(input.into(), &self.config)) $(.$await)?
        }

        /// Starts a new sandbox from a snapshot (`POST /v1/snapshot/resume`,
        /// `timeout_min` in minutes) and returns it through the sandbox factory.
        pub $($async)? fn resume(&self, input: impl Into<ResumeSnapshot>) -> Result<F::Handle, Error> {
            self.run(self.handle(Retry::new(input.into(), &self.config))) $(.$await)?
        }

        /// Like [`resume`](Self::resume), then polls the new sandbox until it is
        /// running (see [`WaitPolicy`](crate::WaitPolicy)).
        pub $($async)? fn resume_and_wait(&self, input: impl Into<ResumeSnapshot>) -> Result<F::Handle, Error> {
            self.run(self.handle(StartAndWait::new(input.into(), &self.config))) $(.$await)?
        }

        /// Starts a new sandbox from a snapshot (`POST /v1/snapshot/restore`,
        /// `timeout` in seconds) and returns it through the sandbox factory.
        pub $($async)? fn restore(&self, input: impl Into<RestoreSnapshot>) -> Result<F::Handle, Error> {
            self.run(self.handle(Retry::new(input.into(), &self.config))) $(.$await)?
        }

        /// Like [`restore`](Self::restore), then polls the new sandbox until it is
        /// running.
        pub $($async)? fn restore_and_wait(&self, input: impl Into<RestoreSnapshot>) -> Result<F::Handle, Error> {
            self.run(self.handle(StartAndWait::new(input.into(), &self.config))) $(.$await)?
        }

        /// Deletes a snapshot (`DELETE /v1/snapshot/{id}`). Accepts an id or a
        /// [`Snapshot`]. A retry after an attempt that may have deleted it, and
        /// that then finds it gone, gives [`Deletion::AlreadyDeleted`].
        pub $($async)? fn delete(&self, input: impl Into<DeleteSnapshot>) -> Result<Deletion, Error> {
            self.run(Retry::new(input.into(), &self.config)) $(.$await)?
        }

        /// Lists one page of snapshots (`GET /v1/snapshots`).
        pub $($async)? fn list(&self, listing: ListSnapshots) -> Result<SnapshotList, Error> {
            self.run(Retry::new(listing, &self.config)) $(.$await)?
        }

        /// Lists every snapshot from `listing`'s page on, fetching page after page
        /// until `total_items` are collected, within the configured
        /// [`PaginationLimits`](crate::PaginationLimits).
        pub $($async)? fn list_all(&self, listing: ListSnapshots) -> Result<SnapshotList, Error> {
            self.run(Paginate::new(listing, &self.config)) $(.$await)?
        }

        /// A sandbox's current status (`GET /v1/sandbox/{id}/`).
        pub $($async)? fn sandbox(&self, sandbox: impl SandboxRef) -> Result<Sandbox, Error> {
            self.run(Retry::new(GetSandbox::new(sandbox), &self.config)) $(.$await)?
        }

        /// Polls a sandbox until it is in `state`, fails, or the wait times out.
        pub $($async)? fn wait_for(&self, sandbox: impl SandboxRef, state: SandboxState) -> Result<Sandbox, Error> {
            self.run(WaitFor::new(sandbox, state, &self.config)) $(.$await)?
        }

        /// Starts a sandbox from a template (`POST /v1/sandbox/`), for workflows
        /// that need one to snapshot.
        pub $($async)? fn create_sandbox(&self, input: CreateSandbox) -> Result<Sandbox, Error> {
            self.run(Retry::new(input, &self.config)) $(.$await)?
        }

        /// Deletes a sandbox (`DELETE /v1/sandbox/{id}/`), terminating it if it runs.
        pub $($async)? fn delete_sandbox(&self, sandbox: impl Into<DeleteSandbox>) -> Result<Deletion, Error> {
            self.run(Retry::new(sandbox.into(), &self.config)) $(.$await)?
        }

        /// Runs a [`Call`] given as data: its [`Call::machine`]. The sandbox
        /// factory is not applied: sandboxes come back as [`Sandbox`].
        pub $($async)? fn call(&self, call: Call) -> Result<CallOutput, Error> {
            self.run(call.machine(&self.config)) $(.$await)?
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

        impl<T, C, F: SandboxFactory> $name<T, C, F> {
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
                self.with_config(self.config.clone().with_timeout(timeout))
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

            /// A sandbox machine's output through the sandbox factory.
            fn handle<M: Machine<Output = Sandbox>>(
                &self,
                machine: M,
            ) -> impl Machine<Output = F::Handle> + use<M, T, C, F> {
                let factory = self.factory.clone();
                Map::new(machine, move |sandbox| factory.make(sandbox))
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
///
/// ```
/// use leap0_core::transport::{Clock, Transport};
/// use leap0_core::{CreateSnapshot, Error, SnapshotsClient};
///
/// fn warm_copy<T: Transport, C: Clock>(snapshots: &SnapshotsClient<T, C>) -> Result<String, Error> {
///     let snapshot = snapshots.create(CreateSnapshot::new("sb-1").name("warm"))?;
///     let sandbox = snapshots.resume_and_wait(&snapshot)?;
///     Ok(sandbox.id)
/// }
/// ```
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
///
/// Its futures are `Send` when the transport's and clock's are (as with
/// `leap0_hyper`); a `!Send` transport or clock works too, on a
/// single-threaded executor.
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
