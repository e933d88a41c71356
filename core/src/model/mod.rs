//! The API's objects: snapshots, sandboxes, network policies.
//!
//! Decoding is typed (no intermediate JSON tree), tolerant where the API has
//! drifted and strict where it matters. The rules, field by field:
//!
//! | field | absent or `null` | otherwise |
//! |---|---|---|
//! | `id`, snapshot `name` | decode error | must be a non-empty string (trimmed) |
//! | `template_id` | `""` | a string |
//! | `vcpu`, `memory`/`memory_mib`, `disk`/`disk_mib`, sandbox `timeout` | `0` | a whole number ≥ 0; either spelling |
//! | sandbox `state` | `starting` (the only state a new sandbox has); a decode error for a status read | any string; unknown values kept |
//! | snapshot `state` | `None` | any string; unknown values kept |
//! | `auto_pause` | `false` | a boolean |
//! | `created_at` | `None` | a string, parsed as RFC 3339 when it is one |
//! | `network_policy` | `None` | an object; unknown keys kept in `extra` |
//! | list `items`, `total_items` | decode error | a list of snapshots; a whole number |
//! | anything else | | kept in `extra`, in the server's order |
//!
//! Encoding uses the current API's names (`memory`, `disk`).

mod decode;
mod policy;
mod refs;
mod time;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

pub(crate) use decode::{MissingState, decode_json, decode_sandbox};
pub use policy::{NetworkMode, NetworkPolicy, TransformRule};
pub use refs::{SandboxRef, SnapshotRef};
pub use time::ServerTime;

/// The `jiff` crate, whose [`Timestamp`](jiff::Timestamp) [`ServerTime`] parses to.
pub use jiff;

/// A stored snapshot of a sandbox (memory and disk).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// Unique snapshot id (non-empty).
    pub id: String,
    /// Snapshot name (non-empty), unique within the organization.
    pub name: String,
    /// Template the snapshot was created from.
    pub template_id: String,
    /// Virtual CPUs stored with the snapshot.
    pub vcpu: u64,
    /// Memory stored with the snapshot, in MiB.
    #[serde(rename = "memory")]
    pub memory_mib: u64,
    /// Writable disk size stored with the snapshot, in MiB.
    #[serde(rename = "disk")]
    pub disk_mib: u64,
    /// State reported with the snapshot, if any (a paused snapshot says `paused`).
    pub state: Option<SandboxState>,
    /// Network policy stored with the snapshot, if any.
    pub network_policy: Option<NetworkPolicy>,
    /// Creation time, as the server wrote it and parsed.
    pub created_at: Option<ServerTime>,
    /// Fields this version does not know, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A sandbox, as returned by resume, restore, create and status calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Sandbox {
    /// Unique sandbox id (non-empty).
    pub id: String,
    /// Template the sandbox was created from.
    pub template_id: String,
    /// Virtual CPUs.
    pub vcpu: u64,
    /// Memory, in MiB.
    #[serde(rename = "memory")]
    pub memory_mib: u64,
    /// Writable disk size, in MiB.
    #[serde(rename = "disk")]
    pub disk_mib: u64,
    /// Sandbox timeout in seconds (0 when the server did not say).
    pub timeout: u64,
    /// Current state; unknown values are kept.
    pub state: SandboxState,
    /// Whether the sandbox pauses itself into a snapshot on timeout.
    pub auto_pause: bool,
    /// Creation time, as the server wrote it and parsed.
    pub created_at: Option<ServerTime>,
    /// The sandbox's network policy, if any.
    pub network_policy: Option<NetworkPolicy>,
    /// Fields this version does not know, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One page of snapshots, or all of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SnapshotList {
    /// The snapshots, in the server's order.
    pub items: Vec<Snapshot>,
    /// How many snapshots match the query in total, across all pages.
    pub total_items: u64,
}

impl SnapshotList {
    /// A list of `items` out of `total_items`.
    pub fn new(items: Vec<Snapshot>, total_items: u64) -> Self {
        SnapshotList { items, total_items }
    }
}

/// What a delete did. A retried delete whose earlier attempt may have reached
/// the server, and which then finds nothing to delete, reports
/// [`AlreadyDeleted`](Deletion::AlreadyDeleted) rather than "not found": the
/// earlier attempt deleted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Deletion {
    /// This call deleted it.
    Deleted,
    /// An earlier attempt of this call (which timed out or got no clear answer)
    /// deleted it; the retry found it gone.
    AlreadyDeleted,
}

impl Deletion {
    /// A stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Deletion::Deleted => "deleted",
            Deletion::AlreadyDeleted => "already_deleted",
        }
    }
}

/// The life-cycle state of a sandbox. Values this version does not know are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SandboxState {
    /// Booting.
    Starting,
    /// Up and serving.
    Running,
    /// A snapshot is being taken.
    Snapshotting,
    /// Paused into a snapshot.
    Paused,
    /// Coming back from a pause.
    Unpausing,
    /// Shutting down.
    Stopping,
    /// Stopped.
    Stopped,
    /// Being deleted.
    Deleting,
    /// Deleted.
    Deleted,
    /// A state this version does not know, as the server spelled it.
    Unknown(String),
}

impl SandboxState {
    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            SandboxState::Starting => "starting",
            SandboxState::Running => "running",
            SandboxState::Snapshotting => "snapshotting",
            SandboxState::Paused => "paused",
            SandboxState::Unpausing => "unpausing",
            SandboxState::Stopping => "stopping",
            SandboxState::Stopped => "stopped",
            SandboxState::Deleting => "deleting",
            SandboxState::Deleted => "deleted",
            SandboxState::Unknown(other) => other,
        }
    }

    /// The state for a wire spelling; never fails (unknown spellings are kept).
    pub fn from_wire(s: &str) -> SandboxState {
        match s {
            "starting" => SandboxState::Starting,
            "running" => SandboxState::Running,
            "snapshotting" => SandboxState::Snapshotting,
            "paused" => SandboxState::Paused,
            "unpausing" => SandboxState::Unpausing,
            "stopping" => SandboxState::Stopping,
            "stopped" => SandboxState::Stopped,
            "deleting" => SandboxState::Deleting,
            "deleted" => SandboxState::Deleted,
            other => SandboxState::Unknown(other.to_owned()),
        }
    }

    /// Whether the sandbox is on its way out (stopping, stopped, deleting, deleted):
    /// from there it will not become running again by itself.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            SandboxState::Stopping
                | SandboxState::Stopped
                | SandboxState::Deleting
                | SandboxState::Deleted
        )
    }
}

impl fmt::Display for SandboxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SandboxState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SandboxState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StateVisitor;
        impl serde::de::Visitor<'_> for StateVisitor {
            type Value = SandboxState;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a state name")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<SandboxState, E> {
                Ok(SandboxState::from_wire(s))
            }
        }
        deserializer.deserialize_str(StateVisitor)
    }
}

/// Why a field was rejected: before sending (an input) or after (an answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// Dotted path of the field, e.g. `items[3].id` or `network_policy.mode`.
    pub field: String,
    /// What was wrong with it.
    pub reason: String,
}

impl FieldProblem {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        FieldProblem {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for FieldProblem {}
