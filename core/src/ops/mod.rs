//! Layer A operations, one file each: inputs, path parameters, body, decoding.
//! Each file is named in the table of operations (`operation.rs`), which gives
//! its route, names and client method.

/// The constructor, shared builder methods and conversions of resume and restore.
macro_rules! start_from_snapshot {
    ($ty:ident) => {
        impl $ty {
            /// Starts a sandbox from the snapshot called `snapshot_name`.
            pub fn new(snapshot_name: impl Into<String>) -> Self {
                $ty {
                    snapshot_name: snapshot_name.into(),
                    ..$ty::default()
                }
            }

            /// Pause the new sandbox into a snapshot when it times out.
            pub fn auto_pause(mut self, auto_pause: bool) -> Self {
                self.auto_pause = auto_pause;
                self
            }

            /// Overrides the snapshot's network policy.
            pub fn network_policy(mut self, policy: crate::model::NetworkPolicy) -> Self {
                self.network_policy = Some(policy);
                self
            }
        }

        impl From<&str> for $ty {
            fn from(name: &str) -> Self {
                $ty::new(name)
            }
        }

        impl From<String> for $ty {
            fn from(name: String) -> Self {
                $ty::new(name)
            }
        }

        impl From<&crate::model::Snapshot> for $ty {
            fn from(snapshot: &crate::model::Snapshot) -> Self {
                $ty::new(snapshot.name.clone())
            }
        }
    };
}

/// Declares each operation's module and re-exports its public items.
macro_rules! declare_modules {
    ($($module:ident: $ty:ident, $action:literal, $method:ident $template:literal -> $success:ident, fn $client:ident $(-> $handle:ident)?;)*) => {
        $(
            mod $module;
            pub use $module::*;
        )*
    };
}

crate::operation::for_each_operation!(declare_modules);

/// Generates [`Operation::visit`] from the table of operations.
macro_rules! declare_visit {
    ($($module:ident: $ty:ident, $action:literal, $method:ident $template:literal -> $success:ident, fn $client:ident $(-> $handle:ident)?;)*) => {
        impl Operation {
            /// Calls `visitor` with this operation's exchange type: the way to
            /// do something with "the input type of operation X" (decode
            /// recorded inputs, rebuild a request) without a table of your own.
            pub fn visit<V: VisitExchange>(self, visitor: V) -> V::Output {
                match self {
                    $(Operation::$ty => visitor.visit::<$ty>(),)*
                }
            }
        }
    };
}

crate::operation::for_each_operation!(declare_visit);

/// Something done with an operation's exchange type; see [`Operation::visit`].
pub trait VisitExchange {
    /// What it gives.
    type Output;
    /// Does it with the exchange type `E`.
    fn visit<E>(self) -> Self::Output
    where
        E: Exchange + Serialize + DeserializeOwned + 'static;
}

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::exchange::Exchange;
use crate::model::FieldProblem;
use crate::operation::Operation;

/// A delete's answer to a 404 after an earlier attempt may have acted: the
/// earlier attempt deleted it.
fn already_deleted(status: http::StatusCode) -> Option<crate::model::Deletion> {
    (status == http::StatusCode::NOT_FOUND).then_some(crate::model::Deletion::AlreadyDeleted)
}

/// What a create or a pause into a snapshot may leave when its answer never came.
fn snapshot_leftover(sandbox_id: &str, name: Option<&str>) -> Option<crate::error::Leftover> {
    Some(crate::error::Leftover::Snapshot {
        sandbox_id: sandbox_id.to_owned(),
        name: name.map(str::to_owned),
    })
}

/// What a start (resume, restore, create sandbox) may leave when its answer
/// never came: a sandbox of unknown id, started from `from`.
fn sandbox_leftover(from: String) -> Option<crate::error::Leftover> {
    Some(crate::error::Leftover::UnknownSandbox { from })
}

/// The body of create and pause: `{}`, `{"name"}`, plus `kill_sandbox_after` when set.
#[derive(serde::Serialize)]
struct SnapshotBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    kill_sandbox_after: bool,
}

fn snapshot_body(
    name: Option<&str>,
    kill_sandbox_after: bool,
) -> Result<Option<Vec<u8>>, FieldProblem> {
    let name = name
        .map(|n| crate::validate::snapshot_name("name", n))
        .transpose()?;
    crate::exchange::to_json(&SnapshotBody {
        name,
        kill_sandbox_after,
    })
}

/// The body of resume and restore, in the wire's field order.
#[derive(serde::Serialize)]
struct RestoreBody<'a> {
    snapshot_name: &'a str,
    auto_pause: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_min: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    network_policy: Option<&'a crate::model::NetworkPolicy>,
}

/// The timeout of a resumed or restored sandbox, in the unit its route takes.
enum StartTimeout {
    /// `timeout_min` (resume): 1 to 480 minutes.
    Minutes(Option<u64>),
    /// `timeout` (restore): 1 to 28800 seconds.
    Seconds(Option<u64>),
}

impl<'a> RestoreBody<'a> {
    /// Checks the inputs and builds the body.
    fn checked(
        snapshot_name: &'a str,
        auto_pause: bool,
        timeout: StartTimeout,
        network_policy: Option<&'a crate::model::NetworkPolicy>,
    ) -> Result<Option<Vec<u8>>, FieldProblem> {
        let snapshot_name = crate::validate::snapshot_name("snapshot_name", snapshot_name)?;
        let (timeout_min, timeout) = match timeout {
            StartTimeout::Minutes(m) => (m, None),
            StartTimeout::Seconds(s) => (None, s),
        };
        if let Some(minutes) = timeout_min {
            crate::validate::in_range("timeout_min", minutes, crate::validate::TIMEOUT_MIN_RANGE)?;
        }
        if let Some(seconds) = timeout {
            crate::validate::in_range("timeout", seconds, crate::validate::TIMEOUT_SECS_RANGE)?;
        }
        if let Some(policy) = network_policy {
            crate::validate::network_policy("network_policy", policy)?;
        }
        crate::exchange::to_json(&RestoreBody {
            snapshot_name,
            auto_pause,
            timeout_min,
            timeout,
            network_policy,
        })
    }
}
