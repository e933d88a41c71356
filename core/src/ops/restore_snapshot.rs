//! `POST /v1/snapshot/restore`: start a new sandbox from a snapshot (timeout in seconds).

use serde::{Deserialize, Serialize};

use super::{RestoreBody, StartTimeout};
use crate::error::Leftover;
use crate::exchange::Exchange;
use crate::model::{FieldProblem, MissingState, NetworkPolicy, Sandbox, decode_sandbox};
use crate::operation::Operation;

/// Restore a snapshot into a new sandbox (the newer route; `timeout` is in **seconds**).
///
/// `auto_pause` is always sent; `timeout` (1 to 28800 seconds) and `network_policy` only
/// when set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RestoreSnapshot {
    /// Name of the snapshot to resume.
    pub snapshot_name: String,
    /// Pause the new sandbox into a snapshot when it times out.
    #[serde(default)]
    pub auto_pause: bool,
    /// The new sandbox's timeout, in seconds.
    #[serde(default)]
    pub timeout: Option<u64>,
    /// Overrides the snapshot's network policy.
    #[serde(default)]
    pub network_policy: Option<NetworkPolicy>,
}

start_from_snapshot!(RestoreSnapshot);

impl RestoreSnapshot {
    /// The new sandbox's timeout in seconds (1 to 28800).
    pub fn timeout(mut self, seconds: u64) -> Self {
        self.timeout = Some(seconds);
        self
    }
}

impl Exchange for RestoreSnapshot {
    type Output = Sandbox;
    const OPERATION: Operation = Operation::RestoreSnapshot;
    type PathParams<'a> = [&'a str; 0];

    fn path_params(&self) -> [&str; 0] {
        []
    }

    fn body(&self) -> Result<Option<Vec<u8>>, FieldProblem> {
        RestoreBody::checked(
            &self.snapshot_name,
            self.auto_pause,
            StartTimeout::Seconds(self.timeout),
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
