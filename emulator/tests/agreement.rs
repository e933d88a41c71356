//! The emulator's validator and the core's, two separate implementations of one
//! contract, must give the same verdict on every input.
//!
//! Each case is a resume or restore body (snapshot name, timeout, network policy),
//! asked of both sides: the core builds the request (`Ok` is accepted,
//! `Error::Validation` refused), and the emulator, which holds no snapshot, answers
//! the same JSON sent raw (404 "snapshot not found" is accepted, 400 refused).
//!
//! The former disagreements between the two, and which side was wrong:
//!
//! - `*.1.2.3.4` and `999.1.1.1` as domain patterns: the **core** accepted them (the
//!   emulator refused them). It checked for an IPv4 literal before stripping `*.`, and
//!   `999.1.1.1` is no valid IPv4 address at all, yet both are IP-like, not domain
//!   names. The core's rule now also requires the last label (the top-level domain) not
//!   to be all digits.
//! - `1.2.3`, `a.b.123` and `1.2.3.4.5`: the **emulator** accepted them. It refused
//!   IPv4 literals and four all-digit labels, but a name whose top-level domain is all
//!   digits is not a domain either; it now applies the same top-level-domain rule.
//! - unknown keys in a network policy or a transform rule (`allow_domain`): the
//!   **emulator** accepted and echoed them, while the core refuses them (a typo would
//!   otherwise drop a rule silently).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;

use std::cell::Cell;
use std::net::SocketAddr;

use leap0_core::{Config, Error, Exchange, NetworkPolicy, RestoreSnapshot, ResumeSnapshot};
use leap0_emulator::Emulator;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};

/// One input: which route, and the parts of its body.
#[derive(Debug, Clone)]
struct Case {
    /// `timeout_min` on resume, else `timeout` on restore.
    resume: bool,
    name: String,
    timeout: Option<u64>,
    policy: Option<Value>,
}

impl Case {
    /// The body as the emulator receives it (and as the core would send it).
    fn body(&self) -> Value {
        let mut body = json!({"snapshot_name": self.name, "auto_pause": false});
        if let Some(t) = self.timeout {
            let field = if self.resume {
                "timeout_min"
            } else {
                "timeout"
            };
            body[field] = json!(t);
        }
        if let Some(policy) = &self.policy {
            body["network_policy"] = policy.clone();
        }
        body
    }

    /// The core's verdict: `Ok` when it would send the request, else why not.
    fn core(&self, config: &Config) -> Result<(), String> {
        let policy: Option<NetworkPolicy> = self
            .policy
            .clone()
            .map(|p| serde_json::from_value(p).expect("generated policies are well-typed"));
        let built = if self.resume {
            let mut op = ResumeSnapshot::new(self.name.clone());
            if let Some(t) = self.timeout {
                op = op.timeout_min(t);
            }
            if let Some(p) = policy {
                op = op.network_policy(p);
            }
            op.request(config)
        } else {
            let mut op = RestoreSnapshot::new(self.name.clone());
            if let Some(t) = self.timeout {
                op = op.timeout(t);
            }
            if let Some(p) = policy {
                op = op.network_policy(p);
            }
            op.request(config)
        };
        match built {
            Ok(_) => Ok(()),
            Err(Error::Validation { field, reason, .. }) => Err(format!("{field}: {reason}")),
            Err(other) => panic!("not a validation error: {other}"),
        }
    }

    /// The emulator's verdict: `Ok` when it looked the snapshot up, else its 400 answer.
    fn emulator(&self, addr: SocketAddr) -> Result<(), String> {
        let target = if self.resume {
            "/v1/snapshot/resume"
        } else {
            "/v1/snapshot/restore"
        };
        let resp = client::api(addr, "POST", target, Some(&self.body()));
        match resp.status {
            404 => {
                assert_eq!(resp.json(), json!({"message": "snapshot not found"}));
                Ok(())
            }
            400 => Err(resp.text()),
            other => panic!("unexpected {other}: {}", resp.text()),
        }
    }
}

/// The part of a case that is put in question; every other part is valid, so that this
/// one decides the verdict. `Everything` puts every part in question at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Focus {
    Name,
    Timeout,
    Mode,
    Domains,
    Cidrs,
    Transforms,
    UnknownKey,
    Everything,
}

impl Focus {
    /// Whether `part` is in question.
    fn on(self, part: Focus) -> bool {
        self == part || self == Focus::Everything
    }
}

fn focus() -> impl Strategy<Value = Focus> {
    prop_oneof![
        1 => Just(Focus::Name),
        2 => Just(Focus::Timeout),
        1 => Just(Focus::Mode),
        3 => Just(Focus::Domains),
        2 => Just(Focus::Cidrs),
        1 => Just(Focus::Transforms),
        1 => Just(Focus::UnknownKey),
        1 => Just(Focus::Everything),
    ]
}

/// `wild` when in question, else `tame`.
fn either<T: std::fmt::Debug + Clone + 'static>(
    in_question: bool,
    wild: impl Strategy<Value = T> + 'static,
    tame: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    if in_question {
        wild.boxed()
    } else {
        tame.boxed()
    }
}

/// A label that is plainly valid.
fn plain_label() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,5}"
}

/// A label in question: all digits, `-` at an end or inside, `_`, `:`, empty, upper case.
fn odd_label() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => "[0-9]{1,3}",
        1 => "-[a-z0-9]{0,3}",
        1 => "[a-z0-9]{0,3}-",
        1 => "[a-z0-9][a-z0-9-]{0,4}[a-z0-9]",
        1 => "[a-z]{1,3}_[a-z]{1,3}",
        1 => "[a-z]{1,3}:[0-9]{1,4}",
        1 => Just(String::new()),
        1 => "[A-Z][A-Za-z0-9]{0,4}",
    ]
}

/// An IPv4-looking string: mostly four numbers, some above 255; sometimes three or five.
fn ipv4_like() -> impl Strategy<Value = String> {
    let count = prop_oneof![1 => Just(3), 4 => Just(4), 1 => Just(5)];
    let part = prop_oneof![4 => 0_u16..=255, 1 => 256_u16..=999];
    count
        .prop_flat_map(move |n| prop::collection::vec(part.clone(), n))
        .prop_map(|parts| {
            parts
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(".")
        })
}

/// A domain pattern near the grammar's edges: mostly plain labels with one odd label
/// somewhere (so that label decides), else any labels, IPv4-like, or stray characters;
/// with or without `*.` (and broken wildcards).
fn domain() -> impl Strategy<Value = String> {
    let wildcard = prop_oneof![6 => Just(""), 3 => Just("*."), 1 => Just("*"), 1 => Just("**.")];
    let one_odd = (
        prop::collection::vec(plain_label(), 0..=3),
        odd_label(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(mut labels, odd, at)| {
            labels.insert(at.index(labels.len() + 1), odd);
            labels.join(".")
        });
    let any_labels = prop::collection::vec(prop_oneof![plain_label(), odd_label()], 1..=5)
        .prop_map(|labels| labels.join("."));
    let host = prop_oneof![
        5 => one_odd,
        2 => any_labels,
        2 => ipv4_like(),
        1 => "[a-z0-9.:*_-]{0,8}",
    ];
    (wildcard, host).prop_map(|(w, h)| format!("{w}{h}"))
}

fn valid_domain() -> impl Strategy<Value = String> {
    "(\\*\\.)?[a-z][a-z0-9-]{0,4}[a-z0-9]\\.(com|io|org|1a)"
}

/// An IPv4 CIDR, valid or not: mostly a valid address with a prefix length near 32.
fn cidr() -> impl Strategy<Value = String> {
    let address = prop::collection::vec(0_u8..=255, 4).prop_map(|parts| {
        parts
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(".")
    });
    let bits = prop_oneof![Just(0_u8), Just(32), Just(33), 1_u8..=31, 34_u8..=99];
    prop_oneof![
        6 => (address, bits).prop_map(|(ip, n)| format!("{ip}/{n}")),
        2 => (ipv4_like(), 0_u8..=40).prop_map(|(ip, n)| format!("{ip}/{n}")),
        1 => ipv4_like(),
        1 => ipv4_like().prop_map(|ip| format!("{ip}/")),
        1 => ipv4_like().prop_map(|ip| format!("{ip}/+8")),
        1 => ipv4_like().prop_map(|ip| format!("{ip}/008")),
        1 => Just("::1/128".to_owned()),
        1 => "[0-9./]{0,12}",
    ]
}

fn valid_cidr() -> impl Strategy<Value = String> {
    (0_u8..=255, 0_u8..=255, 0_u8..=32).prop_map(|(a, b, n)| format!("{a}.{b}.0.0/{n}"))
}

/// A list whose items are in question (one or two of `wild`), or whose length is (around
/// `max`, of `tame` items); when not in question, up to three `tame` items.
fn list<T: std::fmt::Debug + Clone + 'static>(
    in_question: bool,
    wild: impl Strategy<Value = T> + 'static,
    tame: impl Strategy<Value = T> + 'static,
    max: usize,
) -> BoxedStrategy<Option<Vec<T>>> {
    let tame = tame.boxed();
    if in_question {
        prop_oneof![
            2 => prop::collection::vec(wild, 1..=2),
            1 => prop::collection::vec(tame.clone(), max - 1..=max + 1),
        ]
        .prop_map(Some)
        .boxed()
    } else {
        prop::option::of(prop::collection::vec(tame, 0..=3)).boxed()
    }
}

/// An unknown key when `in_question` (one time in two), else none.
fn unknown_key(in_question: bool) -> BoxedStrategy<Option<&'static str>> {
    let some = prop_oneof![
        Just(Some("allow_domain")),
        Just(Some("inject_header")),
        Just(Some("extra")),
    ];
    either(in_question, prop_oneof![Just(None), some], Just(None))
}

/// A transform rule for one of `domains`, maybe with an unknown key.
fn transform(
    domains: impl Strategy<Value = String>,
    unknown: BoxedStrategy<Option<&'static str>>,
) -> impl Strategy<Value = Value> {
    (domains, any::<bool>(), any::<bool>(), unknown).prop_map(|(domain, inject, strip, unknown)| {
        let mut rule = Map::new();
        rule.insert("domain".to_owned(), json!(domain));
        if inject {
            rule.insert("inject_headers".to_owned(), json!({"X-Token": "abc"}));
        }
        if strip {
            rule.insert("strip_headers".to_owned(), json!(["Cookie"]));
        }
        if let Some(key) = unknown {
            rule.insert(key.to_owned(), json!(true));
        }
        Value::Object(rule)
    })
}

/// A network policy; `None` (no policy) only when no part of it is in question.
fn policy(focus: Focus) -> BoxedStrategy<Option<Value>> {
    let mode = either(
        focus.on(Focus::Mode),
        prop_oneof![Just("open"), Just("Custom"), Just(""), Just("allow-all")],
        prop_oneof![Just("allow-all"), Just("deny-all"), Just("custom")],
    );
    let domains = list(focus.on(Focus::Domains), domain(), valid_domain(), 50);
    let cidrs = list(focus.on(Focus::Cidrs), cidr(), valid_cidr(), 10);
    let rules = focus.on(Focus::Transforms) || focus.on(Focus::UnknownKey);
    let rule_domain = either(focus.on(Focus::Transforms), domain(), valid_domain());
    let transforms = list(
        rules,
        transform(rule_domain, unknown_key(focus.on(Focus::UnknownKey))),
        transform(valid_domain(), unknown_key(false)),
        20,
    );
    let policy = (
        mode,
        domains,
        cidrs,
        transforms,
        unknown_key(focus.on(Focus::UnknownKey)),
    )
        .prop_map(|(mode, domains, cidrs, transforms, unknown)| {
            let mut policy = Map::new();
            policy.insert("mode".to_owned(), json!(mode));
            if let Some(d) = domains {
                policy.insert("allow_domains".to_owned(), json!(d));
            }
            if let Some(c) = cidrs {
                policy.insert("allow_cidrs".to_owned(), json!(c));
            }
            if let Some(t) = transforms {
                policy.insert("transforms".to_owned(), Value::Array(t));
            }
            if let Some(key) = unknown {
                policy.insert(key.to_owned(), json!(["a.io"]));
            }
            Value::Object(policy)
        });
    let policy_in_question = [
        Focus::Mode,
        Focus::Domains,
        Focus::Cidrs,
        Focus::Transforms,
        Focus::UnknownKey,
    ]
    .iter()
    .any(|part| focus.on(*part));
    either(
        policy_in_question,
        policy.clone().prop_map(Some),
        prop::option::of(policy),
    )
}

/// A snapshot name: in question, lengths around 64 characters (ASCII or not), whitespace
/// around or only; else a short plain name.
fn name(in_question: bool) -> BoxedStrategy<String> {
    let pad = prop_oneof![
        3 => Just(""),
        1 => Just(" "),
        1 => Just("\t "),
        1 => Just("\n"),
        1 => Just("\u{a0}"),
        1 => Just("\u{3000}"),
    ];
    let body = prop_oneof![
        (62_usize..=66).prop_map(|n| "n".repeat(n)),
        (62_usize..=66).prop_map(|n| "é".repeat(n)),
        "[a-z][a-z0-9 -]{0,10}",
        Just(String::new()),
    ];
    let wild = (pad.clone(), body, pad).prop_map(|(a, c, b)| format!("{a}{c}{b}"));
    either(in_question, wild, "[a-z][a-z0-9-]{0,10}")
}

/// A timeout: in question, at or just past a bound of the route's unit (minutes 1..=480
/// on resume, seconds 1..=28800 on restore), or anything; else none, or one valid in
/// both units.
fn timeout(in_question: bool, resume: bool) -> BoxedStrategy<Option<u64>> {
    let max = if resume { 480 } else { 28_800 };
    let wild = prop_oneof![
        Just(0),
        Just(1),
        Just(max),
        Just(max + 1),
        2..max,
        any::<u64>(),
    ];
    either(
        in_question,
        wild.prop_map(Some),
        prop::option::of(3_u64..=478),
    )
}

fn case() -> impl Strategy<Value = Case> {
    (any::<bool>(), focus()).prop_flat_map(|(resume, focus)| {
        (
            name(focus.on(Focus::Name)),
            timeout(focus.on(Focus::Timeout), resume),
            policy(focus),
        )
            .prop_map(move |(name, timeout, policy)| Case {
                resume,
                name,
                timeout,
                policy,
            })
    })
}

#[test]
fn the_emulator_and_the_core_give_the_same_verdicts() {
    let emulator = Emulator::start().unwrap();
    let addr = emulator.addr();
    let config = Config::new(client::KEY).unwrap();
    let mut runner = TestRunner::new(RunnerConfig {
        cases: 256,
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    // The runner takes an `Fn`: count through cells.
    let (accepted, refused) = (Cell::new(0_u32), Cell::new(0_u32));
    runner
        .run(&case(), |case| {
            let core = case.core(&config);
            let emulated = case.emulator(addr);
            if core.is_ok() != emulated.is_ok() {
                return Err(TestCaseError::fail(format!(
                    "verdicts differ for {}\n  core: {core:?}\n  emulator: {emulated:?}",
                    case.body()
                )));
            }
            let verdicts = if core.is_ok() { &accepted } else { &refused };
            verdicts.set(verdicts.get() + 1);
            Ok(())
        })
        .unwrap();
    // Both verdicts must be common, or the generators test little.
    let (accepted, refused) = (accepted.get(), refused.get());
    assert!(
        accepted >= 10 && refused >= 10,
        "{accepted} accepted, {refused} refused"
    );
}

/// A restore of "warm" with this policy, else valid.
fn with_policy(policy: Value) -> Case {
    Case {
        resume: false,
        name: "warm".to_owned(),
        timeout: None,
        policy: Some(policy),
    }
}

/// The former disagreements and the edges of each rule, as fixed cases: both sides must
/// give the expected verdict, every run.
#[test]
fn known_edges_get_the_same_verdict() {
    let emulator = Emulator::start().unwrap();
    let config = Config::new(client::KEY).unwrap();
    let mut cases = Vec::new();
    for (domain, valid) in [
        ("*.1.2.3.4", false),
        ("999.1.1.1", false),
        ("1.2.3", false),
        ("a.b.123", false),
        ("1.2.3.4.5", false),
        ("1.2.3.4", false),
        ("a.com:443", false),
        ("-a.com", false),
        ("a-.com", false),
        ("a_b.com", false),
        ("com", false),
        ("*.com", false),
        ("1.2.3.com", true),
        ("*.example.com", true),
        ("123.example.com", true),
        ("a-b.c1", true),
    ] {
        let policy = json!({"mode": "custom", "allow_domains": [domain]});
        cases.push((format!("domain {domain}"), with_policy(policy), valid));
    }
    for (cidr, valid) in [
        ("10.0.0.0/8", true),
        ("0.0.0.0/0", true),
        ("1.2.3.4/32", true),
        ("1.2.3.4/33", false),
        ("1.2.3.4/008", false),
        ("1.2.3.4/+8", false),
        ("1.2.3/8", false),
        ("256.1.1.1/8", false),
        ("01.2.3.4/8", false),
        ("1.2.3.4", false),
    ] {
        let policy = json!({"mode": "custom", "allow_cidrs": [cidr]});
        cases.push((format!("cidr {cidr}"), with_policy(policy), valid));
    }
    for (n, valid) in [(50, true), (51, false)] {
        let domains: Vec<String> = (0..n).map(|i| format!("d{i}.example.com")).collect();
        let policy = json!({"mode": "custom", "allow_domains": domains});
        cases.push((format!("{n} domains"), with_policy(policy), valid));
    }
    for (n, valid) in [(10, true), (11, false)] {
        let cidrs: Vec<String> = (0..n).map(|i| format!("10.0.0.{i}/32")).collect();
        let policy = json!({"mode": "custom", "allow_cidrs": cidrs});
        cases.push((format!("{n} cidrs"), with_policy(policy), valid));
    }
    for (n, valid) in [(20, true), (21, false)] {
        let rules: Vec<Value> = (0..n).map(|_| json!({"domain": "a.io"})).collect();
        let policy = json!({"mode": "custom", "transforms": rules});
        cases.push((format!("{n} transforms"), with_policy(policy), valid));
    }
    for (policy, valid) in [
        (json!({"mode": "open"}), false),
        (json!({"mode": "deny-all", "allow_domain": ["a.io"]}), false),
        (
            json!({"mode": "custom", "transforms": [{"domain": "a.io", "x": 1}]}),
            false,
        ),
    ] {
        cases.push((format!("policy {policy}"), with_policy(policy), valid));
    }
    for (name, valid) in [
        ("n".repeat(64), true),
        ("n".repeat(65), false),
        (format!(" {} ", "é".repeat(64)), true),
        ("é".repeat(65), false),
        ("\t\u{a0}".to_owned(), false),
        (String::new(), false),
    ] {
        let case = Case {
            name: name.clone(),
            ..with_policy(json!({"mode": "allow-all"}))
        };
        cases.push((format!("name {name:?}"), case, valid));
    }
    for (resume, timeout, valid) in [
        (true, 0, false),
        (true, 1, true),
        (true, 480, true),
        (true, 481, false),
        (false, 0, false),
        (false, 28_800, true),
        (false, 28_801, false),
    ] {
        let case = Case {
            resume,
            timeout: Some(timeout),
            ..with_policy(json!({"mode": "allow-all"}))
        };
        cases.push((format!("resume {resume} timeout {timeout}"), case, valid));
    }
    for (label, case, valid) in cases {
        assert_eq!(case.core(&config).is_ok(), valid, "core on {label}");
        assert_eq!(
            case.emulator(emulator.addr()).is_ok(),
            valid,
            "emulator on {label}"
        );
    }
}
