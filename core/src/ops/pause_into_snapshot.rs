//! `POST /v1/sandbox/{sandbox_id}/snapshot/pause`: snapshot a sandbox and stop it.

use serde::{Deserialize, Serialize};

use crate::error::Leftover;
use crate::exchange::Exchange;
use crate::model::SandboxRef;
use crate::model::{FieldProblem, Snapshot, decode_json};
use crate::operation::Operation;

/// Pause a running sandbox into a snapshot; the sandbox is stopped afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PauseIntoSnapshot {
    /// The sandbox to pause.
    pub sandbox_id: String,
    /// The snapshot's name (trimmed; 1 to 64 characters); generated if absent.
    #[serde(default)]
    pub name: Option<String>,
}

impl PauseIntoSnapshot {
    /// Pause `sandbox` (an id or a [`Sandbox`](crate::Sandbox)).
    pub fn new(sandbox: impl SandboxRef) -> Self {
        PauseIntoSnapshot {
            sandbox_id: sandbox.sandbox_id().to_owned(),
            name: None,
        }
    }

    /// Names the snapshot.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

impl<T: SandboxRef> From<T> for PauseIntoSnapshot {
    fn from(sandbox: T) -> Self {
        PauseIntoSnapshot::new(sandbox)
    }
}

impl Exchange for PauseIntoSnapshot {
    type Output = Snapshot;
    const OPERATION: Operation = Operation::PauseIntoSnapshot;
    type PathParams<'a> = [&'a str; 1];

    fn path_params(&self) -> [&str; 1] {
        [&self.sandbox_id]
    }

    fn body(&self) -> Result<Option<Vec<u8>>, FieldProblem> {
        super::snapshot_body(self.name.as_deref(), false)
    }

    fn leftover(&self) -> Option<Leftover> {
        super::snapshot_leftover(&self.sandbox_id, self.name.as_deref())
    }

    fn decode(&self, body: &[u8]) -> Result<Snapshot, FieldProblem> {
        decode_json(body)
    }
}
