//! `DELETE /v1/snapshot/{snapshot_id}`: delete a stored snapshot.

use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::exchange::Exchange;
use crate::model::SnapshotRef;
use crate::model::{Deletion, FieldProblem};
use crate::operation::Operation;

/// Delete a snapshot. Fails with a conflict while a sandbox restored from it runs.
///
/// A retried delete whose earlier attempt may have reached the server, and
/// which then gets a 404, succeeds with [`Deletion::AlreadyDeleted`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
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
    type Output = Deletion;
    const OPERATION: Operation = Operation::DeleteSnapshot;
    type PathParams<'a> = [&'a str; 1];

    fn path_params(&self) -> [&str; 1] {
        [&self.snapshot_id]
    }

    /// A 204 has no body; whatever a server sends anyway is ignored.
    fn decode(&self, _body: &[u8]) -> Result<Deletion, FieldProblem> {
        Ok(Deletion::Deleted)
    }

    fn settled_by_earlier_attempt(&self, status: StatusCode) -> Option<Deletion> {
        super::already_deleted(status)
    }
}
