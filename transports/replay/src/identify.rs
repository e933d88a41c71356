//! Recognising which API operation a request belongs to, and with which inputs,
//! by the core's route table.

use leap0_core::{Exchange, Operation, VisitExchange};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::normalize::{parse_query, split_target};

/// Recognises the operation a request belongs to and rebuilds its inputs.
///
/// The route comes from the core's [route table](leap0_core::route) (any prefix
/// before `/v1/`, such as a proxy's base path, is ignored); path parameters are
/// percent-decoded; body fields and query parameters are mapped onto the core
/// input struct (`order-by` becomes `order_by`, `page-size` becomes
/// `page_size`) and checked by deserializing into it. The inputs are that
/// struct serialized back, defaults filled in.
///
/// ```
/// use leap0_core::Operation;
/// use serde_json::json;
///
/// let (operation, inputs) =
///     leap0_replay::identify("POST", "/v1/sandbox/sb%201/snapshot/create", br#"{"name":"warm"}"#)
///         .expect("a create");
/// assert_eq!(operation, Operation::CreateSnapshot);
/// assert_eq!(inputs, json!({"sandbox_id": "sb 1", "name": "warm", "kill_sandbox_after": false}));
/// assert_eq!(leap0_replay::identify("GET", "/v2/other", b""), None);
/// ```
pub fn identify(method: &str, target: &str, body: &[u8]) -> Option<(Operation, Value)> {
    let (operation, fields) = fields(method, target, body)?;
    let inputs = operation.visit(Typed(fields))?;
    Some((operation, inputs))
}

/// The operation of a request by its route alone.
pub(crate) fn operation_of(method: &str, target: &str) -> Option<Operation> {
    let (path, _) = split_target(target);
    leap0_core::route::find(method, path).map(|(route, _)| route.operation)
}

/// The operation of a recorded request: the stored one when its route is the
/// request's, else the route table's. Cassettes name operations as the version
/// that recorded them did (the snapshot pause was `pause_sandbox` before it
/// became `pause_into_snapshot`); the route says what the request was.
pub(crate) fn recorded_operation(
    stored: Option<Operation>,
    method: &str,
    target: &str,
) -> Option<Operation> {
    let (path, _) = split_target(target);
    match stored {
        Some(op) if op.route().is_match(method, path) => Some(op),
        _ => operation_of(method, target).or(stored),
    }
}

/// Reads a stored operation name; a name this version does not know is no
/// operation (the request's route may still tell it), not an error.
pub(crate) fn lenient_operation<'de, D>(deserializer: D) -> Result<Option<Operation>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let name = <Option<crate::load::Text<'de>> as serde::Deserialize>::deserialize(deserializer)?;
    Ok(name.and_then(|name| Operation::from_name(&name.0)))
}

/// The operation and its input fields as JSON: path parameters, then the body
/// or the query.
fn fields(method: &str, target: &str, body: &[u8]) -> Option<(Operation, Map<String, Value>)> {
    let (path, query) = split_target(target);
    let (route, params) = leap0_core::route::find(method, path)?;
    let mut fields = if route.operation == Operation::ListSnapshots {
        no_body(body)?;
        query_fields(query)?
    } else if route.method == http::Method::POST {
        body_object(body)?
    } else {
        no_body(body)?;
        Map::new()
    };
    // The id in the path is the id; a body field of the same name does not count.
    for (name, value) in params {
        fields.insert(name.to_owned(), Value::String(value));
    }
    Some((route.operation, fields))
}

/// Fields checked against the input type and serialized back.
struct Typed(Map<String, Value>);

impl VisitExchange for Typed {
    type Output = Option<Value>;

    fn visit<E: Exchange + Serialize + DeserializeOwned>(self) -> Option<Value> {
        let value: E = serde_json::from_value(Value::Object(self.0)).ok()?;
        serde_json::to_value(value).ok()
    }
}

fn query_fields(query: Option<&str>) -> Option<Map<String, Value>> {
    let mut fields = Map::new();
    for (name, value) in parse_query(query) {
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
    Some(fields)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn every_route_is_recognised() {
        let cases: [(&str, &str, &str, Operation, Value); 11] = [
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
                Operation::PauseIntoSnapshot,
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
            (
                "DELETE",
                "/v1/sandbox/sb-1/",
                "",
                Operation::DeleteSandbox,
                json!({"sandbox_id": "sb-1"}),
            ),
            (
                "POST",
                "/v1/sandbox/sb-1/pause",
                "",
                Operation::PauseSandbox,
                json!({"sandbox_id": "sb-1"}),
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
            ("PATCH", "/v1/sandbox/sb-1/", ""),
        ] {
            assert_eq!(
                identify(method, target, body.as_bytes()),
                None,
                "{method} {target}"
            );
        }
    }

    #[test]
    fn a_recorded_operation_is_what_its_route_says() {
        // Before the rename, the snapshot pause was stored as `pause_sandbox`,
        // today the name of the pause in place.
        let stored = Operation::from_name("pause_sandbox");
        let pause_into = recorded_operation(stored, "POST", "/v1/sandbox/sb-1/snapshot/pause");
        assert_eq!(pause_into, Some(Operation::PauseIntoSnapshot));
        let in_place = recorded_operation(stored, "POST", "/v1/sandbox/sb-1/pause");
        assert_eq!(in_place, Some(Operation::PauseSandbox));
        // An unknown route keeps what was stored; an unknown name is no operation.
        assert_eq!(
            recorded_operation(stored, "GET", "/v2/other"),
            Some(Operation::PauseSandbox)
        );
        let unknown: Option<Operation> =
            lenient_operation(&mut serde_json::Deserializer::from_str(r#""fly""#)).unwrap();
        assert_eq!(unknown, None);
    }
}
