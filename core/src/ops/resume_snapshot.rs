//! `POST /v1/snapshot/resume`: start a new sandbox from a snapshot (timeout in minutes).

use serde::{Deserialize, Serialize};

use super::{RestoreBody, StartTimeout};
use crate::error::Leftover;
use crate::exchange::Exchange;
use crate::model::{FieldProblem, MissingState, NetworkPolicy, Sandbox, decode_sandbox};
use crate::operation::Operation;

/// Resume a snapshot into a new sandbox (the seed SDK's `resume`).
///
/// `auto_pause` is always sent; `timeout_min` (1 to 480) and `network_policy` only
/// when set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResumeSnapshot {
    /// Name of the snapshot to resume.
    pub snapshot_name: String,
    /// Pause the new sandbox into a snapshot when it times out.
    #[serde(default)]
    pub auto_pause: bool,
    /// The new sandbox's timeout, in minutes.
    #[serde(default)]
    pub timeout_min: Option<u64>,
    /// Overrides the snapshot's network policy.
    #[serde(default)]
    pub network_policy: Option<NetworkPolicy>,
}

start_from_snapshot!(ResumeSnapshot);

impl ResumeSnapshot {
    /// The new sandbox's timeout in minutes (1 to 480).
    pub fn timeout_min(mut self, minutes: u64) -> Self {
        self.timeout_min = Some(minutes);
        self
    }
}

impl Exchange for ResumeSnapshot {
    type Output = Sandbox;
    const OPERATION: Operation = Operation::ResumeSnapshot;
    type PathParams<'a> = [&'a str; 0];

    fn path_params(&self) -> [&str; 0] {
        []
    }

    fn body(&self) -> Result<Option<Vec<u8>>, FieldProblem> {
        RestoreBody::checked(
            &self.snapshot_name,
            self.auto_pause,
            StartTimeout::Minutes(self.timeout_min),
            self.network_policy.as_ref(),
        )
    }

    fn leftover(&self) -> Option<Leftover> {
        super::sandbox_leftover(format!("snapshot {}", self.snapshot_name))
    }

    fn decode(&self, body: &[u8]) -> Result<Sandbox, FieldProblem> {
        decode_sandbox(body, MissingState::Starting)
    }
}
