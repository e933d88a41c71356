//! The contract's input rules, each written once. Every operation's request
//! builder runs its inputs through these before anything is sent.
//!
//! The emulator checks the same rules with an implementation of its own (an
//! independent oracle); a property test feeds both the same inputs and requires
//! the same verdict.

use core::net::Ipv4Addr;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::model::{FieldProblem, NetworkMode, NetworkPolicy, TransformRule};

/// Longest snapshot name, and longest list query, in characters.
pub(crate) const MAX_NAME_CHARS: usize = 64;
/// `timeout_min` bounds (resume).
pub(crate) const TIMEOUT_MIN_RANGE: (u64, u64) = (1, 480);
/// `timeout` bounds in seconds (restore, create sandbox).
pub(crate) const TIMEOUT_SECS_RANGE: (u64, u64) = (1, 28_800);
/// `page_size` bounds (list).
pub(crate) const PAGE_SIZE_RANGE: (u64, u64) = (1, 100);
/// Most entries in `allow_domains`.
pub(crate) const MAX_ALLOW_DOMAINS: usize = 50;
/// Most entries in `allow_cidrs`.
pub(crate) const MAX_ALLOW_CIDRS: usize = 10;
/// Most entries in `transforms`.
pub(crate) const MAX_TRANSFORMS: usize = 20;

fn problem(field: impl Into<String>, reason: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Everything but RFC 3986 unreserved characters is escaped, so that an id can
/// never add a path segment, a query or a fragment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Checks an id and appends it to `out`, percent-encoded as exactly one path
/// segment.
///
/// Empty ids and the ids `.` and `..` (which some proxies resolve even when the
/// route is built correctly) are rejected.
pub(crate) fn push_path_segment(
    out: &mut String,
    field: &str,
    id: &str,
) -> Result<(), FieldProblem> {
    // Blank: nothing but whitespace (the first character usually settles it).
    if id.chars().all(char::is_whitespace) {
        return Err(problem(field, "must not be empty"));
    }
    if id == "." || id == ".." {
        return Err(problem(field, format!("{id:?} is not a valid id")));
    }
    out.extend(utf8_percent_encode(id, SEGMENT));
    Ok(())
}

/// Percent-encodes a query-string value (same safe set as path segments).
pub(crate) fn query_value(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// A snapshot name: trimmed, non-empty, at most 64 characters. Returns it trimmed.
pub(crate) fn snapshot_name<'a>(field: &str, name: &'a str) -> Result<&'a str, FieldProblem> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(problem(field, "must not be empty"));
    }
    at_most_chars(field, trimmed, MAX_NAME_CHARS)?;
    Ok(trimmed)
}

/// A string of at most `max` characters.
pub(crate) fn at_most_chars(field: &str, value: &str, max: usize) -> Result<(), FieldProblem> {
    let n = value.chars().count();
    if n > max {
        return Err(problem(
            field,
            format!("must be at most {max} characters, got {n}"),
        ));
    }
    Ok(())
}

/// A number within `lo..=hi`.
pub(crate) fn in_range(field: &str, value: u64, (lo, hi): (u64, u64)) -> Result<(), FieldProblem> {
    if value < lo || value > hi {
        let rule = if hi == u64::MAX {
            format!("must be at least {lo}")
        } else {
            format!("must be between {lo} and {hi}")
        };
        return Err(problem(field, format!("{rule}, got {value}")));
    }
    Ok(())
}

/// A network policy: no unknown keys, a known mode, list sizes, CIDRs and
/// domain patterns, and transform rules without unknown keys.
pub(crate) fn network_policy(field: &str, policy: &NetworkPolicy) -> Result<(), FieldProblem> {
    known_keys(field, &policy.extra, &NetworkPolicy::KEYS)?;
    if let NetworkMode::Unknown(mode) = &policy.mode {
        return Err(problem(
            format!("{field}.mode"),
            format!("must be one of allow-all, deny-all, custom, got {mode:?}"),
        ));
    }
    if let Some(domains) = &policy.allow_domains {
        let list = format!("{field}.allow_domains");
        at_most_items(&list, domains.len(), MAX_ALLOW_DOMAINS)?;
        for (i, d) in domains.iter().enumerate() {
            domain_pattern(&format!("{list}[{i}]"), d)?;
        }
    }
    if let Some(cidrs) = &policy.allow_cidrs {
        let list = format!("{field}.allow_cidrs");
        at_most_items(&list, cidrs.len(), MAX_ALLOW_CIDRS)?;
        for (i, c) in cidrs.iter().enumerate() {
            ipv4_cidr(&format!("{list}[{i}]"), c)?;
        }
    }
    if let Some(transforms) = &policy.transforms {
        let list = format!("{field}.transforms");
        at_most_items(&list, transforms.len(), MAX_TRANSFORMS)?;
        for (i, t) in transforms.iter().enumerate() {
            let rule = format!("{list}[{i}]");
            known_keys(&rule, &t.extra, &TransformRule::KEYS)?;
            domain_pattern(&format!("{rule}.domain"), &t.domain)?;
        }
    }
    Ok(())
}

/// Refuses the first key of `extra` (keys the type does not know), naming it and
/// the closest known key.
fn known_keys(
    field: &str,
    extra: &serde_json::Map<String, serde_json::Value>,
    known: &[&str],
) -> Result<(), FieldProblem> {
    let Some(key) = extra.keys().next() else {
        return Ok(());
    };
    let closest = known
        .iter()
        .map(|k| (edit_distance(k, key), *k))
        .min()
        .filter(|(distance, _)| *distance <= 3);
    let hint = match closest {
        Some((_, k)) => format!(" (did you mean {k:?}?)"),
        None => String::new(),
    };
    Err(problem(
        format!("{field}.{key}"),
        format!("unknown key{hint}; the known keys are {}", known.join(", ")),
    ))
}

/// Levenshtein distance, for "did you mean" hints on short key names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

fn at_most_items(field: &str, n: usize, max: usize) -> Result<(), FieldProblem> {
    if n > max {
        return Err(problem(
            field,
            format!("must have at most {max} entries, got {n}"),
        ));
    }
    Ok(())
}

/// An IPv4 range `a.b.c.d/n` with `n` in `0..=32`.
pub(crate) fn ipv4_cidr(field: &str, cidr: &str) -> Result<(), FieldProblem> {
    let bad = || {
        problem(
            field,
            format!("{cidr:?} is not an IPv4 CIDR like 10.0.0.0/8"),
        )
    };
    let (addr, bits) = cidr.split_once('/').ok_or_else(bad)?;
    addr.parse::<Ipv4Addr>().map_err(|_| bad())?;
    let all_digits =
        !bits.is_empty() && bits.len() <= 2 && bits.bytes().all(|b| b.is_ascii_digit());
    match bits.parse::<u8>() {
        Ok(n) if all_digits && n <= 32 => Ok(()),
        _ => Err(bad()),
    }
}

/// A domain pattern: optional `*.`, then two or more labels of letters, digits and
/// `-` that neither start nor end with `-`, the last (the top-level domain) not
/// all digits; no port, and not an IPv4 literal (with or without `*.`).
pub(crate) fn domain_pattern(field: &str, pattern: &str) -> Result<(), FieldProblem> {
    let bad = |why: &str| problem(field, format!("{pattern:?} is not a domain pattern: {why}"));
    if pattern.contains(':') {
        return Err(bad("ports and IPv6 addresses are not allowed"));
    }
    let host = pattern.strip_prefix("*.").unwrap_or(pattern);
    if host.parse::<Ipv4Addr>().is_ok() {
        return Err(bad("IP addresses are not allowed (use allow_cidrs)"));
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 {
        return Err(bad("needs at least two labels, like example.com"));
    }
    for label in &labels {
        if label.is_empty() {
            return Err(bad("has an empty label"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(bad("labels may hold only letters, digits and '-'"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("labels may not start or end with '-'"));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad(
            "the last label is all digits, like an IP address (use allow_cidrs)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::TransformRule;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(snapshot_name("name", "  warm ").unwrap(), "warm");
        assert_eq!(
            snapshot_name("name", &"é".repeat(64))
                .unwrap()
                .chars()
                .count(),
            64
        );
        assert!(snapshot_name("name", &"é".repeat(65)).is_err());
        assert_eq!(snapshot_name("name", " \t").unwrap_err().field, "name");
        assert!(snapshot_name("name", "").is_err());
    }

    #[test]
    fn ranges_include_both_ends() {
        let (lo, hi) = TIMEOUT_MIN_RANGE;
        assert!(in_range("t", lo, TIMEOUT_MIN_RANGE).is_ok());
        assert!(in_range("t", hi, TIMEOUT_MIN_RANGE).is_ok());
        assert!(in_range("t", lo - 1, TIMEOUT_MIN_RANGE).is_err());
        assert!(in_range("t", hi + 1, TIMEOUT_MIN_RANGE).is_err());
        assert_eq!(
            in_range("timeout", 28_801, TIMEOUT_SECS_RANGE)
                .unwrap_err()
                .reason,
            "must be between 1 and 28800, got 28801"
        );
    }

    fn path_segment(field: &str, id: &str) -> Result<String, FieldProblem> {
        let mut out = String::new();
        push_path_segment(&mut out, field, id).map(|()| out)
    }

    #[test]
    fn path_segments_cannot_escape() {
        assert_eq!(
            path_segment("id", "a/b?c#d%e f").unwrap(),
            "a%2Fb%3Fc%23d%25e%20f"
        );
        assert_eq!(path_segment("id", "é").unwrap(), "%C3%A9");
        assert_eq!(
            path_segment("id", "sb_0123-abc.~").unwrap(),
            "sb_0123-abc.~"
        );
        assert_eq!(path_segment("id", "../x").unwrap(), "..%2Fx");
        for bad in ["", "  ", ".", ".."] {
            assert_eq!(
                path_segment("sandbox_id", bad).unwrap_err().field,
                "sandbox_id"
            );
        }
    }

    #[test]
    fn cidrs() {
        for ok in [
            "1.2.3.4/32",
            "0.0.0.0/0",
            "10.0.0.0/8",
            "255.255.255.255/32",
        ] {
            assert!(ipv4_cidr("c", ok).is_ok(), "{ok}");
        }
        for bad in [
            "1.2.3.4",
            "1.2.3.4/33",
            "1.2.3/8",
            "256.1.1.1/8",
            "1.2.3.4/",
            "1.2.3.4/-1",
            "::1/128",
            "1.2.3.4/+8",
            "01.2.3.4/8",
            "1.2.3.4/008",
        ] {
            assert!(ipv4_cidr("c", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn domains() {
        for ok in [
            "example.com",
            "*.example.com",
            "a-b.c0.io",
            "API.Example.ORG",
            "1.2.3.com",
        ] {
            assert!(domain_pattern("d", ok).is_ok(), "{ok}");
        }
        for bad in [
            "localhost",
            "*.com",
            "example.com:443",
            "1.2.3.4",
            "-a.com",
            "a-.com",
            "a..com",
            "*example.com",
            "ex_ample.com",
            "",
            "*.",
            "**.example.com",
            "exa mple.com",
            "*.1.2.3.4",
            "999.1.1.1",
            "1.2.3",
            "a.b.123",
        ] {
            assert!(domain_pattern("d", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn policy_counts_modes_and_nested_fields() {
        let p = NetworkPolicy::new(NetworkMode::Custom)
            .allow_domains((0..50).map(|i| format!("d{i}.example.com")))
            .allow_cidrs((0..10).map(|i| format!("10.0.0.{i}/32")))
            .transforms((0..20).map(|_| TransformRule::new("api.example.org")));
        network_policy("network_policy", &p).unwrap();

        let mut over = p.clone();
        over.allow_domains
            .as_mut()
            .unwrap()
            .push("one.more.com".into());
        assert_eq!(
            network_policy("network_policy", &over).unwrap_err().field,
            "network_policy.allow_domains"
        );
        let mut over = p.clone();
        over.allow_cidrs
            .as_mut()
            .unwrap()
            .push("10.0.1.0/24".into());
        assert_eq!(
            network_policy("network_policy", &over).unwrap_err().field,
            "network_policy.allow_cidrs"
        );
        let mut over = p.clone();
        over.transforms
            .as_mut()
            .unwrap()
            .push(TransformRule::new("x.io"));
        assert_eq!(
            network_policy("network_policy", &over).unwrap_err().field,
            "network_policy.transforms"
        );
        let bad = NetworkPolicy::new(NetworkMode::Custom).allow_cidrs(["1.2.3.4/32", "nope"]);
        assert_eq!(
            network_policy("network_policy", &bad).unwrap_err().field,
            "network_policy.allow_cidrs[1]"
        );
        let bad =
            NetworkPolicy::new(NetworkMode::Custom).transforms([TransformRule::new("1.2.3.4")]);
        assert_eq!(
            network_policy("network_policy", &bad).unwrap_err().field,
            "network_policy.transforms[0].domain"
        );
        let bad = NetworkPolicy::new(NetworkMode::Unknown("open".into()));
        assert_eq!(
            network_policy("network_policy", &bad).unwrap_err().field,
            "network_policy.mode"
        );
    }

    #[test]
    fn unknown_policy_keys_are_refused_by_name() {
        let policy: NetworkPolicy =
            serde_json::from_str(r#"{"mode": "custom", "allow_domain": ["a.io"]}"#).unwrap();
        let err = network_policy("network_policy", &policy).unwrap_err();
        assert_eq!(err.field, "network_policy.allow_domain");
        assert!(
            err.reason.contains(r#"did you mean "allow_domains"?"#),
            "{err}"
        );
        let policy: NetworkPolicy = serde_json::from_str(
            r#"{"mode": "custom", "transforms": [{"domain": "a.io", "inject_header": {}}]}"#,
        )
        .unwrap();
        let err = network_policy("network_policy", &policy).unwrap_err();
        assert_eq!(err.field, "network_policy.transforms[0].inject_header");
        let policy: NetworkPolicy =
            serde_json::from_str(r#"{"mode": "allow-all", "unknown_key": 1}"#).unwrap();
        let err = network_policy("network_policy", &policy).unwrap_err();
        assert_eq!(err.field, "network_policy.unknown_key");
        assert!(!err.reason.contains("did you mean"), "{err}");
    }

    #[test]
    fn open_ranges_say_at_least() {
        assert_eq!(
            in_range("page", 0, (1, u64::MAX)).unwrap_err().reason,
            "must be at least 1, got 0"
        );
    }
}
