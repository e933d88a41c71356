//! `DELETE /v1/sandbox/{sandbox_id}/`: delete a sandbox (to clean up).

use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::exchange::Exchange;
use crate::model::{Deletion, FieldProblem, SandboxRef};
use crate::operation::Operation;

/// `DELETE /v1/sandbox/{sandbox_id}/`: delete a sandbox (a running one is
/// terminated first). Like a snapshot delete, a retry that finds it gone after
/// an earlier attempt may have acted succeeds with [`Deletion::AlreadyDeleted`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeleteSandbox {
    /// The sandbox to delete.
    pub sandbox_id: String,
}

impl DeleteSandbox {
    /// Delete `sandbox` (an id or a [`Sandbox`](crate::Sandbox)).
    pub fn new(sandbox: impl SandboxRef) -> Self {
        DeleteSandbox {
            sandbox_id: sandbox.sandbox_id().to_owned(),
        }
    }
}

impl<T: SandboxRef> From<T> for DeleteSandbox {
    fn from(sandbox: T) -> Self {
        DeleteSandbox::new(sandbox)
    }
}

impl Exchange for DeleteSandbox {
    type Output = Deletion;
    const OPERATION: Operation = Operation::DeleteSandbox;
    type PathParams<'a> = [&'a str; 1];

    fn path_params(&self) -> [&str; 1] {
        [&self.sandbox_id]
    }

    fn decode(&self, _body: &[u8]) -> Result<Deletion, FieldProblem> {
        Ok(Deletion::Deleted)
    }

    fn settled_by_earlier_attempt(&self, status: StatusCode) -> Option<Deletion> {
        super::already_deleted(status)
    }
}
