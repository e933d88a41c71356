//! Replay at 1k, 10k and 50k recorded interactions: how long a cassette takes
//! to load, how many calls per second the blocking client replays from it, how
//! the per-call cost grows with the cassette, and how much memory the replayer
//! holds compared with the file. Run with `cargo bench -p leap0-replay`.
#![allow(
    missing_docs,
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::alloc::System;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use leap0_core::transport::{Request, Response, TransportError, VirtualClock};
use leap0_core::{Config, CreateSnapshot, SnapshotsClient, http};
use leap0_replay::{RecordOptions, Recorder, ReplayOptions, Replayer};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

// Counting with atomics costs a few nanoseconds per allocation, in every phase alike.
#[global_allocator]
static ALLOC: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const KEY: &str = "sk-bench-4e1c9a";
const SIZES: [usize; 3] = [1_000, 10_000, 50_000];

/// The call `i` of the workload: a create with its own sandbox and name, so
/// that every recorded request is distinct.
fn call(i: usize) -> CreateSnapshot {
    CreateSnapshot::new(format!("sb-{i:06}")).name(format!("snapshot-{i:06}"))
}

/// A server answering every create from memory, as the real API would.
fn server(request: Request, _: Duration) -> Result<Response, TransportError> {
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
fn record(config: &Config, n: usize, path: &Path) {
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

/// The order the calls are replayed in: a fixed shuffle, not the recorded order.
fn shuffled(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = usize::try_from(state % (i as u64 + 1)).unwrap();
        order.swap(i, j);
    }
    order
}

/// The best of five loads of the cassette at `path`, in this process.
fn best_load(path: &Path) -> Duration {
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
fn load_in_a_fresh_process(path: &Path) -> Duration {
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

fn main() {
    let mut args = std::env::args().skip_while(|a| a != LOAD_ONLY).skip(1);
    if let Some(path) = args.next() {
        println!("{}", best_load(Path::new(&path)).as_nanos());
        return;
    }
    let config = Config::new(KEY).unwrap();
    let dir = std::env::temp_dir().join(format!("leap0-replay-bench-{}", std::process::id()));
    let mut per_call = Vec::new();
    for n in SIZES {
        let path = dir.join(format!("{n}.json"));
        record(&config, n, &path);
        let file_bytes = std::fs::metadata(&path).unwrap().len();

        let load = load_in_a_fresh_process(&path);

        // Replay every recorded call once, in shuffled order, through the
        // client; the best of at least three passes, each on a fresh replayer
        // (more for the small cassettes, whose pass is over in milliseconds).
        let order = shuffled(n);
        let mut elapsed = Duration::MAX;
        for _ in 0..(20_000 / n).max(3) {
            let replayer = Replayer::from_file(&path, ReplayOptions::default()).unwrap();
            let client = SnapshotsClient::new(config.clone(), replayer.clone(), replayer.clock());
            let started = Instant::now();
            for &i in &order {
                black_box(client.create(call(i)).unwrap());
            }
            elapsed = elapsed.min(started.elapsed());
            replayer.finish().unwrap();
        }
        let cost = elapsed / u32::try_from(n).unwrap();
        per_call.push(cost);

        // Memory: what a freshly loaded replayer holds (allocated, not freed).
        let region = Region::new(ALLOC);
        let held = Replayer::from_file(&path, ReplayOptions::default()).unwrap();
        let change = region.change();
        let bytes = change.bytes_allocated as f64 - change.bytes_deallocated as f64
            + change.bytes_reallocated as f64;
        let allocations = change.allocations as f64 / n as f64;
        drop(held);

        println!(
            "{n:>6} interactions: cassette {:>5.1} MB, load {:>7.2} ms ({allocations:.0} allocations each), replay {:>8.0} calls/s ({:>5.2} µs/call), replayer holds {:>5.1} MB ({:.1}x the file)",
            file_bytes as f64 / 1e6,
            load.as_secs_f64() * 1e3,
            n as f64 / elapsed.as_secs_f64(),
            cost.as_secs_f64() * 1e6,
            bytes / 1e6,
            bytes / file_bytes as f64,
        );
    }
    let (first, last) = (per_call[0], per_call[per_call.len() - 1]);
    println!(
        "per-call cost at {} interactions / at {}: {:.2}x",
        SIZES[SIZES.len() - 1],
        SIZES[0],
        last.as_secs_f64() / first.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
