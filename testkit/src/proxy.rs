//! [`TestProxy`]: an HTTP proxy on loopback that tunnels (`CONNECT host:port`)
//! and forwards (`GET http://host/path`), and counts what it did, so tests can
//! prove that traffic went through it, or around it.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use crate::http1::read_message;
use crate::raw_server::listener;

/// What a [`TestProxy`] has done so far.
#[derive(Debug, Default)]
struct Seen {
    tunnels: AtomicUsize,
    forwarded: AtomicUsize,
    refused: AtomicUsize,
    /// The first line of every request it read (`CONNECT 127.0.0.1:9 HTTP/1.1`).
    lines: Mutex<Vec<String>>,
}

/// A proxy listening on `127.0.0.1` until the process ends. With
/// [`with_credentials`](Self::with_credentials) it demands a
/// `Proxy-Authorization: Basic` header and answers 407 without it.
#[derive(Debug, Clone)]
pub struct TestProxy {
    addr: SocketAddr,
    seen: Arc<Seen>,
}

impl TestProxy {
    /// A proxy that needs no credentials.
    pub fn start() -> TestProxy {
        Self::serve(None)
    }

    /// A proxy that demands `Basic base64(user:password)`.
    pub fn with_credentials(basic: &str) -> TestProxy {
        Self::serve(Some(format!("Basic {basic}")))
    }

    fn serve(credentials: Option<String>) -> TestProxy {
        let (listener, addr) = listener();
        let seen = Arc::new(Seen::default());
        let shared = Arc::clone(&seen);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = Arc::clone(&shared);
                let credentials = credentials.clone();
                thread::spawn(move || {
                    // A client that goes away mid-request ends only its connection.
                    let _ = handle(stream, &seen, credentials.as_deref());
                });
            }
        });
        TestProxy { addr, seen }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many `CONNECT` tunnels it opened.
    pub fn tunnels(&self) -> usize {
        self.seen.tunnels.load(Ordering::SeqCst)
    }

    /// How many absolute-form requests it forwarded.
    pub fn forwarded(&self) -> usize {
        self.seen.forwarded.load(Ordering::SeqCst)
    }

    /// How many requests it refused (407 or 400).
    pub fn refused(&self) -> usize {
        self.seen.refused.load(Ordering::SeqCst)
    }

    /// The first line of every request it read, in order.
    pub fn lines(&self) -> Vec<String> {
        self.seen
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn handle(mut client: TcpStream, seen: &Seen, credentials: Option<&str>) -> io::Result<()> {
    while let Some(request) = read_message(&mut client, false)? {
        let line = request.first_line();
        seen.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line.clone());
        if let Some(wanted) = credentials
            && request.header("proxy-authorization").as_deref() != Some(wanted)
        {
            seen.refused.fetch_add(1, Ordering::SeqCst);
            client.write_all(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic\r\ncontent-length: 0\r\n\r\n",
                )?;
            continue;
        }
        let mut parts = line.split(' ');
        let (method, target) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        if method.eq_ignore_ascii_case("CONNECT") {
            let upstream = TcpStream::connect(target)?;
            seen.tunnels.fetch_add(1, Ordering::SeqCst);
            client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
            return relay(client, upstream);
        }
        let Some(rest) = target.strip_prefix("http://") else {
            seen.refused.fetch_add(1, Ordering::SeqCst);
            client.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")?;
            continue;
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = if path.is_empty() { "/" } else { path };
        seen.forwarded.fetch_add(1, Ordering::SeqCst);
        let mut upstream = TcpStream::connect(authority)?;
        // The request as an origin server sees it: origin-form target, no proxy headers.
        let head = String::from_utf8_lossy(&request.head).into_owned();
        let mut lines = head.split("\r\n");
        lines.next();
        let mut forwarded = format!("{method} {path} HTTP/1.1\r\n");
        for header in lines.filter(|l| !l.is_empty()) {
            if !header.to_ascii_lowercase().starts_with("proxy-") {
                forwarded.push_str(header);
                forwarded.push_str("\r\n");
            }
        }
        forwarded.push_str("\r\n");
        upstream.write_all(forwarded.as_bytes())?;
        upstream.write_all(&request.body)?;
        let bodyless = method.eq_ignore_ascii_case("HEAD");
        match read_message(&mut upstream, bodyless)? {
            Some(answer) => client.write_all(&answer.bytes())?,
            None => return Ok(()),
        }
    }
    Ok(())
}

/// A plain TCP relay to `backend` that counts the connections it accepts: how
/// a test sees whether a client reuses its connections.
#[derive(Debug, Clone)]
pub struct CountingRelay {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl CountingRelay {
    /// Starts relaying to `backend` until the process ends.
    pub fn start(backend: SocketAddr) -> CountingRelay {
        let (listener, addr) = listener();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                counted.fetch_add(1, Ordering::SeqCst);
                thread::spawn(move || {
                    if let Ok(upstream) = TcpStream::connect(backend) {
                        let _ = relay(client, upstream);
                    }
                });
            }
        });
        CountingRelay { addr, connections }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many connections it accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Copies bytes both ways until either side closes.
fn relay(client: TcpStream, upstream: TcpStream) -> io::Result<()> {
    let (mut client_read, mut upstream_write) = (client.try_clone()?, upstream.try_clone()?);
    let (mut upstream_read, mut client_write) = (upstream, client);
    let up = thread::spawn(move || {
        let _ = io::copy(&mut client_read, &mut upstream_write);
        let _ = upstream_write.shutdown(Shutdown::Write);
    });
    let _ = io::copy(&mut upstream_read, &mut client_write);
    let _ = client_write.shutdown(Shutdown::Write);
    let _ = up.join();
    Ok(())
}
