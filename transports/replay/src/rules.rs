//! What a test adds to matching: fields to ignore, a matcher of its own, and
//! hooks over requests and answers.

use std::fmt;
use std::sync::Arc;

use leap0_core::Operation;
use leap0_core::transport::{Request, Response};
use serde_json::Value;

use crate::cassette::Interaction;
use crate::normalize::{BodyForm, Shape};

/// One step of a [`JsonPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// An object key.
    Key(String),
    /// One array element.
    Index(usize),
    /// Every array element (`[*]`).
    Each,
}

/// A field of a JSON body: `body.name`, `body.items[0].id`,
/// `body.network_policy.transforms[*].inject_headers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

/// A rule that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ignore rule {rule:?}: {reason}")]
pub struct RuleError {
    /// The rule as given.
    pub rule: String,
    /// What is wrong with it.
    pub reason: String,
}

impl JsonPath {
    /// Reads a path: `body`, then `.key`, `[N]` or `[*]` steps.
    pub fn parse(text: &str) -> Result<JsonPath, RuleError> {
        let fail = |reason: &str| RuleError {
            rule: text.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = text
            .strip_prefix("body")
            .ok_or_else(|| fail("a body field starts with `body.`"))?;
        let mut steps = Vec::new();
        let mut rest = rest;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let key = &after[..end];
                if key.is_empty() {
                    return Err(fail("an empty key"));
                }
                if key.contains(']') {
                    return Err(fail("a `]` without `[`"));
                }
                steps.push(Step::Key(key.to_owned()));
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']').ok_or_else(|| fail("a `[` without `]`"))?;
                let inside = &after[..end];
                steps.push(match inside {
                    "*" => Step::Each,
                    n => Step::Index(n.parse().map_err(|_| fail("an index is a number or `*`"))?),
                });
                rest = &after[end + 1..];
            } else {
                return Err(fail("expected `.key`, `[N]` or `[*]`"));
            }
        }
        if steps.is_empty() {
            return Err(fail("name a field below `body`"));
        }
        Ok(JsonPath {
            text: text.to_owned(),
            steps,
        })
    }

    /// Removes the field from `value` wherever the path reaches (an array
    /// element is set to `null`, so later positions keep their meaning).
    fn remove(&self, value: &mut Value) {
        remove(value, &self.steps);
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn remove(value: &mut Value, steps: &[Step]) {
    let Some((step, rest)) = steps.split_first() else {
        return;
    };
    match (step, value) {
        (Step::Key(key), Value::Object(map)) if rest.is_empty() => {
            map.remove(key);
        }
        (Step::Key(key), Value::Object(map)) => {
            if let Some(child) = map.get_mut(key) {
                remove(child, rest);
            }
        }
        (Step::Index(i), Value::Array(items)) => {
            if let Some(child) = items.get_mut(*i) {
                if rest.is_empty() {
                    *child = Value::Null;
                } else {
                    remove(child, rest);
                }
            }
        }
        (Step::Each, Value::Array(items)) => {
            for child in items {
                if rest.is_empty() {
                    *child = Value::Null;
                } else {
                    remove(child, rest);
                }
            }
        }
        _ => {}
    }
}

/// The fields that do not take part in matching: parts of JSON bodies and
/// query parameters. They are removed from recorded and live requests alike
/// before matching, so a miss reports the differences that remain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ignored {
    pub(crate) body: Vec<JsonPath>,
    pub(crate) query: Vec<String>,
}

impl Ignored {
    /// Reads `body.PATH` or `query.NAME`.
    pub(crate) fn add(&mut self, rule: &str) -> Result<(), RuleError> {
        if let Some(name) = rule.strip_prefix("query.") {
            if name.is_empty() {
                return Err(RuleError {
                    rule: rule.to_owned(),
                    reason: "name a query parameter after `query.`".to_owned(),
                });
            }
            self.query.push(name.to_owned());
            return Ok(());
        }
        self.body.push(JsonPath::parse(rule).map_err(|e| RuleError {
            reason: format!("{}; a rule is `body.PATH` or `query.NAME`", e.reason),
            ..e
        })?);
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.body.is_empty() && self.query.is_empty()
    }

    /// Takes the ignored fields out of `shape`.
    pub(crate) fn apply(&self, shape: &mut Shape) {
        if !self.query.is_empty() {
            shape.query.retain(|(name, _)| !self.query.contains(name));
        }
        if let BodyForm::Json(value) = &mut shape.body {
            for path in &self.body {
                path.remove(value);
            }
        }
    }
}

/// A request as matching sees it (after redaction and ignore rules), handed
/// to a custom matcher.
#[derive(Clone, Copy)]
pub struct RequestView<'a> {
    shape: &'a Shape,
}

impl<'a> RequestView<'a> {
    pub(crate) fn new(shape: &'a Shape) -> RequestView<'a> {
        RequestView { shape }
    }

    /// The method, upper-case.
    pub fn method(&self) -> &'a str {
        &self.shape.method
    }

    /// The path, still percent-encoded.
    pub fn path(&self) -> &'a str {
        self.shape.raw_path()
    }

    /// The path's segments, percent-decoded.
    pub fn segments(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.shape.path.iter()
    }

    /// The query parameters, decoded, in order.
    pub fn query(&self) -> &'a [(String, String)] {
        &self.shape.query
    }

    /// The body, when it is JSON.
    pub fn json(&self) -> Option<&'a Value> {
        match &self.shape.body {
            BodyForm::Json(value) => Some(value),
            _ => None,
        }
    }

    /// A header compared by the options (`match_headers`), by lowercase name.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.shape.headers.get(name).map(String::as_str)
    }

    /// The API operation its route belongs to.
    pub fn operation(&self) -> Option<Operation> {
        leap0_core::route::find(&self.shape.method, self.path()).map(|(route, _)| route.operation)
    }
}

impl fmt::Debug for RequestView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestView")
            .field("method", &self.method())
            .field("path", &self.path())
            .finish_non_exhaustive()
    }
}

/// Decides whether a recorded request answers a live one: `(recorded, live)`.
pub type Matcher = Arc<dyn Fn(RequestView<'_>, RequestView<'_>) -> bool + Send + Sync>;
/// Changes a live request before it is matched.
pub type RequestHook = Arc<dyn Fn(&mut Request) + Send + Sync>;
/// Changes a replayed answer before the client gets it.
pub type ResponseHook = Arc<dyn Fn(&mut Response) + Send + Sync>;
/// Changes an interaction before it is recorded.
pub type InteractionHook = Arc<dyn Fn(&mut Interaction) + Send + Sync>;

/// A test's additions to matching, kept behind [`Arc`]s: the options stay
/// cheap to clone, and compare equal when they share the same closures.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) matcher: Option<Matcher>,
    pub(crate) before_match: Option<RequestHook>,
    pub(crate) before_playback: Option<ResponseHook>,
}

impl PartialEq for Hooks {
    fn eq(&self, other: &Hooks) -> bool {
        fn same<T: ?Sized>(a: &Option<Arc<T>>, b: &Option<Arc<T>>) -> bool {
            match (a, b) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
        }
        same(&self.matcher, &other.matcher)
            && same(&self.before_match, &other.before_match)
            && same(&self.before_playback, &other.before_playback)
    }
}

impl Eq for Hooks {}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("matcher", &self.matcher.is_some())
            .field("before_match", &self.before_match.is_some())
            .field("before_playback", &self.before_playback.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_remove_what_they_name_and_nothing_else() {
        let mut body = json!({
            "name": "n-1", "keep": 1,
            "network_policy": {"transforms": [
                {"domain": "a", "inject_headers": {"x": "1"}},
                {"domain": "b", "inject_headers": {"y": "2"}},
            ]},
            "items": [{"id": 1}, {"id": 2}],
        });
        for rule in [
            "body.name",
            "body.network_policy.transforms[*].inject_headers",
            "body.items[1]",
            "body.missing.deeper",
        ] {
            JsonPath::parse(rule).unwrap().remove(&mut body);
        }
        assert_eq!(
            body,
            json!({
                "keep": 1,
                "network_policy": {"transforms": [{"domain": "a"}, {"domain": "b"}]},
                "items": [{"id": 1}, null],
            })
        );
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        let mut ignored = Ignored::default();
        for bad in [
            "name",
            "body",
            "body.",
            "body.a[",
            "body.a[x]",
            "body.a]",
            "query.",
        ] {
            let e = ignored.add(bad).unwrap_err();
            assert_eq!(e.rule, bad);
            assert!(e.to_string().starts_with("invalid ignore rule"), "{e}");
        }
        ignored.add("query.page").unwrap();
        ignored.add("body.a[0].b").unwrap();
        assert_eq!(ignored.query, ["page"]);
    }
}
