//! An in-memory emulator of the Leap0 sandbox snapshot HTTP API, served on loopback.
//!
//! [`Emulator::start`] binds `127.0.0.1` and serves the API from its own background thread
//! and tokio runtime, so it works from plain `#[test]` functions as well as from inside
//! other tokio runtimes. It stops when dropped.
//!
//! ```no_run
//! use leap0_emulator::{Emulator, Fault, FaultRule};
//!
//! let emulator = Emulator::start()?;
//! let base_url = emulator.base_url(); // http://127.0.0.1:PORT
//! // The next POST to a snapshot route answers 429 with `Retry-After: 2`.
//! emulator.inject(FaultRule::new(Fault::rate_limited("2")).method("POST").path_prefix("/v1/snapshot/"));
//! # let _ = base_url;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Routes
//!
//! Every `/v1` route needs the key in the configured header (`Bearer <key>` or the bare
//! key), else 401 `{"message": "invalid or missing API key"}`. Path segments are
//! percent-decoded one by one, so `%2F` inside an id stays inside that id; a trailing `/` is
//! optional. Unknown routes answer 404 `{"message": "route not found"}`, a wrong method 405
//! with `Allow`.
//!
//! | route | success |
//! |---|---|
//! | `POST /v1/sandbox/` | 201 sandbox, `starting` |
//! | `GET /v1/sandbox/{id}/` | 200 sandbox; `starting` turns `running` after [`EmulatorConfig::ready_after_reads`] reads and [`EmulatorConfig::ready_after`] |
//! | `DELETE /v1/sandbox/{id}/` | 204; the sandbox becomes `deleted` |
//! | `POST /v1/sandbox/{id}/snapshot/create` | 201 snapshot (`kill_sandbox_after`: the sandbox becomes `deleted`) |
//! | `POST /v1/sandbox/{id}/snapshot/pause` | 201 snapshot with state `paused`; the sandbox becomes `stopped` |
//! | `POST /v1/snapshot/resume` | 201 new sandbox (`timeout_min` minutes) |
//! | `POST /v1/snapshot/restore` | 201 new sandbox (`timeout` seconds) |
//! | `DELETE /v1/snapshot/{id}` | 204 |
//! | `GET /v1/snapshots` | 200 `{"items": [...], "total_items": n}` |
//!
//! Ids (`sb-0001`, `snap-0001`), generated snapshot names (`snapshot-0001`), request ids
//! (`req-0001`) and timestamps (a virtual clock from `2025-01-15T10:30:00Z`, one second per
//! created sandbox or snapshot) are deterministic: two emulators fed the same requests give
//! byte-identical answers (no `Date` header is sent).
//!
//! # Admin routes
//!
//! Need no key, are never logged nor faulted, and answer with `x-request-id: req-admin-N`:
//!
//! | route | effect |
//! |---|---|
//! | `POST /_emulator/faults` | queue a [`FaultRule`] given in its JSON form; 201 echoes it |
//! | `GET /_emulator/faults` | 200, the queued rules with their remaining `times` |
//! | `DELETE /_emulator/faults` | 204, clear the rules |
//! | `GET /_emulator/requests` | 200, the request log: `[{"request_id", "method", "target", "headers": [[name, value]], "auth": "missing" \| "rejected" \| "accepted", "body": text, "fault": null \| fault}]` |
//! | `DELETE /_emulator/requests` | 204, clear the log |
#![forbid(unsafe_code)]

mod api;
mod body;
mod clock;
mod config;
mod fault;
mod log;
mod server;
mod validate;

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

pub use crate::config::EmulatorConfig;
pub use crate::fault::{Fault, FaultRule};
pub use crate::log::{AuthSeen, SeenRequest};

use crate::server::Shared;

/// A running emulator. Dropping it stops the server: open connections are aborted (even
/// ones sleeping in a [`Fault::Delay`]) and the server thread is joined.
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Starts an emulator with the default [`EmulatorConfig`] on an ephemeral port.
    pub fn start() -> io::Result<Self> {
        Self::start_with(EmulatorConfig::default())
    }

    /// Starts an emulator; it is listening when this returns.
    pub fn start_with(config: EmulatorConfig) -> io::Result<Self> {
        let listener =
            std::net::TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, config.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let shared = Arc::new(Shared::new(config));
        let (shutdown, shutdown_rx) = oneshot::channel();
        let serve_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("leap0-emulator-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(server::serve(listener, serve_shared, shutdown_rx));
            })?;
        Ok(Self {
            addr,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The base URL, `http://127.0.0.1:PORT` (no trailing `/`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &EmulatorConfig {
        &self.shared.config
    }

    /// Every request received so far, oldest first (admin routes excluded).
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.shared.lock().log.clone()
    }

    /// How many requests were received (admin routes excluded).
    pub fn request_count(&self) -> usize {
        self.shared.lock().log.len()
    }

    /// The requests with this method (case-insensitive) whose raw target starts with
    /// `target_prefix`.
    pub fn requests_for(&self, method: &str, target_prefix: &str) -> Vec<SeenRequest> {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|r| r.matches(method, target_prefix))
            .cloned()
            .collect()
    }

    /// How many requests had this method (case-insensitive) and a raw target starting with
    /// `target_prefix`.
    pub fn request_count_for(&self, method: &str, target_prefix: &str) -> usize {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|r| r.matches(method, target_prefix))
            .count()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.shared.lock().log.clear();
    }

    /// Queues a fault rule after those already queued.
    pub fn inject(&self, rule: FaultRule) {
        self.shared.lock().faults.push(rule);
    }

    /// Removes every queued fault rule.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// The fault rules still queued, with their remaining `times`.
    pub fn pending_faults(&self) -> Vec<FaultRule> {
        self.shared.lock().faults.clone()
    }

    /// The current state of a sandbox (`starting`, `running`, `stopped`, `deleted`), without
    /// counting as a status read; `None` for an unknown id.
    pub fn sandbox_state(&self, id: &str) -> Option<String> {
        self.shared
            .lock()
            .model
            .sandbox_state(id)
            .map(str::to_owned)
    }

    /// How many snapshots exist.
    pub fn snapshot_count(&self) -> usize {
        self.shared.lock().model.snapshot_count()
    }

    /// Serves until Ctrl-C, then stops. Blocks the calling thread: meant for the binary, not
    /// to be called from inside an async runtime.
    pub fn run_until_ctrl_c(self) -> io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let result = runtime.block_on(tokio::signal::ctrl_c());
        drop(self);
        result
    }

    /// Stops the server (the same as dropping it).
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
