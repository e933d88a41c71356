//! # leap0-core
//!
//! The protocol of the [Leap0](https://leap0.dev) snapshot API, with no I/O: it
//! builds requests, reads responses and decides what to do next, and leaves
//! sending bytes and waiting to a transport you choose (`leap0-ureq`,
//! `leap0-hyper`, `leap0-replay`, or your own event loop).
//!
//! It never opens a socket or a file, spawns a thread, sleeps, or reads the
//! environment or a clock: time comes in as a [`Timestamp`] argument and jitter
//! from a seed in the [`Config`].
//!
//! ## Two layers
//!
//! **Layer A, one exchange.** Each API call is a value implementing [`Exchange`]:
//! [`CreateSnapshot`], [`PauseSandbox`], [`ResumeSnapshot`], [`RestoreSnapshot`],
//! [`DeleteSnapshot`], [`ListSnapshots`], [`GetSandbox`], [`CreateSandbox`].
//! `request(&config)` checks the inputs and builds an `http::Request`;
//! `parse(response)` turns the answer into a typed value or an [`Error`]. If you
//! bring your own HTTP client, this is all you need.
//!
//! **Layer B, the operation machine.** A [`Machine`] says what to do next:
//! `poll(now)` returns [`Action::Send`], [`Action::WaitUntil`] or [`Action::Done`].
//! [`Retry`], [`Paginate`], [`WaitFor`], [`AndThen`] and [`Map`] are built from
//! Layer A, so retries, pagination and polling are written once. The
//! [`machine`] module draws the driving contract.
//!
//! ## Driving one operation by hand
//!
//! Here the "network" is a canned answer and the clock is a number, which is
//! exactly what an embedder's event loop would supply:
//!
//! ```
//! use std::time::Duration;
//! use leap0_core::{Action, Config, CreateSnapshot, Machine, Retry, Timestamp};
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
//! ## Clients
//!
//! [`SnapshotsClient`] and [`AsyncSnapshotsClient`] run machines over a
//! [`Transport`] or [`AsyncTransport`] and a [`Clock`] or [`AsyncClock`], through
//! one drive loop ([`run_blocking`], [`run_async`]). Transports are implemented
//! for closures, so a test double is one line:
//!
//! ```
//! use leap0_core::{Config, SnapshotsClient, VirtualClock, Request, Response, TransportError};
//! use std::time::Duration;
//!
//! let fake = |_req: Request, _timeout: Duration| -> Result<Response, TransportError> {
//!     Ok(http::Response::builder().status(204).body(Vec::new()).unwrap())
//! };
//! let client = SnapshotsClient::new(Config::new("key").unwrap(), fake, VirtualClock::new());
//! client.delete("snap-1").unwrap();
//! ```
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
//! response's `Date`) overrides it; `total_deadline` caps everything.
#![forbid(unsafe_code)]

mod call;
mod client;
mod config;
mod drive;
mod error;
mod exchange;
pub mod machine;
mod model;
mod ops;
mod time;
mod transport;
pub mod validate;

pub use http;

pub use call::{Call, CallOutput};
pub use client::{AsyncSnapshotsClient, PlainSandbox, SandboxFactory, SnapshotsClient};
pub use config::{
    ApiKey, BaseUrl, Config, ConfigBuilder, ConfigError, DEFAULT_BASE_URL, DEFAULT_TIMEOUT,
    RetryPolicy, SDK_VERSION, WaitPolicy,
};
pub use drive::{run_async, run_blocking};
pub use error::{ApiError, ApiErrorKind, DecodeError, Error, FieldError, Operation};
pub use exchange::{Exchange, SOURCE_VALUE, USER_AGENT_VALUE, api_error, retry_after};
pub use machine::{
    Action, AndThen, Attempt, Machine, Map, Paged, Paginate, Retry, WaitFor, status_is_retryable,
    transport_failure_is_retryable,
};
pub use model::{
    FieldProblem, NetworkMode, NetworkPolicy, Sandbox, SandboxState, Snapshot, SnapshotList,
    TransformRule,
};
pub use ops::{
    CreateSandbox, CreateSnapshot, DeleteSnapshot, GetSandbox, ListSnapshots, OrderBy,
    PauseSandbox, RestoreSnapshot, ResumeSnapshot, SandboxRef, SnapshotRef, SortBy,
};
pub use time::Timestamp;
pub use transport::{
    AsyncClock, AsyncTransport, Clock, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES, Request,
    Response, SecretScrubber, Transport, TransportError, TransportErrorKind, VirtualClock,
};
