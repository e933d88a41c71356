//! The offline decode check: would the current models still read what was
//! recorded?

use std::any::Any;
use std::fmt;

use leap0_core::model::{Sandbox, Snapshot, SnapshotList};
use leap0_core::{Error, Exchange, Operation, VisitExchange};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::cassette::{Cassette, Interaction, body_bytes};
use crate::identify::identify;
use crate::normalize::shown;

/// What re-decoding one recorded answer with the current models found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeFinding {
    /// The interaction's position in the cassette (0-based).
    pub interaction: usize,
    /// Its operation.
    pub operation: Operation,
    /// What was found.
    pub problem: DecodeProblem,
}

/// How a recorded answer reads with the current models.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeProblem {
    /// It no longer decodes: a client would now fail on this answer.
    Fails {
        /// The field at fault, as decode errors name it (`id`,
        /// `items[0].name`, `body` when the body is not JSON at all).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// It decodes, but holds fields the models do not know (kept in their
    /// `extra` maps): `region`, or `items[2].region` in a list. Not a failure.
    UnknownFields {
        /// The fields' paths, in the answer's order.
        fields: Vec<String>,
    },
}

impl DecodeFinding {
    /// Whether a client would now fail on the answer (unknown fields are no failure).
    pub fn is_failure(&self) -> bool {
        matches!(self.problem, DecodeProblem::Fails { .. })
    }
}

impl fmt::Display for DecodeFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "interaction #{} ({}): ",
            self.interaction,
            self.operation.name()
        )?;
        match &self.problem {
            DecodeProblem::Fails { field, reason } => write!(
                f,
                "the recorded answer no longer decodes: {}: {}",
                shown(field),
                shown(reason)
            ),
            DecodeProblem::UnknownFields { fields } => {
                let fields: Vec<_> = fields.iter().map(|x| shown(x)).collect();
                write!(
                    f,
                    "the recorded answer has fields the models do not know: {}",
                    fields.join(", ")
                )
            }
        }
    }
}

/// Decodes every recorded success answer with the current models, offline,
/// and reports each answer that no longer decodes, and each that holds
/// fields the models do not know. An empty result means every answer reads
/// as it did.
///
/// Checked are the interactions with an operation and a response whose
/// status is the operation's success status. The exchange is rebuilt from
/// the recorded inputs (or, without them, from the recorded request);
/// interactions whose inputs no longer fit are skipped here, as
/// [`check_drift`](crate::check_drift) reports them.
///
/// ```
/// use leap0_replay::{Body, Cassette, DecodeProblem, Interaction, RecordedRequest, RecordedResponse, check_decoding};
///
/// let mut cassette = Cassette::new();
/// cassette.interactions.push(Interaction {
///     operation: Some(leap0_core::Operation::CreateSnapshot),
///     inputs: Some(serde_json::json!({"sandbox_id": "sb-1", "name": "warm"})),
///     request: RecordedRequest {
///         method: "POST".into(),
///         target: "/v1/sandbox/sb-1/snapshot/create".into(),
///         headers: Default::default(),
///         body: Some(Body::Json(serde_json::json!({"name": "warm"}))),
///     },
///     response: Some(RecordedResponse {
///         status: 201,
///         headers: Default::default(),
///         body: Some(Body::Json(serde_json::json!({"name": "warm"}))),
///     }),
///     failure: None,
///     latency_ms: 0,
/// });
/// let found = check_decoding(&cassette);
/// assert_eq!(
///     found[0].problem,
///     DecodeProblem::Fails { field: "id".into(), reason: "is missing".into() }
/// );
/// assert_eq!(
///     found[0].to_string(),
///     "interaction #0 (create_snapshot): the recorded answer no longer decodes: id: is missing"
/// );
/// ```
pub fn check_decoding(cassette: &Cassette) -> Vec<DecodeFinding> {
    cassette
        .interactions
        .iter()
        .enumerate()
        .filter_map(|(index, interaction)| {
            let (operation, problem) = decode(interaction)?;
            Some(DecodeFinding {
                interaction: index,
                operation,
                problem,
            })
        })
        .collect()
}

/// What decoding one interaction's answer found, if it was checked and
/// anything was found.
fn decode(interaction: &Interaction) -> Option<(Operation, DecodeProblem)> {
    let operation = interaction.operation?;
    let response = interaction.response.as_ref()?;
    if response.status != operation.route().success.as_u16() {
        return None;
    }
    let body = match body_bytes(response.body.as_ref()) {
        Ok(body) => body,
        Err(reason) => {
            let field = "body".to_owned();
            return Some((operation, DecodeProblem::Fails { field, reason }));
        }
    };
    let inputs = match &interaction.inputs {
        Some(inputs) => inputs.clone(),
        None => {
            let request = &interaction.request;
            let sent = body_bytes(request.body.as_ref()).ok()?;
            let (identified, inputs) = identify(&request.method, &request.target, &sent)?;
            if identified != operation {
                return None;
            }
            inputs
        }
    };
    let problem = operation.visit(Decode {
        inputs: &inputs,
        body: &body,
    })?;
    Some((operation, problem))
}

struct Decode<'a> {
    inputs: &'a Value,
    body: &'a [u8],
}

impl VisitExchange for Decode<'_> {
    type Output = Option<DecodeProblem>;

    fn visit<E: Exchange + Serialize + DeserializeOwned + 'static>(self) -> Option<DecodeProblem> {
        let exchange: E = serde_json::from_value(self.inputs.clone()).ok()?;
        let answer = http::Response::builder()
            .status(E::OPERATION.route().success)
            .body(self.body)
            .ok()?;
        match exchange.parse(answer) {
            Ok(output) => {
                let fields = unknown_fields(&output);
                (!fields.is_empty()).then_some(DecodeProblem::UnknownFields { fields })
            }
            Err(Error::Decode(error)) => Some(DecodeProblem::Fails {
                field: error.field,
                reason: error.reason,
            }),
            Err(other) => Some(DecodeProblem::Fails {
                field: "body".to_owned(),
                reason: other.to_string(),
            }),
        }
    }
}

/// The paths of the fields a decoded answer keeps in `extra`: those the
/// models do not know.
fn unknown_fields(output: &dyn Any) -> Vec<String> {
    let keys = |extra: &Map<String, Value>, prefix: &str| -> Vec<String> {
        extra.keys().map(|key| format!("{prefix}{key}")).collect()
    };
    if let Some(snapshot) = output.downcast_ref::<Snapshot>() {
        keys(&snapshot.extra, "")
    } else if let Some(sandbox) = output.downcast_ref::<Sandbox>() {
        keys(&sandbox.extra, "")
    } else if let Some(list) = output.downcast_ref::<SnapshotList>() {
        list.items
            .iter()
            .enumerate()
            .flat_map(|(i, item)| keys(&item.extra, &format!("items[{i}].")))
            .collect()
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::cassette::{Body, RecordedRequest, RecordedResponse};
    use serde_json::json;

    fn answered(method: &str, target: &str, status: u16, answer: Value) -> Interaction {
        let (operation, inputs) = identify(method, target, b"").unwrap();
        Interaction {
            operation: Some(operation),
            inputs: Some(inputs),
            request: RecordedRequest {
                method: method.into(),
                target: target.into(),
                headers: Default::default(),
                body: None,
            },
            response: Some(RecordedResponse {
                status,
                headers: Default::default(),
                body: Body::from_bytes(answer.to_string().as_bytes()),
            }),
            failure: None,
            latency_ms: 0,
        }
    }

    fn sandbox(extra: Value) -> Value {
        let mut value = json!({"id": "sb-1", "state": "running", "vcpu": 2});
        if let (Some(map), Value::Object(more)) = (value.as_object_mut(), extra) {
            map.extend(more);
        }
        value
    }

    const LIST: &str = "/v1/snapshots?query=&sort=created_at&order-by=desc&page=1&page-size=20";

    fn check(interactions: Vec<Interaction>) -> Vec<DecodeFinding> {
        let mut cassette = Cassette::new();
        cassette.interactions = interactions;
        check_decoding(&cassette)
    }

    #[test]
    fn answers_that_still_decode_cleanly_are_not_reported() {
        let found = check(vec![
            answered("GET", "/v1/sandbox/sb-1/", 200, sandbox(json!({}))),
            answered("DELETE", "/v1/snapshot/snap-1", 204, Value::Null),
            // An error answer is not decoded as a model.
            answered("GET", "/v1/sandbox/sb-2/", 404, json!({"message": "gone"})),
        ]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_missing_field_is_a_failure_naming_interaction_and_field() {
        let mut answer = sandbox(json!({}));
        answer.as_object_mut().unwrap().remove("id");
        let list = json!({"items": [{"id": "s-1", "name": "a"}, {"name": "b"}], "total_items": 2});
        let found = check(vec![
            answered("GET", "/v1/sandbox/sb-1/", 200, sandbox(json!({}))),
            answered("GET", "/v1/sandbox/sb-1/", 200, answer),
            answered("GET", LIST, 200, list),
        ]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].interaction, 1);
        assert!(found[0].is_failure());
        assert_eq!(
            found[0].problem,
            DecodeProblem::Fails {
                field: "id".into(),
                reason: "is missing".into()
            }
        );
        assert_eq!(
            found[0].to_string(),
            "interaction #1 (get_sandbox): the recorded answer no longer decodes: id: is missing"
        );
        assert_eq!(found[1].interaction, 2);
        assert!(
            matches!(&found[1].problem, DecodeProblem::Fails { field, .. } if field == "items[1].id"),
            "{:?}",
            found[1]
        );
    }

    #[test]
    fn unknown_fields_are_reported_with_their_paths_and_are_no_failure() {
        let list = json!({
            "items": [{"id": "s-1", "name": "a"}, {"id": "s-2", "name": "b", "region": "eu"}],
            "total_items": 2,
        });
        let found = check(vec![
            answered(
                "GET",
                "/v1/sandbox/sb-1/",
                200,
                sandbox(json!({"zone\u{1b}": 1})),
            ),
            answered("GET", LIST, 200, list),
        ]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(!found[0].is_failure());
        assert_eq!(
            found[1].problem,
            DecodeProblem::UnknownFields {
                fields: vec!["items[1].region".into()]
            }
        );
        let text = found[0].to_string();
        assert_eq!(
            text,
            r"interaction #0 (get_sandbox): the recorded answer has fields the models do not know: zone\u{1b}"
        );
    }

    #[test]
    fn without_inputs_the_request_is_identified_and_bad_bodies_are_failures() {
        let mut bare = answered("GET", "/v1/sandbox/sb-1/", 200, json!({"id": "sb-1"}));
        bare.inputs = None;
        let mut garbled = answered("GET", "/v1/sandbox/sb-1/", 200, Value::Null);
        garbled.response.as_mut().unwrap().body = Some(Body::Base64("%%%".into()));
        let mut not_json = answered("GET", "/v1/sandbox/sb-1/", 200, Value::Null);
        not_json.response.as_mut().unwrap().body = Some(Body::Text("<html>".into()));
        let found = check(vec![bare, garbled, not_json]);
        let fields: Vec<_> = found
            .iter()
            .map(|f| match &f.problem {
                DecodeProblem::Fails { field, .. } => field.as_str(),
                DecodeProblem::UnknownFields { .. } => "unknown",
            })
            .collect();
        // A status read needs a state.
        assert_eq!(fields, ["state", "body", "body"], "{found:?}");
    }
}
