//! The async client (hyper on tokio): 20 snapshots created at once, each call
//! in a task of its own on a multi-threaded runtime.
//!
//! ```text
//! cargo run --example async_concurrency
//! ```
//!
//! Two of the creates first meet a 503 and are retried after a short backoff.
//! The fan-out is in `examples/src/fan_out.rs`; that `tokio::task::JoinSet::spawn`
//! accepts the client's futures is what shows they are `Send`.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use leap0_core::{Config, RetryPolicy};
use leap0_emulator::{Emulator, EmulatorConfig, Fault, FaultRule};
use leap0_examples::fan_out;

const SANDBOXES: usize = 20;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ids: Vec<String> = (0..SANDBOXES).map(|i| format!("sb-fan-{i:02}")).collect();
    let server = Emulator::start_with(
        EmulatorConfig::default()
            .api_key("async-key")
            .seed_sandboxes(ids.clone()),
    )?;
    server.inject(
        FaultRule::new(Fault::status(503))
            .times(2)
            .path_prefix("/v1/sandbox/"),
    );
    let config = Config::builder()
        .api_key("async-key")
        .base_url(server.base_url())
        .retry(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(10), Duration::from_millis(100)),
        )
        .build()?;
    let client = leap0_hyper::client(config);

    let started = Instant::now();
    let results = fan_out::create_all(&client, &ids).await?;
    let elapsed = started.elapsed();

    let snapshots = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut made: Vec<&str> = snapshots.iter().map(|s| s.id.as_str()).collect();
    made.sort_unstable();
    println!(
        "async_concurrency: {} snapshots created at once on tokio ({} to {}), {} requests, {} ms",
        snapshots.len(),
        made.first().unwrap_or(&"-"),
        made.last().unwrap_or(&"-"),
        server.request_count(),
        elapsed.as_millis()
    );
    Ok(())
}
