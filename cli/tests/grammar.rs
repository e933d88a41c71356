//! The grammar as a reader meets it: every command's help, global options
//! anywhere on the line, options refused where they do nothing, the old
//! `--timeout`, completions, and the README's command-line section.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{KEY, against, code, emulator, json_of, leap0, temp_dir, text};

/// Every command, as the words that name it.
const COMMANDS: &[&[&str]] = &[
    &[],
    &["snapshots"],
    &["snapshots", "create"],
    &["snapshots", "pause"],
    &["snapshots", "resume"],
    &["snapshots", "restore"],
    &["snapshots", "delete"],
    &["snapshots", "list"],
    &["sandboxes"],
    &["sandboxes", "create"],
    &["sandboxes", "get"],
    &["sandboxes", "pause"],
    &["sandboxes", "wait"],
    &["sandboxes", "delete"],
    &["cassette"],
    &["cassette", "check"],
    &["cassette", "serve"],
    &["cassette", "record"],
    &["emulator"],
    &["completions"],
    &["demo"],
];

/// Whether a command (or group) calls the API, and so takes the client options.
fn calls_the_api(words: &[&str]) -> bool {
    matches!(words.first(), None | Some(&"snapshots" | &"sandboxes"))
}

#[test]
fn every_help_reads_plainly_and_shows_no_environment_values() {
    let env = [
        ("LEAP0_API_KEY", KEY),
        ("LEAP0_BASE_URL", "https://env-host.example"),
        ("LEAP0_EMULATOR_API_KEY", "emulator-env-secret"),
        ("LEAP0_RECORD", "all"),
    ];
    for words in COMMANDS {
        for flag in ["-h", "--help"] {
            let args = [*words, &[flag]].concat();
            let out = leap0(&args, &env);
            assert_eq!(code(&out), 0, "{args:?}");
            let help = text(&out.stdout);
            assert!(!help.contains('`'), "{args:?} has backticks:\n{help}");
            for value in ["env-host.example", "emulator-env-secret", "=all"] {
                assert!(!help.contains(value), "{args:?} shows {value}:\n{help}");
            }
            assert!(help.contains("Global options:\n"), "{args:?}:\n{help}");
            assert!(help.contains("  -v, --verbose"), "{args:?}:\n{help}");
            let lists_client_options = help.contains("--http-timeout <DURATION>");
            assert_eq!(
                lists_client_options,
                calls_the_api(words),
                "{args:?} lists the client options where they do not apply:\n{help}"
            );
            if lists_client_options {
                assert!(
                    help.contains("[default: https://api.leap0.dev]"),
                    "{args:?}:\n{help}"
                );
            }
        }
    }
}

#[test]
fn usage_lines_do_not_echo_the_environment() {
    let env = [
        ("LEAP0_API_KEY", KEY),
        ("LEAP0_BASE_URL", "https://env-host.example"),
    ];
    let out = leap0(&["snapshots", "create"], &env);
    assert_eq!(code(&out), 2);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Usage: leap0 snapshots create <SANDBOX_ID>\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("env-host"), "{stderr}");
}

#[test]
fn global_options_are_accepted_anywhere_on_the_line() {
    let emu = emulator();
    let url = emu.base_url();
    let lines: [&[&str]; 3] = [
        &[
            "--json",
            "--base-url",
            &url,
            "--api-key",
            KEY,
            "snapshots",
            "list",
        ],
        &[
            "snapshots",
            "--json",
            "--base-url",
            &url,
            "list",
            "--api-key",
            KEY,
        ],
        &[
            "snapshots",
            "list",
            "--json",
            "--base-url",
            &url,
            "--api-key",
            KEY,
        ],
    ];
    for line in lines {
        let out = leap0(line, &[]);
        assert_eq!(code(&out), 0, "{line:?}: {}", text(&out.stderr));
        assert_eq!(json_of(&out)["total_items"], 0, "{line:?}");
    }
}

#[test]
fn options_a_command_does_not_use_are_refused_by_name() {
    let cassette = temp_dir("refused").join("c.json");
    let cassette = cassette.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "emulator",
                "--record",
                cassette,
                "--transport",
                "hyper",
                "--retries",
                "9",
            ],
            "leap0 emulator does not use --transport",
        ),
        (
            &["--retries", "9", "emulator"],
            "leap0 emulator does not use --retries",
        ),
        (
            &["completions", "bash", "--base-url", "https://x.example"],
            "leap0 completions does not use --base-url",
        ),
        (
            &["demo", "--api-key", "k"],
            "leap0 demo does not use --api-key",
        ),
        (
            &["cassette", "check", cassette, "--http-timeout", "5s"],
            "leap0 cassette check does not use --http-timeout",
        ),
        (
            &["--timeout", "5", "demo"],
            "leap0 demo does not use --timeout",
        ),
    ];
    for (args, message) in cases {
        let out = leap0(args, &[]);
        assert_eq!(code(&out), 2, "{args:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).starts_with(&format!(
                "error: {message}: it only applies to commands that call the API"
            )),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert!(
        !std::path::Path::new(cassette).exists(),
        "nothing was recorded"
    );
}

#[test]
fn the_old_timeout_before_the_command_still_works_and_after_it_says_what_is_meant() {
    let emu = emulator();
    let out = against(&emu, &["--timeout", "5", "snapshots", "list"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let out = against(&emu, &["--timeout", "0", "snapshots", "list"]);
    assert_eq!(code(&out), 2);
    assert_eq!(
        text(&out.stderr),
        "error: invalid --timeout: must be more than 0 and at most 86400 seconds, got 0 (nothing was sent)\n"
    );
    let out = against(
        &emu,
        &[
            "--timeout",
            "5",
            "--http-timeout",
            "5s",
            "snapshots",
            "list",
        ],
    );
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    for command in [
        &["snapshots", "list"][..],
        &["snapshots", "delete", "snap-1"],
    ] {
        let out = against(&emu, &[command, &["--timeout", "5"]].concat());
        assert_eq!(code(&out), 2);
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with(
                "error: this command has no --timeout: the per-call HTTP timeout is --http-timeout"
            ),
            "{stderr}"
        );
        assert!(!stderr.contains("-- --timeout"), "no wrong tip: {stderr}");
    }
    let out = against(&emu, &["snapshots", "list", "--http-timeout", "0s"]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr)
            .contains("invalid value '0s' for '--http-timeout <DURATION>': must be more than zero"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(emu.request_count(), 1, "only the first list was sent");
}

#[test]
fn completions_are_scripts_the_shells_accept() {
    let dir = temp_dir("completions");
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = leap0(&["completions", shell], &[]);
        assert_eq!(code(&out), 0, "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains("leap0"), "{shell}");
        assert!(
            script.contains("snapshots") && script.contains("--http-timeout"),
            "{shell}"
        );
    }
    let out = leap0(&["completions", "bash"], &[]);
    let path = dir.join("leap0.bash");
    std::fs::write(&path, &out.stdout).unwrap();
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "bash -n: {}",
        text(&checked.stderr)
    );
    let out = leap0(&["completions", "tcsh"], &[]);
    assert_eq!(code(&out), 2);
}

/// The README shows `leap0 -h`; it must be what the binary prints.
#[test]
fn the_readme_shows_the_help_the_binary_prints() {
    let readme = include_str!("../../README.md");
    let marker = "```text\n$ leap0 -h\n";
    let start = readme.find(marker).expect("the README shows `leap0 -h`") + marker.len();
    let shown = &readme[start..];
    let shown = &shown[..shown.find("```").unwrap()];
    let out = leap0(&["-h"], &[]);
    assert_eq!(
        shown,
        text(&out.stdout),
        "update the README's command-line section"
    );
}
