//! `POST /v1/sandbox/`: start a sandbox from a template (the snapshot
//! workflows need one to snapshot).

use serde::{Deserialize, Serialize};

use crate::error::Leftover;
use crate::exchange::{Exchange, to_json};
use crate::model::{FieldProblem, MissingState, NetworkPolicy, Sandbox, decode_sandbox};
use crate::operation::Operation;
use crate::validate;

/// `POST /v1/sandbox/`: start a sandbox from a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateSandbox {
    /// The template to start from.
    pub template_name: String,
    /// Virtual CPUs (1 to 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcpu: Option<u64>,
    /// Memory in MiB (512 to 8192, even).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// Timeout in seconds (1 to 28800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// Pause into a snapshot on timeout.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_pause: bool,
    /// Egress policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policy: Option<NetworkPolicy>,
}

impl CreateSandbox {
    /// Start a sandbox from `template_name` with default resources.
    pub fn new(template_name: impl Into<String>) -> Self {
        CreateSandbox {
            template_name: template_name.into(),
            vcpu: None,
            memory: None,
            timeout: None,
            auto_pause: false,
            network_policy: None,
        }
    }

    /// Virtual CPUs (1 to 8).
    pub fn vcpu(mut self, vcpu: u64) -> Self {
        self.vcpu = Some(vcpu);
        self
    }

    /// Memory in MiB (512 to 8192, even).
    pub fn memory(mut self, mib: u64) -> Self {
        self.memory = Some(mib);
        self
    }

    /// Timeout in seconds (1 to 28800).
    pub fn timeout(mut self, seconds: u64) -> Self {
        self.timeout = Some(seconds);
        self
    }

    /// Pause into a snapshot on timeout.
    pub fn auto_pause(mut self, auto_pause: bool) -> Self {
        self.auto_pause = auto_pause;
        self
    }

    /// Egress policy.
    pub fn network_policy(mut self, policy: NetworkPolicy) -> Self {
        self.network_policy = Some(policy);
        self
    }
}

impl Exchange for CreateSandbox {
    type Output = Sandbox;
    const OPERATION: Operation = Operation::CreateSandbox;
    type PathParams<'a> = [&'a str; 0];

    fn path_params(&self) -> [&str; 0] {
        []
    }

    fn body(&self) -> Result<Option<Vec<u8>>, FieldProblem> {
        if self.template_name.trim().is_empty() {
            return Err(FieldProblem::new("template_name", "must not be empty"));
        }
        if let Some(vcpu) = self.vcpu {
            validate::in_range("vcpu", vcpu, (1, 8))?;
        }
        if let Some(memory) = self.memory {
            validate::in_range("memory", memory, (512, 8192))?;
            if memory % 2 != 0 {
                return Err(FieldProblem::new(
                    "memory",
                    format!("must be an even number of MiB, got {memory}"),
                ));
            }
        }
        if let Some(timeout) = self.timeout {
            validate::in_range("timeout", timeout, validate::TIMEOUT_SECS_RANGE)?;
        }
        if let Some(policy) = &self.network_policy {
            validate::network_policy("network_policy", policy)?;
        }
        to_json(self)
    }

    fn leftover(&self) -> Option<Leftover> {
        super::sandbox_leftover(format!("template {}", self.template_name))
    }

    fn decode(&self, body: &[u8]) -> Result<Sandbox, FieldProblem> {
        decode_sandbox(body, MissingState::Starting)
    }
}
