//! `POST /v1/sandbox/{sandbox_id}/pause`: pause a running sandbox in place
//! (the official SDK's `sandboxes.pause`).

use serde::{Deserialize, Serialize};

use crate::exchange::Exchange;
use crate::model::{FieldProblem, MissingState, Sandbox, SandboxRef, decode_sandbox};
use crate::operation::Operation;

/// Pause a running sandbox: its memory and disk are kept and its VM stops;
/// the answer is the sandbox, now `paused`. A sandbox that is not running is
/// a 409 ([`ApiErrorKind::Conflict`](crate::ApiErrorKind::Conflict)).
///
/// Unlike [`PauseIntoSnapshot`](crate::PauseIntoSnapshot), no named snapshot
/// is made. The request has no body.
///
/// ```
/// # use leap0_core::{Config, Exchange, PauseSandbox};
/// let request = PauseSandbox::new("sb-1").request(&Config::new("key")?)?;
/// assert_eq!(request.uri(), "https://api.leap0.dev/v1/sandbox/sb-1/pause");
/// assert_eq!(request.headers()["content-length"], "0");
/// assert!(request.body().is_empty());
/// # Ok::<(), leap0_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
// A call recorded as `pause_sandbox` before that name was this operation's
// (a pause into a snapshot, with a `name`) must not run as this one.
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PauseSandbox {
    /// The sandbox to pause.
    pub sandbox_id: String,
}

impl PauseSandbox {
    /// Pause `sandbox` (an id or a [`Sandbox`]).
    pub fn new(sandbox: impl SandboxRef) -> Self {
        PauseSandbox {
            sandbox_id: sandbox.sandbox_id().to_owned(),
        }
    }
}

impl<T: SandboxRef> From<T> for PauseSandbox {
    fn from(sandbox: T) -> Self {
        PauseSandbox::new(sandbox)
    }
}

impl Exchange for PauseSandbox {
    type Output = Sandbox;
    const OPERATION: Operation = Operation::PauseSandbox;
    type PathParams<'a> = [&'a str; 1];

    fn path_params(&self) -> [&str; 1] {
        [&self.sandbox_id]
    }

    fn decode(&self, body: &[u8]) -> Result<Sandbox, FieldProblem> {
        // The answer says the sandbox is paused; without a state it cannot.
        decode_sandbox(body, MissingState::Required)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{ApiErrorKind, Config, SandboxState};

    fn answer(status: u16, body: &str) -> http::Response<Vec<u8>> {
        http::Response::builder()
            .status(status)
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    #[test]
    fn a_paused_sandbox_comes_back_and_errors_are_typed() {
        let op = PauseSandbox::new("sb 1");
        let request = op.request(&Config::new("key").unwrap()).unwrap();
        assert_eq!(request.method(), "POST");
        assert_eq!(request.uri().path(), "/v1/sandbox/sb%201/pause");

        let sandbox = op
            .parse(answer(201, r#"{"id":"sb 1","state":"paused"}"#))
            .unwrap();
        assert_eq!(sandbox.state, SandboxState::Paused);

        let conflict = op
            .parse(answer(409, r#"{"message":"sandbox is not running"}"#))
            .unwrap_err();
        assert_eq!(conflict.api().unwrap().kind, ApiErrorKind::Conflict);
        assert!(
            conflict
                .to_string()
                .starts_with("Failed to pause sandbox: 409")
        );
        let missing = op.parse(answer(404, "{}")).unwrap_err();
        assert_eq!(missing.api().unwrap().kind, ApiErrorKind::NotFound);
    }

    #[test]
    fn an_old_pause_into_a_snapshot_call_is_not_read_as_this_one() {
        let old = serde_json::json!({"sandbox_id": "sb-1", "name": null});
        assert!(serde_json::from_value::<PauseSandbox>(old).is_err());
    }
}
