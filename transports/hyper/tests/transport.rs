//! What is specific to the hyper transport: it is shareable across tasks and its
//! futures are `Send`, and the async `TokioClock`.
//!
//! The transport contract shared with leap0-ureq (wire format, responses, error
//! classification, timeouts, body cap, keep-alive, https) is tested once for both
//! transports in leap0-conformance's `tests/transport_contract.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use leap0_core::Timestamp;
use leap0_core::transport::{AsyncClock, AsyncTransport};
use leap0_hyper::{HyperTransport, TokioClock};

fn assert_send_sync<T: Send + Sync + Clone>(_: &T) {}
fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn the_transport_is_shareable_and_its_future_is_send() {
    let transport = HyperTransport::new();
    assert_send_sync(&transport);
    let request = http::Request::get("http://127.0.0.1:9/")
        .header("user-agent", "leap0-test/1.0")
        .header("authorization", "Bearer sk-live-0123456789abcdef")
        .body(Vec::new())
        .unwrap();
    let future = transport.send(request, Duration::from_secs(5));
    assert_send(&future);
    drop(future);
}

#[tokio::test]
async fn the_tokio_clock_moves_forward_and_sleeps_until_deadlines() {
    let clock = TokioClock::new();
    let start = clock.now();
    clock.sleep_until(start + Duration::from_millis(20)).await;
    assert!(clock.now() >= start + Duration::from_millis(20));
    // A deadline in the past resolves at once.
    clock.sleep_until(Timestamp::ZERO).await;
    // A deadline that never comes never resolves.
    let never =
        tokio::time::timeout(Duration::from_millis(10), clock.sleep_until(Timestamp::MAX)).await;
    assert!(never.is_err());
}

/// The client's futures are `Send` (the traits do not demand it; hyper's
/// transport and tokio's clock give it), so a call can be spawned.
#[tokio::test]
async fn a_client_call_can_be_spawned() {
    let config = leap0_core::Config::builder()
        .api_key("k")
        .base_url("http://127.0.0.1:9")
        .retry(leap0_core::RetryPolicy::none())
        .build()
        .unwrap();
    let client = leap0_hyper::client(config);
    let task = tokio::spawn(async move { client.create("sb-1").await });
    let err = task.await.unwrap().unwrap_err();
    assert_eq!(err.kind_name(), "connect", "{err}");
}
