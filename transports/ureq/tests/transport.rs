//! The ureq transport against tiny loopback servers that speak raw HTTP/1.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use leap0_core::{Clock, Request, Timestamp, Transport, TransportErrorKind};
use leap0_ureq::{BuildError, SystemClock, UreqTransport};

const SECRET: &str = "sk-live-0123456789abcdef";
const TIMEOUT: Duration = Duration::from_secs(5);

/// Reads one request (head and `content-length` body) and returns its raw bytes.
fn read_request(stream: &mut impl Read) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) | Err(_) => return raw,
            Ok(_) => {}
        }
        raw.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse::<usize>().unwrap())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    if stream.read_exact(&mut body).is_ok() {
        raw.extend_from_slice(&body);
    }
    raw
}

/// A server that handles exactly one connection with `handler`, then stops listening.
/// The raw bytes of the requests it read are sent on the returned channel.
fn serve_one<F>(handler: F) -> (SocketAddr, mpsc::Receiver<Vec<u8>>)
where
    F: FnOnce(TcpStream, &mpsc::Sender<Vec<u8>>) + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        drop(listener);
        handler(stream, &tx);
    });
    (addr, rx)
}

/// A server answering one request with `response` verbatim.
fn answer(response: &'static [u8]) -> (SocketAddr, mpsc::Receiver<Vec<u8>>) {
    serve_one(move |mut stream, tx| {
        let request = read_request(&mut stream);
        let _ = tx.send(request);
        stream.write_all(response).unwrap();
        stream.flush().unwrap();
    })
}

fn get(url: &str) -> Request {
    http::Request::get(url)
        .header("user-agent", "leap0-test/1.0")
        .header("authorization", format!("Bearer {SECRET}"))
        .body(Vec::new())
        .unwrap()
}

#[test]
fn a_404_with_a_json_body_is_a_response_with_its_headers() {
    let (addr, _) = answer(
        b"HTTP/1.1 404 Not Found\r\n\
          content-type: application/json\r\n\
          x-request-id: req-42\r\n\
          retry-after: 7\r\n\
          date: Wed, 21 Oct 2015 07:28:00 GMT\r\n\
          content-length: 22\r\n\r\n\
          {\"message\":\"no such\"}\n",
    );
    let transport = UreqTransport::new();
    let response = transport
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

#[test]
fn a_5xx_is_a_response_too() {
    let (addr, _) = answer(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n");
    let response = UreqTransport::new()
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.body().is_empty());
}

#[test]
fn the_request_arrives_byte_faithful() {
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
    let response = UreqTransport::new().send(request, TIMEOUT).unwrap();
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

#[test]
fn a_get_without_body_carries_no_content_length() {
    let (addr, requests) = answer(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    UreqTransport::new()
        .send(get(&format!("http://{addr}/v1/snapshots")), TIMEOUT)
        .unwrap();
    let raw = String::from_utf8(requests.recv().unwrap()).unwrap();
    assert!(raw.starts_with("GET /v1/snapshots HTTP/1.1\r\n"), "{raw}");
    let lower = raw.to_ascii_lowercase();
    assert!(!lower.contains("content-length"), "{raw}");
    assert!(!lower.contains("transfer-encoding"), "{raw}");
    assert!(raw.ends_with("\r\n\r\n"), "{raw}");
}

#[test]
fn an_empty_post_keeps_its_content_length_zero() {
    let (addr, requests) = answer(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n");
    let request = http::Request::post(format!("http://{addr}/v1/snapshots/s1/restore"))
        .header("content-length", "0")
        .body(Vec::new())
        .unwrap();
    let response = UreqTransport::new().send(request, TIMEOUT).unwrap();
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

#[test]
fn a_refused_connection_is_connect_and_not_sent() {
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let err = UreqTransport::new()
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert!(!err.may_have_been_sent, "{err}");
    assert!(!err.message.contains(SECRET));
}

#[test]
fn an_unknown_host_is_connect_and_not_sent() {
    let transport = UreqTransport::builder()
        .connect_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let err = transport
        .send(get("http://leap0-no-such-host.invalid/"), TIMEOUT)
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert!(!err.may_have_been_sent);
}

#[test]
fn a_slow_server_times_out_within_the_per_call_timeout() {
    let (addr, _) = serve_one(|mut stream, _| {
        read_request(&mut stream);
        thread::sleep(Duration::from_secs(2));
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    });
    let started = Instant::now();
    let err = UreqTransport::new()
        .send(get(&format!("http://{addr}/")), Duration::from_millis(200))
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
    assert!(err.may_have_been_sent);
}

#[test]
fn a_body_that_stalls_times_out() {
    let (addr, _) = serve_one(|mut stream, _| {
        read_request(&mut stream);
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
            .unwrap();
        thread::sleep(Duration::from_secs(2));
    });
    let started = Instant::now();
    let err = UreqTransport::new()
        .send(get(&format!("http://{addr}/")), Duration::from_millis(200))
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
    assert!(err.may_have_been_sent);
}

#[test]
fn a_timeout_before_the_request_left_is_connect_and_not_sent() {
    // A TCP server that never answers the TLS handshake: the request never leaves.
    let (addr, _) = serve_one(|stream, _| {
        thread::sleep(Duration::from_secs(2));
        drop(stream);
    });
    let started = Instant::now();
    let err = UreqTransport::new()
        .send(get(&format!("https://{addr}/")), Duration::from_millis(200))
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert!(!err.may_have_been_sent, "{err}");
}

/// Answers with `head`, then writes zeros until the client goes away.
fn endless(head: &'static [u8], chunked: bool) -> SocketAddr {
    serve_one(move |mut stream, _| {
        read_request(&mut stream);
        stream.write_all(head).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        let mut written = 0usize;
        while written < 100 * 1024 * 1024 {
            let result = if chunked {
                stream
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .and_then(|()| stream.write_all(&chunk))
                    .and_then(|()| stream.write_all(b"\r\n"))
            } else {
                stream.write_all(&chunk)
            };
            if result.is_err() {
                return;
            }
            written += chunk.len();
        }
    })
    .0
}

#[test]
fn a_100_mib_answer_is_body_too_large() {
    let addr = endless(
        b"HTTP/1.1 200 OK\r\ncontent-length: 104857600\r\n\r\n",
        false,
    );
    let err = UreqTransport::new()
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::BodyTooLarge, "{err}");
    assert!(err.may_have_been_sent);
}

#[test]
fn a_100_mib_chunked_answer_is_body_too_large_while_streaming() {
    let addr = endless(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
        true,
    );
    let err = UreqTransport::new()
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::BodyTooLarge, "{err}");
    assert!(
        err.message.contains(&(8 * 1024 * 1024).to_string()),
        "{err}"
    );
}

#[test]
fn the_cap_is_inclusive_and_configurable() {
    let transport = UreqTransport::builder().max_body_bytes(5).build().unwrap();
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

#[test]
fn a_connection_closed_mid_body_is_reset() {
    let (addr, _) = answer(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n{\"partial\":");
    let err = UreqTransport::new()
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Reset, "{err}");
    assert!(err.may_have_been_sent);
    assert!(!err.message.contains(SECRET));
}

#[test]
fn a_connection_closed_before_any_answer_is_reset() {
    let (addr, _) = serve_one(|mut stream, _| {
        read_request(&mut stream);
    });
    let err = UreqTransport::new()
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Reset, "{err}");
    assert!(err.may_have_been_sent);
}

#[test]
fn a_malformed_answer_is_invalid_response() {
    let (addr, _) = answer(b"HTTP/1.1 two hundred OK\r\n\r\n");
    let err = UreqTransport::new()
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::InvalidResponse, "{err}");
    assert!(err.may_have_been_sent);
}

#[test]
fn a_redirect_is_returned_not_followed() {
    // The target would record any request that reached it.
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let target_addr = target.local_addr().unwrap();
    target.set_nonblocking(true).unwrap();
    let location: &'static str = Box::leak(
        format!(
            "HTTP/1.1 302 Found\r\nlocation: http://{target_addr}/stolen\r\ncontent-length: 0\r\n\r\n"
        )
        .into_boxed_str(),
    );
    let (addr, _) = answer(location.as_bytes());
    let response = UreqTransport::new()
        .send(get(&format!("http://{addr}/v1/snapshots")), TIMEOUT)
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"],
        format!("http://{target_addr}/stolen").as_str()
    );
    assert!(target.accept().is_err(), "the redirect was followed");
}

#[test]
fn connections_are_kept_alive_between_calls() {
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
    let transport = UreqTransport::new();
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

#[test]
fn debug_output_holds_no_secrets() {
    let transport = UreqTransport::builder()
        .proxy("http://user:hunter2@127.0.0.1:3128")
        .unwrap()
        .build()
        .unwrap();
    let debug = format!("{transport:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("proxy: true"), "{debug}");
}

#[test]
fn builder_inputs_are_checked() {
    let err = UreqTransport::builder()
        .add_root_certificate_pem(b"not a certificate")
        .unwrap_err();
    assert!(matches!(err, BuildError::InvalidCertificate(_)), "{err}");
    let err = UreqTransport::builder()
        .add_root_certificate_der(b"not DER")
        .unwrap_err();
    assert!(matches!(err, BuildError::InvalidCertificate(_)), "{err}");
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
    let transport = UreqTransport::builder()
        .proxy(&format!("http://{proxy}"))
        .unwrap()
        .build()
        .unwrap();
    let response = transport
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
    let transport = UreqTransport::builder()
        .proxy(&format!("http://{proxy}"))
        .unwrap()
        .build()
        .unwrap();
    let err = transport
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

mod tls {
    use super::*;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    /// An HTTPS server for one connection, with a fresh self-signed certificate for
    /// 127.0.0.1 and localhost. Returns its address and the certificate's PEM.
    fn https_server() -> (SocketAddr, String) {
        let certified =
            rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
                .unwrap();
        let pem = certified.cert.pem();
        let chain: Vec<CertificateDer<'static>> = vec![certified.cert.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
        let (addr, _) = serve_one(move |stream, _| {
            let connection = rustls::ServerConnection::new(Arc::new(config)).unwrap();
            let mut tls = rustls::StreamOwned::new(connection, stream);
            read_request(&mut tls);
            let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecure");
            let _ = tls.flush();
            tls.conn.send_close_notify();
            let _ = tls.flush();
        });
        (addr, pem)
    }

    #[test]
    fn https_works_with_the_certificate_as_a_root() {
        let (addr, pem) = https_server();
        let transport = UreqTransport::builder()
            .add_root_certificate_pem(pem.as_bytes())
            .unwrap()
            .build()
            .unwrap();
        let response = transport
            .send(get(&format!("https://{addr}/v1/snapshots")), TIMEOUT)
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.body(), b"secure");
    }

    #[test]
    fn https_fails_as_tls_without_the_certificate() {
        let (addr, _) = https_server();
        let err = UreqTransport::new()
            .send(get(&format!("https://{addr}/v1/snapshots")), TIMEOUT)
            .unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::Tls, "{err}");
        assert!(!err.may_have_been_sent, "{err}");
        assert!(!err.message.contains(SECRET));
    }
}
