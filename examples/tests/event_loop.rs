//! The event loop: the example's workload agrees with the blocking client, and
//! timeouts and refused connections reach the machines as the retry rules
//! expect.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use leap0_core::transport::TransportErrorKind;
use leap0_core::{
    Call, Config, CreateSnapshot, DeleteSnapshot, ListSnapshots, RetryPolicy, Snapshot,
};
use leap0_emulator::{Emulator, Fault, FaultRule};
use leap0_examples::event_loop;
use leap0_examples::workload::{Workload, compare_with_blocking};

#[test]
fn the_example_workload_runs_at_once_and_agrees_with_the_blocking_client() {
    let workload = Workload::new(24);
    let comparison = compare_with_blocking(&workload).unwrap();
    assert!(
        comparison.is_identical(),
        "{}\n{:#?}",
        comparison.summary(),
        comparison.differences
    );
    let report = &comparison.event_loop;
    assert_eq!(report.results.len(), 120);
    assert_eq!(workload.operations(), 120);
    assert!(report.peak_machines >= 100, "{}", comparison.summary());
    assert!(report.peak_connections >= 100, "{}", comparison.summary());
    // Each of the 27 faults the workload injects costs one retry.
    assert_eq!(report.retries, 27, "{}", comparison.summary());
    // Each machine draws its jitter from its own stream: no two back off alike.
    assert_eq!(report.distinct_backoffs, 27, "{}", comparison.summary());
    assert!(comparison.summary().contains("after 27 distinct backoffs"));
    assert_eq!(report.timeouts, 0);
    // What the loop wrote is what the server received.
    assert_eq!(
        report.requests_sent,
        comparison.event_loop_server_requests as u64
    );
    // The deletes of missing snapshots fail, the same way in both runs; all else succeeds.
    let failures: Vec<_> = report
        .results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .collect();
    assert_eq!(failures.len(), 12);
    assert!(
        failures
            .iter()
            .all(|e| e.status() == Some(leap0_core::http::StatusCode::NOT_FOUND))
    );
    assert!(
        comparison
            .summary()
            .contains("identical to the blocking client")
    );
}

fn fast(server: &Emulator, timeout: Duration) -> Config {
    Config::builder()
        .api_key("test-key")
        .base_url(server.base_url())
        .timeout(timeout)
        .retry(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(5), Duration::from_millis(20)),
        )
        .build()
        .unwrap()
}

#[test]
fn an_attempt_past_its_timeout_is_a_timeout_retried_only_when_safe() {
    let server = Emulator::start().unwrap();
    // The server acts at once, then holds both answers back for a second.
    for (method, path) in [("GET", "/v1/snapshots"), ("POST", "/v1/sandbox/sb-seed-1/")] {
        server.inject(
            FaultRule::new(Fault::Delay(Duration::from_secs(1)))
                .method(method)
                .path_prefix(path),
        );
    }
    let calls = vec![
        Call::ListSnapshots(ListSnapshots::default()),
        Call::CreateSnapshot(CreateSnapshot::new("sb-seed-1").name("late")),
    ];
    let report = event_loop::run(&fast(&server, Duration::from_millis(200)), calls).unwrap();

    assert_eq!(report.timeouts, 2);
    // The listing is safe to repeat: retried, and answered.
    let listed = report.results[0].as_ref().unwrap();
    assert!(matches!(listed, leap0_core::CallOutput::List(_)));
    // The create may have acted, so it is not retried: a timeout that may have
    // reached the server, which it did.
    let error = report.results[1].as_ref().unwrap_err();
    let failure = error.transport().unwrap();
    assert_eq!(failure.kind, TransportErrorKind::Timeout);
    assert!(error.may_have_reached_server());
    assert_eq!(server.snapshot_count(), 1);
    assert_eq!((report.retries, report.requests_sent), (1, 3));
    assert_eq!(server.request_count(), 3);
}

#[test]
fn a_refused_connection_is_a_connect_failure_retried_and_never_sent() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = Config::builder()
        .api_key("test-key")
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    let report = event_loop::run(
        &config,
        vec![Call::DeleteSnapshot(DeleteSnapshot::new("snap-1"))],
    )
    .unwrap();

    let error = report.results[0].as_ref().unwrap_err();
    assert_eq!(error.transport().unwrap().kind, TransportErrorKind::Connect);
    assert!(!error.may_have_reached_server());
    assert_eq!((report.retries, report.requests_sent), (2, 0));
}

#[test]
fn calls_given_in_any_order_get_their_own_results_back() {
    let server = Emulator::start().unwrap();
    let names: Vec<String> = (0..30).map(|i| format!("n-{i:02}")).collect();
    let calls = names
        .iter()
        .map(|name| Call::CreateSnapshot(CreateSnapshot::new("sb-seed-1").name(name)))
        .collect();
    let report = event_loop::run(&fast(&server, Duration::from_secs(30)), calls).unwrap();
    let got: Vec<String> = report
        .results
        .into_iter()
        .map(|r| match r.unwrap() {
            leap0_core::CallOutput::Snapshot(Snapshot { name, .. }) => name,
            other => panic!("not a snapshot: {other:?}"),
        })
        .collect();
    assert_eq!(got, names);
    assert_eq!(server.snapshot_count(), 30);
}
