//! The same clients on real clocks: per-call timeouts and Retry-After in wall time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use leap0_conformance::{API_KEY, emulator};
use leap0_core::transport::TransportErrorKind;
use leap0_core::{Config, Error, ListSnapshots, RetryPolicy};
use leap0_emulator::{Fault, FaultRule};

fn config(base_url: &str, timeout: Duration) -> Config {
    Config::builder()
        .api_key(API_KEY)
        .base_url(base_url)
        .timeout(timeout)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn assert_timeout(result: Result<leap0_core::Snapshot, Error>, started: Instant, via: &str) {
    let elapsed = started.elapsed();
    match result {
        Err(Error::Transport { source, .. }) => {
            assert_eq!(source.kind, TransportErrorKind::Timeout, "{via}")
        }
        other => panic!("{via}: expected a timeout, got {other:?}"),
    }
    // The requirement: a 200 ms timeout against a 2 s answer fails within 1 s.
    assert!(elapsed < Duration::from_secs(1), "{via}: took {elapsed:?}");
}

#[test]
fn a_short_timeout_beats_a_slow_answer_on_both_transports() {
    let emulator = emulator();
    let slow = || FaultRule::new(Fault::Delay(Duration::from_secs(2))).method("POST");
    let cfg = config(&emulator.base_url(), Duration::from_millis(200));

    emulator.inject(slow());
    let started = Instant::now();
    assert_timeout(
        leap0_ureq::client(cfg.clone()).create("sb-seed-1"),
        started,
        "ureq",
    );

    emulator.inject(slow());
    let started = Instant::now();
    let result = runtime().block_on(leap0_hyper::client(cfg).create("sb-seed-1"));
    assert_timeout(result, started, "hyper");
}

#[test]
fn retry_after_is_waited_out_in_real_time_on_both_transports() {
    let emulator = emulator();
    let cfg =
        config(&emulator.base_url(), Duration::from_secs(5)).with_retry(RetryPolicy::default());
    let limited = || FaultRule::new(Fault::rate_limited("1")).method("GET");

    emulator.inject(limited());
    let started = Instant::now();
    leap0_ureq::client(cfg.clone())
        .list(ListSnapshots::default())
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "ureq did not wait"
    );

    emulator.inject(limited());
    let started = Instant::now();
    runtime()
        .block_on(leap0_hyper::client(cfg).list(ListSnapshots::default()))
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "hyper did not wait"
    );
    assert_eq!(emulator.request_count(), 4);
}
