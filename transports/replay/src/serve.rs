//! Cassettes over HTTP, for clients in any language (feature `serve`).
//!
//! [`Server::replay`] serves a cassette on loopback with exactly the
//! in-process [`Replayer`]'s matching; [`Server::record`] is a recording
//! reverse proxy that sends every request to an upstream through a
//! [`Recorder`] and saves the cassette under its lock.
//!
//! - **Misses** are answered `418` (no Leap0 route returns it and no Leap0
//!   client retries it), with an `application/problem+json` report: the
//!   operation, the request, the closest recorded requests and how they
//!   differ, and the queue position when a request came more often than
//!   recorded. The one-line summary is also in the [`MISS_HEADER`] header.
//! - **Control** under `/_leap0/`: `GET verify` (200, or 409 with what was
//!   unused or missed), `POST reset` (rewinds every queue), `GET journal`
//!   (the last [`ServeOptions::journal_size`] requests), `GET health`, and
//!   when recording `POST save`.
//! - Every API request must carry a non-empty `authorization` or `x-api-key`
//!   header (any value; never logged), else it gets `401` as from the API.
//! - Bodies over [`ServeOptions::max_body`] get `413`; a malformed request
//!   gets `400`; each connection has a task of its own.
//!
//! ```no_run
//! use leap0_replay::serve::{ServeOptions, Server};
//! use leap0_replay::{ReplayOptions, Replayer};
//!
//! let replayer = Replayer::from_file("tests/cassettes/lifecycle.json", ReplayOptions::default())?;
//! let server = Server::replay(replayer, ServeOptions::default())?;
//! println!("LEAP0_BASE_URL={}", server.base_url());
//! // ... point any client at it ...
//! server.verify()?;
//! server.stop();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use leap0_core::Operation;
use leap0_core::text::escape;
use leap0_core::transport::{Request, Response, Secrets, Transport, TransportError};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinSet;

use crate::cassette::{Cassette, CassetteError, Interaction};
use crate::load::Book;
use crate::record::{RecordOptions, Recorder};
use crate::replay::{Mismatch, QueueUsage, ReplayError, ReplayOptions, Replayer};
use crate::session::Mode;
use crate::store::CassetteLock;

/// The response header that repeats a miss's one-line summary.
pub const MISS_HEADER: &str = "leap0-replay-miss";

/// The status of a miss: `418`, which no Leap0 route returns and no Leap0
/// client (nor the official SDKs) retries.
pub const MISS_STATUS: u16 = 418;

/// The content type of a miss report and of the control routes' errors.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// How a [`Server`] listens.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeOptions {
    /// The address to bind (default `127.0.0.1`).
    pub host: IpAddr,
    /// The port (default 0: a free one).
    pub port: u16,
    /// How many requests `GET /_leap0/journal` keeps (default 1000).
    pub journal_size: usize,
    /// The largest request body read; larger ones get `413` (default 8 MiB).
    pub max_body: usize,
    /// Per-request timeout towards the upstream when recording (default 5 min).
    pub upstream_timeout: Duration,
    /// Worker threads (default 2).
    pub workers: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            journal_size: 1000,
            max_body: 8 * 1024 * 1024,
            upstream_timeout: Duration::from_secs(300),
            workers: 2,
        }
    }
}

impl ServeOptions {
    /// Sets [`host`](Self::host).
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }

    /// Sets [`port`](Self::port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Sets [`journal_size`](Self::journal_size).
    pub fn journal_size(mut self, size: usize) -> Self {
        self.journal_size = size;
        self
    }

    /// Sets [`max_body`](Self::max_body).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Sets [`workers`](Self::workers) (at least 1).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }
}

/// Why a [`Server`] could not start, save or verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Binding or running the listener failed.
    #[error("leap0 serve: cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// The runtime or its thread could not start.
    #[error("leap0 serve: cannot start: {0}")]
    Start(io::Error),
    /// The cassette could not be loaded, locked or saved.
    #[error(transparent)]
    Cassette(#[from] CassetteError),
    /// The record mode cannot record (`replay`).
    #[error("leap0 serve: record mode {0:?} does not record; serve the cassette instead")]
    Mode(&'static str),
    /// Verification found unused interactions or misses.
    #[error("{0}")]
    Verify(Box<Verify>),
}

/// What `GET /_leap0/verify` and [`Server::verify`] report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verify {
    /// Interactions never used: (index, operation, method, target).
    pub unused: Vec<(usize, Option<Operation>, String, String)>,
    /// Requests that matched nothing, oldest first.
    pub misses: Vec<Mismatch>,
    /// Whether unused interactions are allowed.
    pub allow_unused: bool,
}

impl Verify {
    /// Whether verification passes.
    pub fn passed(&self) -> bool {
        self.misses.is_empty() && (self.allow_unused || self.unused.is_empty())
    }

    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "ok": self.passed(),
            "unused": self.unused.iter().map(|(index, op, method, target)| json!({
                "index": index,
                "operation": op.map(Operation::name),
                "method": method,
                "target": target,
            })).collect::<Vec<_>>(),
            "misses": self.misses.iter().map(|m| json!({
                "method": m.method,
                "target": m.target,
                "summary": first_line(m),
            })).collect::<Vec<_>>(),
        })
    }
}

impl fmt::Display for Verify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.passed() {
            return write!(
                f,
                "verify: ok ({} unused, {} missed)",
                self.unused.len(),
                self.misses.len()
            );
        }
        write!(
            f,
            "verify: {} interaction(s) unused, {} request(s) missed",
            self.unused.len(),
            self.misses.len()
        )?;
        for (index, op, method, target) in &self.unused {
            write!(
                f,
                "\n  unused #{index} {} {} {}",
                op.map_or("unknown operation", Operation::name),
                escape(method),
                escape(target)
            )?;
        }
        for m in &self.misses {
            write!(f, "\n  missed {}", escape(&first_line(m)))?;
        }
        Ok(())
    }
}

fn first_line(m: &Mismatch) -> String {
    m.to_string().lines().next().unwrap_or_default().to_owned()
}

/// One request the server saw.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JournalEntry {
    /// Its number, from 1, since the server started.
    pub seq: u64,
    /// Its method.
    pub method: String,
    /// Its path (no query: a query may hold a secret).
    pub path: String,
    /// `hit`, `miss`, `failure` (a recorded transport failure), `forwarded`,
    /// `upstream-failure`, `unauthorized`, `too-large`, `bad-request`.
    pub outcome: &'static str,
    /// The status answered (0 when the connection was closed instead).
    pub status: u16,
}

/// What answers API requests.
enum Backend {
    Replay(Replayer),
    Record(Arc<dyn Proxy>),
}

/// A recording engine, with the upstream's transport type erased.
trait Proxy: Send + Sync {
    fn forward(&self, request: Request) -> Result<Response, TransportError>;
    fn add_secret(&self, secret: &str);
    fn save(&self) -> Result<usize, CassetteError>;
    fn recorded(&self) -> usize;
}

struct RecordEngine<T> {
    recorder: Recorder<T>,
    replayer: Option<Replayer>,
    earlier: Vec<Interaction>,
    keeps_old: bool,
    path: PathBuf,
    lock: CassetteLock,
    extra: Mutex<Secrets>,
    timeout: Duration,
}

impl<T: Transport + Send + Sync + 'static> Proxy for RecordEngine<T> {
    fn forward(&self, request: Request) -> Result<Response, TransportError> {
        if let Some(replayer) = &self.replayer
            && let Some(outcome) = replayer.try_replay(&request)
        {
            return outcome;
        }
        Transport::send(&self.recorder, request, self.timeout)
    }

    fn add_secret(&self, secret: &str) {
        let mut extra = self.extra.lock().unwrap_or_else(PoisonError::into_inner);
        if !extra.contains(secret) {
            extra.add(secret);
        }
    }

    fn save(&self) -> Result<usize, CassetteError> {
        if self.keeps_old && self.recorder.is_empty() && self.path.exists() {
            return Ok(self.earlier.len());
        }
        let cassette = self.recorder.cassette_with(self.earlier.clone());
        let mut secrets = self.recorder.secrets().clone();
        secrets.merge(&self.extra.lock().unwrap_or_else(PoisonError::into_inner));
        cassette.save_locked(&self.lock, &self.path, &secrets)?;
        Ok(cassette.interactions.len())
    }

    fn recorded(&self) -> usize {
        self.recorder.len()
    }
}

struct Shared {
    backend: Backend,
    upstream: Option<String>,
    options: ServeOptions,
    journal: Mutex<Journal>,
}

struct Journal {
    entries: VecDeque<JournalEntry>,
    seq: u64,
}

impl Shared {
    fn journal(&self) -> MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn note(&self, method: &Method, path: &str, outcome: &'static str, status: u16) {
        let size = self.options.journal_size;
        if size == 0 {
            return;
        }
        let mut journal = self.journal();
        journal.seq += 1;
        let seq = journal.seq;
        while journal.entries.len() >= size {
            journal.entries.pop_front();
        }
        journal.entries.push_back(JournalEntry {
            seq,
            method: method.as_str().to_owned(),
            path: path.to_owned(),
            outcome,
            status,
        });
    }
}

/// A cassette served over HTTP/1.1, or a recording proxy, on its own
/// runtime thread. Dropping it stops it (see [`stop`](Self::stop)).
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field(
                "mode",
                &match self.shared.backend {
                    Backend::Replay(_) => "replay",
                    Backend::Record(_) => "record",
                },
            )
            .finish()
    }
}

impl Server {
    /// Serves `replayer`'s cassette; listening when this returns.
    pub fn replay(replayer: Replayer, options: ServeOptions) -> Result<Server, ServeError> {
        Server::start(Backend::Replay(replayer), None, options)
    }

    /// A recording reverse proxy: every API request goes to `upstream` (a
    /// base URL such as `http://127.0.0.1:8080`) through a [`Recorder`]
    /// around `inner`, and the cassette at `path` is saved (under its lock,
    /// held until the server stops, refusing any secret) by
    /// [`save`](Self::save), `POST /_leap0/save` and [`stop`](Self::stop).
    /// Every API key a client sends is added to the secrets.
    ///
    /// `mode`: [`Mode::Append`] (after what the cassette holds),
    /// [`Mode::ReRecordAll`], [`Mode::RecordMissing`] (answer what it holds,
    /// record the rest), [`Mode::Auto`] (record missing if the file exists,
    /// else all). [`Mode::ReplayOnly`] is refused.
    pub fn record<T: Transport + Send + Sync + 'static>(
        path: impl AsRef<Path>,
        mode: Mode,
        upstream: &str,
        inner: T,
        record: RecordOptions,
        options: ServeOptions,
    ) -> Result<Server, ServeError> {
        let path = path.as_ref().to_owned();
        let exists = path.exists();
        let mode = match (mode, exists) {
            (Mode::ReplayOnly, _) => return Err(ServeError::Mode("replay")),
            (Mode::Auto, true) => Mode::RecordMissing,
            (Mode::Auto, false) => Mode::ReRecordAll,
            (other, _) => other,
        };
        let lock = CassetteLock::acquire(&path)?;
        let mut record = record;
        let (earlier, replayer) = match mode {
            Mode::Append | Mode::RecordMissing if exists => {
                let cassette = Cassette::load(&path)?;
                record.merge_redactions(&cassette.meta.redact);
                if record.base_path.is_empty() {
                    record.base_path.clone_from(&cassette.meta.base_path);
                }
                let earlier = cassette.interactions.clone();
                let replayer = if mode == Mode::RecordMissing {
                    let replay = ReplayOptions::default().allow_unused(true);
                    let book = Book::from_cassette(cassette, &replay.header_names())?;
                    Some(Replayer::build(book, replay, Some(path.clone())))
                } else {
                    None
                };
                (earlier, replayer)
            }
            _ => (Vec::new(), None),
        };
        let engine = RecordEngine {
            recorder: Recorder::new(inner, record),
            replayer,
            earlier,
            keeps_old: mode != Mode::ReRecordAll,
            path,
            lock,
            extra: Mutex::new(Secrets::new()),
            timeout: options.upstream_timeout,
        };
        let upstream = upstream.trim_end_matches('/').to_owned();
        Server::start(Backend::Record(Arc::new(engine)), Some(upstream), options)
    }

    fn start(
        backend: Backend,
        upstream: Option<String>,
        options: ServeOptions,
    ) -> Result<Server, ServeError> {
        let wanted = SocketAddr::new(options.host, options.port);
        let listen = |source| ServeError::Listen {
            addr: wanted,
            source,
        };
        let listener = std::net::TcpListener::bind(wanted).map_err(listen)?;
        listener.set_nonblocking(true).map_err(listen)?;
        let addr = listener.local_addr().map_err(listen)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.workers.max(1))
            .thread_name("leap0-serve")
            .enable_io()
            .enable_time()
            .build()
            .map_err(ServeError::Start)?;
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(listener).map_err(listen)?
        };
        let shared = Arc::new(Shared {
            backend,
            upstream,
            options,
            journal: Mutex::new(Journal {
                entries: VecDeque::new(),
                seq: 0,
            }),
        });
        let (shutdown, shutdown_rx) = oneshot::channel();
        let serve_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("leap0-serve-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(accept_loop(listener, serve_shared, shutdown_rx));
                runtime.shutdown_timeout(Duration::from_millis(100));
            })
            .map_err(ServeError::Start)?;
        Ok(Server {
            addr,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, what clients take as their base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Whether it records (a proxy) rather than replays.
    pub fn is_recording(&self) -> bool {
        matches!(self.shared.backend, Backend::Record(_))
    }

    /// The last requests seen, oldest first.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.shared.journal().entries.iter().cloned().collect()
    }

    /// What is unused and what missed so far (replaying; recording passes).
    pub fn verify_report(&self) -> Verify {
        verify_report(&self.shared)
    }

    /// [`verify_report`](Self::verify_report) as a result.
    pub fn verify(&self) -> Result<(), ServeError> {
        let report = self.verify_report();
        if report.passed() {
            Ok(())
        } else {
            Err(ServeError::Verify(Box::new(report)))
        }
    }

    /// Rewinds every queue (replaying).
    pub fn reset(&self) {
        if let Backend::Replay(replayer) = &self.shared.backend {
            replayer.reset();
        }
    }

    /// Saves the cassette (recording): returns how many interactions it
    /// holds. Replaying, does nothing and returns 0.
    pub fn save(&self) -> Result<usize, ServeError> {
        match &self.shared.backend {
            Backend::Record(proxy) => Ok(proxy.save()?),
            Backend::Replay(_) => Ok(0),
        }
    }

    /// Blocks until Ctrl-C or (on Unix) SIGTERM.
    pub fn wait_for_signal(&self) -> io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            #[cfg(unix)]
            {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
                tokio::select! {
                    r = tokio::signal::ctrl_c() => r,
                    _ = term.recv() => Ok(()),
                }
            }
            #[cfg(not(unix))]
            {
                tokio::signal::ctrl_c().await
            }
        })
    }

    /// Stops accepting, closes every connection and joins the thread.
    /// Recording, it does not save: call [`save`](Self::save) first.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.halt();
    }
}

fn verify_report(shared: &Shared) -> Verify {
    match &shared.backend {
        Backend::Replay(replayer) => {
            let unused = match replayer.finish() {
                Err(ReplayError::Unused { interactions, .. }) => interactions
                    .into_iter()
                    .map(|x| (x.index, x.operation, x.method, x.target))
                    .collect(),
                _ => Vec::new(),
            };
            Verify {
                unused,
                misses: replayer.mismatches(),
                allow_unused: replayer.options().allow_unused,
            }
        }
        Backend::Record(_) => Verify {
            unused: Vec::new(),
            misses: Vec::new(),
            allow_unused: true,
        },
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&shared)));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let service_kill = Arc::clone(&kill);
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        let kill = Arc::clone(&service_kill);
        async move { Ok::<_, Infallible>(handle(request, shared, kill).await) }
    });
    let connection = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    // Dropping the connection closes the socket: how a recorded transport
    // failure is played back.
    tokio::select! {
        biased;
        () = kill.notified() => {}
        _ = connection => {}
    }
}

type Answer = hyper::Response<Full<Bytes>>;

fn answer(status: u16, content_type: &str, body: Vec<u8>) -> Answer {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response
}

fn json_answer(status: u16, content_type: &str, body: &Value) -> Answer {
    answer(status, content_type, body.to_string().into_bytes())
}

fn message(status: u16, text: &str) -> Answer {
    json_answer(status, "application/json", &json!({ "message": text }))
}

/// A header value made of visible ASCII: anything else becomes `?`.
fn header_safe(text: &str) -> HeaderValue {
    let cleaned: String = escape(text)
        .chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect();
    HeaderValue::from_str(&cleaned).unwrap_or_else(|_| HeaderValue::from_static("miss"))
}

/// Whether the request carries a non-empty `authorization` or `x-api-key`;
/// returns the key (for the proxy's secrets).
fn api_key(headers: &http::HeaderMap) -> Option<String> {
    ["authorization", "x-api-key"].iter().find_map(|name| {
        let value = headers.get(*name)?.to_str().ok()?.trim();
        let bare = match (value.get(..7), value.get(7..)) {
            (Some(scheme), Some(rest)) if scheme.eq_ignore_ascii_case("bearer ") => rest.trim(),
            _ => value,
        };
        (!bare.is_empty() && !bare.eq_ignore_ascii_case("bearer")).then(|| bare.to_owned())
    })
}

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
];

fn relay(response: Response) -> Answer {
    let (parts, body) = response.into_parts();
    let mut out = hyper::Response::new(Full::new(Bytes::from(body)));
    *out.status_mut() = parts.status;
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}

async fn handle(
    request: hyper::Request<Incoming>,
    shared: Arc<Shared>,
    kill: Arc<Notify>,
) -> Answer {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let body = match Limited::new(body, shared.options.max_body).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => {
            shared.note(&parts.method, &path, "too-large", 413);
            return message(413, "request body too large");
        }
        Err(_) => {
            shared.note(&parts.method, &path, "bad-request", 400);
            return message(400, "could not read the request body");
        }
    };
    if path == "/_leap0" || path.starts_with("/_leap0/") {
        return control(&parts.method, &path, &shared);
    }
    let Some(key) = api_key(&parts.headers) else {
        shared.note(&parts.method, &path, "unauthorized", 401);
        return message(401, "invalid or missing API key");
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| path.clone(), |pq| pq.as_str().to_owned());
    match &shared.backend {
        Backend::Replay(replayer) => {
            let mut live = http::Request::new(body.to_vec());
            *live.method_mut() = parts.method.clone();
            *live.uri_mut() = parts.uri.clone();
            *live.headers_mut() = parts.headers;
            match replayer.replay(&live) {
                Ok(response) => {
                    shared.note(&parts.method, &path, "hit", response.status().as_u16());
                    relay(response)
                }
                Err(error) => match ReplayError::find(&error) {
                    Some(ReplayError::Mismatch(mismatch)) => {
                        let usage = replayer.queue_usage(&live);
                        shared.note(&parts.method, &path, "miss", MISS_STATUS);
                        miss_answer(mismatch, usage)
                    }
                    _ => {
                        // A recorded transport failure: the connection ends with no answer.
                        shared.note(&parts.method, &path, "failure", 0);
                        kill.notify_one();
                        std::future::pending().await
                    }
                },
            }
        }
        Backend::Record(proxy) => {
            proxy.add_secret(&key);
            if let Some(value) = parts
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
            {
                proxy.add_secret(value.trim());
            }
            let upstream = shared.upstream.clone().unwrap_or_default();
            let uri = match format!("{upstream}{target}").parse::<http::Uri>() {
                Ok(uri) => uri,
                Err(_) => {
                    shared.note(&parts.method, &path, "bad-request", 400);
                    return message(400, "the request target cannot be forwarded");
                }
            };
            let mut outgoing = http::Request::new(body.to_vec());
            *outgoing.method_mut() = parts.method.clone();
            *outgoing.uri_mut() = uri;
            for (name, value) in &parts.headers {
                if name != "host" && !HOP_BY_HOP.contains(&name.as_str()) {
                    outgoing.headers_mut().append(name.clone(), value.clone());
                }
            }
            let proxy = Arc::clone(proxy);
            let outcome = tokio::task::spawn_blocking(move || proxy.forward(outgoing)).await;
            match outcome {
                Ok(Ok(response)) => {
                    shared.note(
                        &parts.method,
                        &path,
                        "forwarded",
                        response.status().as_u16(),
                    );
                    relay(response)
                }
                Ok(Err(error)) => {
                    shared.note(&parts.method, &path, "upstream-failure", 502);
                    json_answer(
                        502,
                        PROBLEM_JSON,
                        &json!({
                            "type": "https://leap0.dev/problems/upstream-failure",
                            "title": "The upstream failed (recorded as a failure)",
                            "status": 502,
                            "detail": escape(&error.to_string()),
                            "kind": error.kind.as_str(),
                            "may_have_been_sent": error.may_have_been_sent,
                        }),
                    )
                }
                Err(_) => {
                    shared.note(&parts.method, &path, "upstream-failure", 502);
                    message(502, "the proxy failed to forward the request")
                }
            }
        }
    }
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The one-line summary of a miss, and the queue position when exhausted.
fn summarize(mismatch: &Mismatch, usage: Option<QueueUsage>) -> (String, Option<Value>) {
    let route = leap0_core::route::find(
        &mismatch.method,
        mismatch.target.split('?').next().unwrap_or(""),
    );
    let shown_route = route.map_or_else(|| mismatch.target.clone(), |(r, _)| r.template.to_owned());
    let exhausted = usage.filter(|u| u.recorded > 0 && u.used >= u.recorded);
    if let Some(usage) = exhausted {
        let position = usage.recorded + usage.beyond.max(1);
        let text = format!(
            "{} {} {}; the cassette holds {}",
            ordinal(position),
            mismatch.method,
            shown_route,
            usage.recorded
        );
        let value = json!({ "position": position, "recorded": usage.recorded, "used": usage.used });
        return (text, Some(value));
    }
    let text = match mismatch.candidates.first() {
        Some(best) if !best.differences.is_empty() => format!(
            "no recorded answer for {} {}; closest #{} differs in {}",
            mismatch.method,
            mismatch.target,
            best.index,
            best.differences
                .iter()
                .map(|d| d.field.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => format!(
            "no recorded answer for {} {}",
            mismatch.method, mismatch.target
        ),
    };
    (text, None)
}

fn miss_answer(mismatch: &Mismatch, usage: Option<QueueUsage>) -> Answer {
    let (summary, position) = summarize(mismatch, usage);
    eprintln!("leap0 serve: miss: {}", escape(&summary));
    let route = leap0_core::route::find(
        &mismatch.method,
        mismatch.target.split('?').next().unwrap_or(""),
    )
    .map(|(r, _)| r);
    let candidate = |c: &crate::Candidate| {
        json!({
            "index": c.index,
            "operation": c.operation.map(Operation::name),
            "method": c.method,
            "target": c.target,
            "used": c.used,
            "differences": c.differences.iter().map(|d| json!({
                "field": d.field,
                "recorded": d.recorded,
                "got": d.got,
            })).collect::<Vec<_>>(),
        })
    };
    let body = json!({
        "type": "https://leap0.dev/problems/replay-miss",
        "title": "No recorded answer for this request",
        "status": MISS_STATUS,
        "detail": summary,
        "operation": route.map(|r| r.name),
        "route": route.map(|r| r.template),
        "request": { "method": mismatch.method, "target": mismatch.target, "body": mismatch.body },
        "queue": position,
        "candidates": mismatch.candidates.iter().map(candidate).collect::<Vec<_>>(),
        "expected_next": mismatch.expected_next.as_ref().map(candidate),
        "interactions": mismatch.interactions,
        "hint": mismatch.hint,
    });
    let mut response = json_answer(MISS_STATUS, PROBLEM_JSON, &body);
    response
        .headers_mut()
        .insert(HeaderName::from_static(MISS_HEADER), header_safe(&summary));
    response
}

fn control(method: &Method, path: &str, shared: &Shared) -> Answer {
    let route = path.trim_start_matches("/_leap0").trim_matches('/');
    match (method.as_str(), route) {
        ("GET", "health") => {
            let (mode, interactions) = match &shared.backend {
                Backend::Replay(r) => ("replay", r.len()),
                Backend::Record(p) => ("record", p.recorded()),
            };
            json_answer(
                200,
                "application/json",
                &json!({ "status": "ok", "mode": mode, "interactions": interactions }),
            )
        }
        ("GET", "verify") => {
            let report = verify_report(shared);
            let status = if report.passed() { 200 } else { 409 };
            json_answer(status, "application/json", &report.to_json())
        }
        ("POST", "reset") => {
            if let Backend::Replay(replayer) = &shared.backend {
                replayer.reset();
            }
            json_answer(200, "application/json", &json!({ "reset": true }))
        }
        ("GET", "journal") => {
            let journal = shared.journal();
            let entries: Vec<Value> = journal
                .entries
                .iter()
                .map(|e| {
                    json!({
                        "seq": e.seq,
                        "method": e.method,
                        "path": e.path,
                        "outcome": e.outcome,
                        "status": e.status,
                    })
                })
                .collect();
            json_answer(
                200,
                "application/json",
                &json!({ "capacity": shared.options.journal_size, "entries": entries }),
            )
        }
        ("POST", "save") => match &shared.backend {
            Backend::Record(proxy) => match proxy.save() {
                Ok(count) => json_answer(200, "application/json", &json!({ "saved": count })),
                Err(e) => json_answer(
                    500,
                    PROBLEM_JSON,
                    &json!({ "title": "save failed", "status": 500, "detail": escape(&e.to_string()) }),
                ),
            },
            Backend::Replay(_) => message(404, "nothing to save: this server replays"),
        },
        _ => message(404, "unknown control route"),
    }
}
