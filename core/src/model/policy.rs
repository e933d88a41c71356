//! Network policies: a sandbox's egress rules.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A sandbox's egress policy.
///
/// Field order is the wire order (`mode`, `allow_domains`, `allow_cidrs`,
/// `transforms`); absent lists are not sent. Keys this version does not know are
/// kept in `extra` when decoding an answer, and refused by validation before a
/// request is sent (a typo such as `allow_domain` would otherwise be dropped
/// silently).
///
/// ```
/// use leap0_core::{NetworkMode, NetworkPolicy};
/// let policy = NetworkPolicy::new(NetworkMode::Custom).allow_domains(["*.example.com"]);
/// assert_eq!(
///     serde_json::to_string(&policy)?,
///     r#"{"mode":"custom","allow_domains":["*.example.com"]}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// Keys this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl NetworkPolicy {
    /// The keys of a policy, in wire order.
    pub const KEYS: [&'static str; 4] = ["mode", "allow_domains", "allow_cidrs", "transforms"];

    /// A policy of the given mode with no lists.
    pub fn new(mode: NetworkMode) -> Self {
        NetworkPolicy {
            mode,
            allow_domains: None,
            allow_cidrs: None,
            transforms: None,
            extra: Map::new(),
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
///
/// `Debug` shows the names of injected headers, not their values (they are
/// usually credentials).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TransformRule {
    /// Domain pattern the rule applies to.
    pub domain: String,
    /// Headers to inject into matching requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inject_headers: Option<BTreeMap<String, String>>,
    /// Header names to strip from matching requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strip_headers: Option<Vec<String>>,
    /// Keys this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TransformRule {
    /// The keys of a rule, in wire order.
    pub const KEYS: [&'static str; 3] = ["domain", "inject_headers", "strip_headers"];

    /// A rule for `domain` that changes nothing yet.
    pub fn new(domain: impl Into<String>) -> Self {
        TransformRule {
            domain: domain.into(),
            inject_headers: None,
            strip_headers: None,
            extra: Map::new(),
        }
    }

    /// Injects `name: value` into matching requests.
    pub fn inject_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.inject_headers
            .get_or_insert_with(BTreeMap::new)
            .insert(name.into(), value.into());
        self
    }

    /// Strips the header `name` from matching requests.
    pub fn strip_header(mut self, name: impl Into<String>) -> Self {
        self.strip_headers
            .get_or_insert_with(Vec::new)
            .push(name.into());
        self
    }
}

impl fmt::Debug for TransformRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let injected: Option<Vec<&String>> =
            self.inject_headers.as_ref().map(|h| h.keys().collect());
        f.debug_struct("TransformRule")
            .field("domain", &self.domain)
            .field("inject_headers", &injected)
            .field("strip_headers", &self.strip_headers)
            .field("extra", &self.extra)
            .finish()
    }
}
