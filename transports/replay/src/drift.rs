//! The offline drift check: would the current core still send what was recorded?

use std::collections::BTreeMap;
use std::fmt;

use leap0_core::transport::Request;
use leap0_core::{Config, Exchange, Operation, VisitExchange};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::cassette::Cassette;
use crate::normalize::{
    BodyForm, Compare, Difference, Shape, differences, normalize_prefix, quote,
};

/// The base URL requests are rebuilt against (followed by `meta.base_path`).
pub const DRIFT_BASE_URL: &str = "https://drift.invalid";

/// Headers whose recorded values the drift check compares.
const COMPARED_HEADERS: [&str; 2] = ["content-type", "leap0-source"];

/// A recorded request the current core would no longer send as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// The interaction's position in the cassette (0-based).
    pub interaction: usize,
    /// Its operation.
    pub operation: Operation,
    /// What the current core sends differently: `recorded` is the cassette's
    /// value, `got` the rebuilt request's.
    pub differences: Vec<Difference>,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "interaction #{} ({}): the current core sends a different request",
            self.interaction,
            self.operation.name()
        )?;
        for difference in &self.differences {
            write!(f, "\n  {difference}")?;
        }
        Ok(())
    }
}

/// Rebuilds every recognised request of `cassette` with the current core and
/// reports each difference from what was recorded: method, target (path and
/// query), body (JSON compared semantically) and the `content-type` and
/// `leap0-source` headers. Nothing is sent. An empty result means the wire
/// format did not change.
///
/// Interactions without an operation or inputs are skipped. Inputs that no
/// longer deserialize, or that the core now rejects, are reported as a
/// difference of `inputs`.
///
/// ```
/// use leap0_replay::{Cassette, Interaction, RecordedRequest, RecordedResponse, Body, check_drift};
///
/// let mut cassette = Cassette::new();
/// cassette.interactions.push(Interaction {
///     operation: Some(leap0_core::Operation::CreateSnapshot),
///     inputs: Some(serde_json::json!({"sandbox_id": "sb-1", "name": "warm"})),
///     request: RecordedRequest {
///         method: "POST".into(),
///         target: "/v1/sandbox/sb-1/snapshot/create".into(),
///         headers: [("content-type".to_owned(), "application/json".to_owned())].into(),
///         body: Some(Body::Json(serde_json::json!({"name": "cold"}))),
///     },
///     response: Some(RecordedResponse { status: 201, headers: Default::default(), body: None }),
///     failure: None,
///     latency_ms: 0,
/// });
/// let drift = check_drift(&cassette);
/// assert_eq!(drift.len(), 1);
/// assert_eq!(drift[0].differences[0].to_string(), r#"body.name: recorded "cold", got "warm""#);
/// ```
pub fn check_drift(cassette: &Cassette) -> Vec<Drift> {
    let base_path = normalize_prefix(&cassette.meta.base_path);
    let config = Config::builder()
        .api_key("drift-check")
        .base_url(format!("{DRIFT_BASE_URL}{base_path}"))
        .build();
    let compare = Compare {
        query: true,
        body: true,
        headers: COMPARED_HEADERS.iter().map(|h| (*h).to_owned()).collect(),
    };
    let mut drifts = Vec::new();
    for (index, interaction) in cassette.interactions.iter().enumerate() {
        let (Some(operation), Some(inputs)) = (interaction.operation, &interaction.inputs) else {
            continue;
        };
        let rebuilt = match &config {
            Ok(config) => rebuild(operation, inputs, config),
            Err(e) => Some(Err(format!("meta.base_path cannot be used: {e}"))),
        };
        let differences = match rebuilt {
            None => continue,
            Some(Ok(request)) => {
                let recorded = Shape::of_recorded(&interaction.request);
                differences(&recorded, &shape_of(&request), &compare)
            }
            Some(Err(reason)) => vec![Difference {
                field: "inputs".to_owned(),
                recorded: Some(crate::normalize::render_json(inputs, 80)),
                got: Some(quote(&reason)),
            }],
        };
        if !differences.is_empty() {
            drifts.push(Drift {
                interaction: index,
                operation,
                differences,
            });
        }
    }
    drifts
}

fn shape_of(request: &Request) -> Shape {
    let target = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |pq| pq.as_str().to_owned(),
    );
    let headers: BTreeMap<String, String> = request
        .headers()
        .iter()
        .filter(|(name, _)| COMPARED_HEADERS.contains(&name.as_str()))
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    Shape::new(
        request.method().as_str(),
        &target,
        headers,
        BodyForm::from_bytes(request.body()),
    )
}

/// The request the current core builds from `inputs`; `None` for an operation
/// this version does not know.
fn rebuild(
    operation: Operation,
    inputs: &Value,
    config: &Config,
) -> Option<Result<Request, String>> {
    Some(operation.visit(Rebuild { inputs, config }))
}

struct Rebuild<'a> {
    inputs: &'a Value,
    config: &'a Config,
}

impl VisitExchange for Rebuild<'_> {
    type Output = Result<Request, String>;

    fn visit<E: Exchange + Serialize + DeserializeOwned>(self) -> Result<Request, String> {
        let exchange: E = serde_json::from_value(self.inputs.clone())
            .map_err(|e| format!("the inputs no longer fit {}: {e}", E::OPERATION.name()))?;
        exchange
            .request(self.config)
            .map_err(|e| format!("the current core rejects the inputs: {e}"))
    }
}
