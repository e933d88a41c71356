//! The hyper transport against tiny loopback servers that speak raw HTTP/1.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leap0_core::{AsyncClock, AsyncTransport, Request, Timestamp, TransportErrorKind};
use leap0_hyper::{BuildError, HyperTransport, TokioClock};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const SECRET: &str = "sk-live-0123456789abcdef";
const TIMEOUT: Duration = Duration::from_secs(5);

/// Reads one request (head and `content-length` body) and returns its raw bytes.
async fn read_request(stream: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(0) | Err(_) => return raw,
            Ok(_) => raw.push(byte[0]),
        }
    }
    let head = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse::<usize>().unwrap())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    if stream.read_exact(&mut body).await.is_ok() {
        raw.extend_from_slice(&body);
    }
    raw
}

/// A server that handles exactly one connection with `handler`, then stops listening.
async fn serve_one<F, Fut>(handler: F) -> (SocketAddr, mpsc::UnboundedReceiver<Vec<u8>>)
where
    F: FnOnce(TcpStream, mpsc::UnboundedSender<Vec<u8>>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        drop(listener);
        handler(stream, tx).await;
    });
    (addr, rx)
}

/// A server answering one request with `response` verbatim.
async fn answer(response: &'static [u8]) -> (SocketAddr, mpsc::UnboundedReceiver<Vec<u8>>) {
    serve_one(move |mut stream, tx| async move {
        let request = read_request(&mut stream).await;
        let _ = tx.send(request);
        stream.write_all(response).await.unwrap();
        stream.flush().await.unwrap();
    })
    .await
}

fn get(url: &str) -> Request {
    http::Request::get(url)
        .header("user-agent", "leap0-test/1.0")
        .header("authorization", format!("Bearer {SECRET}"))
        .body(Vec::new())
        .unwrap()
}

fn assert_send_sync<T: Send + Sync + Clone>(_: &T) {}
fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn the_transport_is_shareable_and_its_future_is_send() {
    let transport = HyperTransport::new();
    assert_send_sync(&transport);
    let future = transport.send(get("http://127.0.0.1:9/"), TIMEOUT);
    assert_send(&future);
    drop(future);
}

#[tokio::test]
async fn a_404_with_a_json_body_is_a_response_with_its_headers() {
    let (addr, _) = answer(
        b"HTTP/1.1 404 Not Found\r\n\
          content-type: application/json\r\n\
          x-request-id: req-42\r\n\
          retry-after: 7\r\n\
          date: Wed, 21 Oct 2015 07:28:00 GMT\r\n\
          content-length: 22\r\n\r\n\
          {\"message\":\"no such\"}\n",
    )
    .await;
    let response = HyperTransport::new()
        .send(get(&format!("http://{addr}/v1/snapshots/nope")), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-request-id"], "req-42");
    assert_eq!(headers["retry-after"], "7");
    assert_eq!(headers["date"], "Wed, 21 Oct 2015 07:28:00 GMT");
    assert_eq!(response.body(), b"{\"message\":\"no such\"}\n");
}

#[tokio::test]
async fn a_5xx_is_a_response_too() {
    let (addr, _) = answer(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n").await;
    let response = HyperTransport::new()
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.body().is_empty());
}

#[tokio::test]
async fn the_request_arrives_byte_faithful() {
    let (addr, mut requests) = answer(b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}").await;
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
    let response = HyperTransport::new().send(request, TIMEOUT).await.unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.body(), b"{}");

    let raw = requests.recv().await.unwrap();
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

#[tokio::test]
async fn a_get_without_body_carries_no_content_length() {
    let (addr, mut requests) = answer(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
    HyperTransport::new()
        .send(get(&format!("http://{addr}/v1/snapshots")), TIMEOUT)
        .await
        .unwrap();
    let raw = String::from_utf8(requests.recv().await.unwrap()).unwrap();
    assert!(raw.starts_with("GET /v1/snapshots HTTP/1.1\r\n"), "{raw}");
    let lower = raw.to_ascii_lowercase();
    assert!(!lower.contains("content-length"), "{raw}");
    assert!(!lower.contains("transfer-encoding"), "{raw}");
    assert!(raw.ends_with("\r\n\r\n"), "{raw}");
}

#[tokio::test]
async fn an_empty_post_keeps_its_content_length_zero() {
    let (addr, mut requests) = answer(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n").await;
    let request = http::Request::post(format!("http://{addr}/v1/snapshots/s1/restore"))
        .header("content-length", "0")
        .body(Vec::new())
        .unwrap();
    let response = HyperTransport::new().send(request, TIMEOUT).await.unwrap();
    assert_eq!(response.status(), 202);
    let raw = String::from_utf8(requests.recv().await.unwrap())
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        raw.starts_with("post /v1/snapshots/s1/restore http/1.1\r\n"),
        "{raw}"
    );
    assert_eq!(raw.matches("content-length: 0\r\n").count(), 1, "{raw}");
    assert!(!raw.contains("transfer-encoding"), "{raw}");
}

#[tokio::test]
async fn a_refused_connection_is_connect_and_not_sent() {
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let err = HyperTransport::new()
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert!(!err.may_have_been_sent, "{err}");
    assert!(!err.message.contains(SECRET));
}

#[tokio::test]
async fn an_unknown_host_is_connect_and_not_sent() {
    let transport = HyperTransport::builder()
        .connect_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let err = transport
        .send(get("http://leap0-no-such-host.invalid/"), TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert!(!err.may_have_been_sent);
}

#[tokio::test]
async fn a_uri_without_host_is_refused_locally() {
    let request = http::Request::get("/v1/snapshots")
        .body(Vec::new())
        .unwrap();
    let err = HyperTransport::new()
        .send(request, TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Other, "{err}");
    assert!(!err.may_have_been_sent, "{err}");
}

#[tokio::test]
async fn a_slow_server_times_out_within_the_per_call_timeout() {
    let (addr, _) = serve_one(|mut stream, _| async move {
        read_request(&mut stream).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .await;
    })
    .await;
    let started = Instant::now();
    let err = HyperTransport::new()
        .send(get(&format!("http://{addr}/")), Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
    assert!(err.may_have_been_sent);
}

#[tokio::test]
async fn a_body_that_stalls_times_out() {
    let (addr, _) = serve_one(|mut stream, _| async move {
        read_request(&mut stream).await;
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
    })
    .await;
    let started = Instant::now();
    let err = HyperTransport::new()
        .send(get(&format!("http://{addr}/")), Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
    assert!(err.may_have_been_sent);
}

#[tokio::test]
async fn a_timeout_before_the_request_left_is_connect_and_not_sent() {
    // A TCP server that never answers the TLS handshake: the request never leaves.
    let (addr, _) = serve_one(|stream, _| async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        drop(stream);
    })
    .await;
    let started = Instant::now();
    let err = HyperTransport::new()
        .send(get(&format!("https://{addr}/")), Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert!(!err.may_have_been_sent, "{err}");
}

/// Answers with `head`, then writes zeros until the client goes away.
async fn endless(head: &'static [u8], chunked: bool) -> SocketAddr {
    serve_one(move |mut stream, _| async move {
        read_request(&mut stream).await;
        stream.write_all(head).await.unwrap();
        let chunk = vec![0u8; 64 * 1024];
        let mut written = 0usize;
        while written < 100 * 1024 * 1024 {
            let result = if chunked {
                write_chunk(&mut stream, &chunk).await
            } else {
                stream.write_all(&chunk).await
            };
            if result.is_err() {
                return;
            }
            written += chunk.len();
        }
    })
    .await
    .0
}

async fn write_chunk(stream: &mut (impl AsyncWrite + Unpin), chunk: &[u8]) -> std::io::Result<()> {
    stream
        .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
        .await?;
    stream.write_all(chunk).await?;
    stream.write_all(b"\r\n").await
}

#[tokio::test]
async fn a_100_mib_answer_is_body_too_large() {
    let addr = endless(
        b"HTTP/1.1 200 OK\r\ncontent-length: 104857600\r\n\r\n",
        false,
    )
    .await;
    let err = HyperTransport::new()
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::BodyTooLarge, "{err}");
    assert!(err.may_have_been_sent);
}

#[tokio::test]
async fn a_100_mib_chunked_answer_is_body_too_large_while_streaming() {
    let addr = endless(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
        true,
    )
    .await;
    let err = HyperTransport::new()
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::BodyTooLarge, "{err}");
    assert!(
        err.message.contains(&(8 * 1024 * 1024).to_string()),
        "{err}"
    );
}

#[tokio::test]
async fn the_cap_is_inclusive_and_configurable() {
    let transport = HyperTransport::builder().max_body_bytes(5).build().unwrap();
    assert_eq!(transport.max_body_bytes(), 5);
    let (addr, _) = answer(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello").await;
    let ok = transport
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(ok.body(), b"hello");

    // Close-delimited, so only streaming can tell it is too large.
    let (addr, _) = answer(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nhello!").await;
    let err = transport
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::BodyTooLarge, "{err}");
}

#[tokio::test]
async fn a_connection_closed_mid_body_is_reset() {
    let (addr, _) = answer(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n{\"partial\":").await;
    let err = HyperTransport::new()
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Reset, "{err}");
    assert!(err.may_have_been_sent);
    assert!(!err.message.contains(SECRET));
}

#[tokio::test]
async fn a_connection_closed_before_any_answer_is_reset() {
    let (addr, _) = serve_one(|mut stream, _| async move {
        read_request(&mut stream).await;
    })
    .await;
    let err = HyperTransport::new()
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Reset, "{err}");
    assert!(err.may_have_been_sent);
}

#[tokio::test]
async fn a_malformed_answer_is_invalid_response() {
    let (addr, _) = answer(b"HTTP/1.1 two hundred OK\r\n\r\n").await;
    let err = HyperTransport::new()
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::InvalidResponse, "{err}");
    assert!(err.may_have_been_sent);
}

#[tokio::test]
async fn a_redirect_is_returned_not_followed() {
    // The target would record any connection that reached it.
    let target = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target_addr = target.local_addr().unwrap();
    let location: &'static str = Box::leak(
        format!(
            "HTTP/1.1 302 Found\r\nlocation: http://{target_addr}/stolen\r\ncontent-length: 0\r\n\r\n"
        )
        .into_boxed_str(),
    );
    let (addr, _) = answer(location.as_bytes()).await;
    let response = HyperTransport::new()
        .send(get(&format!("http://{addr}/v1/snapshots")), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"],
        format!("http://{target_addr}/stolen").as_str()
    );
    let followed = tokio::time::timeout(Duration::from_millis(50), target.accept()).await;
    assert!(followed.is_err(), "the redirect was followed");
}

#[tokio::test]
async fn connections_are_kept_alive_between_calls() {
    // One connection only: a second connection attempt would be refused.
    let (addr, mut requests) = serve_one(|mut stream, tx| async move {
        for i in 0..2 {
            let request = read_request(&mut stream).await;
            let _ = tx.send(request);
            let body = format!("answer {i}");
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(answer.as_bytes()).await.unwrap();
        }
    })
    .await;
    let transport = HyperTransport::new();
    let clone = transport.clone();
    let first = transport
        .send(get(&format!("http://{addr}/1")), TIMEOUT)
        .await
        .unwrap();
    let second = clone
        .send(get(&format!("http://{addr}/2")), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(first.body(), b"answer 0");
    assert_eq!(second.body(), b"answer 1");
    assert!(requests.recv().await.is_some());
    assert!(requests.recv().await.is_some());
}

#[tokio::test]
async fn builder_inputs_are_checked() {
    let err = HyperTransport::builder()
        .add_root_certificate_pem(b"not a certificate")
        .unwrap_err();
    assert!(matches!(err, BuildError::InvalidCertificate(_)), "{err}");
    let err = HyperTransport::builder()
        .add_root_certificate_der(b"not DER")
        .unwrap_err();
    assert!(matches!(err, BuildError::InvalidCertificate(_)), "{err}");
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

mod tls {
    use super::*;
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    /// An HTTPS server for one connection, with a fresh self-signed certificate for
    /// 127.0.0.1 and localhost. Returns its address and the certificate's PEM.
    async fn https_server() -> (SocketAddr, String) {
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
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (addr, _) = serve_one(move |stream, _| async move {
            let Ok(mut tls) = acceptor.accept(stream).await else {
                return;
            };
            read_request(&mut tls).await;
            let _ = tls
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecure")
                .await;
            let _ = tls.shutdown().await;
        })
        .await;
        (addr, pem)
    }

    #[tokio::test]
    async fn https_works_with_the_certificate_as_a_root() {
        let (addr, pem) = https_server().await;
        let transport = HyperTransport::builder()
            .add_root_certificate_pem(pem.as_bytes())
            .unwrap()
            .build()
            .unwrap();
        let response = transport
            .send(get(&format!("https://{addr}/v1/snapshots")), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.body(), b"secure");
    }

    #[tokio::test]
    async fn https_works_by_host_name_too() {
        let (addr, pem) = https_server().await;
        let transport = HyperTransport::builder()
            .add_root_certificate_pem(pem.as_bytes())
            .unwrap()
            .build()
            .unwrap();
        let url = format!("https://localhost:{}/v1/snapshots", addr.port());
        let response = transport.send(get(&url), TIMEOUT).await;
        // localhost may resolve to ::1 first, where nothing listens; the connector
        // then tries 127.0.0.1.
        assert_eq!(response.unwrap().body(), b"secure");
    }

    #[tokio::test]
    async fn https_fails_as_tls_without_the_certificate() {
        let (addr, _) = https_server().await;
        let err = HyperTransport::new()
            .send(get(&format!("https://{addr}/v1/snapshots")), TIMEOUT)
            .await
            .unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::Tls, "{err}");
        assert!(!err.may_have_been_sent, "{err}");
        assert!(!err.message.contains(SECRET));
    }
}
