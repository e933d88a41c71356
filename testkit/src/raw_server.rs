//! Tiny loopback servers that speak raw HTTP/1.1, for testing transports byte by
//! byte: each handles exactly one connection on its own thread, so a transport
//! under test sees exactly what the handler writes, and a second connection
//! attempt is refused.
//!
//! The servers are plain `std::net` threads, so they serve blocking and async
//! transports alike (an async transport only needs its own runtime). A helper
//! that cannot go on (no loopback socket, a certificate that does not build)
//! panics with a message saying why; a failed write to a client that went away
//! is not an error.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The raw bytes of each request a server read, in order.
pub type Requests = mpsc::Receiver<Vec<u8>>;

/// The API key the requests of [`get`] carry; no error message may repeat it.
pub const SECRET: &str = "sk-live-0123456789abcdef";

/// A GET of `url` with a user agent and an `authorization: Bearer` [`SECRET`].
///
/// # Panics
///
/// If `url` is not a valid request URI.
pub fn get(url: &str) -> http::Request<Vec<u8>> {
    let request = http::Request::get(url)
        .header("user-agent", "leap0-test/1.0")
        .header("authorization", format!("Bearer {SECRET}"))
        .body(Vec::new());
    match request {
        Ok(request) => request,
        Err(e) => panic!("{url:?} does not make a request: {e}"),
    }
}

/// Reads one request (head and `content-length` body) and returns its raw bytes.
///
/// Stops early, returning what it has, when the stream ends or fails.
///
/// # Panics
///
/// If the request declares a `content-length` that is not a number.
pub fn read_request(stream: &mut impl Read) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) | Err(_) => return raw,
            Ok(_) => raw.push(byte[0]),
        }
    }
    let head = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| match v.trim().parse::<usize>() {
            Ok(length) => length,
            Err(e) => panic!("the request's content-length {v:?} is not a number: {e}"),
        });
    let mut body = vec![0u8; length];
    if stream.read_exact(&mut body).is_ok() {
        raw.extend_from_slice(&body);
    }
    raw
}

/// A loopback listener on a free port.
///
/// # Panics
///
/// If no loopback port can be bound.
pub fn listener() -> (TcpListener, SocketAddr) {
    let listener = match TcpListener::bind("127.0.0.1:0") {
        Ok(listener) => listener,
        Err(e) => panic!("cannot listen on the loopback interface: {e}"),
    };
    match listener.local_addr() {
        Ok(addr) => (listener, addr),
        Err(e) => panic!("the loopback listener has no address: {e}"),
    }
}

/// A loopback address where nothing listens, so connecting to it is refused.
pub fn refused() -> SocketAddr {
    listener().1
}

/// A server that handles exactly one connection with `handler` on its own
/// thread, then stops listening. The handler sends the raw requests it reads on
/// the channel whose receiving end is returned; the channel closes when the
/// handler returns.
pub fn serve_one<F>(handler: F) -> (SocketAddr, Requests)
where
    F: FnOnce(TcpStream, &mpsc::Sender<Vec<u8>>) + Send + 'static,
{
    let (listener, addr) = listener();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        // A failed accept leaves the client without a server, which its test sees.
        if let Ok((stream, _)) = listener.accept() {
            drop(listener);
            handler(stream, &tx);
        }
    });
    (addr, rx)
}

/// A server that answers every request on every connection (keep-alive) with
/// what `answer` makes of the request's raw bytes (a whole HTTP response),
/// until the process ends. Returns its address and a counter of requests read.
pub fn serve_many<F>(answer: F) -> (SocketAddr, Arc<AtomicUsize>)
where
    F: Fn(&[u8]) -> Vec<u8> + Send + Sync + 'static,
{
    let (listener, addr) = listener();
    let answer = Arc::new(answer);
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let answer = Arc::clone(&answer);
            let seen = Arc::clone(&seen);
            thread::spawn(move || {
                // Buffered: the request is read a byte at a time, without a
                // system call per byte (clients send one request at a time).
                let mut reader = std::io::BufReader::new(stream);
                loop {
                    let request = read_request(&mut reader);
                    if request.is_empty() {
                        return;
                    }
                    seen.fetch_add(1, Ordering::SeqCst);
                    if reader.get_mut().write_all(&answer(&request)).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, count)
}

/// A whole `200 OK` (or `status`) HTTP response with a JSON body.
pub fn json_response(status: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A server answering one request with `response`, verbatim, then closing.
pub fn answer(response: impl AsRef<[u8]> + Send + 'static) -> (SocketAddr, Requests) {
    serve_one(move |mut stream, tx| {
        let request = read_request(&mut stream);
        let _ = tx.send(request);
        let _ = stream.write_all(response.as_ref());
        let _ = stream.flush();
    })
}

/// A server that answers one request with `head`, then writes zeros (100 MiB
/// at most) until the client goes away: as a `chunked` body, in 64 KiB chunks,
/// or else as raw bytes.
pub fn endless(head: &'static [u8], chunked: bool) -> SocketAddr {
    serve_one(move |mut stream, _| {
        read_request(&mut stream);
        if stream.write_all(head).is_err() {
            return;
        }
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

/// An HTTPS server for one connection, with a fresh self-signed certificate for
/// `127.0.0.1` and `localhost`: it reads one request and answers `200 OK` with
/// the body `secure`. Returns its address and the certificate's PEM.
///
/// # Panics
///
/// If the certificate or the TLS configuration cannot be built.
pub fn https_server() -> (SocketAddr, String) {
    let certified =
        match rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]) {
            Ok(certified) => certified,
            Err(e) => panic!("cannot generate a self-signed certificate: {e}"),
        };
    let pem = certified.cert.pem();
    let chain: Vec<CertificateDer<'static>> = vec![certified.cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key));
    let config = match config {
        Ok(config) => Arc::new(config),
        Err(e) => panic!("cannot build the test server's TLS configuration: {e}"),
    };
    let (addr, _) = serve_one(move |stream, _| {
        let Ok(connection) = rustls::ServerConnection::new(config) else {
            return;
        };
        let mut tls = rustls::StreamOwned::new(connection, stream);
        read_request(&mut tls);
        let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecure");
        let _ = tls.flush();
        tls.conn.send_close_notify();
        let _ = tls.flush();
    });
    (addr, pem)
}
