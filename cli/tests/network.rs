//! The command line on real networks and with logs on: `--http-timeout`
//! before and after the command, a private CA, a proxy from the environment,
//! record modes, answers the official SDK treats specially, and `-v`, `-vv`,
//! `RUST_LOG` and `NO_COLOR` without the key (or a proxy password) anywhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use common::{KEY, against, against_with, code, emulator, json_of, leap0, temp_dir, text};
use leap0_testkit::proxy::TestProxy;
use leap0_testkit::raw_server::{json_response, listener, serve_many};
use leap0_testkit::tls::{TestCa, TlsFront};
use serde_json::json;

#[test]
fn http_timeout_applies_before_and_after_the_command() {
    // Accepts connections (the kernel does) and never answers.
    let (_silent, addr) = listener();
    let url = format!("http://{addr}");
    let base = [
        "--api-key",
        KEY,
        "--base-url",
        &url,
        "--retries",
        "0",
        "--json",
    ];
    let lines: [&[&str]; 2] = [
        &["--http-timeout", "300ms", "snapshots", "list"],
        &["snapshots", "list", "--http-timeout", "300ms"],
    ];
    for line in lines {
        let started = std::time::Instant::now();
        let out = leap0(&[&base[..], line].concat(), &[]);
        assert_eq!(code(&out), 1, "{line:?}");
        let error = &json_of(&out)["error"];
        assert_eq!(error["kind"], "timeout", "{line:?}: {error}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{line:?}: the 300 ms timeout applied, not the default 5 minutes"
        );
    }
}

#[test]
fn a_private_ca_and_a_proxy_from_the_environment() {
    let emu = emulator();
    let ca = TestCa::new();
    let front = TlsFront::start(&ca, emu.addr());
    let dir = temp_dir("network");
    let pem = dir.join("ca.pem");
    std::fs::write(&pem, ca.pem()).unwrap();
    let pem = pem.to_str().unwrap();
    let https = front.url();
    let list = [
        "--api-key",
        KEY,
        "--base-url",
        &https,
        "--json",
        "--retries",
        "0",
    ];
    let list = [&list[..], &["snapshots", "list"]].concat();

    for transport in ["ureq", "hyper"] {
        let args = [&list[..], &["--transport", transport]].concat();
        let untrusted = leap0(&args, &[]);
        assert_eq!(code(&untrusted), 1, "the test CA is not a built-in root");
        assert_eq!(json_of(&untrusted)["error"]["kind"], "tls", "{transport}");

        let trusted = leap0(&[&args[..], &["--ca-cert", pem]].concat(), &[]);
        assert_eq!(code(&trusted), 0, "{transport}: {}", text(&trusted.stderr));

        let password = "proxy-pw-71c2";
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("me:{password}"));
        let proxy = TestProxy::with_credentials(&basic);
        let proxy_url = format!("http://me:{password}@{}", proxy.addr());
        let out = leap0(
            &[&args[..], &["--ca-cert", pem, "-vv"]].concat(),
            &[("HTTPS_PROXY", &proxy_url)],
        );
        assert_eq!(code(&out), 0, "{transport}: {}", text(&out.stderr));
        assert_eq!(proxy.tunnels(), 1, "{transport}: {:?}", proxy.lines());
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            !all.contains(password) && !all.contains(&basic),
            "{transport}: {all}"
        );

        let wrong = format!("http://me:wrong-pw-0000@{}", proxy.addr());
        let out = leap0(
            &[&args[..], &["--ca-cert", pem]].concat(),
            &[("HTTPS_PROXY", &wrong)],
        );
        assert_eq!(code(&out), 1);
        assert!(
            !text(&out.stdout).contains("wrong-pw-0000"),
            "{}",
            text(&out.stdout)
        );
    }
    let out = leap0(
        &[&list[..], &["--ca-cert", "/nonexistent/ca.pem"]].concat(),
        &[],
    );
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).starts_with("error: --ca-cert /nonexistent/ca.pem: cannot read it: "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn logs_show_the_client_at_work_and_never_the_key() {
    let emu = emulator();
    let out = against(&emu, &["-v", "snapshots", "list"]);
    assert_eq!(code(&out), 0);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("leap0_core"), "{stderr}");
    assert!(stderr.contains("sending"), "{stderr}");
    assert!(!stderr.contains("ureq"), "-v is only the client: {stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "no colors off a terminal: {stderr:?}"
    );

    let out = against(&emu, &["-vv", "snapshots", "create", "sb-seed-1"]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("ureq"),
        "-vv shows the dependencies: {stderr}"
    );
    for transport in ["ureq", "hyper"] {
        let out = against_with(
            &emu,
            &["--transport", transport, "snapshots", "list"],
            &[("RUST_LOG", "trace")],
        );
        assert_eq!(code(&out), 0);
        assert!(text(&out.stderr).contains("TRACE"), "{transport}");
        // `leap0` itself checks that the key shows nowhere, in any output.
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("Bearer {KEY}"));
        assert!(!text(&out.stderr).contains(&encoded));
    }
    let out = against_with(
        &emu,
        &["snapshots", "list"],
        &[("RUST_LOG", "leap0_core=loud")],
    );
    assert_eq!(code(&out), 2, "a bad filter is a usage error");
    assert!(
        text(&out.stderr).starts_with("error: RUST_LOG \"leap0_core=loud\" is not a log filter")
    );
}

#[cfg(unix)]
#[test]
fn logs_are_colored_on_a_terminal_unless_no_color() {
    let emu = emulator();
    let url = emu.base_url();
    let args = [
        "--api-key",
        KEY,
        "--base-url",
        &url,
        "-v",
        "snapshots",
        "list",
    ];
    let (exit, _, terminal) = common::on_terminal(&args, &[]);
    assert_eq!(exit, Some(0));
    assert!(terminal.contains("\u{1b}["), "colored: {terminal:?}");
    let (_, _, terminal) = common::on_terminal(&args, &[("NO_COLOR", "1")]);
    assert!(
        terminal.contains("DEBUG") && !terminal.contains("\u{1b}["),
        "{terminal:?}"
    );
}

#[test]
fn record_modes_append_replace_and_fill_in() {
    let emu = emulator();
    let dir = temp_dir("modes");
    let cassette = dir.join("c.json");
    let cassette = cassette.to_str().unwrap();
    let interactions = || {
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(cassette).unwrap()).unwrap();
        doc["interactions"].as_array().unwrap().len()
    };
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let out = against_with(&emu, &[&["--record", cassette], args].concat(), env);
        assert_eq!(code(&out), 0, "{args:?}: {}", text(&out.stderr));
    };
    run(&["snapshots", "list"], &[]);
    run(&["snapshots", "create", "sb-seed-1"], &[]);
    assert_eq!(interactions(), 2, "append is the default");
    let sent = emu.request_count();
    run(&["--record-mode", "missing", "snapshots", "list"], &[]);
    assert_eq!(
        emu.request_count(),
        sent,
        "missing replays what the cassette holds"
    );
    run(
        &["snapshots", "list", "--page", "2"],
        &[("LEAP0_RECORD", "missing")],
    );
    assert_eq!(
        (emu.request_count(), interactions()),
        (sent + 1, 3),
        "and records the rest"
    );
    run(&["--record-mode", "all", "snapshots", "list"], &[]);
    assert_eq!(interactions(), 1, "all starts over");
    let out = against(
        &emu,
        &[
            "--record",
            cassette,
            "--record-mode",
            "sometimes",
            "snapshots",
            "list",
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).starts_with(
            "error: --record-mode \"sometimes\": must be append, all, missing or auto"
        )
    );

    let missing = dir.join("none.json");
    let out = leap0(
        &["--replay", missing.to_str().unwrap(), "snapshots", "list"],
        &[],
    );
    assert_eq!(code(&out), 1);
    assert!(
        text(&out.stderr)
            .contains("does not exist; record it by running the same command with --record")
    );
}

/// Answers the official SDK treats in its own way, through the command line.
#[test]
fn answers_the_official_sdk_treats_specially() {
    let serve = |status: u16, body: serde_json::Value| {
        let body = body.to_string();
        let (addr, requests) = serve_many(move |_| json_response(status, &body));
        (format!("http://{addr}"), requests)
    };
    let run = |url: &str, args: &[&str]| {
        let base = [
            "--api-key",
            KEY,
            "--base-url",
            url,
            "--json",
            "--retries",
            "0",
        ];
        leap0(&[&base[..], args].concat(), &[])
    };

    let (url, _) = serve(400, json!({"error": "bad_request", "detail": "nope"}));
    let out = run(&url, &["snapshots", "create", "sb-1"]);
    assert_eq!(code(&out), 1);
    let message = json_of(&out)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.ends_with(
            r#"POST /v1/sandbox/sb-1/snapshot/create: {"error":"bad_request","detail":"nope"}"#
        ),
        "the body stands in for a missing message: {message}"
    );

    let (url, _) = serve(200, json!({"total_items": 3}));
    let out = run(&url, &["snapshots", "list"]);
    assert_eq!(
        code(&out),
        1,
        "a listing without items is not an empty list"
    );
    let error = &json_of(&out)["error"];
    assert_eq!(
        (error["kind"].as_str(), error["field"].as_str()),
        (Some("decode"), Some("items"))
    );

    let (url, _) = serve(201, json!({"id": "sb-7", "template_id": "t", "vcpu": 1}));
    let out = run(&url, &["snapshots", "resume", "warm"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(
        json_of(&out)["state"],
        "starting",
        "a new sandbox with no state is starting"
    );

    let (url, requests) = serve(201, json!({}));
    let policy = r#"{"mode":"custom","allow_domain":["example.com"]}"#;
    let out = run(
        &url,
        &["snapshots", "restore", "warm", "--network-policy", policy],
    );
    assert_eq!(code(&out), 2, "{}", text(&out.stdout));
    let message = json_of(&out)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("allow_domain"), "{message}");
    assert_eq!(
        requests.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing was sent"
    );
}
