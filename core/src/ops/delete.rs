//! `DELETE /v1/snapshot/{snapshot_id}`: delete a stored snapshot.

use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use super::SnapshotRef;
use crate::error::Operation;
use crate::exchange::Exchange;
use crate::model::FieldProblem;
use crate::validate;

/// Delete a snapshot. Fails with a conflict while a sandbox restored from it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteSnapshot {
    /// The snapshot to delete.
    pub snapshot_id: String,
}

impl DeleteSnapshot {
    /// Delete `snapshot` (an id or a [`Snapshot`](crate::Snapshot)).
    pub fn new(snapshot: impl SnapshotRef) -> Self {
        DeleteSnapshot {
            snapshot_id: snapshot.snapshot_id().to_owned(),
        }
    }
}

impl<T: SnapshotRef> From<T> for DeleteSnapshot {
    fn from(snapshot: T) -> Self {
        DeleteSnapshot::new(snapshot)
    }
}

impl Exchange for DeleteSnapshot {
    type Output = ();
    const OPERATION: Operation = Operation::DeleteSnapshot;
    const METHOD: Method = Method::DELETE;
    const ROUTE: &'static str = "/v1/snapshot/{snapshot_id}";
    const SUCCESS: StatusCode = StatusCode::NO_CONTENT;

    fn path(&self) -> Result<String, FieldProblem> {
        let id = validate::path_segment("snapshot_id", &self.snapshot_id)?;
        Ok(format!("/v1/snapshot/{id}"))
    }

    /// A 204 has no body; whatever a server sends anyway is ignored.
    fn decode(&self, _body: &[u8]) -> Result<(), FieldProblem> {
        Ok(())
    }
}
