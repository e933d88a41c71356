//! `leap0` end to end against the emulator: output, JSON, errors and exit codes,
//! validation that names the flag and sends nothing, the 404 hints, sandbox
//! commands, record then replay with the server gone, the demo, the emulator
//! command, and the key never printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{KEY, against, code, emulator, json_of, leap0, temp_dir, text};
use leap0_emulator::{Fault, FaultRule};
use serde_json::{Value, json};

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
    assert_eq!(
        lines[0],
        "ID         NAME  STATE  TEMPLATE  VCPU  MEMORY    DISK       CREATED"
    );
    assert!(
        lines[1].starts_with("snap-0001  warm  -      tpl-base  2     2048 MiB  10240 MiB"),
        "{stdout}"
    );
    assert_eq!(lines.last(), Some(&"1 snapshot"));

    let out = against(&emu, &["snapshots", "list", "--page", "5"]);
    assert_eq!(
        text(&out.stdout),
        "no snapshots on page 5: 1 snapshot in all, on 1 page\n"
    );
    against(
        &emu,
        &["snapshots", "create", "sb-seed-1", "--name", "cold"],
    );
    let out = against(&emu, &["snapshots", "list", "--page-size", "1"]);
    assert_eq!(
        text(&out.stdout).lines().last(),
        Some("snapshots 1 to 1 of 2 (page 1 of 2; next: --page 2)")
    );
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
fn validation_errors_name_the_flag_exit_2_and_send_nothing() {
    let emu = emulator();
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["snapshots", "resume", "warm", "--timeout-min", "0"],
            "timeout_min",
            "invalid --timeout-min: must be between 1 and 480, got 0",
        ),
        (
            &["snapshots", "restore", "warm", "--timeout", "28801"],
            "timeout",
            "invalid --timeout: must be between 1 and 28800, got 28801",
        ),
        (
            &["snapshots", "create", "sb-1", "--name", "   "],
            "name",
            "invalid --name: ",
        ),
        (
            &["snapshots", "delete", ".."],
            "snapshot_id",
            "invalid <SNAPSHOT_ID>: ",
        ),
        (
            &["snapshots", "list", "--page", "0"],
            "page",
            "invalid --page: must be at least 1, got 0",
        ),
        (
            &["snapshots", "list", "--page-size", "101"],
            "page_size",
            "invalid --page-size: must be between 1 and 100, got 101",
        ),
        (
            &["sandboxes", "create", "python", "--vcpu", "9"],
            "vcpu",
            "invalid --vcpu: must be between 1 and 8, got 9",
        ),
        (
            &[
                "snapshots",
                "resume",
                "warm",
                "--network-policy",
                "{not json",
            ],
            "network_policy",
            "invalid --network-policy: not a network policy: ",
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
            "invalid --network-policy (allow_cidrs[0]): ",
        ),
        (
            &["--retries", "101", "snapshots", "list"],
            "retries",
            "invalid --retries: must be between 0 and 100, got 101",
        ),
    ];
    for (args, field, message) in cases {
        let out = against(&emu, args);
        assert_eq!(code(&out), 2, "{args:?}: {}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with(&format!("error: {message}")),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.ends_with(" (nothing was sent)\n") && stderr.lines().count() == 1,
            "{args:?}: {stderr}"
        );
        let mut json = vec!["--json"];
        json.extend_from_slice(args);
        let doc = json_of(&against(&emu, &json));
        assert_eq!(doc["error"]["field"], *field, "{args:?}");
        assert_eq!(doc["error"]["kind"], "usage", "{args:?}");
    }
    assert_eq!(emu.request_count(), 0, "no request was sent");

    let out = leap0(&["snapshots", "list"], &[]);
    assert_eq!(code(&out), 2);
    assert_eq!(
        text(&out.stderr),
        "error: no API key: pass --api-key or set LEAP0_API_KEY (nothing was sent)\n"
    );
    let out = leap0(&["--json", "snapshots", "frobnicate"], &[]);
    assert_eq!(code(&out), 2);
    assert_eq!(json_of(&out)["error"]["kind"], "usage");
    let out = leap0(&["--json", "snapshots", "list", "--sort", "size"], &[]);
    assert_eq!(code(&out), 2);
    assert!(
        json_of(&out)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid value 'size' for '--sort <SORT>'"),
        "{}",
        text(&out.stdout)
    );
    let remote = ["--api-key", KEY, "snapshots", "list", "--base-url"];
    let out = leap0(&[&remote[..], &["http://example.com"]].concat(), &[]);
    assert_eq!(code(&out), 2, "plain http to a remote host is refused");
    assert_eq!(
        text(&out.stderr),
        "error: refusing to send the API key over plain http to example.com; use https, or pass --allow-insecure-http (nothing was sent)\n"
    );
    let out = leap0(&[&remote[..], &["http://127.0.0.1:99999"]].concat(), &[]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).starts_with("error: invalid --base-url http://127.0.0.1:99999: "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_404_hints_at_id_versus_name() {
    let emu = emulator();
    against(
        &emu,
        &["snapshots", "create", "sb-seed-1", "--name", "warm"],
    );
    let out = against(&emu, &["snapshots", "delete", "warm"]);
    assert_eq!(code(&out), 1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: Failed to delete snapshot: 404 "),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(
            "\n  hint: snapshots delete takes a snapshot's id, and warm looks like a name; find the id with: leap0 snapshots list --query warm\n"
        ),
        "{stderr}"
    );
    for verb in ["resume", "restore"] {
        let out = against(&emu, &["snapshots", verb, "snap-0001"]);
        assert_eq!(code(&out), 1);
        assert!(
            text(&out.stderr).ends_with(
                "\n  hint: snapshots resume and restore take a snapshot's name, and snap-0001 looks like an id; leap0 snapshots list shows both\n"
            ),
            "{}",
            text(&out.stderr)
        );
    }
    // An argument of the right kind that does not exist gets no hint.
    let out = against(&emu, &["snapshots", "delete", "snap-0099"]);
    assert!(!text(&out.stderr).contains("hint"), "{}", text(&out.stderr));
}

#[test]
fn sandbox_commands_create_show_wait_for_and_delete() {
    let emu = emulator();
    let out = against(
        &emu,
        &["--json", "sandboxes", "create", "python", "--vcpu", "2"],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let created = json_of(&out);
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (created["state"].as_str(), created["vcpu"].as_u64()),
        (Some("starting"), Some(2))
    );

    let out = against(&emu, &["sandboxes", "wait", &id]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("state       running\n"),
        "{}",
        text(&out.stdout)
    );
    let out = against(&emu, &["sandboxes", "get", &id]);
    assert!(
        text(&out.stdout).starts_with(&format!("id          {id}\n")),
        "{}",
        text(&out.stdout)
    );

    let out = against(&emu, &["sandboxes", "delete", &id]);
    assert_eq!(text(&out.stdout), format!("deleted sandbox {id}\n"));
    let out = against(&emu, &["--json", "sandboxes", "get", &id]);
    assert_eq!(json_of(&out)["state"], "deleted");
    let out = against(&emu, &["--json", "sandboxes", "delete", "sb-nope"]);
    assert_eq!(code(&out), 1);
    assert_eq!(json_of(&out)["error"]["status"], 404);

    let out = against(&emu, &["--json", "sandboxes", "create", "python", "--wait"]);
    assert_eq!(json_of(&out)["state"], "running", "created and waited for");
}

#[test]
fn text_from_the_server_is_shown_escaped() {
    use leap0_testkit::raw_server::{json_response, serve_many};
    let snapshot = json!({
        "id": "snap-1\u{1b}]0;owned\u{7}", "name": "warm\u{1b}[2J\nerror: fake",
        "template_id": "tpl", "vcpu": 1, "memory": 512, "disk": 1024,
        "created_at": "2025-01-15T10:30:00Z",
    });
    let body = json!({"items": [snapshot], "total_items": 1}).to_string();
    let (addr, _) = serve_many(move |_| json_response(200, &body));
    let url = format!("http://{addr}");
    let out = leap0(
        &["--api-key", KEY, "--base-url", &url, "snapshots", "list"],
        &[],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
        "{stdout:?}"
    );
    assert!(stdout.contains("warm\\u{1b}[2J"), "{stdout}");
    assert!(
        stdout.lines().all(|line| !line.starts_with("error:")),
        "no line of the server's can pose as the command's own: {stdout}"
    );

    let error = json!({"message": "bad\u{1b}[31m thing"}).to_string();
    let (addr, _) = serve_many(move |_| json_response(422, &error));
    let url = format!("http://{addr}");
    let out = leap0(
        &["--api-key", KEY, "--base-url", &url, "snapshots", "list"],
        &[],
    );
    assert_eq!(code(&out), 1);
    assert!(
        !text(&out.stderr).contains('\u{1b}'),
        "{:?}",
        text(&out.stderr)
    );
}

#[test]
fn a_listing_that_lies_about_its_size_fails() {
    use leap0_testkit::raw_server::{json_response, serve_many};
    // Every page is full and claims more: a server that never lets a listing end.
    let (addr, requests) = serve_many(|_| {
        let items: Vec<Value> = (0..100)
            .map(|i| {
                json!({"id": format!("snap-{i}"), "name": "same", "template_id": "t",
                "vcpu": 1, "memory": 512, "disk": 1024})
            })
            .collect();
        json_response(
            200,
            &json!({"items": items, "total_items": 1_000_000_000u64}).to_string(),
        )
    });
    let url = format!("http://{addr}");
    let out = leap0(
        &[
            "--api-key",
            KEY,
            "--base-url",
            &url,
            "--json",
            "snapshots",
            "list",
            "--all",
            "--page-size",
            "100",
        ],
        &[],
    );
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    assert_eq!(
        json_of(&out)["error"]["kind"],
        "limit_reached",
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        requests.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "stopped at the first page"
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

#[test]
fn the_emulator_command_serves_until_stopped() {
    use std::io::BufRead;
    let mut child = common::spawn(
        &["--json", "--api-key", KEY, "emulator", "--port", "0"],
        &[],
    );
    let stdout = child.0.stdout.take().unwrap();
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

/// The emulator's start-up hint, run by a shell exactly as printed.
#[test]
fn the_emulator_hint_works_when_pasted() {
    use std::io::BufRead;
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_leap0")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for env in [vec![], vec![("LEAP0_EMULATOR_API_KEY", KEY)]] {
        let mut child = common::spawn(&["emulator"], &env);
        let mut stdout = std::io::BufReader::new(child.0.stdout.take().unwrap());
        let mut banner = String::new();
        stdout.read_line(&mut banner).unwrap();
        assert!(
            banner.starts_with("leap0 emulator listening on http://127.0.0.1:"),
            "{banner}"
        );
        let mut hint = String::new();
        stdout.read_line(&mut hint).unwrap();
        assert!(
            hint.ends_with(" leap0 snapshots create sb-seed-1\n"),
            "{hint}"
        );
        let mut shell_env = vec![("PATH", path.as_str())];
        shell_env.extend(env.iter().copied());
        let mut shell = Command::new("sh");
        shell.arg("-c").arg(hint.trim());
        let out = common::with_env(shell, &shell_env).output().unwrap();
        assert_eq!(code(&out), 0, "{hint}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).starts_with("id        snap-0001\n"),
            "{}",
            text(&out.stdout)
        );
        assert!(!text(&out.stdout).contains(KEY));
        drop(child);
    }
}

/// A delete whose first attempt timed out after the server acted ends well:
/// the retry's 404 means the earlier attempt deleted it.
#[test]
fn a_delete_retried_after_a_timeout_says_it_is_deleted() {
    let emu = emulator();
    against(
        &emu,
        &["snapshots", "create", "sb-seed-1", "--name", "warm"],
    );
    emu.inject(
        FaultRule::new(Fault::Delay(std::time::Duration::from_millis(1500)))
            .method("DELETE")
            .path_prefix("/v1/snapshot/"),
    );
    let out = against(
        &emu,
        &[
            "--http-timeout",
            "300ms",
            "snapshots",
            "delete",
            "snap-0001",
        ],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "snapshot snap-0001 is deleted: an earlier attempt that got no answer in time deleted it\n"
    );
    assert_eq!(emu.request_count_for("DELETE", "/v1/snapshot/"), 2);
}
