//! The ready-made clients: [`SnapshotsClient`] (blocking) and
//! [`AsyncSnapshotsClient`], thin layers that build a call's machine with
//! [`Call`]'s constructors and run it through the one drive loop. Both expose
//! the same methods, written once below: one per operation, generated from the
//! table of operations, and the composite calls.

use std::sync::Arc;
use std::time::Duration;

use crate::call::{Call, CallOutput};
use crate::config::Config;
use crate::error::Error;
use crate::exchange::Exchange;
use crate::machine::{Cancel, Machine, Map, run_async_cancellable, run_blocking_cancellable};
use crate::model::{Sandbox, SandboxRef, SandboxState, SnapshotList};
use crate::ops::*;
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

/// Generates the one-exchange methods of a client from the table of
/// operations; `$mode` is `[async; await]` or `[;]`.
macro_rules! one_exchange_methods {
    ($mode:tt $($module:ident: $ty:ident, $action:literal, $method:ident $template:literal -> $success:ident, fn $client:ident $(-> $handle:ident)?;)*) => {
        $(one_exchange_method!($mode $ty, $method $template, $client $($handle)?);)*
    };
}

/// One one-exchange method; `handle` returns the sandbox through the factory.
macro_rules! one_exchange_method {
    ([$($async:ident)?; $($await:tt)?] $ty:ident, $method:ident $template:literal, $client:ident) => {
        #[doc = concat!("Runs one [`", stringify!($ty), "`] (`", stringify!($method), " ", $template, "`) with the configured retries.")]
        pub $($async)? fn $client(&self, input: impl Into<$ty>) -> Result<<$ty as Exchange>::Output, Error> {
            self.run(Call::single(input.into(), &self.config)) $(.$await)?
        }
    };
    ([$($async:ident)?; $($await:tt)?] $ty:ident, $method:ident $template:literal, $client:ident handle) => {
        #[doc = concat!("Runs one [`", stringify!($ty), "`] (`", stringify!($method), " ", $template, "`) with the configured retries, and returns the new sandbox through the sandbox factory.")]
        pub $($async)? fn $client(&self, input: impl Into<$ty>) -> Result<F::Handle, Error> {
            self.run(self.handle(Call::single(input.into(), &self.config))) $(.$await)?
        }
    };
}

/// Defines the composite methods once, for a blocking or an async client. Each
/// builds its machine with the constructor [`Call::machine`] uses for it.
macro_rules! composite_methods {
    ($($async:ident)? ; $($await:tt)?) => {
        /// Like [`resume`](Self::resume), then polls the new sandbox until it is
        /// running (see [`WaitPolicy`](crate::WaitPolicy)).
        pub $($async)? fn resume_and_wait(&self, input: impl Into<ResumeSnapshot>) -> Result<F::Handle, Error> {
            self.run(self.handle(Call::start_and_wait(input.into(), &self.config))) $(.$await)?
        }

        /// Like [`restore`](Self::restore), then polls the new sandbox until it is
        /// running.
        pub $($async)? fn restore_and_wait(&self, input: impl Into<RestoreSnapshot>) -> Result<F::Handle, Error> {
            self.run(self.handle(Call::start_and_wait(input.into(), &self.config))) $(.$await)?
        }

        /// Lists every snapshot from `listing`'s page on, fetching page after page
        /// until `total_items` are collected, within the configured
        /// [`PaginationLimits`](crate::PaginationLimits).
        pub $($async)? fn list_all(&self, listing: ListSnapshots) -> Result<SnapshotList, Error> {
            self.run(Call::list_all(listing, &self.config)) $(.$await)?
        }

        /// Polls a sandbox until it is in `state`, fails, or the wait times out.
        pub $($async)? fn wait_for(&self, sandbox: impl SandboxRef, state: SandboxState) -> Result<Sandbox, Error> {
            self.run(Call::wait_for(sandbox, state, &self.config)) $(.$await)?
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
    ($name:ident, $clock:ident) => {
        impl<T, C: $clock> $name<T, C, PlainSandbox> {
            /// A client over `transport` and `clock`. Unless the retry policy
            /// pins a jitter seed (or the configuration brings entropy), the
            /// client's machines draw their jitter from the clock's entropy.
            pub fn new(config: Config, transport: T, clock: C) -> Self {
                let config = match (
                    config.retry().jitter_seed,
                    config.jitter_entropy(),
                    clock.entropy(),
                ) {
                    (None, None, Some(entropy)) => config.with_jitter_entropy(entropy),
                    _ => config,
                };
                $name {
                    config,
                    transport: Arc::new(transport),
                    clock: Arc::new(clock),
                    factory: Arc::new(PlainSandbox),
                    cancel: None,
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
                    cancel: self.cancel,
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
                    cancel: self.cancel.clone(),
                }
            }

            /// A client sharing this one's transport whose calls `cancel` ends
            /// (see [`Cancel`]): they end with [`Error::Cancelled`], naming
            /// what they may have left, and `cancel` keeps that list.
            pub fn with_cancel(&self, cancel: &Cancel) -> Self {
                let mut client = self.clone();
                client.cancel = Some(cancel.clone());
                client
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
                    cancel: self.cancel.clone(),
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
    cancel: Option<Cancel>,
}

client_common!(SnapshotsClient, Clock);

impl<T: Transport, C: Clock, F: SandboxFactory> SnapshotsClient<T, C, F> {
    crate::operation::for_each_operation!(one_exchange_methods [;]);
    composite_methods!(;);

    /// Runs any [`Machine`] to completion on this client's transport and clock.
    pub fn run<M: Machine>(&self, machine: M) -> Result<M::Output, Error> {
        run_blocking_cancellable(
            machine,
            &*self.transport,
            &*self.clock,
            self.cancel.as_ref(),
        )
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
    cancel: Option<Cancel>,
}

client_common!(AsyncSnapshotsClient, AsyncClock);

impl<T: AsyncTransport, C: AsyncClock, F: SandboxFactory> AsyncSnapshotsClient<T, C, F> {
    crate::operation::for_each_operation!(one_exchange_methods [async; await]);
    composite_methods!(async; await);

    /// Runs any [`Machine`] to completion on this client's transport and clock.
    pub async fn run<M: Machine>(&self, machine: M) -> Result<M::Output, Error> {
        run_async_cancellable(
            machine,
            &*self.transport,
            &*self.clock,
            self.cancel.as_ref(),
        )
        .await
    }
}
