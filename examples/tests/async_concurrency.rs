//! The async example's fan-out: 20 creates at once in spawned tokio tasks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use leap0_core::{Config, RetryPolicy};
use leap0_emulator::{Emulator, EmulatorConfig, Fault, FaultRule};
use leap0_examples::fan_out;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_creates_at_once_each_get_their_own_snapshot() {
    let ids: Vec<String> = (0..20).map(|i| format!("sb-fan-{i:02}")).collect();
    let server =
        Emulator::start_with(EmulatorConfig::default().seed_sandboxes(ids.clone())).unwrap();
    server.inject(
        FaultRule::new(Fault::status(503))
            .times(2)
            .path_prefix("/v1/sandbox/"),
    );
    let config = Config::builder()
        .api_key("test-key")
        .base_url(server.base_url())
        .retry(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(5), Duration::from_millis(20)),
        )
        .build()
        .unwrap();
    let client = leap0_hyper::client(config);

    let results = fan_out::create_all(&client, &ids).await.unwrap();

    let snapshots: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    // Results come back in the order of the sandboxes, whatever order they finished in.
    let names: Vec<&str> = snapshots.iter().map(|s| s.name.as_str()).collect();
    let expected: Vec<String> = (0..20).map(|i| format!("fan-{i:02}")).collect();
    assert_eq!(names, expected);
    let made: BTreeSet<&str> = snapshots.iter().map(|s| s.id.as_str()).collect();
    let all: Vec<String> = (1..=20).map(|i| format!("snap-{i:04}")).collect();
    assert_eq!(made, all.iter().map(String::as_str).collect());
    assert_eq!(server.request_count(), 22);
}
