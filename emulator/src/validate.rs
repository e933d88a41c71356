//! Request body and query validation, collecting one error per bad field.

use std::net::Ipv4Addr;

use serde::Serialize;
use serde_json::{Map, Value};

/// Longest snapshot name and list query, in characters.
pub(crate) const MAX_NAME_CHARS: usize = 64;

/// One entry of a validation error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct FieldError {
    pub(crate) field: String,
    pub(crate) error: String,
}

/// The field errors of one request.
#[derive(Debug, Default)]
pub(crate) struct FieldErrors(pub(crate) Vec<FieldError>);

impl FieldErrors {
    pub(crate) fn push(&mut self, field: impl Into<String>, error: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            error: error.into(),
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Why a body could not be read as a JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Not JSON at all.
    Malformed,
    /// JSON, but not an object.
    NotObject,
}

/// Parses a request body as a JSON object; an empty (or all-whitespace) body is `{}`.
pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(BodyError::NotObject),
        Err(_) => Err(BodyError::Malformed),
    }
}

/// The value of a field, `None` when absent or `null`.
fn present<'a>(obj: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    obj.get(field).filter(|v| !v.is_null())
}

/// An optional integer in `min..=max`.
pub(crate) fn opt_int(
    obj: &Map<String, Value>,
    field: &str,
    min: i64,
    max: i64,
    errs: &mut FieldErrors,
) -> Option<i64> {
    let value = present(obj, field)?;
    match value.as_i64() {
        Some(n) if (min..=max).contains(&n) => Some(n),
        Some(_) => {
            errs.push(field, format!("must be between {min} and {max}"));
            None
        }
        None if value.as_u64().is_some() => {
            errs.push(field, format!("must be between {min} and {max}"));
            None
        }
        None => {
            errs.push(field, "must be an integer");
            None
        }
    }
}

/// An optional boolean.
pub(crate) fn opt_bool(
    obj: &Map<String, Value>,
    field: &str,
    errs: &mut FieldErrors,
) -> Option<bool> {
    let value = present(obj, field)?;
    let b = value.as_bool();
    if b.is_none() {
        errs.push(field, "must be a boolean");
    }
    b
}

/// A required, trimmed, non-empty string.
pub(crate) fn required_string(
    obj: &Map<String, Value>,
    field: &str,
    errs: &mut FieldErrors,
) -> Option<String> {
    let Some(value) = present(obj, field) else {
        errs.push(field, "is required");
        return None;
    };
    let Some(text) = value.as_str() else {
        errs.push(field, "must be a string");
        return None;
    };
    let text = text.trim();
    if text.is_empty() {
        errs.push(field, "must not be empty");
        return None;
    }
    Some(text.to_owned())
}

/// A snapshot name: trimmed, non-empty, at most 64 characters. `required` decides whether
/// an absent (or `null`) field is an error.
pub(crate) fn snapshot_name(
    obj: &Map<String, Value>,
    field: &str,
    required: bool,
    errs: &mut FieldErrors,
) -> Option<String> {
    if present(obj, field).is_none() && !required {
        return None;
    }
    let name = required_string(obj, field, errs)?;
    if name.chars().count() > MAX_NAME_CHARS {
        errs.push(
            field,
            format!("must be at most {MAX_NAME_CHARS} characters"),
        );
        return None;
    }
    Some(name)
}

/// An optional network policy, checked field by field (errors named
/// `network_policy.<field>`); returns the policy as sent.
pub(crate) fn network_policy(obj: &Map<String, Value>, errs: &mut FieldErrors) -> Option<Value> {
    const FIELD: &str = "network_policy";
    let value = present(obj, FIELD)?;
    let Some(policy) = value.as_object() else {
        errs.push(FIELD, "must be an object");
        return None;
    };
    let before = errs.0.len();
    match present(policy, "mode") {
        None => errs.push("network_policy.mode", "is required"),
        Some(Value::String(mode))
            if ["allow-all", "deny-all", "custom"].contains(&mode.as_str()) => {}
        Some(_) => errs.push(
            "network_policy.mode",
            "must be one of allow-all, deny-all, custom",
        ),
    }
    if let Some(domains) = list(policy, "allow_domains", 50, errs) {
        for (i, domain) in domains.iter().enumerate() {
            let field = format!("network_policy.allow_domains[{i}]");
            match domain.as_str() {
                Some(d) if is_domain_pattern(d) => {}
                Some(_) => errs.push(
                    field,
                    "must be a domain name such as example.com or *.example.com",
                ),
                None => errs.push(field, "must be a string"),
            }
        }
    }
    if let Some(cidrs) = list(policy, "allow_cidrs", 10, errs) {
        for (i, cidr) in cidrs.iter().enumerate() {
            let field = format!("network_policy.allow_cidrs[{i}]");
            match cidr.as_str() {
                Some(c) if is_ipv4_cidr(c) => {}
                Some(_) => errs.push(field, "must be an IPv4 CIDR such as 10.0.0.0/8"),
                None => errs.push(field, "must be a string"),
            }
        }
    }
    if let Some(transforms) = list(policy, "transforms", 20, errs) {
        for (i, transform) in transforms.iter().enumerate() {
            check_transform(transform, &format!("network_policy.transforms[{i}]"), errs);
        }
    }
    (errs.0.len() == before).then(|| value.clone())
}

/// An optional array of at most `max` items inside a network policy.
fn list<'a>(
    policy: &'a Map<String, Value>,
    field: &str,
    max: usize,
    errs: &mut FieldErrors,
) -> Option<&'a Vec<Value>> {
    let value = present(policy, field)?;
    let name = format!("network_policy.{field}");
    let Some(items) = value.as_array() else {
        errs.push(name, "must be an array");
        return None;
    };
    if items.len() > max {
        errs.push(name, format!("must have at most {max} items"));
        return None;
    }
    Some(items)
}

fn check_transform(transform: &Value, prefix: &str, errs: &mut FieldErrors) {
    let Some(rule) = transform.as_object() else {
        errs.push(prefix, "must be an object");
        return;
    };
    match present(rule, "domain") {
        None => errs.push(format!("{prefix}.domain"), "is required"),
        Some(Value::String(d)) if is_domain_pattern(d) => {}
        Some(Value::String(_)) => errs.push(
            format!("{prefix}.domain"),
            "must be a domain name such as example.com or *.example.com",
        ),
        Some(_) => errs.push(format!("{prefix}.domain"), "must be a string"),
    }
    if let Some(inject) = present(rule, "inject_headers") {
        let ok = inject
            .as_object()
            .is_some_and(|m| m.values().all(Value::is_string));
        if !ok {
            errs.push(
                format!("{prefix}.inject_headers"),
                "must be an object of string values",
            );
        }
    }
    if let Some(strip) = present(rule, "strip_headers") {
        let ok = strip
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string));
        if !ok {
            errs.push(
                format!("{prefix}.strip_headers"),
                "must be an array of strings",
            );
        }
    }
}

/// A domain pattern: optional `*.`, then at least two labels of `[A-Za-z0-9-]` that neither
/// start nor end with `-`; no `:` and not an IPv4 literal.
pub(crate) fn is_domain_pattern(pattern: &str) -> bool {
    let rest = pattern.strip_prefix("*.").unwrap_or(pattern);
    if rest.contains(':') || rest.parse::<Ipv4Addr>().is_ok() {
        return false;
    }
    let labels: Vec<&str> = rest.split('.').collect();
    if labels.len() == 4
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// An IPv4 CIDR `a.b.c.d/n` with `n` in 0..=32.
pub(crate) fn is_ipv4_cidr(cidr: &str) -> bool {
    let Some((ip, len)) = cidr.split_once('/') else {
        return false;
    };
    ip.parse::<Ipv4Addr>().is_ok()
        && !len.is_empty()
        && len.len() <= 2
        && len.bytes().all(|b| b.is_ascii_digit())
        && len.parse::<u8>().is_ok_and(|n| n <= 32)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn obj(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn domains() {
        for ok in [
            "example.com",
            "*.example.com",
            "a-b.c1.org",
            "EXAMPLE.COM",
            "1.2.3.com",
        ] {
            assert!(is_domain_pattern(ok), "{ok}");
        }
        for bad in [
            "",
            "com",
            "*.com",
            "-a.com",
            "a-.com",
            "a..com",
            "a.com:443",
            "1.2.3.4",
            "*.1.2.3.4",
            "a_b.com",
            "*",
            "**.a.com",
            "a.com.",
        ] {
            assert!(!is_domain_pattern(bad), "{bad}");
        }
    }

    #[test]
    fn cidrs() {
        for ok in [
            "1.2.3.4/32",
            "0.0.0.0/0",
            "10.0.0.0/8",
            "255.255.255.255/16",
        ] {
            assert!(is_ipv4_cidr(ok), "{ok}");
        }
        for bad in [
            "1.2.3.4",
            "1.2.3.4/33",
            "1.2.3.4/",
            "1.2.3/8",
            "256.1.1.1/8",
            "1.2.3.4/+8",
            "::1/128",
            "1.2.3.4/008",
            "a.b.c.d/8",
        ] {
            assert!(!is_ipv4_cidr(bad), "{bad}");
        }
    }

    #[test]
    fn policy_errors_name_each_field() {
        let mut errs = FieldErrors::default();
        let body = obj(json!({"network_policy": {
            "mode": "open",
            "allow_cidrs": ["1.2.3.4/32", "nope"],
            "allow_domains": ["ok.example.com", "bad"],
            "transforms": [{"inject_headers": {"a": 1}}, {"domain": "x.io", "strip_headers": "Cookie"}]
        }}));
        assert_eq!(network_policy(&body, &mut errs), None);
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "network_policy.mode",
                "network_policy.allow_domains[1]",
                "network_policy.allow_cidrs[1]",
                "network_policy.transforms[0].domain",
                "network_policy.transforms[0].inject_headers",
                "network_policy.transforms[1].strip_headers",
            ]
        );
    }

    #[test]
    fn policy_limits() {
        let mut errs = FieldErrors::default();
        let domains: Vec<String> = (0..51).map(|i| format!("d{i}.example.com")).collect();
        let cidrs: Vec<String> = (0..11).map(|i| format!("10.0.0.{i}/32")).collect();
        let transforms: Vec<Value> = (0..21).map(|_| json!({"domain": "a.io"})).collect();
        let body = obj(json!({"network_policy": {
            "mode": "custom", "allow_domains": domains, "allow_cidrs": cidrs, "transforms": transforms
        }}));
        assert_eq!(network_policy(&body, &mut errs), None);
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "network_policy.allow_domains",
                "network_policy.allow_cidrs",
                "network_policy.transforms"
            ]
        );

        let mut errs = FieldErrors::default();
        let good =
            obj(json!({"network_policy": {"mode": "custom", "allow_cidrs": ["1.2.3.4/32"]}}));
        assert!(network_policy(&good, &mut errs).is_some());
        assert!(errs.is_empty());
        assert_eq!(
            network_policy(&obj(json!({"network_policy": null})), &mut errs),
            None
        );
        assert!(errs.is_empty());
    }

    #[test]
    fn names_and_numbers() {
        let mut errs = FieldErrors::default();
        let body = obj(
            json!({"name": "  warm  ", "long": "x".repeat(65), "blank": "  ", "n": 1.5, "big": 99}),
        );
        assert_eq!(
            snapshot_name(&body, "name", false, &mut errs).as_deref(),
            Some("warm")
        );
        assert_eq!(snapshot_name(&body, "absent", false, &mut errs), None);
        assert!(errs.is_empty());
        assert_eq!(snapshot_name(&body, "absent", true, &mut errs), None);
        assert_eq!(snapshot_name(&body, "long", false, &mut errs), None);
        assert_eq!(snapshot_name(&body, "blank", false, &mut errs), None);
        assert_eq!(opt_int(&body, "n", 1, 8, &mut errs), None);
        assert_eq!(opt_int(&body, "big", 1, 8, &mut errs), None);
        let errors: Vec<(&str, &str)> = errs
            .0
            .iter()
            .map(|e| (e.field.as_str(), e.error.as_str()))
            .collect();
        assert_eq!(
            errors,
            [
                ("absent", "is required"),
                ("long", "must be at most 64 characters"),
                ("blank", "must not be empty"),
                ("n", "must be an integer"),
                ("big", "must be between 1 and 8"),
            ]
        );
    }

    #[test]
    fn bodies() {
        assert_eq!(parse_object(b"").unwrap(), Map::new());
        assert_eq!(parse_object(b" \n").unwrap(), Map::new());
        assert_eq!(parse_object(b"{\"a\":1").unwrap_err(), BodyError::Malformed);
        assert_eq!(parse_object(b"[1]").unwrap_err(), BodyError::NotObject);
    }
}
