//! Recognising which API operation a request belongs to, and with which inputs.

use leap0_core::{
    CreateSandbox, CreateSnapshot, DeleteSnapshot, GetSandbox, ListSnapshots, Operation,
    PauseSandbox, RestoreSnapshot, ResumeSnapshot,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::normalize::{decode, parse_query, split_target};

/// Recognises the operation a request belongs to and rebuilds its inputs.
///
/// The route is found from the `/v1/` part of the path (any prefix before it,
/// such as a proxy's base path, is ignored); ids are percent-decoded; body fields
/// and query parameters are mapped onto the core input struct (`order-by` becomes
/// `order_by`, `page-size` becomes `page_size`) and checked by deserializing into
/// it. The inputs are that struct serialized back, defaults filled in.
///
/// ```
/// use leap0_core::Operation;
/// use serde_json::json;
///
/// let (operation, inputs) =
///     leap0_replay::identify("POST", "/v1/sandbox/sb%201/snapshot/create", br#"{"name":"warm"}"#)
///         .unwrap();
/// assert_eq!(operation, Operation::CreateSnapshot);
/// assert_eq!(inputs, json!({"sandbox_id": "sb 1", "name": "warm", "kill_sandbox_after": false}));
/// assert_eq!(leap0_replay::identify("GET", "/v2/other", b""), None);
/// ```
pub fn identify(method: &str, target: &str, body: &[u8]) -> Option<(Operation, Value)> {
    let route = route(method, target)?;
    let inputs = route.inputs(target, body)?;
    Some((route.operation(), inputs))
}

/// A recognised route, with the ids taken from its path.
pub(crate) enum Route {
    Create(String),
    Pause(String),
    Resume,
    Restore,
    Delete(String),
    List,
    Get(String),
    CreateSandbox,
}

/// The route of a request, if it is one of the API's.
pub(crate) fn route(method: &str, target: &str) -> Option<Route> {
    let (path, _) = split_target(target);
    let start = path.find("/v1/")?;
    let mut segments: Vec<String> = path[start + 4..].split('/').map(decode).collect();
    if segments.len() > 1 && segments.last().is_some_and(String::is_empty) {
        segments.pop();
    }
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = method.to_ascii_uppercase();
    let route = match (method.as_str(), segments.as_slice()) {
        ("POST", ["sandbox", id, "snapshot", "create"]) => Route::Create((*id).to_owned()),
        ("POST", ["sandbox", id, "snapshot", "pause"]) => Route::Pause((*id).to_owned()),
        ("POST", ["snapshot", "resume"]) => Route::Resume,
        ("POST", ["snapshot", "restore"]) => Route::Restore,
        ("DELETE", ["snapshot", id]) => Route::Delete((*id).to_owned()),
        ("GET", ["snapshots"]) => Route::List,
        ("GET", ["sandbox", id]) => Route::Get((*id).to_owned()),
        ("POST", ["sandbox"]) => Route::CreateSandbox,
        _ => return None,
    };
    Some(route)
}

impl Route {
    pub(crate) fn operation(&self) -> Operation {
        match self {
            Route::Create(_) => Operation::CreateSnapshot,
            Route::Pause(_) => Operation::PauseSandbox,
            Route::Resume => Operation::ResumeSnapshot,
            Route::Restore => Operation::RestoreSnapshot,
            Route::Delete(_) => Operation::DeleteSnapshot,
            Route::List => Operation::ListSnapshots,
            Route::Get(_) => Operation::GetSandbox,
            Route::CreateSandbox => Operation::CreateSandbox,
        }
    }

    fn inputs(&self, target: &str, body: &[u8]) -> Option<Value> {
        match self {
            Route::Create(id) => {
                typed::<CreateSnapshot>(with_id(body_object(body)?, "sandbox_id", id))
            }
            Route::Pause(id) => {
                typed::<PauseSandbox>(with_id(body_object(body)?, "sandbox_id", id))
            }
            Route::Resume => typed::<ResumeSnapshot>(body_object(body)?),
            Route::Restore => typed::<RestoreSnapshot>(body_object(body)?),
            Route::CreateSandbox => typed::<CreateSandbox>(body_object(body)?),
            Route::Delete(id) => {
                no_body(body)?;
                typed::<DeleteSnapshot>(with_id(Map::new(), "snapshot_id", id))
            }
            Route::Get(id) => {
                no_body(body)?;
                typed::<GetSandbox>(with_id(Map::new(), "sandbox_id", id))
            }
            Route::List => {
                no_body(body)?;
                let mut fields = Map::new();
                for (name, value) in parse_query(split_target(target).1) {
                    let (key, value) = match name.as_str() {
                        "query" | "sort" => (name.clone(), Value::String(value)),
                        "order-by" => ("order_by".to_owned(), Value::String(value)),
                        "page" => ("page".to_owned(), Value::from(value.parse::<u64>().ok()?)),
                        "page-size" => (
                            "page_size".to_owned(),
                            Value::from(value.parse::<u64>().ok()?),
                        ),
                        _ => continue,
                    };
                    fields.insert(key, value);
                }
                typed::<ListSnapshots>(fields)
            }
        }
    }
}

fn body_object(body: &[u8]) -> Option<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Some(Map::new());
    }
    match serde_json::from_slice(body).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn no_body(body: &[u8]) -> Option<()> {
    body.is_empty().then_some(())
}

fn with_id(mut fields: Map<String, Value>, key: &str, id: &str) -> Map<String, Value> {
    // The id in the path is the id; a body field of the same name does not count.
    let mut out = Map::new();
    out.insert(key.to_owned(), Value::String(id.to_owned()));
    fields.remove(key);
    out.extend(fields);
    out
}

fn typed<T: DeserializeOwned + Serialize>(fields: Map<String, Value>) -> Option<Value> {
    let value: T = serde_json::from_value(Value::Object(fields)).ok()?;
    serde_json::to_value(value).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn every_route_is_recognised() {
        let cases: [(&str, &str, &str, Operation, Value); 9] = [
            (
                "POST",
                "/prefix/v1/sandbox/sb-1/snapshot/create",
                r#"{"name":"w","kill_sandbox_after":true}"#,
                Operation::CreateSnapshot,
                json!({"sandbox_id": "sb-1", "name": "w", "kill_sandbox_after": true}),
            ),
            (
                "POST",
                "/v1/sandbox/sb%2F1/snapshot/pause",
                "{}",
                Operation::PauseSandbox,
                json!({"sandbox_id": "sb/1", "name": null}),
            ),
            (
                "POST",
                "/v1/snapshot/resume",
                r#"{"snapshot_name":"w","auto_pause":false,"timeout_min":5}"#,
                Operation::ResumeSnapshot,
                json!({"snapshot_name": "w", "auto_pause": false, "timeout_min": 5, "network_policy": null}),
            ),
            (
                "POST",
                "/v1/snapshot/restore",
                r#"{"snapshot_name":"w","auto_pause":true}"#,
                Operation::RestoreSnapshot,
                json!({"snapshot_name": "w", "auto_pause": true, "timeout": null, "network_policy": null}),
            ),
            (
                "DELETE",
                "/v1/snapshot/snap-1",
                "",
                Operation::DeleteSnapshot,
                json!({"snapshot_id": "snap-1"}),
            ),
            (
                "GET",
                "/v1/snapshots?query=a%20b&sort=created_at&order-by=asc&page=2&page-size=5",
                "",
                Operation::ListSnapshots,
                json!({"query": "a b", "sort": "created_at", "order_by": "asc", "page": 2, "page_size": 5}),
            ),
            (
                "GET",
                "/v1/sandbox/sb-1/",
                "",
                Operation::GetSandbox,
                json!({"sandbox_id": "sb-1"}),
            ),
            (
                "get",
                "/v1/sandbox/sb-1",
                "",
                Operation::GetSandbox,
                json!({"sandbox_id": "sb-1"}),
            ),
            (
                "POST",
                "/v1/sandbox/",
                r#"{"template_name":"base"}"#,
                Operation::CreateSandbox,
                json!({"template_name": "base"}),
            ),
        ];
        for (method, target, body, operation, inputs) in cases {
            assert_eq!(
                identify(method, target, body.as_bytes()),
                Some((operation, inputs)),
                "{method} {target}"
            );
        }
    }

    #[test]
    fn unknown_or_invalid_requests_are_not_recognised() {
        for (method, target, body) in [
            ("GET", "/v2/snapshots", ""),
            ("PUT", "/v1/snapshot/resume", "{}"),
            ("POST", "/v1/snapshot/resume", "{}"),
            ("POST", "/v1/snapshot/resume", "[1]"),
            ("GET", "/v1/snapshots?page=x", ""),
            ("GET", "/v1/snapshots?sort=name", ""),
            ("DELETE", "/v1/sandbox/sb-1/", ""),
        ] {
            assert_eq!(
                identify(method, target, body.as_bytes()),
                None,
                "{method} {target}"
            );
        }
    }
}
