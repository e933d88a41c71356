//! The `leap0-emulator` binary: its help, and the start-up hint that is pasted into a
//! shell.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(unix)]

mod client;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_leap0-emulator");

/// A running binary, killed when dropped.
struct Running {
    child: Child,
    /// The banner, up to and with "Ctrl-C to stop".
    banner: Vec<String>,
}

impl Running {
    /// Starts the binary with these flags and environment (the emulator's own variables
    /// otherwise removed), and reads its banner.
    fn start(flags: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(BINARY);
        command
            .args(flags)
            .env_remove("LEAP0_EMULATOR_API_KEY")
            .env_remove("LEAP0_EMULATOR_PORT")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut banner = Vec::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            let last = line == "Ctrl-C to stop";
            banner.push(line);
            if last {
                break;
            }
        }
        Self { child, banner }
    }

    fn base_url(&self) -> &str {
        self.banner[0]
            .strip_prefix("leap0 emulator listening on ")
            .unwrap_or_else(|| panic!("{:?}", self.banner))
    }

    fn addr(&self) -> SocketAddr {
        self.base_url()
            .strip_prefix("http://")
            .unwrap()
            .parse()
            .unwrap()
    }

    /// The line of the banner that starts with `LEAP0_BASE_URL=`.
    fn command_line(&self) -> &str {
        self.banner
            .iter()
            .find(|l| l.starts_with("LEAP0_BASE_URL="))
            .unwrap_or_else(|| panic!("{:?}", self.banner))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A folder with a stand-in `leap0` that prints its URL, key and arguments, one a line.
struct FakeLeap0(PathBuf);

impl FakeLeap0 {
    fn new(name: &str) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!(
            "leap0-emulator-binary-{name}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("leap0");
        std::fs::write(
            &script,
            "#!/bin/sh\nprintf '%s\\n' \"$LEAP0_BASE_URL\" \"$LEAP0_API_KEY\" \"$@\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self(dir)
    }

    /// Runs `line` in `sh` with the stand-in first on the `PATH`: what it printed.
    fn paste(&self, line: &str, env: &[(&str, &str)]) -> Vec<String> {
        let path = format!("{}:/usr/bin:/bin", self.0.display());
        let out = Command::new("sh")
            .args(["-c", line])
            .env_clear()
            .env("PATH", path)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(out.status.success(), "{line}: {out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for FakeLeap0 {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `key` opens the emulator at `addr`.
fn key_works(addr: SocketAddr, key: &str) -> bool {
    let bearer = format!("Bearer {key}");
    let resp = client::send(
        addr,
        "GET",
        "/v1/sandbox/sb-seed-1/",
        &[("authorization", &bearer)],
        None,
    )
    .unwrap();
    resp.status == 200
}

#[test]
fn the_default_hint_works_when_pasted() {
    let running = Running::start(&[], &[]);
    let line = running.command_line();
    assert_eq!(
        line,
        format!(
            "LEAP0_BASE_URL={} LEAP0_API_KEY=test-key leap0 snapshots create sb-seed-1",
            running.base_url()
        )
    );
    let fake = FakeLeap0::new("default");
    let printed = fake.paste(line, &[]);
    assert_eq!(printed[0], running.base_url());
    assert!(key_works(running.addr(), &printed[1]));
    assert_eq!(printed[2..], ["snapshots", "create", "sb-seed-1"]);
}

#[test]
fn a_key_from_the_environment_is_named_not_printed() {
    let env = [("LEAP0_EMULATOR_API_KEY", "env-secret-42")];
    let running = Running::start(&[], &env);
    assert!(
        running.banner.iter().all(|l| !l.contains("env-secret-42")),
        "{:?}",
        running.banner
    );
    let line = running.command_line();
    assert!(
        line.contains(r#"LEAP0_API_KEY="$LEAP0_EMULATOR_API_KEY""#),
        "{line}"
    );
    // Pasted where the variable is set, it passes the key on.
    let printed = FakeLeap0::new("env").paste(line, &env);
    assert_eq!(printed[1], "env-secret-42");
    assert!(key_works(running.addr(), &printed[1]));
}

#[test]
fn a_key_given_as_a_flag_is_described_in_words() {
    let running = Running::start(&["--api-key", "flag-secret-7", "--port", "0"], &[]);
    assert!(
        running.banner.iter().all(|l| !l.contains("flag-secret-7")),
        "{:?}",
        running.banner
    );
    assert!(
        running
            .banner
            .contains(&"Set LEAP0_API_KEY to the key given with --api-key, then run:".to_owned())
    );
    // The command itself leaves the key to the environment.
    let printed = FakeLeap0::new("flag").paste(
        running.command_line(),
        &[("LEAP0_API_KEY", "flag-secret-7")],
    );
    assert_eq!(printed[0], running.base_url());
    assert!(key_works(running.addr(), &printed[1]));
}

#[test]
fn the_port_can_come_from_the_environment() {
    // Find a free port, then let the binary take it through its variable.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let running = Running::start(&[], &[("LEAP0_EMULATOR_PORT", &port.to_string())]);
    assert_eq!(running.addr().port(), port);
}

#[test]
fn the_help_reads_well_and_shows_no_values() {
    let out = Command::new(BINARY)
        .arg("--help")
        .env("LEAP0_EMULATOR_API_KEY", "help-secret-9")
        .env("LEAP0_EMULATOR_PORT", "4567")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--port",
        "--api-key",
        "--auth-header",
        "--ready-after-reads",
        "--ready-after ",
        "--max-active-sandboxes",
        "--max-logged-requests",
    ] {
        assert!(help.contains(flag), "{flag} missing:\n{help}");
    }
    assert!(!help.contains("help-secret-9"), "{help}");
    assert!(!help.contains("4567"), "{help}");
    assert!(!help.contains('`'), "{help}");
    assert!(help.contains("[env: LEAP0_EMULATOR_API_KEY]"), "{help}");
    assert!(help.contains("[default: test-key]"), "{help}");
    assert!(help.contains("[default: 0s]"), "{help}");
    // The prose never states a default itself: clap's "[default: ...]" does.
    for line in help.lines() {
        let prose = line.split('[').next().unwrap_or(line);
        assert!(!prose.contains("default"), "{line}");
        assert!(line.matches("[default:").count() <= 1, "{line}");
    }
}
