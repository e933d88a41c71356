//! What is specific to the ureq transport: proxies (an HTTP CONNECT tunnel), the
//! proxy setting in the builder and in `Debug`, and the blocking `SystemClock`.
//!
//! The transport contract shared with leap0-hyper (wire format, responses, error
//! classification, timeouts, body cap, keep-alive, https) is tested once for both
//! transports in leap0-conformance's `tests/transport_contract.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use leap0_core::Timestamp;
use leap0_core::transport::{Clock, Transport, TransportErrorKind};
use leap0_testkit::raw_server::{SECRET, answer, get, read_request, serve_one};
use leap0_ureq::{BuildError, SystemClock, UreqTransport};

const TIMEOUT: Duration = Duration::from_secs(5);

fn through(proxy: SocketAddr) -> UreqTransport {
    UreqTransport::builder()
        .proxy(&format!("http://{proxy}"))
        .unwrap()
        .build()
        .unwrap()
}

#[test]
fn debug_output_holds_no_secrets() {
    let transport = UreqTransport::builder()
        .proxy("http://user:hunter2@127.0.0.1:3128")
        .unwrap()
        .build()
        .unwrap();
    let debug = format!("{transport:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("http://user:***@127.0.0.1:3128"), "{debug}");
}

#[test]
fn a_bad_proxy_address_is_refused_by_the_builder() {
    let err = UreqTransport::builder().proxy("http://[bad").unwrap_err();
    assert_eq!(err, BuildError::InvalidProxy);
}

#[test]
fn requests_go_through_a_configured_proxy_in_a_tunnel() {
    // ureq tunnels through HTTP proxies with CONNECT, even to http:// targets.
    let (proxy, requests) = serve_one(|mut stream, tx| {
        let connect = read_request(&mut stream);
        let _ = tx.send(connect);
        stream
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .unwrap();
        let tunnelled = read_request(&mut stream);
        let _ = tx.send(tunnelled);
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .unwrap();
    });
    let response = through(proxy)
        .send(get("http://api.leap0.invalid/v1/snapshots"), TIMEOUT)
        .unwrap();
    assert_eq!(response.body(), b"ok");
    let connect = String::from_utf8(requests.recv().unwrap()).unwrap();
    assert!(
        connect.starts_with("CONNECT api.leap0.invalid:80 HTTP/1.1\r\n"),
        "{connect}"
    );
    assert!(
        !connect.contains(SECRET),
        "the proxy saw the API key: {connect}"
    );
    let tunnelled = String::from_utf8(requests.recv().unwrap()).unwrap();
    assert!(
        tunnelled.starts_with("GET /v1/snapshots HTTP/1.1\r\n"),
        "{tunnelled}"
    );
}

#[test]
fn a_proxy_that_refuses_the_tunnel_is_connect_and_not_sent() {
    let (proxy, _) = answer(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
    let err = through(proxy)
        .send(get("http://api.leap0.invalid/v1/snapshots"), TIMEOUT)
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert!(!err.may_have_been_sent, "{err}");
}

#[test]
fn the_system_clock_moves_forward_and_sleeps_until_deadlines() {
    let clock = SystemClock::new();
    let start = clock.now();
    clock.sleep_until(start + Duration::from_millis(20));
    assert!(clock.now() >= start + Duration::from_millis(20));
    // A deadline in the past returns at once.
    clock.sleep_until(Timestamp::ZERO);
}
