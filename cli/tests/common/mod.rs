//! What every end-to-end test of `leap0` shares: running the built binary
//! (with a clean environment, and a check that the key never shows), on a
//! pipe or on a pseudo-terminal, against an emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use leap0_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;

/// The key the emulators of these tests accept; no output may hold it.
pub const KEY: &str = "sk-cli-test-9d8e7f6a5b";

/// The variables `leap0` reads, removed from every run unless given.
const READ_FROM_ENV: &[&str] = &[
    "LEAP0_API_KEY",
    "LEAP0_BASE_URL",
    "LEAP0_RECORD",
    "LEAP0_ALLOW_INSECURE_HTTP",
    "LEAP0_EMULATOR_API_KEY",
    "LEAP0_EMULATOR_PORT",
    "RUST_LOG",
    "NO_COLOR",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "all_proxy",
    "no_proxy",
];

pub fn emulator() -> Emulator {
    emulator_with(EmulatorConfig::default())
}

pub fn emulator_with(config: EmulatorConfig) -> Emulator {
    Emulator::start_with(config.api_key(KEY)).unwrap()
}

/// `leap0 args...`, ready to run with only the environment given here.
pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_leap0"));
    cmd.args(args);
    with_env(cmd, env)
}

/// `cmd` with none of the variables `leap0` reads, except those given.
pub fn with_env(mut cmd: Command, env: &[(&str, &str)]) -> Command {
    for name in READ_FROM_ENV {
        cmd.env_remove(name);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `leap0 args...` on pipes, and checks that the key shows nowhere.
pub fn leap0(args: &[&str], env: &[(&str, &str)]) -> Output {
    let out = command(args, env).output().unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains(KEY), "the key leaked into the output: {all}");
    out
}

/// `leap0 --api-key KEY --base-url URL args...`
pub fn against(emu: &Emulator, args: &[&str]) -> Output {
    against_with(emu, args, &[])
}

/// [`against`] with environment variables.
pub fn against_with(emu: &Emulator, args: &[&str], env: &[(&str, &str)]) -> Output {
    let url = emu.base_url();
    let mut full = vec!["--api-key", KEY, "--base-url", url.as_str()];
    full.extend_from_slice(args);
    leap0(&full, env)
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}",
            text(&out.stdout)
        )
    })
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("leap0-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A child process, killed when dropped, even if an assertion fails first.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `leap0 args...` with stdout and stderr on pipes.
pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Running {
    let child = command(args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Running(child)
}

impl Running {
    /// Waits for the exit; the exit code and both outputs.
    pub fn finish(mut self) -> (Option<i32>, String, String) {
        let mut stdout = String::new();
        let mut stderr = String::new();
        if let Some(mut out) = self.0.stdout.take() {
            out.read_to_string(&mut stdout).unwrap();
        }
        if let Some(mut err) = self.0.stderr.take() {
            err.read_to_string(&mut stderr).unwrap();
        }
        let status = self.0.wait().unwrap();
        assert!(
            !stdout.contains(KEY) && !stderr.contains(KEY),
            "the key leaked"
        );
        (status.code(), stdout, stderr)
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    #[cfg(unix)]
    pub fn interrupt(&self) {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        let pid = Pid::from_raw(i32::try_from(self.0.id()).unwrap());
        kill(pid, Signal::SIGINT).unwrap();
    }
}

/// Reads `reader` in the background until it ends, then returns the bytes.
fn collect(mut reader: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 4096];
        // A pseudo-terminal's reader fails (EIO) once the child is gone: the end.
        while let Ok(n @ 1..) = reader.read(&mut chunk) {
            bytes.extend_from_slice(&chunk[..n]);
        }
        bytes
    })
}

/// Runs `leap0 args...` with stderr on a pseudo-terminal 160 columns wide
/// (stdout stays a pipe); its exit code, stdout, and all the terminal saw.
#[cfg(unix)]
pub fn on_terminal(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    use nix::pty::{Winsize, openpty};
    let size = Winsize {
        ws_row: 40,
        ws_col: 160,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(Some(&size), None).unwrap();
    let mut env = env.to_vec();
    env.push(("TERM", "xterm-256color"));
    let mut child = command(args, &env)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(pty.slave))
        .spawn()
        .unwrap();
    let terminal = collect(std::fs::File::from(pty.master));
    let stdout = collect(child.stdout.take().unwrap());
    let status = child.wait().unwrap();
    let stdout = text(&stdout.join().unwrap());
    let terminal = text(&terminal.join().unwrap());
    assert!(
        !stdout.contains(KEY) && !terminal.contains(KEY),
        "the key leaked"
    );
    (status.code(), stdout, terminal)
}
