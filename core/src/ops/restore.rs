//! `POST /v1/snapshot/restore`: start a new sandbox from a snapshot (timeout in seconds).

use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use super::RestoreBody;
use crate::error::Operation;
use crate::exchange::{Exchange, to_json};
use crate::model::{FieldProblem, NetworkPolicy, Sandbox, Snapshot};
use crate::validate;

/// Restore a snapshot into a new sandbox (the newer route; `timeout` is in **seconds**).
///
/// `auto_pause` is always sent; `timeout` (1 to 28800 seconds) and `network_policy` only
/// when set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

impl RestoreSnapshot {
    /// Restore the snapshot called `snapshot_name`.
    pub fn new(snapshot_name: impl Into<String>) -> Self {
        RestoreSnapshot {
            snapshot_name: snapshot_name.into(),
            auto_pause: false,
            timeout: None,
            network_policy: None,
        }
    }

    /// Pause the new sandbox on timeout.
    pub fn auto_pause(mut self, auto_pause: bool) -> Self {
        self.auto_pause = auto_pause;
        self
    }

    /// The new sandbox's timeout in seconds (1 to 28800).
    pub fn timeout(mut self, seconds: u64) -> Self {
        self.timeout = Some(seconds);
        self
    }

    /// Overrides the network policy.
    pub fn network_policy(mut self, policy: NetworkPolicy) -> Self {
        self.network_policy = Some(policy);
        self
    }
}

impl From<&str> for RestoreSnapshot {
    fn from(name: &str) -> Self {
        RestoreSnapshot::new(name)
    }
}
impl From<String> for RestoreSnapshot {
    fn from(name: String) -> Self {
        RestoreSnapshot::new(name)
    }
}
impl From<&Snapshot> for RestoreSnapshot {
    fn from(snapshot: &Snapshot) -> Self {
        RestoreSnapshot::new(snapshot.name.clone())
    }
}

impl Exchange for RestoreSnapshot {
    type Output = Sandbox;
    const OPERATION: Operation = Operation::RestoreSnapshot;
    const METHOD: Method = Method::POST;
    const ROUTE: &'static str = "/v1/snapshot/restore";
    const SUCCESS: StatusCode = StatusCode::CREATED;

    fn path(&self) -> Result<String, FieldProblem> {
        Ok(Self::ROUTE.to_owned())
    }

    fn body(&self) -> Result<Option<Vec<u8>>, FieldProblem> {
        let mut body = RestoreBody::checked(
            &self.snapshot_name,
            self.auto_pause,
            self.network_policy.as_ref(),
        )?;
        if let Some(seconds) = self.timeout {
            validate::in_range("timeout", seconds, validate::TIMEOUT_SECS_RANGE)?;
        }
        body.timeout = self.timeout;
        to_json(&body)
    }

    fn decode(&self, body: &[u8]) -> Result<Sandbox, FieldProblem> {
        super::sandbox_from(body)
    }
}
