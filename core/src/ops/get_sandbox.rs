//! `GET /v1/sandbox/{sandbox_id}/`: a sandbox's status (the snapshot workflows
//! poll it while waiting).

use serde::{Deserialize, Serialize};

use crate::exchange::Exchange;
use crate::model::{FieldProblem, MissingState, Sandbox, SandboxRef, decode_sandbox};
use crate::operation::Operation;

/// `GET /v1/sandbox/{sandbox_id}/`: a sandbox's current status. An answer
/// without a `state` is a decode error (waiting depends on it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GetSandbox {
    /// The sandbox to look at.
    pub sandbox_id: String,
}

impl GetSandbox {
    /// Look at `sandbox` (an id or a [`Sandbox`]).
    pub fn new(sandbox: impl SandboxRef) -> Self {
        GetSandbox {
            sandbox_id: sandbox.sandbox_id().to_owned(),
        }
    }
}

impl<T: SandboxRef> From<T> for GetSandbox {
    fn from(sandbox: T) -> Self {
        GetSandbox::new(sandbox)
    }
}

impl Exchange for GetSandbox {
    type Output = Sandbox;
    const OPERATION: Operation = Operation::GetSandbox;
    type PathParams<'a> = [&'a str; 1];

    fn path_params(&self) -> [&str; 1] {
        [&self.sandbox_id]
    }

    fn decode(&self, body: &[u8]) -> Result<Sandbox, FieldProblem> {
        decode_sandbox(body, MissingState::Required)
    }
}
