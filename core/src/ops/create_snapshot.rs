//! `POST /v1/sandbox/{sandbox_id}/snapshot/create`: snapshot a running sandbox.

use serde::{Deserialize, Serialize};

use crate::error::Leftover;
use crate::exchange::Exchange;
use crate::model::SandboxRef;
use crate::model::{FieldProblem, Snapshot, decode_json};
use crate::operation::Operation;

/// Snapshot a running sandbox; it keeps running unless `kill_sandbox_after` is set.
///
/// ```
/// # use leap0_core::{CreateSnapshot, Config, Exchange};
/// let op = CreateSnapshot::new("sb-1").name("warm");
/// let request = op.request(&Config::new("key")?)?;
/// assert_eq!(request.uri(), "https://api.leap0.dev/v1/sandbox/sb-1/snapshot/create");
/// assert_eq!(request.body(), br#"{"name":"warm"}"#);
/// # Ok::<(), leap0_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateSnapshot {
    /// The sandbox to snapshot.
    pub sandbox_id: String,
    /// The snapshot's name (trimmed; 1 to 64 characters); generated if absent.
    #[serde(default)]
    pub name: Option<String>,
    /// Terminate the sandbox once the snapshot is stored.
    #[serde(default)]
    pub kill_sandbox_after: bool,
}

impl CreateSnapshot {
    /// Snapshot `sandbox` (an id or a [`Sandbox`](crate::Sandbox)).
    pub fn new(sandbox: impl SandboxRef) -> Self {
        CreateSnapshot {
            sandbox_id: sandbox.sandbox_id().to_owned(),
            name: None,
            kill_sandbox_after: false,
        }
    }

    /// Names the snapshot.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Terminates the sandbox after the snapshot is stored.
    pub fn kill_sandbox_after(mut self, kill: bool) -> Self {
        self.kill_sandbox_after = kill;
        self
    }
}

impl<T: SandboxRef> From<T> for CreateSnapshot {
    fn from(sandbox: T) -> Self {
        CreateSnapshot::new(sandbox)
    }
}

impl Exchange for CreateSnapshot {
    type Output = Snapshot;
    const OPERATION: Operation = Operation::CreateSnapshot;
    type PathParams<'a> = [&'a str; 1];

    fn path_params(&self) -> [&str; 1] {
        [&self.sandbox_id]
    }

    fn body(&self) -> Result<Option<Vec<u8>>, FieldProblem> {
        super::snapshot_body(self.name.as_deref(), self.kill_sandbox_after)
    }

    fn leftover(&self) -> Option<Leftover> {
        super::snapshot_leftover(&self.sandbox_id, self.name.as_deref())
    }

    fn decode(&self, body: &[u8]) -> Result<Snapshot, FieldProblem> {
        decode_json(body)
    }
}
