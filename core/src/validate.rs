//! The contract's input rules, each written once. Every operation's request
//! builder runs its inputs through these before anything is sent.

use core::net::Ipv4Addr;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::model::{FieldProblem, NetworkMode, NetworkPolicy};

/// Longest snapshot name, and longest list query, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// `timeout_min` bounds (resume).
pub const TIMEOUT_MIN_RANGE: (u64, u64) = (1, 480);
/// `timeout` bounds in seconds (restore, create sandbox).
pub const TIMEOUT_SECS_RANGE: (u64, u64) = (1, 28_800);
/// `page_size` bounds (list).
pub const PAGE_SIZE_RANGE: (u64, u64) = (1, 100);
/// Most entries in `allow_domains`.
pub const MAX_ALLOW_DOMAINS: usize = 50;
/// Most entries in `allow_cidrs`.
pub const MAX_ALLOW_CIDRS: usize = 10;
/// Most entries in `transforms`.
pub const MAX_TRANSFORMS: usize = 20;

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

/// Checks an id and percent-encodes it as exactly one path segment.
///
/// Empty ids and the ids `.` and `..` (which some proxies resolve even when the
/// route is built correctly) are rejected.
pub fn path_segment(field: &str, id: &str) -> Result<String, FieldProblem> {
    if id.trim().is_empty() {
        return Err(problem(field, "must not be empty"));
    }
    if id == "." || id == ".." {
        return Err(problem(field, format!("{id:?} is not a valid id")));
    }
    Ok(utf8_percent_encode(id, SEGMENT).to_string())
}

/// Percent-encodes a query-string value (same safe set as path segments).
pub fn query_value(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// A snapshot name: trimmed, non-empty, at most 64 characters. Returns it trimmed.
pub fn snapshot_name(field: &str, name: &str) -> Result<String, FieldProblem> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(problem(field, "must not be empty"));
    }
    at_most_chars(field, trimmed, MAX_NAME_CHARS)?;
    Ok(trimmed.to_owned())
}

/// A string of at most `max` characters.
pub fn at_most_chars(field: &str, value: &str, max: usize) -> Result<(), FieldProblem> {
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
pub fn in_range(field: &str, value: u64, (lo, hi): (u64, u64)) -> Result<(), FieldProblem> {
    if value < lo || value > hi {
        return Err(problem(
            field,
            format!("must be between {lo} and {hi}, got {value}"),
        ));
    }
    Ok(())
}

/// A network policy: known mode, list sizes, CIDRs and domain patterns.
pub fn network_policy(field: &str, policy: &NetworkPolicy) -> Result<(), FieldProblem> {
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
            domain_pattern(&format!("{list}[{i}].domain"), &t.domain)?;
        }
    }
    Ok(())
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
pub fn ipv4_cidr(field: &str, cidr: &str) -> Result<(), FieldProblem> {
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
/// `-` that neither start nor end with `-`; no port, and not an IPv4 literal.
pub fn domain_pattern(field: &str, pattern: &str) -> Result<(), FieldProblem> {
    let bad = |why: &str| problem(field, format!("{pattern:?} is not a domain pattern: {why}"));
    if pattern.contains(':') {
        return Err(bad("ports and IPv6 addresses are not allowed"));
    }
    if pattern.parse::<Ipv4Addr>().is_ok() {
        return Err(bad("IP addresses are not allowed (use allow_cidrs)"));
    }
    let host = pattern.strip_prefix("*.").unwrap_or(pattern);
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 {
        return Err(bad("needs at least two labels, like example.com"));
    }
    for label in labels {
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
        ] {
            assert!(domain_pattern("d", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn policy_counts_modes_and_nested_fields() {
        let p = NetworkPolicy::new(NetworkMode::Custom)
            .allow_domains((0..50).map(|i| format!("d{i}.example.com")))
            .allow_cidrs((0..10).map(|i| format!("10.0.0.{i}/32")))
            .transforms((0..20).map(|_| TransformRule {
                domain: "api.example.org".into(),
                inject_headers: None,
                strip_headers: None,
            }));
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
        over.transforms.as_mut().unwrap().push(TransformRule {
            domain: "x.io".into(),
            inject_headers: None,
            strip_headers: None,
        });
        assert_eq!(
            network_policy("network_policy", &over).unwrap_err().field,
            "network_policy.transforms"
        );
        let bad = NetworkPolicy::new(NetworkMode::Custom).allow_cidrs(["1.2.3.4/32", "nope"]);
        assert_eq!(
            network_policy("network_policy", &bad).unwrap_err().field,
            "network_policy.allow_cidrs[1]"
        );
        let bad = NetworkPolicy::new(NetworkMode::Custom).transforms([TransformRule {
            domain: "1.2.3.4".into(),
            inject_headers: None,
            strip_headers: None,
        }]);
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
}
