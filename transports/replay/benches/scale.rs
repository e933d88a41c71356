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

mod workload;

use std::alloc::System;
use std::hint::black_box;
use std::time::{Duration, Instant};

use leap0_core::{Config, SnapshotsClient};
use leap0_replay::{ReplayOptions, Replayer};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use workload::{KEY, call, load_in_a_fresh_process, record};

// Counting with atomics costs a few nanoseconds per allocation, in every phase alike.
#[global_allocator]
static ALLOC: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const SIZES: [usize; 3] = [1_000, 10_000, 50_000];

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

fn main() {
    if workload::answered_load_only() {
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
