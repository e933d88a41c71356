//! # leap0-core
//!
//! The protocol of the [Leap0](https://leap0.dev) snapshot API, with no I/O.
//! With a transport crate it is a client in five lines:
//!
//! ```
//! # mod leap0_ureq { // A stand-in for the real crate, answering from memory.
//! #     use leap0_core::transport::{Request, Response, TransportError, VirtualClock};
//! #     use leap0_core::{Config, SnapshotsClient, http};
//! #     type Fake = fn(Request, std::time::Duration) -> Result<Response, TransportError>;
//! #     pub fn client(config: Config) -> SnapshotsClient<Fake, VirtualClock> {
//! #         fn answer(request: Request, _: std::time::Duration) -> Result<Response, TransportError> {
//! #             let body = match request.uri().path() {
//! #                 "/v1/sandbox/sb-123/snapshot/create" => r#"{"id":"snap-1","name":"warm"}"#,
//! #                 _ => r#"{"id":"sb-9","state":"running"}"#,
//! #             };
//! #             let status = if request.method() == "POST" { 201 } else { 200 };
//! #             http::Response::builder().status(status).body(body.into()).map_err(TransportError::other)
//! #         }
//! #         SnapshotsClient::new(config, answer as Fake, VirtualClock::new())
//! #     }
//! # }
//! use leap0_core::{Config, CreateSnapshot};
//!
//! let snapshots = leap0_ureq::client(Config::new("my-api-key")?);
//! let snapshot = snapshots.create(CreateSnapshot::new("sb-123").name("warm"))?;
//! let sandbox = snapshots.resume_and_wait(&snapshot)?;
//! println!("{} is {}", sandbox.id, sandbox.state);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `leap0_ureq::client` is blocking; `leap0_hyper::client` is the same client on
//! tokio (`.await` each call). Underneath, this crate never opens a socket or a
//! file, spawns a thread, sleeps, or reads the environment or a clock: time
//! comes in as a [`Timestamp`] argument, and the jitter of retries from a seed
//! or the clock's entropy ([`RetryPolicy::jitter_seed`]).
//! So the same logic runs in a blocking program, on any async runtime, inside
//! your own event loop or WASM host, and in tests that replay recorded traffic
//! on a virtual clock.
//!
//! ## Four names, one idea
//!
//! | name | what it is | you use it to |
//! |---|---|---|
//! | a client method, `snapshots.create(..)` | the call, run to completion | get work done |
//! | [`Call`] | a client call as data (`Call::CreateSnapshot(..)`) | store, send or script calls; get the call's machine |
//! | an [`Exchange`], [`CreateSnapshot`] | one request and its answer (Layer A) | build `http::Request`s and parse answers with your own HTTP client |
//! | [`Operation`] | the name of an exchange (`Operation::CreateSnapshot`) | read errors, logs and the [route table](route) |
//!
//! ## Two layers
//!
//! **Layer A, one exchange.** Each API call is a value implementing [`Exchange`]:
//! [`CreateSnapshot`], [`PauseIntoSnapshot`], [`ResumeSnapshot`], [`RestoreSnapshot`],
//! [`DeleteSnapshot`], [`ListSnapshots`], [`GetSandbox`], [`CreateSandbox`],
//! [`DeleteSandbox`]. `request(&config)` checks the inputs and builds an
//! `http::Request`; `parse(response)` turns the answer into a typed value or an
//! [`Error`]. If you bring your own HTTP client, this is all you need.
//!
//! **Layer B, the operation machine.** A [`Machine`](machine::Machine) says what to
//! do next: `poll(now)` returns `Send`, `WaitUntil`, `Awaiting` or `Done`.
//! [`Retry`](machine::Retry), [`Paginate`](machine::Paginate),
//! [`WaitFor`](machine::WaitFor) and [`StartAndWait`](machine::StartAndWait) are
//! built from Layer A, so retries, pagination and polling are written once. The
//! [`machine`] module draws the driving contract; [`transport`] holds what a
//! transport author needs.
//!
//! ## Driving one operation by hand
//!
//! Here the "network" is a canned answer and the clock is a number, which is
//! exactly what an embedder's event loop would supply:
//!
//! ```
//! use std::time::Duration;
//! use leap0_core::machine::{Action, Machine, Retry};
//! use leap0_core::{Config, CreateSnapshot, Timestamp, http};
//!
//! let config = Config::new("my-key")?;
//! let mut machine = Retry::new(CreateSnapshot::new("sb-1").name("warm"), &config);
//! let now = Timestamp::ZERO;
//!
//! // 1. The machine wants a request sent.
//! let Action::Send(attempt) = machine.poll(now) else { panic!("expected a request") };
//! assert_eq!(attempt.request.method(), "POST");
//! assert_eq!(attempt.request.uri(), "https://api.leap0.dev/v1/sandbox/sb-1/snapshot/create");
//! assert_eq!(attempt.request.body(), br#"{"name":"warm"}"#);
//! assert_eq!(attempt.timeout, Duration::from_secs(300));
//! // Polling while the answer is awaited is harmless.
//! assert!(matches!(machine.poll(now), Action::Awaiting));
//!
//! // 2. We "send" it; the server says 503 and asks us to come back in 2 s.
//! let busy = http::Response::builder()
//!     .status(503)
//!     .header("retry-after", "2")
//!     .body(br#"{"message":"no runner capacity"}"#.to_vec())?;
//! machine.handle_response(now, busy);
//!
//! // 3. The machine asks to wait, honouring Retry-After...
//! let later = now + Duration::from_secs(2);
//! assert!(matches!(machine.poll(now), Action::WaitUntil(t) if t == later));
//!
//! // 4. ...then sends the same request again.
//! let Action::Send(retry) = machine.poll(later) else { panic!("expected a retry") };
//! assert_eq!(retry.number, 2);
//! let created = http::Response::builder()
//!     .status(201)
//!     .body(br#"{"id":"snap-1","name":"warm","vcpu":2,"memory":2048,"disk":10240}"#.to_vec())?;
//! machine.handle_response(later, created);
//!
//! // 5. Done, with a typed snapshot.
//! let Action::Done(Ok(snapshot)) = machine.poll(later) else { panic!("expected a snapshot") };
//! assert_eq!((snapshot.id.as_str(), snapshot.memory_mib), ("snap-1", 2048));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Embedding: from one machine to many
//!
//! An event loop that cannot block drives machines itself, any number at once:
//!
//! 1. Turn each call into its machine: `Call::ResumeAndWait(..).machine(&config)`
//!    gives exactly what the clients run (retries, the wait, pagination), as a
//!    `Box<dyn Machine<Output = CallOutput> + Send>`.
//! 2. Poll every machine whenever the loop wakes, with the loop's `now`.
//!    `Send` means write the request on a socket of yours; `WaitUntil` means
//!    put the deadline on your timer heap; `Awaiting` means nothing to do yet;
//!    `Done` hands over the result.
//! 3. When a socket yields an answer (or fails), hand it to the machine that
//!    sent it with `handle_response` / `handle_transport_error`, and poll it.
//!
//! Nothing in a machine blocks or reads a clock, so a thousand of them share
//! one thread; what the loop enforces itself is each attempt's `timeout`,
//! reported as a `TransportError` when it passes. The repository's example
//! `examples/examples/event_loop.rs` (`cargo run --release --example
//! event_loop`; the loop itself is `examples/src/event_loop.rs`) runs 120
//! operations at once this way over `mio` sockets and a timer heap, and
//! checks each result against the blocking client. For a real clock without
//! ureq or hyper, `leap0_clock` provides `SystemClock`.
//!
//! ## Retries
//!
//! | failure | GET / DELETE | POST |
//! |---|---|---|
//! | 429, 503 | retry, honour `Retry-After` | retry, honour `Retry-After` |
//! | 502, 504 | retry | no |
//! | no connection (request not sent) | retry | retry |
//! | timeout or reset after sending | retry | no: the server may have acted |
//! | other 4xx, 500, TLS, body too large | no | no |
//!
//! Backoff doubles from [`RetryPolicy::initial_backoff`] up to `max_backoff`,
//! with seeded jitter; `Retry-After` (seconds, or an HTTP-date read against the
//! response's `Date`) overrides it; `total_deadline` caps everything. A delete
//! retried after an attempt that may have acted, which then finds nothing to
//! delete, succeeds with [`Deletion::AlreadyDeleted`].
//!
//! ## Features
#![doc = document_features::document_features!()]
#![forbid(unsafe_code)]

mod call;
mod client;
pub mod config;
pub mod error;
mod exchange;
pub mod machine;
pub mod model;
mod operation;
mod ops;
pub mod retry_table;
pub mod route;
pub mod text;
mod time;
pub mod transport;
mod validate;

pub use http;

pub use call::{Call, CallMachine, CallOutput, IntoCallOutput};
pub use client::{AsyncSnapshotsClient, PlainSandbox, SandboxFactory, SnapshotsClient};
pub use config::{Config, PaginationLimits, RetryPolicy, WaitPolicy};
pub use error::{ApiErrorKind, Error, Operation};
pub use exchange::Exchange;
pub use model::{
    Deletion, NetworkMode, NetworkPolicy, Sandbox, SandboxState, Snapshot, TransformRule,
};
pub use ops::*;
pub use time::Timestamp;
