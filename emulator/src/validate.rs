//! Request body and query validation, collecting one error per bad field.

use std::net::Ipv4Addr;

use serde::Serialize;
use serde_json::{Map, Value};

/// Longest snapshot name and list query, in characters.
pub(crate) const MAX_NAME_CHARS: usize = 64;
/// Bounds of a timeout in seconds (`timeout`).
const TIMEOUT_SECS: (i64, i64) = (1, 28_800);
/// Bounds of a timeout in minutes (`timeout_min`).
const TIMEOUT_MINUTES: (i64, i64) = (1, 480);
/// Bounds of a sandbox's memory, in MiB.
const MEMORY_MIB: (i64, i64) = (512, 8192);
/// Most entries of `allow_domains`.
const MAX_DOMAINS: usize = 50;
/// Most entries of `allow_cidrs`.
const MAX_CIDRS: usize = 10;
/// Most entries of `transforms`.
const MAX_TRANSFORMS: usize = 20;
/// The keys a network policy may have.
const POLICY_KEYS: [&str; 4] = ["mode", "allow_domains", "allow_cidrs", "transforms"];
/// The keys a transform rule may have.
const TRANSFORM_KEYS: [&str; 3] = ["domain", "inject_headers", "strip_headers"];

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

/// An optional timeout in seconds (1 to 28800).
pub(crate) fn timeout_secs(
    obj: &Map<String, Value>,
    field: &str,
    errs: &mut FieldErrors,
) -> Option<i64> {
    let (min, max) = TIMEOUT_SECS;
    opt_int(obj, field, min, max, errs)
}

/// An optional timeout in minutes (1 to 480), returned in seconds.
pub(crate) fn timeout_min_as_secs(
    obj: &Map<String, Value>,
    field: &str,
    errs: &mut FieldErrors,
) -> Option<i64> {
    let (min, max) = TIMEOUT_MINUTES;
    opt_int(obj, field, min, max, errs).map(|minutes| minutes * 60)
}

/// An optional, even amount of memory in MiB (512 to 8192).
pub(crate) fn memory_mib(
    obj: &Map<String, Value>,
    field: &str,
    errs: &mut FieldErrors,
) -> Option<i64> {
    let (min, max) = MEMORY_MIB;
    let mib = opt_int(obj, field, min, max, errs)?;
    if mib % 2 != 0 {
        errs.push(field, "must be an even number");
        return None;
    }
    Some(mib)
}

/// One setting that may be given under two names (`(name, value)` each, values already
/// in one unit): either one, or both alike. Both given and different is an error named
/// after the second.
pub(crate) fn one_setting(
    first: (&str, Option<i64>),
    second: (&str, Option<i64>),
    errs: &mut FieldErrors,
) -> Option<i64> {
    match (first.1, second.1) {
        (Some(a), Some(b)) if a != b => {
            errs.push(
                second.0,
                format!(
                    "disagrees with {}; give one of them, or both alike",
                    first.0
                ),
            );
            None
        }
        (a, b) => a.or(b),
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
/// `network_policy.<field>`); returns the policy as sent. `"network_policy": null` is no
/// policy, but inside one every list must be an array and every key known.
pub(crate) fn network_policy(obj: &Map<String, Value>, errs: &mut FieldErrors) -> Option<Value> {
    const FIELD: &str = "network_policy";
    let value = present(obj, FIELD)?;
    let Some(policy) = value.as_object() else {
        errs.push(FIELD, "must be an object");
        return None;
    };
    let before = errs.0.len();
    unknown_keys(policy, &POLICY_KEYS, FIELD, errs);
    match present(policy, "mode") {
        None => errs.push("network_policy.mode", "is required"),
        Some(Value::String(mode))
            if ["allow-all", "deny-all", "custom"].contains(&mode.as_str()) => {}
        Some(_) => errs.push(
            "network_policy.mode",
            "must be one of allow-all, deny-all, custom",
        ),
    }
    if let Some(domains) = list(policy, "allow_domains", MAX_DOMAINS, errs) {
        for (i, domain) in domains.iter().enumerate() {
            check_domain(domain, format!("network_policy.allow_domains[{i}]"), errs);
        }
    }
    if let Some(cidrs) = list(policy, "allow_cidrs", MAX_CIDRS, errs) {
        for (i, cidr) in cidrs.iter().enumerate() {
            let field = format!("network_policy.allow_cidrs[{i}]");
            match cidr.as_str() {
                Some(c) if is_ipv4_cidr(c) => {}
                Some(_) => errs.push(field, "must be an IPv4 CIDR such as 10.0.0.0/8"),
                None => errs.push(field, "must be a string"),
            }
        }
    }
    if let Some(transforms) = list(policy, "transforms", MAX_TRANSFORMS, errs) {
        for (i, transform) in transforms.iter().enumerate() {
            check_transform(transform, &format!("network_policy.transforms[{i}]"), errs);
        }
    }
    (errs.0.len() == before).then(|| value.clone())
}

/// One error per key of `obj` not in `known`, named `<prefix>.<key>`.
fn unknown_keys(obj: &Map<String, Value>, known: &[&str], prefix: &str, errs: &mut FieldErrors) {
    for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        errs.push(
            format!("{prefix}.{key}"),
            format!("unknown key; the known keys are {}", known.join(", ")),
        );
    }
}

/// An optional array of at most `max` items inside a network policy; `null` is not an
/// array (the schema does not make these lists nullable).
fn list<'a>(
    policy: &'a Map<String, Value>,
    field: &str,
    max: usize,
    errs: &mut FieldErrors,
) -> Option<&'a Vec<Value>> {
    let value = policy.get(field)?;
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

/// A domain pattern given as a JSON value.
fn check_domain(value: &Value, field: String, errs: &mut FieldErrors) {
    match value.as_str() {
        Some(d) if is_domain_pattern(d) => {}
        Some(_) => errs.push(
            field,
            "must be a domain name such as example.com or *.example.com",
        ),
        None => errs.push(field, "must be a string"),
    }
}

fn check_transform(transform: &Value, prefix: &str, errs: &mut FieldErrors) {
    let Some(rule) = transform.as_object() else {
        errs.push(prefix, "must be an object");
        return;
    };
    unknown_keys(rule, &TRANSFORM_KEYS, prefix, errs);
    match present(rule, "domain") {
        None => errs.push(format!("{prefix}.domain"), "is required"),
        Some(domain) => check_domain(domain, format!("{prefix}.domain"), errs),
    }
    if let Some(inject) = rule.get("inject_headers") {
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
    if let Some(strip) = rule.get("strip_headers") {
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
/// start nor end with `-`, the last (the top-level domain) not all digits.
///
/// That last rule is what keeps IP addresses out: `1.2.3.4`, `*.1.2.3.4`, `999.1.1.1` and
/// `1.2.3` all end in digits, while `1.2.3.com` is a name. A `:` (port, IPv6) is never a
/// label character.
pub(crate) fn is_domain_pattern(pattern: &str) -> bool {
    let host = pattern.strip_prefix("*.").unwrap_or(pattern);
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |label: &&str| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let tld_is_name = labels
        .last()
        .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()));
    labels.len() >= 2 && labels.iter().all(label_ok) && tld_is_name
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
            "999.1.1.1",
            "1.2.3",
            "a.b.123",
            "1.2.3.4.5",
            "*.1.2",
            "a_b.com",
            "*",
            "*.",
            "**.a.com",
            "a.com.",
            "[::1].com",
        ] {
            assert!(!is_domain_pattern(bad), "{bad}");
        }
    }

    fn error_fields(body: Value) -> Vec<String> {
        let mut errs = FieldErrors::default();
        assert_eq!(network_policy(&obj(body), &mut errs), None);
        errs.0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn policy_lists_are_never_null() {
        assert_eq!(
            error_fields(json!({"network_policy": {
                "mode": "custom", "allow_domains": null, "allow_cidrs": null, "transforms": null
            }})),
            [
                "network_policy.allow_domains",
                "network_policy.allow_cidrs",
                "network_policy.transforms"
            ]
        );
        assert_eq!(
            error_fields(json!({"network_policy": {"mode": "custom", "transforms": [
                {"domain": "a.io", "inject_headers": null, "strip_headers": null}
            ]}})),
            [
                "network_policy.transforms[0].inject_headers",
                "network_policy.transforms[0].strip_headers"
            ]
        );
    }

    #[test]
    fn unknown_policy_keys_are_named() {
        assert_eq!(
            error_fields(json!({"network_policy": {
                "mode": "custom", "allow_domain": ["a.io"],
                "transforms": [{"domain": "a.io"}, {"domain": "b.io", "inject_header": {}}]
            }})),
            [
                "network_policy.allow_domain",
                "network_policy.transforms[1].inject_header"
            ]
        );
    }

    #[test]
    fn two_spellings_of_one_setting_must_agree() {
        let mut errs = FieldErrors::default();
        assert_eq!(one_setting(("a", Some(2)), ("b", None), &mut errs), Some(2));
        assert_eq!(one_setting(("a", None), ("b", Some(3)), &mut errs), Some(3));
        assert_eq!(
            one_setting(("a", Some(4)), ("b", Some(4)), &mut errs),
            Some(4)
        );
        assert_eq!(one_setting(("a", None), ("b", None), &mut errs), None);
        assert!(errs.is_empty());
        assert_eq!(one_setting(("a", Some(4)), ("b", Some(5)), &mut errs), None);
        assert_eq!(errs.0[0].field, "b");
        let body = obj(json!({"t": 2}));
        assert_eq!(timeout_min_as_secs(&body, "t", &mut errs), Some(120));
        assert_eq!(memory_mib(&obj(json!({"m": 513})), "m", &mut errs), None);
        assert_eq!(errs.0[1].error, "must be an even number");
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
