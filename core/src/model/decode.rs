//! Typed decoding of answers: serde visitors that apply the tolerance rules of
//! the [module docs](super) straight from the bytes, and errors that name the
//! field at fault (`items[3].id`), by way of `serde_path_to_error`.

use std::fmt;

use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::{
    FieldProblem, NetworkPolicy, Sandbox, SandboxState, ServerTime, Snapshot, SnapshotList,
};

/// What a sandbox answer without a `state` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MissingState {
    /// A sandbox just created (resume, restore, create): `starting`, as the
    /// official SDK reports.
    Starting,
    /// A status read: a decode error, since waiting depends on it.
    Required,
}

/// Decodes a JSON body into `T`, or names the field at fault.
///
/// The same decoder runs twice on a bad answer: first without tracking where
/// it is (which would cost an allocation per field of every good answer), then
/// with `serde_path_to_error` to name the field.
pub(crate) fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, FieldProblem> {
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(problem)?;
    de.end()
        .map_err(|e| FieldProblem::new("body", format!("not valid JSON: {}", message(&e))))?;
    Ok(value)
}

/// Decodes a sandbox answer under `missing`'s rule for an absent state.
pub(crate) fn decode_sandbox(body: &[u8], missing: MissingState) -> Result<Sandbox, FieldProblem> {
    match missing {
        MissingState::Starting => decode_json::<Sandbox>(body),
        MissingState::Required => decode_json::<StatusSandbox>(body).map(|s| s.0),
    }
}

fn problem(err: serde_path_to_error::Error<serde_json::Error>) -> FieldProblem {
    // Both quote the answer (serde's reason its offending value, the path its
    // map keys), so both are cut: an error never carries a body's worth of text.
    let path = shortened(err.path().to_string());
    let inner = err.into_inner();
    let text = shortened(message(&inner));
    if inner.is_syntax() || inner.is_eof() {
        return FieldProblem::new("body", format!("not valid JSON: {text}"));
    }
    let at_root = path == "." || path.is_empty();
    if let Some(name) = text
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let field = if at_root {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return FieldProblem::new(field, "is missing");
    }
    FieldProblem::new(if at_root { "body".to_owned() } else { path }, text)
}

/// The longest field or reason a decode error carries, in characters.
const MAX_PROBLEM_CHARS: usize = 300;

/// `text` cut after [`MAX_PROBLEM_CHARS`] characters, with `…` if cut.
fn shortened(mut text: String) -> String {
    if let Some((cut, _)) = text.char_indices().nth(MAX_PROBLEM_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// serde_json's message without its " at line L column C" suffix.
fn message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

/// A map key, borrowed from the input when it can be.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }

    fn into_owned(self) -> String {
        match self {
            Key::Borrowed(s) => s.to_owned(),
            Key::Owned(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(s))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(s.to_owned()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(s))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// A string that must not be empty; trimmed.
struct RequiredText(String);

impl<'de> Deserialize<'de> for RequiredText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl Visitor<'_> for TextVisitor {
            type Value = RequiredText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-empty string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RequiredText, E> {
                match s.trim() {
                    "" => Err(E::custom("must not be empty")),
                    trimmed => Ok(RequiredText(trimmed.to_owned())),
                }
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// The fields snapshots and sandboxes share, gathered while visiting a map.
#[derive(Default)]
struct Common {
    id: Option<String>,
    template_id: Option<String>,
    vcpu: Option<u64>,
    memory: Option<u64>,
    memory_mib: Option<u64>,
    disk: Option<u64>,
    disk_mib: Option<u64>,
    state: Option<SandboxState>,
    network_policy: Option<NetworkPolicy>,
    created_at: Option<ServerTime>,
    extra: Map<String, Value>,
}

impl Common {
    /// Takes the value of `key` if it is a shared field; `Ok(false)` otherwise.
    fn take<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        match key {
            "id" => self.id = Some(map.next_value::<RequiredText>()?.0),
            "template_id" => self.template_id = map.next_value()?,
            "vcpu" => self.vcpu = map.next_value()?,
            "memory" => self.memory = map.next_value()?,
            "memory_mib" => self.memory_mib = map.next_value()?,
            "disk" => self.disk = map.next_value()?,
            "disk_mib" => self.disk_mib = map.next_value()?,
            "state" => self.state = map.next_value()?,
            "network_policy" => self.network_policy = map.next_value()?,
            "created_at" => self.created_at = map.next_value()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn keep<'de, A: MapAccess<'de>>(&mut self, key: Key<'de>, map: &mut A) -> Result<(), A::Error> {
        let value: Value = map.next_value()?;
        self.extra.insert(key.into_owned(), value);
        Ok(())
    }

    fn id<E: de::Error>(&mut self) -> Result<String, E> {
        self.id.take().ok_or_else(|| E::missing_field("id"))
    }
}

struct SnapshotVisitor;

impl<'de> Visitor<'de> for SnapshotVisitor {
    type Value = Snapshot;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a snapshot object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Snapshot, A::Error> {
        let mut common = Common::default();
        let mut name = None;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if key.as_str() == "name" {
                name = Some(map.next_value::<RequiredText>()?.0);
            } else if !common.take(key.as_str(), &mut map)? {
                common.keep(key, &mut map)?;
            }
        }
        Ok(Snapshot {
            id: common.id()?,
            name: name.ok_or_else(|| de::Error::missing_field("name"))?,
            template_id: common.template_id.unwrap_or_default(),
            vcpu: common.vcpu.unwrap_or(0),
            memory_mib: common.memory.or(common.memory_mib).unwrap_or(0),
            disk_mib: common.disk.or(common.disk_mib).unwrap_or(0),
            state: common.state,
            network_policy: common.network_policy,
            created_at: common.created_at,
            extra: common.extra,
        })
    }
}

impl<'de> Deserialize<'de> for Snapshot {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SnapshotVisitor)
    }
}

struct SandboxVisitor(MissingState);

impl<'de> Visitor<'de> for SandboxVisitor {
    type Value = Sandbox;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sandbox object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Sandbox, A::Error> {
        let mut common = Common::default();
        let (mut timeout, mut auto_pause) = (None, None);
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_str() {
                "timeout" => timeout = map.next_value::<Option<u64>>()?,
                "auto_pause" => auto_pause = map.next_value::<Option<bool>>()?,
                other => {
                    if !common.take(other, &mut map)? {
                        common.keep(key, &mut map)?;
                    }
                }
            }
        }
        let state = match (common.state.take(), self.0) {
            (Some(state), _) => state,
            (None, MissingState::Starting) => SandboxState::Starting,
            (None, MissingState::Required) => return Err(de::Error::missing_field("state")),
        };
        Ok(Sandbox {
            id: common.id()?,
            template_id: common.template_id.unwrap_or_default(),
            vcpu: common.vcpu.unwrap_or(0),
            memory_mib: common.memory.or(common.memory_mib).unwrap_or(0),
            disk_mib: common.disk.or(common.disk_mib).unwrap_or(0),
            timeout: timeout.unwrap_or(0),
            state,
            auto_pause: auto_pause.unwrap_or(false),
            created_at: common.created_at,
            network_policy: common.network_policy,
            extra: common.extra,
        })
    }
}

/// A sandbox answer with an absent `state` read as `starting`.
impl<'de> Deserialize<'de> for Sandbox {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SandboxVisitor(MissingState::Starting))
    }
}

/// A status read's sandbox: `state` is required.
struct StatusSandbox(Sandbox);

impl<'de> Deserialize<'de> for StatusSandbox {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_map(SandboxVisitor(MissingState::Required))
            .map(StatusSandbox)
    }
}

struct ListVisitor;

impl<'de> Visitor<'de> for ListVisitor {
    type Value = SnapshotList;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a snapshot list object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SnapshotList, A::Error> {
        let (mut items, mut total_items) = (None, None);
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_str() {
                "items" => items = Some(map.next_value::<Vec<Snapshot>>()?),
                "total_items" => total_items = Some(map.next_value::<u64>()?),
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        Ok(SnapshotList {
            items: items.ok_or_else(|| de::Error::missing_field("items"))?,
            total_items: total_items.ok_or_else(|| de::Error::missing_field("total_items"))?,
        })
    }
}

impl<'de> Deserialize<'de> for SnapshotList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ListVisitor)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn bytes(value: Value) -> Vec<u8> {
        serde_json::to_vec(&value).unwrap()
    }

    fn snapshot(value: Value) -> Result<Snapshot, FieldProblem> {
        decode_json(&bytes(value))
    }

    #[test]
    fn accepts_both_spellings_of_memory_and_disk() {
        let legacy =
            snapshot(json!({"id": "s", "name": "n", "memory_mib": 2048, "disk_mib": 10240}))
                .unwrap();
        let current =
            snapshot(json!({"id": "s", "name": "n", "memory": 2048, "disk": 10240})).unwrap();
        assert_eq!(legacy, current);
        assert_eq!((current.memory_mib, current.disk_mib), (2048, 10240));
        // Both present (as the 0.5.1 server sent): no duplicate-field failure.
        let both = snapshot(
            json!({"id": "s", "name": "n", "memory_mib": 2048, "memory": 2048, "disk": 1, "disk_mib": 1}),
        )
        .unwrap();
        assert_eq!(both.memory_mib, 2048);
        assert!(both.extra.is_empty());
    }

    #[test]
    fn absent_numbers_default_and_unknown_fields_are_kept_in_order() {
        let s = snapshot(json!({"id": "s", "name": "n", "region": "eu", "vcpu": null, "zone": 1}))
            .unwrap();
        assert_eq!((s.vcpu, s.memory_mib, s.disk_mib), (0, 0, 0));
        assert_eq!(s.template_id, "");
        assert_eq!(s.created_at, None);
        let keys: Vec<&String> = s.extra.keys().collect();
        assert_eq!(keys, ["region", "zone"]);
        // A round trip through our own encoding gives the same value.
        let again: Snapshot = serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!(again, s);
    }

    #[test]
    fn states_unknown_kept_absent_starting_or_required() {
        let sb = decode_sandbox(
            &bytes(json!({"id": "sb", "state": "hibernating"})),
            MissingState::Required,
        )
        .unwrap();
        assert_eq!(sb.state, SandboxState::Unknown("hibernating".into()));
        let started = decode_sandbox(&bytes(json!({"id": "sb"})), MissingState::Starting).unwrap();
        assert_eq!(started.state, SandboxState::Starting);
        let read = decode_sandbox(&bytes(json!({"id": "sb"})), MissingState::Required);
        assert_eq!(read.unwrap_err(), FieldProblem::new("state", "is missing"));
    }

    #[test]
    fn id_and_name_are_strict_and_trimmed() {
        let s = snapshot(json!({"id": "  snap-1 ", "name": " warm"})).unwrap();
        assert_eq!((s.id.as_str(), s.name.as_str()), ("snap-1", "warm"));
        for (body, field, reason) in [
            (json!({"name": "n"}), "id", "is missing"),
            (json!({"id": "", "name": "n"}), "id", "must not be empty"),
            (json!({"id": "   ", "name": "n"}), "id", "must not be empty"),
            (
                json!({"id": 7, "name": "n"}),
                "id",
                "invalid type: integer `7`, expected a non-empty string",
            ),
            (
                json!({"id": "s", "name": null}),
                "name",
                "invalid type: null, expected a non-empty string",
            ),
            (json!({"id": "s"}), "name", "is missing"),
            (
                json!([1]),
                "body",
                "invalid type: sequence, expected a snapshot object",
            ),
        ] {
            assert_eq!(
                snapshot(body).unwrap_err(),
                FieldProblem::new(field, reason)
            );
        }
        let problem = decode_sandbox(
            &bytes(json!({"id": "sb", "vcpu": -1})),
            MissingState::Starting,
        )
        .unwrap_err();
        assert_eq!(problem.field, "vcpu");
    }

    #[test]
    fn long_values_and_keys_are_quoted_only_in_part() {
        let long = "x".repeat(100_000);
        let bad_value = snapshot(json!({"id": "s", "name": "n", "vcpu": long})).unwrap_err();
        assert_eq!(bad_value.field, "vcpu");
        assert!(bad_value.reason.starts_with("invalid type: string \"xxx"));
        assert!(bad_value.reason.ends_with('…'));
        assert_eq!(bad_value.reason.chars().count(), MAX_PROBLEM_CHARS + 1);
        // A path names map keys, which come from the answer too.
        let bad_key = snapshot(json!({"id": "s", "name": "n", "network_policy": {
            "mode": "custom",
            "transforms": [{"domain": "d", "inject_headers": {long.as_str(): 5}}]
        }}))
        .unwrap_err();
        assert!(
            bad_key
                .field
                .starts_with("network_policy.transforms[0].inject_headers.xxx")
        );
        assert_eq!(bad_key.field.chars().count(), MAX_PROBLEM_CHARS + 1);
    }

    #[test]
    fn list_errors_name_the_item_and_required_fields() {
        let list = |v: Value| decode_json::<SnapshotList>(&bytes(v));
        let problem = list(json!({
            "items": [{"id": "a", "name": "a"}, {"id": "b"}],
            "total_items": 2
        }))
        .unwrap_err();
        assert_eq!(problem.field, "items[1].name");
        assert_eq!(problem.reason, "is missing");
        let missing_total = list(json!({"items": []})).unwrap_err();
        assert_eq!(
            missing_total,
            FieldProblem::new("total_items", "is missing")
        );
        let missing_items = list(json!({"total_items": 3})).unwrap_err();
        assert_eq!(missing_items, FieldProblem::new("items", "is missing"));
        assert_eq!(
            list(json!({"items": null, "total_items": 3}))
                .unwrap_err()
                .field,
            "items"
        );
    }

    #[test]
    fn bad_json_is_a_problem_of_the_body() {
        for body in [
            &b"{\"id\": "[..],
            b"not json",
            b"{\"id\":\"a\",\"name\":\"b\"} trailing",
        ] {
            let problem = decode_json::<Snapshot>(body).unwrap_err();
            assert_eq!(problem.field, "body", "{problem}");
            assert!(problem.reason.starts_with("not valid JSON"), "{problem}");
        }
    }

    #[test]
    fn created_at_is_parsed_and_kept() {
        let s = snapshot(json!({"id": "s", "name": "n", "created_at": "2025-01-15T10:30:00Z"}))
            .unwrap();
        let at = s.created_at.unwrap();
        assert_eq!(at.as_str(), "2025-01-15T10:30:00Z");
        assert_eq!(at.timestamp().unwrap().as_second(), 1_736_937_000);
    }

    #[test]
    fn policies_keep_unknown_keys() {
        let s = snapshot(
            json!({"id": "s", "name": "n", "network_policy": {"mode": "custom", "future": 1}}),
        )
        .unwrap();
        let policy = s.network_policy.unwrap();
        assert_eq!(policy.mode, crate::model::NetworkMode::Custom);
        assert_eq!(policy.extra.get("future"), Some(&json!(1)));
    }
}
