//! The API's objects: snapshots, sandboxes, network policies.
//!
//! Decoding is tolerant where the API has drifted and strict where it matters:
//! `memory_mib`/`memory` and `disk_mib`/`disk` are both accepted, absent numbers
//! default to zero, unknown `state` values are kept, unknown fields are kept in
//! `extra`; but `id` (and a snapshot's `name`) must be non-empty strings.
//! Encoding uses the current API's names (`memory`, `disk`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A stored snapshot of a sandbox (memory and disk).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// Unique snapshot id (non-empty).
    pub id: String,
    /// Snapshot name (non-empty), unique within the organization.
    pub name: String,
    /// Template the snapshot was created from.
    pub template_id: String,
    /// Virtual CPUs stored with the snapshot.
    pub vcpu: u64,
    /// Memory stored with the snapshot, in MiB.
    #[serde(rename = "memory")]
    pub memory_mib: u64,
    /// Writable disk size stored with the snapshot, in MiB.
    #[serde(rename = "disk")]
    pub disk_mib: u64,
    /// State reported with the snapshot, if any (a paused snapshot says `paused`).
    pub state: Option<SandboxState>,
    /// Network policy stored with the snapshot, if any.
    pub network_policy: Option<NetworkPolicy>,
    /// Creation time as the server wrote it (ISO 8601).
    pub created_at: String,
    /// Fields this version does not know, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A sandbox, as returned by resume, restore, create and status calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sandbox {
    /// Unique sandbox id (non-empty).
    pub id: String,
    /// Template the sandbox was created from.
    pub template_id: String,
    /// Virtual CPUs.
    pub vcpu: u64,
    /// Memory, in MiB.
    #[serde(rename = "memory")]
    pub memory_mib: u64,
    /// Writable disk size, in MiB.
    #[serde(rename = "disk")]
    pub disk_mib: u64,
    /// Sandbox timeout in seconds (0 when the server did not say).
    pub timeout: u64,
    /// Current state; unknown values are kept.
    pub state: SandboxState,
    /// Whether the sandbox pauses itself into a snapshot on timeout.
    pub auto_pause: bool,
    /// Creation time as the server wrote it (ISO 8601).
    pub created_at: String,
    /// The sandbox's network policy, if any.
    pub network_policy: Option<NetworkPolicy>,
    /// Fields this version does not know, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One page of snapshots, or all of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotList {
    /// The snapshots, in the server's order.
    pub items: Vec<Snapshot>,
    /// How many snapshots match the query in total, across all pages.
    pub total_items: u64,
}

/// The life-cycle state of a sandbox. Values this version does not know are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SandboxState {
    /// Booting.
    Starting,
    /// Up and serving.
    Running,
    /// A snapshot is being taken.
    Snapshotting,
    /// Paused into a snapshot.
    Paused,
    /// Coming back from a pause.
    Unpausing,
    /// Shutting down.
    Stopping,
    /// Stopped.
    Stopped,
    /// Being deleted.
    Deleting,
    /// Deleted.
    Deleted,
    /// A state this version does not know, as the server spelled it.
    Unknown(String),
}

impl SandboxState {
    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            SandboxState::Starting => "starting",
            SandboxState::Running => "running",
            SandboxState::Snapshotting => "snapshotting",
            SandboxState::Paused => "paused",
            SandboxState::Unpausing => "unpausing",
            SandboxState::Stopping => "stopping",
            SandboxState::Stopped => "stopped",
            SandboxState::Deleting => "deleting",
            SandboxState::Deleted => "deleted",
            SandboxState::Unknown(other) => other,
        }
    }

    /// The state for a wire spelling; never fails (unknown spellings are kept).
    pub fn from_wire(s: &str) -> SandboxState {
        match s {
            "starting" => SandboxState::Starting,
            "running" => SandboxState::Running,
            "snapshotting" => SandboxState::Snapshotting,
            "paused" => SandboxState::Paused,
            "unpausing" => SandboxState::Unpausing,
            "stopping" => SandboxState::Stopping,
            "stopped" => SandboxState::Stopped,
            "deleting" => SandboxState::Deleting,
            "deleted" => SandboxState::Deleted,
            other => SandboxState::Unknown(other.to_owned()),
        }
    }

    /// Whether the sandbox is on its way out (stopping, stopped, deleting, deleted):
    /// from there it will not become running again by itself.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            SandboxState::Stopping
                | SandboxState::Stopped
                | SandboxState::Deleting
                | SandboxState::Deleted
        )
    }
}

impl fmt::Display for SandboxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SandboxState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SandboxState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Ok(SandboxState::from_wire(&s))
    }
}

/// A sandbox's egress policy.
///
/// Field order is the wire order (`mode`, `allow_domains`, `allow_cidrs`,
/// `transforms`); absent lists are not sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkPolicy {
    /// The policy mode.
    pub mode: NetworkMode,
    /// Domain patterns to allow (custom mode), at most 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_domains: Option<Vec<String>>,
    /// IPv4 CIDR ranges to allow (custom mode), at most 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_cidrs: Option<Vec<String>>,
    /// Per-domain request transforms, at most 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transforms: Option<Vec<TransformRule>>,
}

impl NetworkPolicy {
    /// A policy of the given mode with no lists.
    pub fn new(mode: NetworkMode) -> Self {
        NetworkPolicy {
            mode,
            allow_domains: None,
            allow_cidrs: None,
            transforms: None,
        }
    }

    /// Sets the allowed domain patterns.
    pub fn allow_domains<S: Into<String>>(mut self, domains: impl IntoIterator<Item = S>) -> Self {
        self.allow_domains = Some(domains.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the allowed IPv4 CIDR ranges.
    pub fn allow_cidrs<S: Into<String>>(mut self, cidrs: impl IntoIterator<Item = S>) -> Self {
        self.allow_cidrs = Some(cidrs.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the per-domain transforms.
    pub fn transforms(mut self, transforms: impl IntoIterator<Item = TransformRule>) -> Self {
        self.transforms = Some(transforms.into_iter().collect());
        self
    }
}

/// A network policy mode. Unknown modes are kept when decoding, and rejected by
/// validation when sending.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NetworkMode {
    /// All egress allowed.
    AllowAll,
    /// All egress blocked.
    DenyAll,
    /// Only the listed domains and ranges.
    Custom,
    /// A mode this version does not know, as spelled.
    Unknown(String),
}

impl NetworkMode {
    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            NetworkMode::AllowAll => "allow-all",
            NetworkMode::DenyAll => "deny-all",
            NetworkMode::Custom => "custom",
            NetworkMode::Unknown(other) => other,
        }
    }
}

impl FromStr for NetworkMode {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "allow-all" => NetworkMode::AllowAll,
            "deny-all" => NetworkMode::DenyAll,
            "custom" => NetworkMode::Custom,
            other => NetworkMode::Unknown(other.to_owned()),
        })
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for NetworkMode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for NetworkMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        let Ok(mode) = s.parse();
        Ok(mode)
    }
}

/// A per-domain request transform (credential brokering, header rewriting).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransformRule {
    /// Domain pattern the rule applies to.
    pub domain: String,
    /// Headers to inject into matching requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inject_headers: Option<BTreeMap<String, String>>,
    /// Header names to strip from matching requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strip_headers: Option<Vec<String>>,
}

// ---------------------------------------------------------------------------
// Decoding: through `serde_json::Value`, so every failure can name its field.
// ---------------------------------------------------------------------------

/// Why a field of a response could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// Dotted path of the field, e.g. `items[3].id`.
    pub field: String,
    /// What was wrong with it.
    pub reason: String,
}

impl FieldProblem {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        FieldProblem {
            field: field.into(),
            reason: reason.into(),
        }
    }

    fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Takes fields out of a JSON object one by one; what is left is `extra`.
struct Fields {
    map: Map<String, Value>,
}

impl Fields {
    fn of(value: Value, what: &str) -> Result<Self, FieldProblem> {
        match value {
            Value::Object(map) => Ok(Fields { map }),
            other => Err(FieldProblem::new(
                what,
                format!("expected an object, found {}", kind_of(&other)),
            )),
        }
    }

    fn required_str(&mut self, name: &str) -> Result<String, FieldProblem> {
        match self.map.remove(name) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Some(Value::String(_)) => Err(FieldProblem::new(name, "must not be empty")),
            Some(other) => Err(FieldProblem::new(
                name,
                format!("expected a string, found {}", kind_of(&other)),
            )),
            None => Err(FieldProblem::new(name, "is missing")),
        }
    }

    fn str_or_default(&mut self, name: &str) -> Result<String, FieldProblem> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(FieldProblem::new(
                name,
                format!("expected a string, found {}", kind_of(&other)),
            )),
        }
    }

    fn u64_or_default(&mut self, name: &str) -> Result<Option<u64>, FieldProblem> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
                FieldProblem::new(name, format!("expected a whole number >= 0, found {n}"))
            }),
            Some(other) => Err(FieldProblem::new(
                name,
                format!("expected a number, found {}", kind_of(&other)),
            )),
        }
    }

    /// The first present of two spellings of one number; both are removed.
    fn u64_either(&mut self, current: &str, legacy: &str) -> Result<u64, FieldProblem> {
        let new = self.u64_or_default(current)?;
        let old = self.u64_or_default(legacy)?;
        Ok(new.or(old).unwrap_or(0))
    }

    fn bool_or_default(&mut self, name: &str) -> Result<bool, FieldProblem> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(b),
            Some(other) => Err(FieldProblem::new(
                name,
                format!("expected a boolean, found {}", kind_of(&other)),
            )),
        }
    }

    fn state(&mut self, name: &str) -> Result<Option<SandboxState>, FieldProblem> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(SandboxState::from_wire(&s))),
            Some(other) => Err(FieldProblem::new(
                name,
                format!("expected a string, found {}", kind_of(&other)),
            )),
        }
    }

    fn network_policy(&mut self, name: &str) -> Result<Option<NetworkPolicy>, FieldProblem> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => serde_json::from_value(value)
                .map(Some)
                .map_err(|e| FieldProblem::new(name, e.to_string())),
        }
    }

    fn extra(self) -> Map<String, Value> {
        self.map
    }
}

impl Snapshot {
    /// Decodes a snapshot from a JSON value, naming the field at fault on failure.
    pub fn from_json(value: Value) -> Result<Self, FieldProblem> {
        let mut f = Fields::of(value, "snapshot")?;
        Ok(Snapshot {
            id: f.required_str("id")?,
            name: f.required_str("name")?,
            template_id: f.str_or_default("template_id")?,
            vcpu: f.u64_or_default("vcpu")?.unwrap_or(0),
            memory_mib: f.u64_either("memory", "memory_mib")?,
            disk_mib: f.u64_either("disk", "disk_mib")?,
            state: f.state("state")?,
            network_policy: f.network_policy("network_policy")?,
            created_at: f.str_or_default("created_at")?,
            extra: f.extra(),
        })
    }
}

impl Sandbox {
    /// Decodes a sandbox from a JSON value, naming the field at fault on failure.
    pub fn from_json(value: Value) -> Result<Self, FieldProblem> {
        let mut f = Fields::of(value, "sandbox")?;
        Ok(Sandbox {
            id: f.required_str("id")?,
            template_id: f.str_or_default("template_id")?,
            vcpu: f.u64_or_default("vcpu")?.unwrap_or(0),
            memory_mib: f.u64_either("memory", "memory_mib")?,
            disk_mib: f.u64_either("disk", "disk_mib")?,
            timeout: f.u64_or_default("timeout")?.unwrap_or(0),
            state: f
                .state("state")?
                .unwrap_or_else(|| SandboxState::Unknown(String::new())),
            auto_pause: f.bool_or_default("auto_pause")?,
            created_at: f.str_or_default("created_at")?,
            network_policy: f.network_policy("network_policy")?,
            extra: f.extra(),
        })
    }
}

impl SnapshotList {
    /// Decodes a list page from a JSON value, naming the field at fault on failure.
    pub fn from_json(value: Value) -> Result<Self, FieldProblem> {
        let mut f = Fields::of(value, "list")?;
        let items = match f.map.remove("items") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    Snapshot::from_json(item).map_err(|p| p.within(&format!("items[{i}]")))
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(FieldProblem::new(
                    "items",
                    format!("expected an array, found {}", kind_of(&other)),
                ));
            }
        };
        let total_items = f
            .u64_or_default("total_items")?
            .unwrap_or(items.len() as u64);
        Ok(SnapshotList { items, total_items })
    }
}

macro_rules! deserialize_via_from_json {
    ($($ty:ty),*) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = Value::deserialize(deserializer)?;
                <$ty>::from_json(value).map_err(serde::de::Error::custom)
            }
        }
    )*};
}
deserialize_via_from_json!(Snapshot, Sandbox, SnapshotList);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_both_spellings_of_memory_and_disk() {
        let legacy = Snapshot::from_json(
            json!({"id": "s", "name": "n", "memory_mib": 2048, "disk_mib": 10240}),
        )
        .unwrap();
        let current =
            Snapshot::from_json(json!({"id": "s", "name": "n", "memory": 2048, "disk": 10240}))
                .unwrap();
        assert_eq!(legacy, current);
        assert_eq!(current.memory_mib, 2048);
        assert_eq!(current.disk_mib, 10240);
        // Both present (as the 0.5.1 server sent): no duplicate-field failure.
        let both = Snapshot::from_json(
            json!({"id": "s", "name": "n", "memory_mib": 2048, "memory": 2048, "disk": 1, "disk_mib": 1}),
        )
        .unwrap();
        assert_eq!(both.memory_mib, 2048);
        assert!(both.extra.is_empty());
    }

    #[test]
    fn absent_numbers_default_and_unknown_fields_are_kept() {
        let s = Snapshot::from_json(json!({"id": "s", "name": "n", "region": "eu", "vcpu": null}))
            .unwrap();
        assert_eq!((s.vcpu, s.memory_mib, s.disk_mib), (0, 0, 0));
        assert_eq!(s.template_id, "");
        assert_eq!(s.extra.get("region"), Some(&json!("eu")));
        // Unknown fields survive a round trip through our encoding.
        let again: Snapshot = serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!(again, s);
    }

    #[test]
    fn unknown_states_are_kept() {
        let sb = Sandbox::from_json(json!({"id": "sb", "state": "hibernating"})).unwrap();
        assert_eq!(sb.state, SandboxState::Unknown("hibernating".into()));
        assert_eq!(sb.state.to_string(), "hibernating");
        let sb = Sandbox::from_json(json!({"id": "sb", "state": "running"})).unwrap();
        assert_eq!(sb.state, SandboxState::Running);
    }

    #[test]
    fn id_and_name_are_strict_and_trimmed() {
        let s = Snapshot::from_json(json!({"id": "  snap-1 ", "name": " warm"})).unwrap();
        assert_eq!((s.id.as_str(), s.name.as_str()), ("snap-1", "warm"));
        for (body, field, reason) in [
            (json!({"name": "n"}), "id", "is missing"),
            (json!({"id": "", "name": "n"}), "id", "must not be empty"),
            (json!({"id": "   ", "name": "n"}), "id", "must not be empty"),
            (
                json!({"id": 7, "name": "n"}),
                "id",
                "expected a string, found a number",
            ),
            (
                json!({"id": "s", "name": null}),
                "name",
                "expected a string, found null",
            ),
            (json!({"id": "s"}), "name", "is missing"),
        ] {
            let problem = Snapshot::from_json(body).unwrap_err();
            assert_eq!(problem, FieldProblem::new(field, reason));
        }
        let problem = Sandbox::from_json(json!({"id": "sb", "vcpu": -1})).unwrap_err();
        assert_eq!(problem.field, "vcpu");
    }

    #[test]
    fn list_errors_name_the_item() {
        let problem = SnapshotList::from_json(json!({
            "items": [{"id": "a", "name": "a"}, {"id": "b"}],
            "total_items": 2
        }))
        .unwrap_err();
        assert_eq!(problem.field, "items[1].name");
        let list = SnapshotList::from_json(json!({"items": [{"id": "a", "name": "a"}]})).unwrap();
        assert_eq!(list.total_items, 1);
    }

    #[test]
    fn network_policy_serializes_in_wire_order_without_absent_lists() {
        let policy = NetworkPolicy::new(NetworkMode::Custom)
            .allow_cidrs(["1.2.3.4/32"])
            .allow_domains(["example.com"]);
        assert_eq!(
            serde_json::to_string(&policy).unwrap(),
            r#"{"mode":"custom","allow_domains":["example.com"],"allow_cidrs":["1.2.3.4/32"]}"#
        );
        let decoded: NetworkPolicy =
            serde_json::from_str(r#"{"mode":"open-sesame","allow_domains":null}"#).unwrap();
        assert_eq!(decoded.mode, NetworkMode::Unknown("open-sesame".into()));
    }
}
