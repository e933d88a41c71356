//! Operations as data: one value names any client call and its inputs, so
//! command lines, scripts and recorded fixtures can carry calls around and run
//! them through either client with [`SnapshotsClient::call`](crate::SnapshotsClient::call).

use serde::{Deserialize, Serialize};

use crate::model::{Sandbox, Snapshot, SnapshotList};
use crate::ops::{
    CreateSandbox, CreateSnapshot, DeleteSnapshot, GetSandbox, ListSnapshots, PauseSandbox,
    RestoreSnapshot, ResumeSnapshot,
};

/// Any client call, with its inputs. Serializes as
/// `{"call": "create_snapshot", "inputs": {...}}`.
///
/// ```
/// use leap0_core::{Call, CreateSnapshot};
/// let call: Call = serde_json::from_str(
///     r#"{"call": "create_snapshot", "inputs": {"sandbox_id": "sb-1", "name": "warm"}}"#,
/// ).unwrap();
/// assert_eq!(call, Call::CreateSnapshot(CreateSnapshot::new("sb-1").name("warm")));
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
}

/// What a [`Call`] returned. Serializes as the API object itself (`null` for a
/// delete).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CallOutput {
    /// A snapshot (create, pause).
    Snapshot(Snapshot),
    /// A sandbox (resume, restore, status, create sandbox).
    Sandbox(Sandbox),
    /// A page of snapshots, or all of them.
    List(SnapshotList),
    /// The snapshot was deleted.
    Deleted,
}
