//! Long waits as a person sees them: a progress line on a terminal (and never
//! in a pipe or with `--json`), `--wait-timeout` in human words, and Ctrl-C
//! naming the sandbox it leaves running, with the command that removes it.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{KEY, against, code, emulator_with, json_of, on_terminal, spawn, text};
use leap0_emulator::{Emulator, EmulatorConfig};

/// An emulator whose new sandboxes stay `starting` for an hour.
fn slow_emulator() -> Emulator {
    let emu = emulator_with(EmulatorConfig::default().ready_after(Duration::from_secs(3600)));
    let out = against(
        &emu,
        &["snapshots", "create", "sb-seed-1", "--name", "warm"],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    emu
}

fn client_args<'a>(emu_url: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut full = vec!["--api-key", KEY, "--base-url", emu_url];
    full.extend_from_slice(args);
    full
}

#[test]
fn a_wait_shows_progress_on_a_terminal() {
    let emu = slow_emulator();
    let url = emu.base_url();
    let args = client_args(
        &url,
        &[
            "snapshots",
            "resume",
            "warm",
            "--wait",
            "--wait-timeout",
            "2s",
        ],
    );
    let (exit, stdout, terminal) = on_terminal(&args, &[]);
    assert_eq!(exit, Some(1), "{terminal}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        terminal.contains(
            "resuming snapshot warm: sandbox sb-0001 is starting, waited 1s of 2s for running"
        ),
        "the progress line names the sandbox, its state, the time waited and the limit: {terminal:?}"
    );
    // The progress line is cleared before the error, which says how long in words.
    let last = terminal
        .trim_end()
        .rsplit(['\n', '\r'])
        .next()
        .unwrap_or_default()
        .trim_start_matches("\u{1b}[2K");
    assert!(
        last.starts_with(
            "error: Failed to resume snapshot: sandbox sb-0001 was still starting after 2s"
        ),
        "{last:?}"
    );
    assert!(last.ends_with("(wanted running)"), "{last:?}");
}

#[test]
fn no_progress_in_a_pipe_or_with_json() {
    let emu = slow_emulator();
    let url = emu.base_url();
    let piped = spawn(
        &client_args(
            &url,
            &[
                "snapshots",
                "resume",
                "warm",
                "--wait",
                "--wait-timeout",
                "1500ms",
            ],
        ),
        &[],
    );
    let (exit, stdout, stderr) = piped.finish();
    assert_eq!(exit, Some(1));
    assert!(stdout.is_empty());
    // The whole 1.5 s, to the millisecond (a busy machine may add a few).
    assert!(
        stderr.starts_with(
            "error: Failed to resume snapshot: sandbox sb-0001 was still starting after 1s 5"
        ) && stderr.ends_with("ms (wanted running)\n")
            && stderr.lines().count() == 1,
        "only the error: {stderr:?}"
    );

    let args = client_args(
        &url,
        &[
            "--json",
            "sandboxes",
            "create",
            "python",
            "--wait",
            "--wait-timeout",
            "1s",
        ],
    );
    let (exit, stdout, terminal) = on_terminal(&args, &[]);
    assert_eq!(exit, Some(1));
    assert!(
        !terminal.contains("waited"),
        "no progress with --json: {terminal:?}"
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "wait_timed_out", "{stdout}");
}

#[test]
fn a_wait_that_succeeds_prints_the_sandbox() {
    let emu = emulator_with(EmulatorConfig::default().ready_after(Duration::from_millis(1500)));
    against(
        &emu,
        &["snapshots", "create", "sb-seed-1", "--name", "warm"],
    );
    let out = against(
        &emu,
        &[
            "--json",
            "snapshots",
            "restore",
            "warm",
            "--wait",
            "--wait-timeout",
            "30s",
        ],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(json_of(&out)["state"], "running");
    let out = against(
        &emu,
        &["snapshots", "resume", "warm", "--wait-timeout", "30s"],
    );
    assert_eq!(code(&out), 2, "--wait-timeout needs --wait");
}

fn status_reads(emu: &Emulator) -> usize {
    emu.request_count_for("GET", "/v1/sandbox/")
}

/// Waits until the emulator has seen more than `before` status reads: the
/// command is waiting.
fn until_polled(emu: &Emulator, before: usize) {
    for _ in 0..500 {
        if status_reads(emu) > before {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the command never polled");
}

#[test]
fn ctrl_c_during_a_wait_names_the_sandbox_left_running() {
    let emu = slow_emulator();
    let url = emu.base_url();
    let cases: [(&[&str], &str); 2] = [
        (&["snapshots", "resume", "warm", "--wait"], "sb-0001"),
        (&["sandboxes", "create", "python", "--wait"], "sb-0002"),
    ];
    for (args, sandbox) in cases {
        let before = status_reads(&emu);
        let running = spawn(&client_args(&url, args), &[]);
        until_polled(&emu, before);
        running.interrupt();
        let (exit, stdout, stderr) = running.finish();
        assert_eq!(exit, Some(130), "{stderr}");
        assert!(stdout.is_empty());
        assert_eq!(
            stderr,
            format!(
                "interrupted: sandbox {sandbox} (starting) was started and keeps running (and costing); delete it with:\n  leap0 sandboxes delete {sandbox}\n"
            )
        );
        assert_eq!(emu.sandbox_state(sandbox).as_deref(), Some("starting"));
    }

    // Waiting for a sandbox that was there before is only interrupted. The
    // second status read shows the first answer was taken in.
    let before = status_reads(&emu);
    let running = spawn(&client_args(&url, &["sandboxes", "wait", "sb-0001"]), &[]);
    until_polled(&emu, before + 1);
    running.interrupt();
    let (exit, _, stderr) = running.finish();
    assert_eq!(exit, Some(130));
    assert_eq!(
        stderr,
        "interrupted while waiting for sandbox sb-0001 (last seen starting)\n"
    );
}
