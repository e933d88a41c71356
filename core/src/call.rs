//! Calls as data, and the one place that decides what each call is made of.
//!
//! One [`Call`] value names any client call and its inputs, so command lines,
//! scripts, recorded fixtures and event loops can carry calls around, run them
//! through either client with [`SnapshotsClient::call`](crate::SnapshotsClient::call),
//! or drive the very machine the clients run, from [`Call::machine`]. The
//! clients' typed methods build their machines with the same constructors
//! ([`Call::single`], [`Call::start_and_wait`], [`Call::list_all`],
//! [`Call::wait_for`]) that `Call::machine` uses.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::Leftover;
use crate::exchange::Exchange;
use crate::machine::{Machine, Map, Paginate, Retry, StartAndWait, WaitFor};
use crate::model::{Deletion, Sandbox, SandboxRef, SandboxState, Snapshot, SnapshotList};
use crate::operation::Operation;
use crate::ops::*;

/// Generates [`Call`] from the table of operations: one variant per
/// operation, plus the composite calls written out here.
macro_rules! declare_call {
    ($($module:ident: $ty:ident, $action:literal, $method:ident $template:literal -> $success:ident, fn $client:ident $(-> $handle:ident)?;)*) => {
        /// Any client call, with its inputs. Serializes as
        /// `{"call": "create_snapshot", "inputs": {...}}`.
        ///
        /// ```
        /// use leap0_core::{Call, CreateSnapshot};
        /// let call: Call = serde_json::from_str(
        ///     r#"{"call": "create_snapshot", "inputs": {"sandbox_id": "sb-1", "name": "warm"}}"#,
        /// )?;
        /// assert_eq!(call, Call::CreateSnapshot(CreateSnapshot::new("sb-1").name("warm")));
        /// # Ok::<(), serde_json::Error>(())
        /// ```
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "call", content = "inputs", rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum Call {
            $(
                #[doc = concat!("One [`", stringify!($ty), "`] exchange, with retries: [`SnapshotsClient::", stringify!($client), "`](crate::SnapshotsClient::", stringify!($client), ").")]
                $ty($ty),
            )*
            /// [`SnapshotsClient::resume_and_wait`](crate::SnapshotsClient::resume_and_wait).
            ResumeAndWait(ResumeSnapshot),
            /// [`SnapshotsClient::restore_and_wait`](crate::SnapshotsClient::restore_and_wait).
            RestoreAndWait(RestoreSnapshot),
            /// `leap0 sandboxes create --wait`: create a sandbox, then wait until it runs.
            CreateSandboxAndWait(CreateSandbox),
            /// [`SnapshotsClient::list_all`](crate::SnapshotsClient::list_all).
            ListAllSnapshots(ListSnapshots),
            /// [`SnapshotsClient::wait_for`](crate::SnapshotsClient::wait_for) with the
            /// target state `running`.
            WaitUntilRunning(GetSandbox),
        }

        impl Call {
            /// The machine the clients run for this call: [`Retry`] around one
            /// exchange, [`StartAndWait`] for the calls that start a sandbox and
            /// wait, [`Paginate`] for list-all, [`WaitFor`] for wait-until-running.
            /// This is the one place that decides what each call is made of;
            /// drive it yourself (see the crate docs' "Embedding" section) to get
            /// exactly what the clients get.
            ///
            /// ```
            /// use leap0_core::machine::{Action, Machine};
            /// use leap0_core::{Call, Config, ListSnapshots, Timestamp};
            ///
            /// let mut machine = Call::ListAllSnapshots(ListSnapshots::default()).machine(&Config::new("key")?);
            /// let Action::Send(attempt) = machine.poll(Timestamp::ZERO) else { panic!("a request first") };
            /// assert_eq!(attempt.request.uri().path(), "/v1/snapshots");
            /// assert!(matches!(machine.poll(Timestamp::ZERO), Action::Awaiting));
            /// # Ok::<(), leap0_core::config::ConfigError>(())
            /// ```
            pub fn machine(self, config: &Config) -> CallMachine {
                match self {
                    $(Call::$ty(input) => boxed(Call::single(input, config)),)*
                    Call::ResumeAndWait(input) => boxed(Call::start_and_wait(input, config)),
                    Call::RestoreAndWait(input) => boxed(Call::start_and_wait(input, config)),
                    Call::CreateSandboxAndWait(input) => boxed(Call::start_and_wait(input, config)),
                    Call::ListAllSnapshots(input) => boxed(Call::list_all(input, config)),
                    Call::WaitUntilRunning(input) => {
                        boxed(Call::wait_for(&input.sandbox_id, SandboxState::Running, config))
                    }
                }
            }

            /// The operation the call starts with.
            pub fn operation(&self) -> Operation {
                match self {
                    $(Call::$ty(_) => Operation::$ty,)*
                    Call::ResumeAndWait(_) => Operation::ResumeSnapshot,
                    Call::RestoreAndWait(_) => Operation::RestoreSnapshot,
                    Call::CreateSandboxAndWait(_) => Operation::CreateSandbox,
                    Call::ListAllSnapshots(_) => Operation::ListSnapshots,
                    Call::WaitUntilRunning(_) => Operation::GetSandbox,
                }
            }
        }

        /// Each operation's own variant, by name.
        #[cfg(test)]
        fn variant_names() -> Vec<(&'static str, Operation)> {
            vec![$((stringify!($ty), Operation::$ty)),*]
        }

        $(
            impl From<$ty> for Call {
                fn from(input: $ty) -> Call {
                    Call::$ty(input)
                }
            }
        )*
    };
}

crate::operation::for_each_operation!(declare_call);

/// What a [`Call`] returned. Serializes as the API object itself, and a
/// deletion as `"deleted"` or `"already_deleted"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum CallOutput {
    /// A snapshot (create, pause into a snapshot).
    Snapshot(Snapshot),
    /// A sandbox (resume, restore, status, create sandbox).
    Sandbox(Sandbox),
    /// A page of snapshots, or all of them.
    List(SnapshotList),
    /// A snapshot or sandbox was deleted.
    Deleted(Deletion),
}

/// The outputs a call can have, each with its [`CallOutput`] variant.
pub trait IntoCallOutput {
    /// Wraps the output.
    fn into_call_output(self) -> CallOutput;
}

impl IntoCallOutput for Snapshot {
    fn into_call_output(self) -> CallOutput {
        CallOutput::Snapshot(self)
    }
}

impl IntoCallOutput for Sandbox {
    fn into_call_output(self) -> CallOutput {
        CallOutput::Sandbox(self)
    }
}

impl IntoCallOutput for SnapshotList {
    fn into_call_output(self) -> CallOutput {
        CallOutput::List(self)
    }
}

impl IntoCallOutput for Deletion {
    fn into_call_output(self) -> CallOutput {
        CallOutput::Deleted(self)
    }
}

/// The machine of any [`Call`]: boxed, `Send`, with a [`CallOutput`].
pub type CallMachine = Box<dyn Machine<Output = CallOutput> + Send>;

fn boxed<M>(machine: M) -> CallMachine
where
    M: Machine + Send + 'static,
    M::Output: IntoCallOutput,
{
    Box::new(Map::new(machine, IntoCallOutput::into_call_output))
}

impl Leftover {
    /// The call that deals with it: the delete of a sandbox that exists, or
    /// the listing that finds a snapshot by its name. `None` when there is no
    /// such call (a sandbox of unknown id, a snapshot named by the server).
    ///
    /// ```
    /// use leap0_core::error::Leftover;
    /// use leap0_core::{Call, DeleteSandbox};
    ///
    /// let left = Leftover::Sandbox { id: "sb-1".into() };
    /// assert_eq!(left.cleanup(), Some(Call::DeleteSandbox(DeleteSandbox::new("sb-1"))));
    /// ```
    pub fn cleanup(&self) -> Option<Call> {
        match self {
            Leftover::Sandbox { id } => Some(Call::DeleteSandbox(DeleteSandbox::new(id.as_str()))),
            Leftover::Snapshot {
                name: Some(name), ..
            } => Some(Call::ListSnapshots(
                ListSnapshots::default().query(name.as_str()),
            )),
            Leftover::Snapshot { name: None, .. } | Leftover::UnknownSandbox { .. } => None,
        }
    }
}

/// The typed constructors: each kind of call's machine, with its own output
/// type. [`Call::machine`] and the clients' methods build every machine here.
impl Call {
    /// One exchange under the config's timeout and retry policy.
    pub fn single<E: Exchange>(input: E, config: &Config) -> Retry<E> {
        Retry::new(input, config)
    }

    /// A call that starts a sandbox, then a wait until it runs.
    pub fn start_and_wait<E: Exchange<Output = Sandbox>>(
        input: E,
        config: &Config,
    ) -> StartAndWait<E> {
        StartAndWait::new(input, config)
    }

    /// Every page of a listing, within the config's pagination limits.
    pub fn list_all(input: ListSnapshots, config: &Config) -> Paginate<ListSnapshots> {
        Paginate::new(input, config)
    }

    /// Status polls until the sandbox is in `state`.
    pub fn wait_for(sandbox: impl SandboxRef, state: SandboxState, config: &Config) -> WaitFor {
        WaitFor::new(sandbox, state, config)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// What serde's `rename_all = "snake_case"` makes of a variant's name.
    fn snake(name: &str) -> String {
        let mut out = String::new();
        for (i, c) in name.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }

    #[test]
    fn each_operations_call_is_tagged_with_the_operations_name() {
        let variants = variant_names();
        assert_eq!(variants.len(), Operation::ALL.len());
        for (variant, op) in variants {
            assert_eq!(snake(variant), op.name());
        }
        let call = Call::from(CreateSnapshot::new("sb-1"));
        assert_eq!(
            serde_json::to_value(&call).unwrap()["call"],
            "create_snapshot"
        );
    }
}
