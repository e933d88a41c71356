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
//! with `Allow`. [`ROUTES`] lists the routes as data.
//!
//! | route | success |
//! |---|---|
//! | `POST /v1/sandbox/` | 201 sandbox, `starting` (`memory_mib` is another name of `memory`; `timeout_min`, in minutes, another way to give `timeout`) |
//! | `GET /v1/sandbox/{id}/` | 200 sandbox; `starting` turns `running` after [`EmulatorConfig::ready_after_reads`] reads and [`EmulatorConfig::ready_after`] |
//! | `DELETE /v1/sandbox/{id}/` | 204; the sandbox becomes `deleted` |
//! | `POST /v1/sandbox/{id}/pause` | 201 sandbox, now `paused` (no snapshot is made); 409 unless `running` |
//! | `POST /v1/sandbox/{id}/snapshot/create` | 201 snapshot (`kill_sandbox_after`: the sandbox becomes `deleted`) |
//! | `POST /v1/sandbox/{id}/snapshot/pause` | 201 snapshot with state `paused`; the sandbox becomes `stopped` |
//! | `POST /v1/snapshot/resume` | 201 new sandbox (`timeout_min` minutes) |
//! | `POST /v1/snapshot/restore` | 201 new sandbox (`timeout` seconds) |
//! | `DELETE /v1/snapshot/{id}` | 204 |
//! | `GET /v1/snapshots` | 200 `{"items": [...], "total_items": n}` |
//!
//! Sandbox and snapshot answers carry memory and disk under both names the API has used:
//! `memory` and `memory_mib` (same value), `disk` and `disk_mib`. A sandbox that is
//! `paused`, `stopped` or `deleted` does not count toward
//! [`EmulatorConfig::max_active_sandboxes`]; one that is `starting` or `running` does.
//!
//! # Validation
//!
//! A bad request is answered 400 `{"message": "Invalid request", "errors": [{"field",
//! "error"}]}` with one entry per bad field, before anything is acted on. A body that is not
//! JSON, or not a JSON object, is answered 400 with the same `errors` list, naming the field
//! `body`. The rules are those of `leap0-core`'s validation, implemented separately (a
//! property test requires both to give the same verdict):
//!
//! - snapshot names: trimmed, non-empty, at most 64 characters; `timeout_min` 1 to 480,
//!   `timeout` 1 to 28800 (seconds). In sandbox creation, two spellings of one setting
//!   that disagree (`memory` and `memory_mib`, `timeout` and `timeout_min`) are an error.
//! - network policy: `null` means none; otherwise an object with a `mode` of `allow-all`,
//!   `deny-all` or `custom`, and no other keys than `allow_domains` (at most 50 domain
//!   patterns), `allow_cidrs` (at most 10 IPv4 `a.b.c.d/n`, `n` 0 to 32) and `transforms`
//!   (at most 20 rules of `domain`, `inject_headers`, `strip_headers`). The lists, when
//!   given, must be arrays (`null` is refused), and unknown keys are refused by name
//!   (`network_policy.<key>`, `network_policy.transforms[i].<key>`).
//! - a domain pattern is an optional `*.`, then at least two labels of letters, digits
//!   and `-` that neither start nor end with `-`, the last label not all digits: so
//!   `1.2.3.com` is a name, while `1.2.3.4`, `*.1.2.3.4`, `999.1.1.1`, `1.2.3` and
//!   `a.b.123` are refused, as is anything with a `:`.
//!
//! Ids (`sb-0001`, `snap-0001`), generated snapshot names (`snapshot-0001`), request ids
//! (`req-0001`) and timestamps (a virtual clock from `2025-01-15T10:30:00Z`, one second per
//! created sandbox or snapshot) are deterministic: two emulators fed the same requests give
//! byte-identical answers (no `Date` header is sent).
//!
//! # Time
//!
//! The only time the emulator reads is [`EmulatorConfig::clock`], once per request, for
//! [`EmulatorConfig::ready_after`]; the in-memory model is handed that reading. Give it an
//! [`EmulatorClock::manual`] and step it with [`EmulatorClock::advance`] to test waiting
//! without sleeping.
//!
//! # Request log
//!
//! Every request (admin routes aside) is recorded, and the log keeps the last
//! [`EmulatorConfig::max_logged_requests`] (default 10 000), dropping the oldest, so that a
//! long soak stays in bounded memory. [`Emulator::request_count`] still counts every
//! request received, [`Emulator::dropped_requests`] those dropped, and
//! [`Emulator::requests`] returns those kept.
//!
//! # Command line
//!
//! [`EmulatorArgs`] holds the flags of the `leap0-emulator` binary (`--port`, `--api-key`,
//! `--auth-header`, `--ready-after-reads`, `--ready-after`, `--max-active-sandboxes`,
//! `--max-logged-requests`, with `LEAP0_EMULATOR_PORT` and `LEAP0_EMULATOR_API_KEY`), for
//! any program that embeds the emulator to accept exactly the same ones.
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
//! | `GET /_emulator/requests` | 200, the requests the log keeps: `[{"request_id", "method", "target", "headers": [[name, value]], "auth": "missing" \| "rejected" \| "accepted", "body": text, "fault": null \| fault}]` |
//! | `DELETE /_emulator/requests` | 204, clear the log |
#![forbid(unsafe_code)]

mod api;
mod args;
mod body;
mod clock;
mod config;
mod fault;
mod log;
mod route;
mod server;
mod validate;

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

pub use crate::args::{API_KEY_ENV, DEFAULT_API_KEY, EmulatorArgs, PORT_ENV};
pub use crate::clock::EmulatorClock;
pub use crate::config::{DEFAULT_MAX_LOGGED_REQUESTS, EmulatorConfig};
pub use crate::fault::{Fault, FaultRule};
pub use crate::log::{AuthSeen, SeenRequest};
pub use crate::route::{ROUTES, ServedRoute};

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

    /// The requests the log keeps (the last [`EmulatorConfig::max_logged_requests`]),
    /// oldest first (admin routes excluded).
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.shared.lock().log.iter().cloned().collect()
    }

    /// How many requests were received (admin routes excluded), including those the log
    /// has dropped.
    pub fn request_count(&self) -> usize {
        self.shared.lock().log.received()
    }

    /// How many requests the log dropped to stay within
    /// [`EmulatorConfig::max_logged_requests`].
    pub fn dropped_requests(&self) -> usize {
        self.shared.lock().log.dropped()
    }

    /// The requests kept in the log with this method (case-insensitive) whose raw target
    /// starts with `target_prefix`.
    pub fn requests_for(&self, method: &str, target_prefix: &str) -> Vec<SeenRequest> {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|r| r.matches(method, target_prefix))
            .cloned()
            .collect()
    }

    /// How many requests kept in the log had this method (case-insensitive) and a raw
    /// target starting with `target_prefix` (dropped requests are not counted here).
    pub fn request_count_for(&self, method: &str, target_prefix: &str) -> usize {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|r| r.matches(method, target_prefix))
            .count()
    }

    /// Forgets the requests received so far, and the counts of received and dropped ones.
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

    /// The current state of a sandbox (`starting`, `running`, `paused`, `stopped`,
    /// `deleted`), without counting as a status read; `None` for an unknown id.
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
