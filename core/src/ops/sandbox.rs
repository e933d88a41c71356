//! The two sandbox routes the snapshot workflows need: status (for waiting) and
//! create (to have something to snapshot).

use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use super::SandboxRef;
use crate::error::Operation;
use crate::exchange::{Exchange, to_json};
use crate::model::{FieldProblem, NetworkPolicy, Sandbox};
use crate::validate;

/// `GET /v1/sandbox/{sandbox_id}/`: a sandbox's current status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    const METHOD: Method = Method::GET;
    const ROUTE: &'static str = "/v1/sandbox/{sandbox_id}/";
    const SUCCESS: StatusCode = StatusCode::OK;

    fn path(&self) -> Result<String, FieldProblem> {
        let id = validate::path_segment("sandbox_id", &self.sandbox_id)?;
        Ok(format!("/v1/sandbox/{id}/"))
    }

    fn decode(&self, body: &[u8]) -> Result<Sandbox, FieldProblem> {
        super::sandbox_from(body)
    }
}

/// `POST /v1/sandbox/`: start a sandbox from a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

impl Exchange for CreateSandbox {
    type Output = Sandbox;
    const OPERATION: Operation = Operation::CreateSandbox;
    const METHOD: Method = Method::POST;
    const ROUTE: &'static str = "/v1/sandbox/";
    const SUCCESS: StatusCode = StatusCode::CREATED;

    fn path(&self) -> Result<String, FieldProblem> {
        Ok(Self::ROUTE.to_owned())
    }

    fn body(&self) -> Result<Option<Vec<u8>>, FieldProblem> {
        if self.template_name.trim().is_empty() {
            return Err(FieldProblem {
                field: "template_name".into(),
                reason: "must not be empty".into(),
            });
        }
        if let Some(vcpu) = self.vcpu {
            validate::in_range("vcpu", vcpu, (1, 8))?;
        }
        if let Some(memory) = self.memory {
            validate::in_range("memory", memory, (512, 8192))?;
            if memory % 2 != 0 {
                return Err(FieldProblem {
                    field: "memory".into(),
                    reason: format!("must be an even number of MiB, got {memory}"),
                });
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

    fn decode(&self, body: &[u8]) -> Result<Sandbox, FieldProblem> {
        super::sandbox_from(body)
    }
}
