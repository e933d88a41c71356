//! `leap0` end to end against the emulator: output, JSON, errors and exit codes,
//! validation that sends nothing, record then replay with the server gone, the
//! demo, and the key never printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use leap0_emulator::{Emulator, EmulatorConfig, Fault, FaultRule};
use serde_json::{Value, json};

const KEY: &str = "sk-cli-test-9d8e7f6a5b";

fn emulator() -> Emulator {
    Emulator::start_with(EmulatorConfig::default().api_key(KEY)).unwrap()
}

/// Runs `leap0 args...` with only the environment given here.
fn leap0(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_leap0"));
    cmd.args(args)
        .env_remove("LEAP0_API_KEY")
        .env_remove("LEAP0_BASE_URL")
        .env_remove("LEAP0_RECORD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains(KEY), "the key leaked into the output: {all}");
    out
}

/// `leap0 --api-key KEY --base-url URL args...`
fn against(emu: &Emulator, args: &[&str]) -> Output {
    let url = emu.base_url();
    let mut full = vec!["--api-key", KEY, "--base-url", url.as_str()];
    full.extend_from_slice(args);
    leap0(&full, &[])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}",
            text(&out.stdout)
        )
    })
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("leap0-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn create_prints_a_block_or_one_json_document() {
    let emu = emulator();
    let out = against(
        &emu,
        &["snapshots", "create", "sb-seed-1", "--name", "warm"],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("id        snap-0001\n"), "{stdout}");
    assert!(stdout.contains("name      warm\n"), "{stdout}");
    assert!(stdout.contains("memory    2048 MiB\n"), "{stdout}");

    let out = against(
        &emu,
        &[
            "--json",
            "snapshots",
            "create",
            "sb-seed-1",
            "--kill-sandbox-after",
        ],
    );
    assert_eq!(code(&out), 0);
    let doc = json_of(&out);
    assert_eq!(doc["id"], "snap-0002");
    assert_eq!(doc["name"], "snapshot-0001");
    assert_eq!(emu.sandbox_state("sb-seed-1").as_deref(), Some("deleted"));
}

#[test]
fn every_snapshot_command_works_through_both_transports() {
    for transport in ["ureq", "hyper"] {
        let emu = emulator();
        let run = |args: &[&str]| {
            let mut full = vec!["--transport", transport, "--json"];
            full.extend_from_slice(args);
            let out = against(&emu, &full);
            assert_eq!(code(&out), 0, "{transport} {args:?}: {}", text(&out.stderr));
            json_of(&out)
        };
        run(&["snapshots", "create", "sb-seed-1", "--name", "warm"]);
        let paused = run(&["snapshots", "pause", "sb-seed-1", "--name", "nightly"]);
        assert_eq!(paused["state"], "paused");
        let resumed = run(&[
            "snapshots",
            "resume",
            "nightly",
            "--timeout-min",
            "30",
            "--wait",
        ]);
        assert_eq!(
            (resumed["state"].as_str(), resumed["timeout"].as_u64()),
            (Some("running"), Some(1800))
        );

        let dir = temp_dir(&format!("policy-{transport}"));
        let policy = dir.join("policy.json");
        std::fs::write(
            &policy,
            r#"{"mode":"custom","allow_domains":["*.example.com"]}"#,
        )
        .unwrap();
        let at_file = format!("@{}", policy.display());
        let restored = run(&[
            "snapshots",
            "restore",
            "warm",
            "--timeout",
            "600",
            "--auto-pause",
            "--network-policy",
            &at_file,
        ]);
        assert_eq!(restored["timeout"], 600);
        assert_eq!(restored["auto_pause"], true);
        assert_eq!(
            restored["network_policy"]["allow_domains"],
            json!(["*.example.com"])
        );

        let page = run(&["snapshots", "list", "--page-size", "1"]);
        assert_eq!(
            (
                page["items"].as_array().unwrap().len(),
                page["total_items"].as_u64()
            ),
            (1, Some(2))
        );
        let all = run(&[
            "snapshots",
            "list",
            "--page-size",
            "1",
            "--all",
            "--order-by",
            "asc",
        ]);
        let names: Vec<&str> = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["warm", "nightly"]);

        // Both snapshots now back live sandboxes; a third, unused one can go.
        run(&["snapshots", "create", "sb-0001", "--name", "spare"]);
        let deleted = run(&["snapshots", "delete", "snap-0003"]);
        assert_eq!(
            deleted,
            json!({"deleted": "snap-0003", "already_deleted": false})
        );
    }
}

#[test]
fn list_prints_a_table() {
    let emu = emulator();
    against(
        &emu,
        &["snapshots", "create", "sb-seed-1", "--name", "warm"],
    );
    let out = against(&emu, &["snapshots", "list"]);
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("ID         NAME  TEMPLATE  VCPU  MEMORY    DISK       CREATED"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("snap-0001  warm  tpl-base  2     2048 MiB  10240 MiB"),
        "{stdout}"
    );
    assert_eq!(lines.last(), Some(&"1 of 1 snapshot"));
}

#[test]
fn api_errors_exit_1_with_one_line_and_a_json_error() {
    let emu = emulator();
    let out = against(&emu, &["snapshots", "create", "sb-nope"]);
    assert_eq!(code(&out), 1);
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr),
        "error: Failed to create snapshot: 404 Request failed: POST /v1/sandbox/sb-nope/snapshot/create: sandbox not found (request id req-0001)\n"
    );

    emu.inject(FaultRule::new(Fault::status(503)).times(10));
    let out = against(
        &emu,
        &["--json", "--retries", "1", "snapshots", "delete", "snap-1"],
    );
    assert_eq!(code(&out), 1);
    assert_eq!(
        json_of(&out),
        json!({"error": {
            "kind": "server", "status": 503, "retryable": true, "field": null,
            "message": "Failed to delete snapshot: 503 Request failed: DELETE /v1/snapshot/snap-1: no runner capacity available (request id req-0003)",
        }})
    );
    assert_eq!(
        emu.request_count(),
        3,
        "one try and one retry for the delete"
    );
}

#[test]
fn validation_errors_exit_2_and_send_nothing() {
    let emu = emulator();
    let cases: &[(&[&str], &str)] = &[
        (
            &["snapshots", "resume", "warm", "--timeout-min", "0"],
            "timeout_min",
        ),
        (
            &["snapshots", "restore", "warm", "--timeout", "28801"],
            "timeout",
        ),
        (&["snapshots", "create", "sb-1", "--name", "   "], "name"),
        (&["snapshots", "delete", ".."], "snapshot_id"),
        (&["snapshots", "list", "--sort", "size"], "sort"),
        (&["snapshots", "list", "--page-size", "101"], "page_size"),
        (
            &[
                "snapshots",
                "resume",
                "warm",
                "--network-policy",
                "{not json",
            ],
            "network_policy",
        ),
        (
            &[
                "snapshots",
                "resume",
                "warm",
                "--network-policy",
                r#"{"mode":"custom","allow_cidrs":["1.2.3.4"]}"#,
            ],
            "network_policy.allow_cidrs[0]",
        ),
    ];
    for (args, field) in cases {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = against(&emu, &full);
        assert_eq!(code(&out), 2, "{args:?}: {}", text(&out.stderr));
        let doc = json_of(&out);
        assert_eq!(doc["error"]["field"], *field, "{args:?}");
        assert_eq!(text(&out.stderr).lines().count(), 1, "{args:?}");
    }
    assert_eq!(emu.request_count(), 0, "no request was sent");

    let out = leap0(&["snapshots", "list"], &[]);
    assert_eq!(code(&out), 2);
    assert_eq!(
        text(&out.stderr),
        "error: no API key: pass --api-key or set LEAP0_API_KEY\n"
    );
    let out = leap0(&["--json", "snapshots", "frobnicate"], &[]);
    assert_eq!(code(&out), 2);
    assert_eq!(json_of(&out)["error"]["kind"], "usage");
    let out = leap0(
        &[
            "--base-url",
            "http://example.com",
            "--api-key",
            KEY,
            "snapshots",
            "list",
        ],
        &[],
    );
    assert_eq!(
        code(&out),
        2,
        "plain http to a remote host is refused: {}",
        text(&out.stderr)
    );
}

#[test]
fn the_environment_supplies_key_and_url() {
    let emu = emulator();
    let url = emu.base_url();
    let out = leap0(
        &["snapshots", "list", "--json"],
        &[("LEAP0_API_KEY", KEY), ("LEAP0_BASE_URL", &url)],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(json_of(&out)["total_items"], 0);
    let help = leap0(&["--help"], &[("LEAP0_API_KEY", KEY)]);
    assert!(text(&help.stdout).contains("leap0 snapshots resume warm --timeout-min 30 --wait"));
}

#[test]
fn record_then_replay_with_the_server_gone() {
    let dir = temp_dir("record");
    let cassette = dir.join("list.json");
    let cassette_arg = cassette.to_str().unwrap().to_owned();
    let live = {
        let emu = emulator();
        against(
            &emu,
            &["snapshots", "create", "sb-seed-1", "--name", "warm"],
        );
        emu.inject(FaultRule::new(Fault::rate_limited("1")).method("GET"));
        let out = against(
            &emu,
            &["--record", &cassette_arg, "snapshots", "list", "--all"],
        );
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        out
    };
    let on_disk = std::fs::read_to_string(&cassette).unwrap();
    assert!(!on_disk.contains(KEY));
    for transport in ["ureq", "hyper"] {
        let replayed = leap0(
            &[
                "--transport",
                transport,
                "--replay",
                &cassette_arg,
                "snapshots",
                "list",
                "--all",
            ],
            &[],
        );
        assert_eq!(code(&replayed), 0, "{}", text(&replayed.stderr));
        assert_eq!(text(&replayed.stdout), text(&live.stdout));
    }
    // A request the cassette does not hold fails, saying what it has instead.
    let other = leap0(
        &[
            "--replay",
            &cassette_arg,
            "snapshots",
            "list",
            "--page",
            "2",
        ],
        &[],
    );
    assert_eq!(code(&other), 1);
    assert!(
        text(&other.stderr).contains("page"),
        "{}",
        text(&other.stderr)
    );

    let check = leap0(&["cassette", "check", &cassette_arg], &[]);
    assert_eq!(code(&check), 0, "{}", text(&check.stderr));
    assert!(text(&check.stdout).contains("every recorded request is what this client sends today"));
    let edited = dir.join("edited.json");
    std::fs::write(&edited, on_disk.replace("page-size=20", "page-size=21")).unwrap();
    let check = leap0(&["cassette", "check", edited.to_str().unwrap()], &[]);
    assert_eq!(code(&check), 1, "{}", text(&check.stdout));
    assert!(
        text(&check.stdout).contains("drift"),
        "{}",
        text(&check.stdout)
    );
}

fn assert_no_key_in(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        !String::from_utf8_lossy(&bytes).contains("sk-demo"),
        "{}",
        path.display()
    );
}

#[test]
fn the_demo_runs_records_and_replays_identically() {
    let dir = temp_dir("demo");
    let cassette = dir.join("demo.json");
    let out = leap0(&["demo", "--cassette", cassette.to_str().unwrap()], &[]);
    assert_eq!(code(&out), 0, "{}{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("recording through ureq"), "{stdout}");
    assert!(
        stdout.contains("resume \"nightly\" and wait until running"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("identical").count(), 9, "{stdout}");
    assert!(stdout.contains(&cassette.display().to_string()));
    assert!(!stdout.contains("sk-demo"));
    assert_no_key_in(&cassette);

    let out = leap0(
        &["--json", "demo", "--cassette", cassette.to_str().unwrap()],
        &[],
    );
    let doc = json_of(&out);
    assert_eq!(doc["identical"], true);
    assert_eq!(doc["steps"].as_array().unwrap().len(), 8);
}

/// Kills the child process when dropped, even if an assertion fails first.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_emulator_command_serves_until_stopped() {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_leap0"))
        .args(["--json", "--api-key", KEY, "emulator", "--port", "0"])
        .env_remove("LEAP0_API_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Killed(child);
    let mut first = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut first)
        .unwrap();
    assert!(!first.contains(KEY));
    let url = serde_json::from_str::<Value>(&first).unwrap()["base_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let out = leap0(
        &["--json", "snapshots", "create", "sb-seed-1"],
        &[("LEAP0_API_KEY", KEY), ("LEAP0_BASE_URL", &url)],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(json_of(&out)["name"], "snapshot-0001");
    drop(child);
}
