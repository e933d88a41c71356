//! The transport contract, written once and run against both transports
//! (blocking leap0-ureq, async leap0-hyper) over tiny loopback servers that speak
//! raw HTTP/1.1: what goes on the wire, which answers are responses, and how
//! every failure is classified.
//!
//! Each contract test is a function over a [`Subject`]; `contract!` makes one
//! `#[test]` per transport for it, named `<test>::ureq` and `<test>::hyper`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{ErrorKind, Write};
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use leap0_conformance::Via;
use leap0_core::transport::{
    AsyncTransport, Request, Response, Transport, TransportError, TransportErrorKind,
};
use leap0_hyper::HyperTransport;
use leap0_testkit::raw_server::{
    SECRET, answer, endless, get, https_server, listener, read_request, refused, serve_one,
};
use leap0_ureq::UreqTransport;
use tokio::runtime::Runtime;

const TIMEOUT: Duration = Duration::from_secs(5);

/// The transport a test runs against, with the one runtime the async transport
/// runs on for the whole test (hyper's pooled connections live on it).
struct Subject {
    via: Via,
    runtime: Option<Runtime>,
}

/// A transport built by a [`Subject`]; clones share the connection pool.
#[derive(Clone, Debug)]
enum Client<'a> {
    Ureq(UreqTransport),
    Hyper(HyperTransport, &'a Runtime),
}

/// A builder setting, applied in order.
enum Setting<'a> {
    ConnectTimeout(Duration),
    MaxBodyBytes(u64),
    RootPem(&'a [u8]),
    RootDer(&'a [u8]),
}

/// Why a builder refused, the same for both transports.
#[derive(Debug, PartialEq, Eq)]
enum BuildFailure {
    InvalidCertificate(String),
    Other(String),
}

/// Both transports refuse with the core's one `BuildError` (which
/// `leap0_ureq::BuildError` and `leap0_hyper::BuildError` name).
impl From<leap0_core::transport::BuildError> for BuildFailure {
    fn from(e: leap0_core::transport::BuildError) -> Self {
        match e {
            leap0_core::transport::BuildError::InvalidCertificate(m) => {
                BuildFailure::InvalidCertificate(m)
            }
            e => BuildFailure::Other(e.to_string()),
        }
    }
}

impl Subject {
    fn new(via: Via) -> Self {
        let runtime = match via {
            Via::Ureq => None,
            Via::Hyper => Some(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap(),
            ),
        };
        Subject { via, runtime }
    }

    fn runtime(&self) -> &Runtime {
        self.runtime.as_ref().expect("hyper runs on a runtime")
    }

    /// A transport with the defaults (`new()`).
    fn transport(&self) -> Client<'_> {
        match self.via {
            Via::Ureq => Client::Ureq(UreqTransport::new()),
            Via::Hyper => Client::Hyper(HyperTransport::new(), self.runtime()),
        }
    }

    /// A transport from the builder with `settings`.
    fn build(&self, settings: &[Setting<'_>]) -> Result<Client<'_>, BuildFailure> {
        /// Applies `settings` to either builder (their methods are the same) and builds.
        macro_rules! build {
            ($builder:expr) => {{
                let mut builder = $builder;
                for setting in settings {
                    builder = match *setting {
                        Setting::ConnectTimeout(timeout) => builder.connect_timeout(timeout),
                        Setting::MaxBodyBytes(max) => builder.max_body_bytes(max),
                        Setting::RootPem(pem) => builder.add_root_certificate_pem(pem)?,
                        Setting::RootDer(der) => builder.add_root_certificate_der(der)?,
                    };
                }
                builder.build()?
            }};
        }
        Ok(match self.via {
            Via::Ureq => Client::Ureq(build!(UreqTransport::builder())),
            Via::Hyper => Client::Hyper(build!(HyperTransport::builder()), self.runtime()),
        })
    }

    /// Sends `request` with a default transport.
    fn send(&self, request: Request, timeout: Duration) -> Result<Response, TransportError> {
        self.transport().send(request, timeout)
    }

    /// GETs `url` with a default transport, which must fail.
    fn fail(&self, url: &str) -> TransportError {
        self.send(get(url), TIMEOUT).unwrap_err()
    }

    /// GETs `url` with a default transport and a 200 ms timeout, which must fail
    /// in less than a second.
    fn fail_quickly(&self, url: &str) -> TransportError {
        let started = Instant::now();
        let err = self.send(get(url), Duration::from_millis(200)).unwrap_err();
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(1), "{err} after {elapsed:?}");
        err
    }
}

impl Client<'_> {
    fn send(&self, request: Request, timeout: Duration) -> Result<Response, TransportError> {
        match self {
            Client::Ureq(transport) => Transport::send(transport, request, timeout),
            Client::Hyper(transport, runtime) => {
                runtime.block_on(AsyncTransport::send(transport, request, timeout))
            }
        }
    }

    fn max_body_bytes(&self) -> u64 {
        match self {
            Client::Ureq(transport) => transport.max_body_bytes(),
            Client::Hyper(transport, _) => transport.max_body_bytes(),
        }
    }
}

/// One `#[test]` per transport for each contract test function.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use leap0_conformance::Via;

            #[test]
            fn ureq() {
                super::$name(&super::Subject::new(Via::Ureq));
            }

            #[test]
            fn hyper() {
                super::$name(&super::Subject::new(Via::Hyper));
            }
        }
    )*};
}

contract!(
    a_404_with_a_json_body_is_a_response_with_its_headers,
    a_5xx_is_a_response_too,
    the_request_arrives_byte_faithful,
    a_get_without_body_carries_no_content_length,
    an_empty_post_keeps_its_content_length_zero,
    a_refused_connection_is_connect_and_not_sent,
    an_unknown_host_is_connect_and_not_sent,
    a_uri_without_host_is_refused_locally,
    a_slow_server_times_out_within_the_per_call_timeout,
    a_body_that_stalls_times_out,
    a_timeout_before_the_request_left_is_connect_and_not_sent,
    a_100_mib_answer_is_body_too_large,
    a_100_mib_chunked_answer_is_body_too_large_while_streaming,
    the_cap_is_inclusive_and_configurable,
    a_connection_closed_mid_body_is_reset,
    a_connection_closed_before_any_answer_is_reset,
    a_malformed_answer_is_invalid_response,
    a_redirect_is_returned_not_followed,
    connections_are_kept_alive_between_calls,
    bad_root_certificates_are_refused_by_the_builder,
    https_works_with_the_certificate_as_a_root,
    https_works_by_host_name_too,
    https_fails_as_tls_without_the_certificate,
);

fn a_404_with_a_json_body_is_a_response_with_its_headers(subject: &Subject) {
    let (addr, _) = answer(
        b"HTTP/1.1 404 Not Found\r\n\
          content-type: application/json\r\n\
          x-request-id: req-42\r\n\
          retry-after: 7\r\n\
          date: Wed, 21 Oct 2015 07:28:00 GMT\r\n\
          content-length: 22\r\n\r\n\
          {\"message\":\"no such\"}\n",
    );
    let response = subject
        .send(get(&format!("http://{addr}/v1/snapshots/nope")), TIMEOUT)
        .unwrap();
    assert_eq!(response.status(), 404);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-request-id"], "req-42");
    assert_eq!(headers["retry-after"], "7");
    assert_eq!(headers["date"], "Wed, 21 Oct 2015 07:28:00 GMT");
    assert_eq!(response.body(), b"{\"message\":\"no such\"}\n");
}

fn a_5xx_is_a_response_too(subject: &Subject) {
    let (addr, _) = answer(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n");
    let response = subject
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.body().is_empty());
}

fn the_request_arrives_byte_faithful(subject: &Subject) {
    let (addr, requests) = answer(b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}");
    let body = br#"{"name":"a/b","size":1}"#.to_vec();
    let request = http::Request::post(format!(
        "http://{addr}/v1/snapshots/team%2Fproject/items?cursor=a%2Fb%3D&limit=10"
    ))
    .header("user-agent", "leap0-rust/0.1.0")
    .header("content-type", "application/json")
    .header("content-length", body.len().to_string())
    .header("authorization", format!("Bearer {SECRET}"))
    .body(body.clone())
    .unwrap();
    let response = subject.send(request, TIMEOUT).unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.body(), b"{}");

    let raw = requests.recv().unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, sent_body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    assert_eq!(
        lines.next().unwrap(),
        "POST /v1/snapshots/team%2Fproject/items?cursor=a%2Fb%3D&limit=10 HTTP/1.1"
    );
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (name, value) = l.split_once(':').unwrap();
            (name.to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    let values = |name: &str| -> Vec<&str> {
        headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(values("user-agent"), ["leap0-rust/0.1.0"]);
    assert_eq!(values("content-type"), ["application/json"]);
    assert_eq!(values("content-length"), [body.len().to_string().as_str()]);
    assert_eq!(
        values("authorization"),
        [format!("Bearer {SECRET}").as_str()]
    );
    assert_eq!(values("host"), [addr.to_string().as_str()]);
    assert!(values("accept-encoding").is_empty(), "{head}");
    assert!(values("accept").is_empty(), "{head}");
    assert!(values("transfer-encoding").is_empty(), "{head}");
    assert_eq!(sent_body.as_bytes(), body.as_slice());
}

fn a_get_without_body_carries_no_content_length(subject: &Subject) {
    let (addr, requests) = answer(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    subject
        .send(get(&format!("http://{addr}/v1/snapshots")), TIMEOUT)
        .unwrap();
    let raw = String::from_utf8(requests.recv().unwrap()).unwrap();
    assert!(raw.starts_with("GET /v1/snapshots HTTP/1.1\r\n"), "{raw}");
    let lower = raw.to_ascii_lowercase();
    assert!(!lower.contains("content-length"), "{raw}");
    assert!(!lower.contains("transfer-encoding"), "{raw}");
    assert!(raw.ends_with("\r\n\r\n"), "{raw}");
}

fn an_empty_post_keeps_its_content_length_zero(subject: &Subject) {
    let (addr, requests) = answer(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n");
    let request = http::Request::post(format!("http://{addr}/v1/snapshots/s1/restore"))
        .header("content-length", "0")
        .body(Vec::new())
        .unwrap();
    let response = subject.send(request, TIMEOUT).unwrap();
    assert_eq!(response.status(), 202);
    let raw = String::from_utf8(requests.recv().unwrap())
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        raw.starts_with("post /v1/snapshots/s1/restore http/1.1\r\n"),
        "{raw}"
    );
    assert_eq!(raw.matches("content-length: 0\r\n").count(), 1, "{raw}");
    assert!(!raw.contains("transfer-encoding"), "{raw}");
}

fn a_refused_connection_is_connect_and_not_sent(subject: &Subject) {
    let addr = refused();
    let err = subject.fail(&format!("http://{addr}/"));
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert!(!err.may_have_been_sent, "{err}");
    assert!(!err.message.contains(SECRET));
}

fn an_unknown_host_is_connect_and_not_sent(subject: &Subject) {
    let transport = subject
        .build(&[Setting::ConnectTimeout(Duration::from_secs(2))])
        .unwrap();
    let err = transport
        .send(get("http://leap0-no-such-host.invalid/"), TIMEOUT)
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert!(!err.may_have_been_sent);
}

fn a_uri_without_host_is_refused_locally(subject: &Subject) {
    let request = http::Request::get("/v1/snapshots")
        .body(Vec::new())
        .unwrap();
    let err = subject.send(request, TIMEOUT).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Other, "{err}");
    assert!(!err.may_have_been_sent, "{err}");
}

fn a_slow_server_times_out_within_the_per_call_timeout(subject: &Subject) {
    let (addr, _) = serve_one(|mut stream, _| {
        read_request(&mut stream);
        thread::sleep(Duration::from_secs(2));
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    });
    let err = subject.fail_quickly(&format!("http://{addr}/"));
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
    assert!(err.may_have_been_sent);
}

fn a_body_that_stalls_times_out(subject: &Subject) {
    let (addr, _) = serve_one(|mut stream, _| {
        read_request(&mut stream);
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
            .unwrap();
        thread::sleep(Duration::from_secs(2));
    });
    let err = subject.fail_quickly(&format!("http://{addr}/"));
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
    assert!(err.may_have_been_sent);
}

fn a_timeout_before_the_request_left_is_connect_and_not_sent(subject: &Subject) {
    // A TCP server that never answers the TLS handshake: the request never leaves.
    let (addr, _) = serve_one(|stream, _| {
        thread::sleep(Duration::from_secs(2));
        drop(stream);
    });
    let err = subject.fail_quickly(&format!("https://{addr}/"));
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert!(!err.may_have_been_sent, "{err}");
}

fn a_100_mib_answer_is_body_too_large(subject: &Subject) {
    let addr = endless(
        b"HTTP/1.1 200 OK\r\ncontent-length: 104857600\r\n\r\n",
        false,
    );
    let err = subject.fail(&format!("http://{addr}/"));
    assert_eq!(err.kind, TransportErrorKind::BodyTooLarge, "{err}");
    assert!(err.may_have_been_sent);
}

fn a_100_mib_chunked_answer_is_body_too_large_while_streaming(subject: &Subject) {
    let addr = endless(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
        true,
    );
    let err = subject.fail(&format!("http://{addr}/"));
    assert_eq!(err.kind, TransportErrorKind::BodyTooLarge, "{err}");
    assert!(
        err.message.contains(&(8 * 1024 * 1024).to_string()),
        "{err}"
    );
}

fn the_cap_is_inclusive_and_configurable(subject: &Subject) {
    let transport = subject.build(&[Setting::MaxBodyBytes(5)]).unwrap();
    assert_eq!(transport.max_body_bytes(), 5);
    let (addr, _) = answer(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello");
    let ok = transport
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .unwrap();
    assert_eq!(ok.body(), b"hello");

    // Close-delimited, so only streaming can tell it is too large.
    let (addr, _) = answer(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nhello!");
    let err = transport
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::BodyTooLarge, "{err}");
}

fn a_connection_closed_mid_body_is_reset(subject: &Subject) {
    let (addr, _) = answer(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n{\"partial\":");
    let err = subject.fail(&format!("http://{addr}/"));
    assert_eq!(err.kind, TransportErrorKind::Reset, "{err}");
    assert!(err.may_have_been_sent);
    assert!(!err.message.contains(SECRET));
}

fn a_connection_closed_before_any_answer_is_reset(subject: &Subject) {
    let (addr, _) = serve_one(|mut stream, _| {
        read_request(&mut stream);
    });
    let err = subject.fail(&format!("http://{addr}/"));
    assert_eq!(err.kind, TransportErrorKind::Reset, "{err}");
    assert!(err.may_have_been_sent);
}

fn a_malformed_answer_is_invalid_response(subject: &Subject) {
    let (addr, _) = answer(b"HTTP/1.1 two hundred OK\r\n\r\n");
    let err = subject.fail(&format!("http://{addr}/"));
    assert_eq!(err.kind, TransportErrorKind::InvalidResponse, "{err}");
    assert!(err.may_have_been_sent);
}

/// Whether a connection reaches `listener` (non-blocking) within `wait`.
fn connected_within(listener: &TcpListener, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        match listener.accept() {
            Ok(_) => return true,
            Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(_) => return false,
        }
    }
}

fn a_redirect_is_returned_not_followed(subject: &Subject) {
    // The target would record any connection that reached it.
    let (target, target_addr) = listener();
    target.set_nonblocking(true).unwrap();
    let (addr, _) = answer(format!(
        "HTTP/1.1 302 Found\r\nlocation: http://{target_addr}/stolen\r\ncontent-length: 0\r\n\r\n"
    ));
    let response = subject
        .send(get(&format!("http://{addr}/v1/snapshots")), TIMEOUT)
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"],
        format!("http://{target_addr}/stolen").as_str()
    );
    assert!(
        !connected_within(&target, Duration::from_millis(50)),
        "the redirect was followed"
    );
}

fn connections_are_kept_alive_between_calls(subject: &Subject) {
    // One connection only: a second connection attempt would be refused.
    let (addr, requests) = serve_one(|mut stream, tx| {
        for i in 0..2 {
            let request = read_request(&mut stream);
            let _ = tx.send(request);
            let body = format!("answer {i}");
            write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
        }
    });
    let transport = subject.transport();
    let clone = transport.clone();
    let first = transport
        .send(get(&format!("http://{addr}/1")), TIMEOUT)
        .unwrap();
    let second = clone
        .send(get(&format!("http://{addr}/2")), TIMEOUT)
        .unwrap();
    assert_eq!(first.body(), b"answer 0");
    assert_eq!(second.body(), b"answer 1");
    assert_eq!(requests.iter().count(), 2);
}

fn bad_root_certificates_are_refused_by_the_builder(subject: &Subject) {
    let err = subject
        .build(&[Setting::RootPem(b"not a certificate")])
        .unwrap_err();
    assert!(
        matches!(err, BuildFailure::InvalidCertificate(_)),
        "{err:?}"
    );
    let err = subject.build(&[Setting::RootDer(b"not DER")]).unwrap_err();
    assert!(
        matches!(err, BuildFailure::InvalidCertificate(_)),
        "{err:?}"
    );
}

fn https_works_with_the_certificate_as_a_root(subject: &Subject) {
    let (addr, pem) = https_server();
    let transport = subject.build(&[Setting::RootPem(pem.as_bytes())]).unwrap();
    let response = transport
        .send(get(&format!("https://{addr}/v1/snapshots")), TIMEOUT)
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.body(), b"secure");
}

fn https_works_by_host_name_too(subject: &Subject) {
    let (addr, pem) = https_server();
    let transport = subject.build(&[Setting::RootPem(pem.as_bytes())]).unwrap();
    let url = format!("https://localhost:{}/v1/snapshots", addr.port());
    let response = transport.send(get(&url), TIMEOUT);
    // localhost may resolve to ::1 first, where nothing listens; the connector
    // then tries 127.0.0.1.
    assert_eq!(response.unwrap().body(), b"secure");
}

fn https_fails_as_tls_without_the_certificate(subject: &Subject) {
    let (addr, _) = https_server();
    let err = subject.fail(&format!("https://{addr}/v1/snapshots"));
    assert_eq!(err.kind, TransportErrorKind::Tls, "{err}");
    assert!(!err.may_have_been_sent, "{err}");
    assert!(!err.message.contains(SECRET));
}
