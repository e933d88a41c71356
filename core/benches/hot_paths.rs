//! The core's hot paths, in nanoseconds and heap allocations per operation:
//! building and parsing a create (what every transport pays per call), parsing
//! a 100-snapshot page, and a whole create with one 503 through the drive loop.
//! Run with `cargo bench -p leap0-core`.
// A benchmark measures wall time, which the core itself never reads.
#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    clippy::unwrap_used
)]
#![allow(missing_docs, clippy::print_stdout)]

use std::alloc::System;
use std::hint::black_box;
use std::time::{Duration, Instant};

use leap0_core::transport::{Request, Response, TransportError, VirtualClock};
use leap0_core::{
    Config, CreateSnapshot, Exchange, ListSnapshots, RetryPolicy, SnapshotsClient, http,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

// Counting with atomics: a few nanoseconds per allocation, in every run alike.
#[global_allocator]
static ALLOC: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Rounds of each measurement; the fastest is reported, since this machine's
/// speed varies between rounds far more than the code's cost does.
const ROUNDS: u32 = 5;

/// Runs `f` `iterations` times (after a warm-up) and prints its time and
/// allocations per iteration.
fn bench(name: &str, iterations: u32, mut f: impl FnMut()) {
    for _ in 0..iterations / 10 {
        f();
    }
    let mut per = Duration::MAX;
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for _ in 0..iterations / ROUNDS {
            f();
        }
        per = per.min(started.elapsed() / (iterations / ROUNDS));
    }
    let region = Region::new(ALLOC);
    let counted = 1000u64;
    for _ in 0..counted {
        f();
    }
    let allocations = region.change().allocations as f64 / counted as f64;
    println!(
        "{name:<48} {:>8} ns/op {:>8.1} allocations/op",
        per.as_nanos(),
        allocations
    );
}

fn main() {
    let config = Config::new("bench-key").unwrap();
    let create = CreateSnapshot::new("sb-0123456789abcdef").name("warm");
    let created = br#"{"id":"snap_0123456789abcdef","name":"warm","template_id":"tpl_0000000000000001","vcpu":2,"memory":2048,"disk":10240,"created_at":"2025-01-15T10:30:00Z"}"#;
    bench("create: request", 200_000, || {
        black_box(create.request(black_box(&config)).unwrap());
    });
    bench("create: parse", 200_000, || {
        let response = http::Response::builder()
            .status(201)
            .body(&created[..])
            .unwrap();
        black_box(create.parse(response).unwrap());
    });
    bench("create: request + parse", 200_000, || {
        black_box(create.request(black_box(&config)).unwrap());
        let response = http::Response::builder()
            .status(201)
            .body(&created[..])
            .unwrap();
        black_box(create.parse(response).unwrap());
    });

    let items: Vec<_> = (0..100)
        .map(|i| {
            serde_json::json!({"id": format!("snap-{i}"), "name": format!("n{i}"),
            "template_id": "tpl", "vcpu": 2, "memory": 2048, "disk": 10240,
            "created_at": "2025-01-15T10:30:00Z"})
        })
        .collect();
    let page =
        serde_json::to_vec(&serde_json::json!({"items": items, "total_items": 100})).unwrap();
    let list = ListSnapshots::default();
    bench("parse a 100-snapshot page", 5_000, || {
        let response = http::Response::builder()
            .status(200)
            .body(page.as_slice())
            .unwrap();
        black_box(list.parse(response).unwrap());
    });

    let body = created.to_vec();
    let mut calls = 0u32;
    let transport = move |_r: Request, _t: Duration| -> Result<Response, TransportError> {
        calls = calls.wrapping_add(1);
        let status = if calls % 2 == 1 { 503 } else { 201 };
        Ok(http::Response::builder()
            .status(status)
            .header("retry-after", "1")
            .body(body.clone())
            .unwrap())
    };
    let cell = std::cell::RefCell::new(transport);
    let shared = |r: Request, t: Duration| (cell.borrow_mut())(r, t);
    let retrying = config.clone().with_retry(RetryPolicy::default());
    let client = SnapshotsClient::new(retrying, shared, VirtualClock::new());
    bench("create with one 503 retry (drive loop)", 50_000, || {
        black_box(client.create("sb-1").unwrap());
    });
}
