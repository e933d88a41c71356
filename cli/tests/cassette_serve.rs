//! `leap0 cassette serve` and `leap0 cassette record` through the binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

fn leap0() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_leap0"));
    command
        .env_remove("LEAP0_RECORD")
        .env_remove("LEAP0_API_KEY");
    command
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("leap0-cli-serve-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_cassette_that_does_not_load_exits_2_before_binding() {
    let dir = temp("bad");
    let path = dir.join("bad.json");
    std::fs::write(&path, "{ not a cassette").unwrap();
    let out = leap0()
        .args(["cassette", "serve"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "nothing printed before binding");
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.json"));
}

#[test]
fn plain_http_upstream_off_loopback_is_refused() {
    let dir = temp("insecure");
    let out = leap0()
        .args(["cassette", "record"])
        .arg(dir.join("c.json"))
        .args(["--upstream", "http://example.com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-insecure-http"));
}

#[test]
fn record_takes_the_record_modes_and_they_need_a_recording() {
    let dir = temp("modes");
    // Accepted by `cassette record` (which then stops at the refused upstream)...
    let out = leap0()
        .args(["--record-mode", "missing", "cassette", "record"])
        .arg(dir.join("c.json"))
        .args(["--upstream", "http://example.com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-insecure-http"));
    // ...refused when it is not a mode...
    let out = leap0()
        .args(["cassette", "record", "--record-mode", "replay"])
        .arg(dir.join("c.json"))
        .args(["--upstream", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--record-mode \"replay\""));
    // ...and by a call that records nothing.
    let out = leap0()
        .args([
            "--api-key",
            "k",
            "--record-mode",
            "all",
            "snapshots",
            "list",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--record-mode needs --record"));
}

#[cfg(unix)]
#[test]
fn serve_prints_the_base_url_first_and_verifies_on_sigterm() {
    let dir = temp("serve");
    let path = dir.join("one.json");
    std::fs::write(
        &path,
        r#"{"version":1,"meta":{"crate_version":"0.1.0","recorded_at":"2025-01-15T10:30:00Z","base_path":""},
"interactions":[{"request":{"method":"DELETE","target":"/v1/snapshot/snap-1","headers":{}},
"response":{"status":204,"headers":{}},"latency_ms":0},
{"request":{"method":"DELETE","target":"/v1/snapshot/snap-2","headers":{}},
"response":{"status":204,"headers":{}},"latency_ms":0}]}"#,
    )
    .unwrap();
    let mut child = leap0()
        .args(["cassette", "serve"])
        .arg(&path)
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("LEAP0_BASE_URL=http://")
        .unwrap()
        .to_owned();
    let mut stream = TcpStream::connect(&url).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"DELETE /v1/snapshot/snap-1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-secret-xyz\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    // snap-2 was never asked for.
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("unused #1"), "{stderr}");
    assert!(!stderr.contains("sk-secret-xyz"));
}
