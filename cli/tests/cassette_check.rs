//! `leap0 cassette check` on doctored copies of a checked-in cassette: a
//! maximum age, answers that no longer decode, and fields the models do not know.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{code, json_of, leap0, temp_dir, text};
use serde_json::Value;
use std::process::Output;

/// The checked-in cassette every test doctors a copy of.
fn base() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/fixtures/lifecycle.ureq.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Writes `cassette` to a file of its own in `dir`.
fn write(dir: &Path, name: &str, cassette: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(cassette).unwrap()).unwrap();
    path
}

/// The JSON body of interaction `index`'s recorded answer.
fn answer(cassette: &mut Value, index: usize) -> &mut serde_json::Map<String, Value> {
    cassette["interactions"][index]["response"]["body"]["json"]
        .as_object_mut()
        .unwrap()
}

/// The first interaction whose recorded success answer is a sandbox.
fn sandbox_answer(cassette: &Value) -> usize {
    cassette["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .position(|x| {
            x["operation"] == "get_sandbox"
                && x["response"]["status"] == 200
                && x["response"]["body"]["json"]["id"].is_string()
        })
        .expect("the lifecycle cassette reads a sandbox")
}

/// The report of a failed check in `--json` mode, and the error document
/// that follows it on stdout.
fn failed_json(out: &Output) -> (Value, Value) {
    let stdout = text(&out.stdout);
    let docs: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(docs.len(), 2, "{stdout}");
    (docs[0].clone(), docs[1].clone())
}

fn check(path: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["cassette", "check", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    leap0(&args, &[])
}

#[test]
fn the_checked_in_cassette_is_clean_and_young_enough() {
    let dir = temp_dir("check-clean");
    let path = write(&dir, "fresh.json", &base());
    let out = check(&path, &["--max-age", "36500d"]);
    assert_eq!(code(&out), 0, "{}{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("every recorded request is what this client sends today"),
        "{stdout}"
    );
    assert!(
        stdout.contains("every recorded answer decodes with this client's models"),
        "{stdout}"
    );
    assert!(stdout.contains("within --max-age 36500d"), "{stdout}");
}

#[test]
fn an_old_cassette_fails_a_maximum_age_naming_its_age() {
    let dir = temp_dir("check-stale");
    let mut cassette = base();
    cassette["meta"]["recorded_at"] = "2020-01-15T10:30:00Z".into();
    let path = write(&dir, "old.json", &cassette);

    // Without a maximum, age is no failure.
    let out = check(&path, &[]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));

    let out = check(&path, &["--max-age", "90d"]);
    assert_eq!(code(&out), 1, "{}", text(&out.stdout));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stdout.contains("stale: cassette "), "{stdout}");
    assert!(
        stdout.contains(
            "days ago (at 2020-01-15T10:30:00Z), longer ago than the maximum age of 90 days"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("record it again"), "{stdout}");
    assert!(stderr.contains("days ago"), "{stderr}");
    // The requests and answers themselves are still fine.
    assert!(stdout.contains("every recorded answer decodes"), "{stdout}");

    let out = check(&path, &["--max-age", "12h", "--json"]);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let (doc, error) = failed_json(&out);
    assert_eq!(doc["max_age_seconds"], 12 * 3600);
    assert_eq!(doc["stale"]["recorded_at"], "2020-01-15T10:30:00Z");
    assert!(doc["stale"]["age_seconds"].as_u64().unwrap() > 5 * 365 * 86_400);
    assert_eq!(error["error"]["kind"], "stale");
    assert!(
        text(&out.stderr).contains("days ago"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_cassette_of_unknown_age_is_reported_not_a_crash() {
    let dir = temp_dir("check-unknown-age");
    for (name, recorded_at) in [
        ("missing.json", None),
        ("garbled.json", Some("last tuesday\u{1b}[2J")),
    ] {
        let mut cassette = base();
        let meta = cassette["meta"].as_object_mut().unwrap();
        match recorded_at {
            Some(value) => meta.insert("recorded_at".into(), value.into()),
            None => meta.remove("recorded_at"),
        };
        let path = write(&dir, name, &cassette);
        let out = check(&path, &["--max-age", "90d"]);
        assert_eq!(code(&out), 1, "{name}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.contains("its age is unknown"), "{name}: {stdout}");
        assert!(!stdout.contains('\u{1b}'), "{name}: {stdout}");
        assert!(!text(&out.stderr).contains('\u{1b}'), "{name}");
    }
}

#[test]
fn an_answer_missing_its_id_fails_naming_interaction_and_field() {
    let dir = temp_dir("check-decode");
    let mut cassette = base();
    let index = sandbox_answer(&cassette);
    answer(&mut cassette, index).remove("id");
    let path = write(&dir, "no-id.json", &cassette);

    let out = check(&path, &[]);
    assert_eq!(code(&out), 1, "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "decode: interaction #{index} (get_sandbox): the recorded answer no longer decodes: id: is missing"
        )),
        "{stdout}"
    );
    // The drift check's output is as it was.
    assert!(
        stdout.contains("every recorded request is what this client sends today"),
        "{stdout}"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("interaction #{index}")),
        "{stderr}"
    );

    let out = check(&path, &["--json"]);
    assert_eq!(code(&out), 1);
    let (doc, error) = failed_json(&out);
    assert_eq!(error["error"]["kind"], "decode");
    assert_eq!(doc["decode"][0]["interaction"], index);
    assert_eq!(doc["decode"][0]["operation"], "get_sandbox");
    assert_eq!(doc["decode"][0]["field"], "id");
    assert_eq!(doc["drift"], Value::Array(Vec::new()));
}

#[test]
fn an_answer_with_a_new_field_is_reported_and_passes() {
    let dir = temp_dir("check-unknown-field");
    let mut cassette = base();
    let index = sandbox_answer(&cassette);
    answer(&mut cassette, index).insert("region".into(), "eu-west".into());
    answer(&mut cassette, index).insert("zone\u{1b}[2J".into(), 1.into());
    let path = write(&dir, "new-field.json", &cassette);

    let out = check(&path, &[]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "unknown fields: interaction #{index} (get_sandbox): the recorded answer has fields the models do not know: region"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains('\u{1b}'), "{stdout}");
    assert!(stdout.contains(r"zone\u{1b}[2J"), "{stdout}");
    assert!(
        stdout.contains("every recorded answer decodes with this client's models"),
        "{stdout}"
    );

    let out = check(&path, &["--json"]);
    assert_eq!(code(&out), 0);
    let doc = json_of(&out);
    assert_eq!(doc["decode"], Value::Array(Vec::new()));
    assert_eq!(doc["unknown_fields"][0]["interaction"], index);
    assert_eq!(doc["unknown_fields"][0]["fields"][0], "region");
}

#[test]
fn a_maximum_age_must_be_a_duration() {
    let dir = temp_dir("check-bad-age");
    let path = write(&dir, "any.json", &base());
    for bad in ["soon", "0s"] {
        let out = check(&path, &["--max-age", bad]);
        assert_eq!(code(&out), 2, "{bad}");
        assert!(
            text(&out.stderr).contains("--max-age"),
            "{}",
            text(&out.stderr)
        );
    }
}
