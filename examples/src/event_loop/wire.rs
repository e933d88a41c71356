//! HTTP/1.1 on the wire for the event loop: where to connect, the bytes of a
//! request, and an answer parsed (with `httparse`) into the core's [`Response`].

use std::net::{IpAddr, SocketAddr};

use leap0_core::http::header::{CONNECTION, CONTENT_LENGTH, HOST};
use leap0_core::http::{self, Method};
use leap0_core::transport::{Request, Response, TransportError, TransportErrorKind};

/// Most header lines accepted in an answer's head.
const MAX_HEADERS: usize = 64;

/// Largest answer head accepted: a peer that never ends its head cannot make
/// the loop buffer without bound.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The address to connect to for `request`. The authority must be an IP
/// address: resolving a name blocks, and nothing may block an event loop (a
/// real one resolves names ahead of time, or on a resolver of its own).
pub(crate) fn target(request: &Request) -> Result<SocketAddr, TransportError> {
    let uri = request.uri();
    if uri.scheme_str() != Some("http") {
        return Err(TransportError::new(
            TransportErrorKind::Other,
            false,
            "this event loop speaks plain http only (no TLS)",
        ));
    }
    let authority = uri
        .authority()
        .ok_or_else(|| TransportError::connect("the request has no host"))?;
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let ip: IpAddr = host.parse().map_err(|_| {
        TransportError::connect(format!(
            "{host} is not an IP address, and this event loop does not resolve names"
        ))
    })?;
    Ok(SocketAddr::new(ip, authority.port_u16().unwrap_or(80)))
}

/// The request as HTTP/1.1 bytes: head, then body.
///
/// It says `connection: close`: each attempt gets a connection of its own, so
/// an attempt that timed out or broke never leaves a half-read connection for
/// the next one to trip over, and a retry always starts clean. On loopback a
/// connect costs microseconds; a loop talking to a distant server would keep
/// connections alive and pool them instead.
pub(crate) fn encode(request: &Request) -> Vec<u8> {
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let body = request.body();
    let mut out = Vec::with_capacity(512 + body.len());
    out.extend_from_slice(request.method().as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if !request.headers().contains_key(HOST)
        && let Some(authority) = request.uri().authority()
    {
        header(&mut out, "host", authority.as_str().as_bytes());
    }
    for (name, value) in request.headers() {
        if name != CONNECTION {
            // `HeaderValue` refuses CR and LF, so no value can break the head.
            header(&mut out, name.as_str(), value.as_bytes());
        }
    }
    header(&mut out, "connection", b"close");
    let needs_length =
        !body.is_empty() || [Method::POST, Method::PUT, Method::PATCH].contains(request.method());
    if needs_length && !request.headers().contains_key(CONTENT_LENGTH) {
        header(
            &mut out,
            "content-length",
            body.len().to_string().as_bytes(),
        );
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

fn header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// The answer in `input`, once it is complete: `Ok(None)` while more bytes are
/// needed. `closed` says the peer has closed its side, so nothing more will
/// come. A body larger than `max_body` bytes is refused as soon as that is
/// known.
pub(crate) fn parse(
    input: &[u8],
    closed: bool,
    max_body: u64,
) -> Result<Option<Response>, TransportError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Response::new(&mut headers);
    let head_len = match head.parse(input) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if closed => {
            return Err(TransportError::reset(
                "the connection closed before the answer's head was complete",
            ));
        }
        Ok(httparse::Status::Partial) if input.len() > MAX_HEAD_BYTES => {
            return Err(invalid(format!(
                "the answer's head is longer than {MAX_HEAD_BYTES} bytes"
            )));
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(invalid(format!("not an HTTP/1.1 answer: {e}"))),
    };
    let status = head.code.unwrap_or(0);
    if (100..200).contains(&status) {
        // An interim answer (we never ask for one): the real answer follows it.
        return parse(&input[head_len..], closed, max_body);
    }

    let mut response = http::Response::builder().status(status);
    let mut length: Option<u64> = None;
    let mut chunked = false;
    for h in head.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| invalid("an unreadable content-length"))?;
            if length.is_some_and(|earlier| earlier != value) {
                return Err(invalid("two different content-lengths"));
            }
            length = Some(value);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = String::from_utf8_lossy(h.value)
                .to_ascii_lowercase()
                .contains("chunked");
        }
        response = response.header(h.name, h.value);
    }

    let rest = &input[head_len..];
    let body = if status == 204 || status == 304 {
        Vec::new()
    } else if chunked {
        match dechunk(rest, max_body)? {
            Some(body) => body,
            None if closed => return Err(truncated()),
            None => return Ok(None),
        }
    } else if let Some(length) = length {
        if length > max_body {
            return Err(TransportError::body_too_large(max_body));
        }
        // `length <= max_body`, which is far below usize::MAX here.
        let length = usize::try_from(length).unwrap_or(usize::MAX);
        match rest.get(..length) {
            Some(body) => body.to_vec(),
            None if closed => return Err(truncated()),
            None => return Ok(None),
        }
    } else {
        // No length: the body runs until the server closes (we asked it to).
        if rest.len() as u64 > max_body {
            return Err(TransportError::body_too_large(max_body));
        }
        if !closed {
            return Ok(None);
        }
        rest.to_vec()
    };
    response
        .body(body)
        .map(Some)
        .map_err(|e| invalid(format!("an unusable answer head: {e}")))
}

/// A chunked body, once its last chunk and trailers are all in `data`.
fn dechunk(mut data: &[u8], max_body: u64) -> Result<Option<Vec<u8>>, TransportError> {
    let mut body = Vec::new();
    loop {
        let (start, size) = match httparse::parse_chunk_size(data) {
            Ok(httparse::Status::Complete(found)) => found,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(invalid("an unreadable chunk size")),
        };
        data = &data[start..];
        if size == 0 {
            // Trailer lines, if any, up to an empty line: headers in form.
            let mut trailers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            return match httparse::parse_headers(data, &mut trailers) {
                Ok(httparse::Status::Complete(_)) => Ok(Some(body)),
                Ok(httparse::Status::Partial) => Ok(None),
                Err(e) => Err(invalid(format!("unreadable trailers: {e}"))),
            };
        }
        if (body.len() as u64).saturating_add(size) > max_body {
            return Err(TransportError::body_too_large(max_body));
        }
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let Some(chunk) = data.get(..size) else {
            return Ok(None);
        };
        match data.get(size..size + 2) {
            None => return Ok(None),
            Some(b"\r\n") => {}
            Some(_) => return Err(invalid("a chunk not followed by CRLF")),
        }
        body.extend_from_slice(chunk);
        data = &data[size + 2..];
    }
}

fn invalid(message: impl Into<String>) -> TransportError {
    TransportError::new(TransportErrorKind::InvalidResponse, true, message)
}

fn truncated() -> TransportError {
    TransportError::reset("the connection closed before the whole body arrived")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn post(uri: &str, body: &str) -> Request {
        http::Request::builder()
            .method("POST")
            .uri(uri)
            .header("authorization", "Bearer k")
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    #[test]
    fn a_request_becomes_a_head_with_host_length_and_close() {
        let bytes = encode(&post("http://127.0.0.1:8080/v1/x?a=1", "{}"));
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "POST /v1/x?a=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nauthorization: Bearer k\r\n\
             connection: close\r\ncontent-length: 2\r\n\r\n{}"
        );
        let get = http::Request::get("http://127.0.0.1:1/v1/y")
            .body(Vec::new())
            .unwrap();
        let text = String::from_utf8(encode(&get)).unwrap();
        assert!(!text.contains("content-length"), "{text}");
    }

    #[test]
    fn only_plain_http_to_an_ip_address_is_a_target() {
        let ok = target(&post("http://127.0.0.1:9/", "")).unwrap();
        assert_eq!(ok, "127.0.0.1:9".parse().unwrap());
        let v6 = target(&post("http://[::1]:9/", "")).unwrap();
        assert_eq!(v6, "[::1]:9".parse().unwrap());
        let tls = target(&post("https://127.0.0.1/", "")).unwrap_err();
        assert!(!tls.may_have_been_sent);
        let name = target(&post("http://localhost:9/", "")).unwrap_err();
        assert_eq!(name.kind, TransportErrorKind::Connect);
    }

    #[test]
    fn an_answer_with_a_length_waits_for_its_whole_body() {
        let full = b"HTTP/1.1 201 Created\r\ncontent-length: 5\r\nx-a: b\r\n\r\nhello";
        assert!(parse(&full[..20], false, 100).unwrap().is_none());
        assert!(
            parse(&full[..full.len() - 1], false, 100)
                .unwrap()
                .is_none()
        );
        let cut = parse(&full[..full.len() - 1], true, 100).unwrap_err();
        assert_eq!(cut.kind, TransportErrorKind::Reset);
        let response = parse(full, false, 100).unwrap().unwrap();
        assert_eq!(response.status(), 201);
        assert_eq!(response.headers()["x-a"], "b");
        assert_eq!(response.body(), b"hello");
    }

    #[test]
    fn chunked_bodies_are_joined_and_an_interim_answer_is_skipped() {
        let full =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
                     3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nx-trailer: 1\r\n\r\n";
        for end in [full.len() - 1, full.len() - 3, full.len() - 20] {
            assert!(parse(&full[..end], false, 100).unwrap().is_none(), "{end}");
        }
        let response = parse(full, false, 100).unwrap().unwrap();
        assert_eq!(
            (response.status().as_u16(), response.body().as_slice()),
            (200, &b"abcde"[..])
        );
        let too_big = parse(full, false, 4).unwrap_err();
        assert_eq!(too_big.kind, TransportErrorKind::BodyTooLarge);
    }

    #[test]
    fn without_a_length_the_body_ends_when_the_server_closes() {
        let full = b"HTTP/1.1 200 OK\r\n\r\n{\"a\":1}";
        assert!(parse(full, false, 100).unwrap().is_none());
        assert_eq!(
            parse(full, true, 100).unwrap().unwrap().body(),
            b"{\"a\":1}"
        );
        let none = b"HTTP/1.1 204 No Content\r\n\r\n";
        assert!(parse(none, false, 100).unwrap().unwrap().body().is_empty());
    }

    #[test]
    fn garbage_lies_and_silence_are_errors() {
        let garbage = parse(b"SMTP ready\r\n\r\n", false, 100).unwrap_err();
        assert_eq!(garbage.kind, TransportErrorKind::InvalidResponse);
        let lies = parse(
            b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
            false,
            100,
        )
        .unwrap_err();
        assert_eq!(lies.kind, TransportErrorKind::InvalidResponse);
        let huge = parse(
            b"HTTP/1.1 200 OK\r\ncontent-length: 101\r\n\r\n",
            false,
            100,
        );
        assert_eq!(huge.unwrap_err().kind, TransportErrorKind::BodyTooLarge);
        let silence = parse(b"", true, 100).unwrap_err();
        assert!(silence.may_have_been_sent && silence.kind == TransportErrorKind::Reset);
    }
}
