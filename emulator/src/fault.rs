//! Injected faults: what the emulator does instead of (or before) answering normally.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One misbehaviour of the server.
///
/// Its JSON form (for `POST /_emulator/faults`) is an object tagged by `kind`:
///
/// | variant | JSON |
/// |---|---|
/// | `Status` | `{"kind": "status", "status": 429, "retry_after": "2", "body": "..."}` (`retry_after` and `body` optional) |
/// | `Delay` | `{"kind": "delay", "ms": 1500}` |
/// | `DropConnection` | `{"kind": "drop_connection"}` |
/// | `TruncatedBody` | `{"kind": "truncated_body"}` |
/// | `MalformedJson` | `{"kind": "malformed_json"}` |
/// | `OversizeBody` | `{"kind": "oversize_body", "bytes": 104857600}` |
/// | `OversizeChunked` | `{"kind": "oversize_chunked", "bytes": 104857600}` |
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "FaultRepr", from = "FaultRepr")]
pub enum Fault {
    /// Answer this status without acting. With `body` `None` the body is
    /// `{"message": "..."}` with a message fitting the status (429: `rate limit exceeded`,
    /// 500: `internal server error`, 502: `bad gateway`, 503: `no runner capacity
    /// available`, 504: `gateway timeout`). A given `body` is sent as is, as
    /// `application/json` if it parses as JSON, else as `text/plain`. `retry_after` becomes
    /// the `Retry-After` header. A status outside 200..=599 is answered as 500.
    Status {
        /// The HTTP status code.
        status: u16,
        /// The `Retry-After` header value, if any.
        retry_after: Option<String>,
        /// The raw body, if not the default JSON message.
        body: Option<String>,
    },
    /// Handle the request at once (the server acts), then hold the answer back this long:
    /// a client that times out cannot know that the server acted.
    Delay(Duration),
    /// Close the connection without any response, without acting.
    DropConnection,
    /// Without acting, answer the route's success status (200 for a route whose success is
    /// 204) with a `Content-Length` 64 bytes larger than the start of a JSON body actually
    /// sent, then close the connection.
    TruncatedBody,
    /// Without acting, answer the route's success status (200 for a route whose success is
    /// 204) with `content-type: application/json` and a body that is not JSON.
    MalformedJson,
    /// Without acting, answer the route's success status (200 for a route whose success is
    /// 204) with a body of exactly `bytes` bytes and a matching `Content-Length`, streamed
    /// in 64 KiB chunks of one static buffer (nothing of that size is ever allocated).
    OversizeBody {
        /// The body length.
        bytes: u64,
    },
    /// As [`Fault::OversizeBody`], but with `Transfer-Encoding: chunked` and no
    /// `Content-Length`, so the client learns the size only by reading.
    OversizeChunked {
        /// The body length.
        bytes: u64,
    },
}

impl Fault {
    /// A [`Fault::Status`] with the default body and no `Retry-After`.
    pub fn status(status: u16) -> Self {
        Self::Status {
            status,
            retry_after: None,
            body: None,
        }
    }

    /// A 429 [`Fault::Status`] with the given `Retry-After` value.
    pub fn rate_limited(retry_after: impl Into<String>) -> Self {
        Self::Status {
            status: 429,
            retry_after: Some(retry_after.into()),
            body: None,
        }
    }

    /// A short name of the variant, as in its JSON `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Status { .. } => "status",
            Self::Delay(_) => "delay",
            Self::DropConnection => "drop_connection",
            Self::TruncatedBody => "truncated_body",
            Self::MalformedJson => "malformed_json",
            Self::OversizeBody { .. } => "oversize_body",
            Self::OversizeChunked { .. } => "oversize_chunked",
        }
    }
}

/// The serialized form of [`Fault`].
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum FaultRepr {
    Status {
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
    },
    Delay {
        ms: u64,
    },
    DropConnection,
    TruncatedBody,
    MalformedJson,
    OversizeBody {
        bytes: u64,
    },
    OversizeChunked {
        bytes: u64,
    },
}

impl From<Fault> for FaultRepr {
    fn from(fault: Fault) -> Self {
        match fault {
            Fault::Status {
                status,
                retry_after,
                body,
            } => Self::Status {
                status,
                retry_after,
                body,
            },
            Fault::Delay(d) => Self::Delay {
                ms: u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
            },
            Fault::DropConnection => Self::DropConnection,
            Fault::TruncatedBody => Self::TruncatedBody,
            Fault::MalformedJson => Self::MalformedJson,
            Fault::OversizeBody { bytes } => Self::OversizeBody { bytes },
            Fault::OversizeChunked { bytes } => Self::OversizeChunked { bytes },
        }
    }
}

impl From<FaultRepr> for Fault {
    fn from(repr: FaultRepr) -> Self {
        match repr {
            FaultRepr::Status {
                status,
                retry_after,
                body,
            } => Self::Status {
                status,
                retry_after,
                body,
            },
            FaultRepr::Delay { ms } => Self::Delay(Duration::from_millis(ms)),
            FaultRepr::DropConnection => Self::DropConnection,
            FaultRepr::TruncatedBody => Self::TruncatedBody,
            FaultRepr::MalformedJson => Self::MalformedJson,
            FaultRepr::OversizeBody { bytes } => Self::OversizeBody { bytes },
            FaultRepr::OversizeChunked { bytes } => Self::OversizeChunked { bytes },
        }
    }
}

fn one() -> u32 {
    1
}

/// A fault applied to the next `times` requests that match `method` and `path_prefix`.
///
/// Rules are tried in the order they were injected; a request uses the first rule that
/// matches and still has uses left, and a rule whose uses are spent is removed. Faults apply
/// to every route but the `/_emulator` admin routes, before authentication (as a proxy in
/// front of the API would), and faulted requests are still recorded in the request log.
///
/// JSON form (for `POST /_emulator/faults`); only `fault` is required, `times` defaults to 1:
///
/// ```json
/// {"fault": {"kind": "status", "status": 503}, "times": 2,
///  "method": "POST", "path_prefix": "/v1/snapshot/"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// What to do.
    pub fault: Fault,
    /// How many matching requests it applies to (0: none).
    #[serde(default = "one")]
    pub times: u32,
    /// Only requests with this method (case-insensitive); `None` matches any.
    #[serde(default)]
    pub method: Option<String>,
    /// Only requests whose raw target (path and query, still percent-encoded) starts with
    /// this; `None` matches any.
    #[serde(default)]
    pub path_prefix: Option<String>,
}

impl FaultRule {
    /// A rule applying `fault` once to any request.
    pub fn new(fault: Fault) -> Self {
        Self {
            fault,
            times: 1,
            method: None,
            path_prefix: None,
        }
    }

    /// Sets how many matching requests the rule applies to.
    #[must_use]
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    /// Restricts the rule to one method.
    #[must_use]
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Restricts the rule to raw targets starting with `prefix`.
    #[must_use]
    pub fn path_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = Some(prefix.into());
        self
    }

    /// Whether this rule is for a request with this method and raw target.
    pub fn matches(&self, method: &str, target: &str) -> bool {
        self.times > 0
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| target.starts_with(p))
    }
}

/// Takes one use of the first rule matching the request, removing spent rules.
pub(crate) fn take_matching(
    rules: &mut Vec<FaultRule>,
    method: &str,
    target: &str,
) -> Option<Fault> {
    rules.retain(|r| r.times > 0);
    let index = rules.iter().position(|r| r.matches(method, target))?;
    let rule = rules.get_mut(index)?;
    rule.times -= 1;
    let fault = rule.fault.clone();
    if rule.times == 0 {
        rules.remove(index);
    }
    Some(fault)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn json_forms_round_trip() {
        let rules = [
            FaultRule::new(Fault::rate_limited("2"))
                .times(2)
                .method("POST")
                .path_prefix("/v1/snapshot/"),
            FaultRule::new(Fault::Delay(Duration::from_millis(1500))),
            FaultRule::new(Fault::DropConnection),
            FaultRule::new(Fault::TruncatedBody),
            FaultRule::new(Fault::MalformedJson),
            FaultRule::new(Fault::OversizeBody { bytes: 10 }),
            FaultRule::new(Fault::OversizeChunked { bytes: 10 }),
        ];
        for rule in rules {
            let text = serde_json::to_string(&rule).unwrap();
            let back: FaultRule = serde_json::from_str(&text).unwrap();
            assert_eq!(back, rule, "{text}");
        }
    }

    #[test]
    fn parses_documented_forms() {
        let rule: FaultRule =
            serde_json::from_str(r#"{"fault": {"kind": "delay", "ms": 250}}"#).unwrap();
        assert_eq!(
            rule,
            FaultRule::new(Fault::Delay(Duration::from_millis(250)))
        );
        let rule: FaultRule = serde_json::from_str(
            r#"{"fault": {"kind": "status", "status": 503}, "times": 3, "method": "GET"}"#,
        )
        .unwrap();
        assert_eq!(
            rule,
            FaultRule::new(Fault::status(503)).times(3).method("GET")
        );
        let text = serde_json::to_string(&FaultRule::new(Fault::rate_limited("7"))).unwrap();
        assert_eq!(
            text,
            r#"{"fault":{"kind":"status","status":429,"retry_after":"7"},"times":1,"method":null,"path_prefix":null}"#
        );
        assert!(serde_json::from_str::<FaultRule>(r#"{"fault": {"kind": "nope"}}"#).is_err());
        assert!(
            serde_json::from_str::<FaultRule>(r#"{"fault": {"kind": "delay", "ms": 1, "x": 2}}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<FaultRule>(r#"{"times": 1}"#).is_err());
    }

    #[test]
    fn rules_are_used_in_order_and_spent() {
        let mut rules = vec![
            FaultRule::new(Fault::status(500)).method("post").times(2),
            FaultRule::new(Fault::status(502)).path_prefix("/v1/snapshots"),
        ];
        assert_eq!(take_matching(&mut rules, "GET", "/v1/sandbox/x/"), None);
        assert_eq!(
            take_matching(&mut rules, "POST", "/v1/x"),
            Some(Fault::status(500))
        );
        assert_eq!(
            take_matching(&mut rules, "GET", "/v1/snapshots?page=1"),
            Some(Fault::status(502))
        );
        assert_eq!(
            take_matching(&mut rules, "POST", "/v1/x"),
            Some(Fault::status(500))
        );
        assert_eq!(take_matching(&mut rules, "POST", "/v1/x"), None);
        assert!(rules.is_empty());
    }
}
