//! Calls as data: one value names any client call and its inputs, so command
//! lines, scripts, recorded fixtures and event loops can carry calls around,
//! run them through either client with
//! [`SnapshotsClient::call`](crate::SnapshotsClient::call), or drive the very
//! machine the clients run, from [`Call::machine`].

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::Operation;
use crate::machine::{Machine, Map, Paginate, Retry, StartAndWait, WaitFor};
use crate::model::{Deletion, Sandbox, SandboxState, Snapshot, SnapshotList};
use crate::ops::{
    CreateSandbox, CreateSnapshot, DeleteSandbox, DeleteSnapshot, GetSandbox, ListSnapshots,
    PauseSandbox, RestoreSnapshot, ResumeSnapshot,
};

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
    /// [`SnapshotsClient::create`](crate::SnapshotsClient::create).
    CreateSnapshot(CreateSnapshot),
    /// [`SnapshotsClient::pause`](crate::SnapshotsClient::pause).
    PauseSandbox(PauseSandbox),
    /// [`SnapshotsClient::resume`](crate::SnapshotsClient::resume).
    ResumeSnapshot(ResumeSnapshot),
    /// [`SnapshotsClient::resume_and_wait`](crate::SnapshotsClient::resume_and_wait).
    ResumeAndWait(ResumeSnapshot),
    /// [`SnapshotsClient::restore`](crate::SnapshotsClient::restore).
    RestoreSnapshot(RestoreSnapshot),
    /// [`SnapshotsClient::restore_and_wait`](crate::SnapshotsClient::restore_and_wait).
    RestoreAndWait(RestoreSnapshot),
    /// [`SnapshotsClient::delete`](crate::SnapshotsClient::delete).
    DeleteSnapshot(DeleteSnapshot),
    /// [`SnapshotsClient::list`](crate::SnapshotsClient::list).
    ListSnapshots(ListSnapshots),
    /// [`SnapshotsClient::list_all`](crate::SnapshotsClient::list_all).
    ListAllSnapshots(ListSnapshots),
    /// [`SnapshotsClient::sandbox`](crate::SnapshotsClient::sandbox).
    GetSandbox(GetSandbox),
    /// [`SnapshotsClient::wait_for`](crate::SnapshotsClient::wait_for) with the
    /// target state `running`.
    WaitUntilRunning(GetSandbox),
    /// [`SnapshotsClient::create_sandbox`](crate::SnapshotsClient::create_sandbox).
    CreateSandbox(CreateSandbox),
    /// [`SnapshotsClient::delete_sandbox`](crate::SnapshotsClient::delete_sandbox).
    DeleteSandbox(DeleteSandbox),
}

/// What a [`Call`] returned. Serializes as the API object itself, and a
/// deletion as `"deleted"` or `"already_deleted"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum CallOutput {
    /// A snapshot (create, pause).
    Snapshot(Snapshot),
    /// A sandbox (resume, restore, status, create sandbox).
    Sandbox(Sandbox),
    /// A page of snapshots, or all of them.
    List(SnapshotList),
    /// A snapshot or sandbox was deleted.
    Deleted(Deletion),
}

/// The machine of any [`Call`]: boxed, `Send`, with a [`CallOutput`]
/// (re-exported as `leap0_core::machine::CallMachine`).
pub type CallMachine = Box<dyn Machine<Output = CallOutput> + Send>;

impl Call {
    /// The machine the clients run for this call: [`Retry`] around one
    /// exchange, [`StartAndWait`] for resume- and restore-and-wait,
    /// [`Paginate`] for list-all, [`WaitFor`] for wait-until-running. This is
    /// the one place that decides what each call is made of; drive it yourself
    /// (see the crate docs' "Embedding" section) to get exactly what the
    /// clients get.
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
        fn boxed<M>(machine: M, output: fn(M::Output) -> CallOutput) -> CallMachine
        where
            M: Machine + Send + 'static,
        {
            Box::new(Map::new(machine, output))
        }
        match self {
            Call::CreateSnapshot(i) => boxed(Retry::new(i, config), CallOutput::Snapshot),
            Call::PauseSandbox(i) => boxed(Retry::new(i, config), CallOutput::Snapshot),
            Call::ResumeSnapshot(i) => boxed(Retry::new(i, config), CallOutput::Sandbox),
            Call::ResumeAndWait(i) => boxed(StartAndWait::new(i, config), CallOutput::Sandbox),
            Call::RestoreSnapshot(i) => boxed(Retry::new(i, config), CallOutput::Sandbox),
            Call::RestoreAndWait(i) => boxed(StartAndWait::new(i, config), CallOutput::Sandbox),
            Call::DeleteSnapshot(i) => boxed(Retry::new(i, config), CallOutput::Deleted),
            Call::ListSnapshots(i) => boxed(Retry::new(i, config), CallOutput::List),
            Call::ListAllSnapshots(i) => boxed(Paginate::new(i, config), CallOutput::List),
            Call::GetSandbox(i) => boxed(Retry::new(i, config), CallOutput::Sandbox),
            Call::WaitUntilRunning(i) => boxed(
                WaitFor::new(&i.sandbox_id, SandboxState::Running, config),
                CallOutput::Sandbox,
            ),
            Call::CreateSandbox(i) => boxed(Retry::new(i, config), CallOutput::Sandbox),
            Call::DeleteSandbox(i) => boxed(Retry::new(i, config), CallOutput::Deleted),
        }
    }

    /// The operation the call starts with.
    pub fn operation(&self) -> Operation {
        match self {
            Call::CreateSnapshot(_) => Operation::CreateSnapshot,
            Call::PauseSandbox(_) => Operation::PauseSandbox,
            Call::ResumeSnapshot(_) | Call::ResumeAndWait(_) => Operation::ResumeSnapshot,
            Call::RestoreSnapshot(_) | Call::RestoreAndWait(_) => Operation::RestoreSnapshot,
            Call::DeleteSnapshot(_) => Operation::DeleteSnapshot,
            Call::ListSnapshots(_) | Call::ListAllSnapshots(_) => Operation::ListSnapshots,
            Call::GetSandbox(_) | Call::WaitUntilRunning(_) => Operation::GetSandbox,
            Call::CreateSandbox(_) => Operation::CreateSandbox,
            Call::DeleteSandbox(_) => Operation::DeleteSandbox,
        }
    }
}
