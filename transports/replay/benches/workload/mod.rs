//! The replay benches' workload, shared with `leap0-conformance`'s transports
//! bench (which includes this file by path): distinct creates recorded into a
//! cassette, and how long loading one takes in a fresh process.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use leap0_core::transport::{Request, Response, TransportError, VirtualClock};
use leap0_core::{Config, CreateSnapshot, SnapshotsClient, http};
use leap0_replay::{RecordOptions, Recorder, ReplayOptions, Replayer};

/// The key the cassettes are recorded with (and redacted from).
pub(crate) const KEY: &str = "sk-bench-4e1c9a";

/// The call `i` of the workload: a create with its own sandbox and name, so
/// that every recorded request is distinct.
pub(crate) fn call(i: usize) -> CreateSnapshot {
    CreateSnapshot::new(format!("sb-{i:06}")).name(format!("snapshot-{i:06}"))
}

/// A server answering every create from memory, as the real API would.
pub(crate) fn server(request: Request, _: Duration) -> Result<Response, TransportError> {
    let path = request.uri().path();
    let sandbox = path.split('/').nth(3).unwrap_or("sb");
    let body = format!(
        r#"{{"id":"snap-{sandbox}","name":"n-{sandbox}","template_id":"tpl-base","vcpu":2,"memory":2048,"disk":10240,"created_at":"2025-01-15T10:30:00Z"}}"#
    );
    http::Response::builder()
        .status(201)
        .header("content-type", "application/json")
        .header("x-request-id", format!("req-{sandbox}"))
        .body(body.into_bytes())
        .map_err(TransportError::other)
}

/// Records `n` distinct creates into `path`.
pub(crate) fn record(config: &Config, n: usize, path: &Path) {
    let recorder = Recorder::new(
        server as fn(Request, Duration) -> Result<Response, TransportError>,
        RecordOptions::new().config(config).secret(KEY),
    );
    let client = SnapshotsClient::new(config.clone(), recorder.clone(), VirtualClock::new());
    for i in 0..n {
        client.create(call(i)).unwrap();
    }
    recorder.save(path).unwrap();
}

/// The best of five loads of the cassette at `path`, in this process.
pub(crate) fn best_load(path: &Path) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        let replayer = Replayer::from_file(path, ReplayOptions::default()).unwrap();
        best = best.min(started.elapsed());
        black_box(replayer);
    }
    best
}

/// [`best_load`] in a child process of this benchmark, as a test binary meets
/// a cassette: with a fresh heap, not one that recording the cassettes has
/// just cut into pieces.
pub(crate) fn load_in_a_fresh_process(path: &Path) -> Duration {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .arg(LOAD_ONLY)
        .arg(path)
        .output()
        .unwrap();
    let nanos = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    Duration::from_nanos(nanos)
}

/// The argument that makes this benchmark only time loading a cassette.
const LOAD_ONLY: &str = "--load-only";

/// When this process was started by [`load_in_a_fresh_process`]: times the
/// load, prints it for the parent, and says so (the caller then returns).
pub(crate) fn answered_load_only() -> bool {
    let mut args = std::env::args().skip_while(|a| a != LOAD_ONLY).skip(1);
    match args.next() {
        Some(path) => {
            println!("{}", best_load(Path::new(&path)).as_nanos());
            true
        }
        None => false,
    }
}
