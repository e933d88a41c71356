//! # leap0-replay
//!
//! Record the HTTP traffic of a Leap0 snapshot client once, then replay it in
//! tests: no network, no sleeping, the same result on every run and with every
//! transport.
//!
//! - **Record**: wrap the real transport in a [`Recorder`]. It forwards each
//!   request, measures its latency, and writes down the request and the response
//!   (or the transport failure) after redacting credentials. Save the result as a
//!   [`Cassette`], a versioned, pretty-printed JSON file, written atomically and
//!   only after checking that no configured secret (pass the API key) is in it.
//! - **Replay**: give the client a [`Replayer`] as its transport and the
//!   replayer's [`VirtualClock`](leap0_core::transport::VirtualClock) as its
//!   clock. Each request is matched to a recorded one (method, path, query, JSON
//!   body semantically), found by key in constant time whatever the cassette's
//!   size, and answered with what was recorded, failures included. Waiting
//!   (backoff, `Retry-After`, status polling) moves the virtual clock instead
//!   of sleeping, so minutes of retries replay in microseconds. A request that
//!   matches nothing fails with a report naming the closest recorded requests
//!   and how they differ: [`ReplayError::Mismatch`], the cause of the client's
//!   error.
//! - **Both**: a [`Session`] picks by [`Mode`] (from `LEAP0_RECORD`): replay,
//!   record what is missing, re-record everything, append, or record only when
//!   there is no cassette yet.
//! - **Drift**: [`check_drift`] rebuilds every recorded request with the current
//!   core, offline, and reports what the client would now send differently.
//!
//! ## Record, then replay
//!
//! Here the "server" is a closure; in real use it is `leap0_ureq::UreqTransport`
//! or `leap0_hyper::HyperTransport`.
//!
//! ```
//! use std::time::Duration;
//! use leap0_core::transport::{Request, Response, TransportError, VirtualClock};
//! use leap0_core::{Config, SnapshotsClient, http};
//! use leap0_replay::{RecordOptions, Recorder, ReplayError, ReplayOptions, Replayer};
//!
//! let server = |req: Request, _timeout: Duration| -> Result<Response, TransportError> {
//!     assert_eq!(req.uri().path(), "/v1/sandbox/sb-1/snapshot/create");
//!     let body = r#"{"id":"snap-1","name":"warm","vcpu":2,"memory":2048,"disk":10240}"#;
//!     http::Response::builder().status(201).body(body.into()).map_err(TransportError::other)
//! };
//! let dir = std::env::temp_dir().join(format!("leap0-replay-doc-{}", std::process::id()));
//! let path = dir.join("create.json");
//!
//! // Record: the recorder is cloned into the client and keeps the log.
//! let config = Config::new("sk-live-example")?;
//! let recorder = Recorder::new(server, RecordOptions::new().secret("sk-live-example"));
//! let client = SnapshotsClient::new(config.clone(), recorder.clone(), VirtualClock::new());
//! let recorded = client.create(leap0_core::CreateSnapshot::new("sb-1").name("warm"))?;
//! recorder.save(&path)?; // refuses to write if the key were anywhere in it
//!
//! let text = std::fs::read_to_string(&path)?;
//! assert!(text.contains(r#""operation": "create_snapshot""#));
//! assert!(text.contains(r#""authorization": "<redacted>""#));
//! assert!(!text.contains("sk-live-example"));
//!
//! // Replay: no server at all, and the replayer's clock.
//! let replayer = Replayer::from_file(&path, ReplayOptions::default())?;
//! let client = SnapshotsClient::new(config, replayer.clone(), replayer.clock());
//! let replayed = client.create(leap0_core::CreateSnapshot::new("sb-1").name("warm"))?;
//! assert_eq!(replayed, recorded);
//!
//! // A request that was never recorded fails with a report of the closest one.
//! let err = client.create(leap0_core::CreateSnapshot::new("sb-1").name("cold")).unwrap_err();
//! let Some(ReplayError::Mismatch(report)) = ReplayError::find(&err) else { panic!("a report") };
//! assert_eq!(report.candidates[0].differences[0].to_string(), r#"body.name: recorded "warm", got "cold""#);
//! // `{:?}` (what a failing `-> Result` test prints) shows the whole report.
//! assert!(format!("{err:?}").contains("closest recorded requests, best first:"));
//! assert_eq!(replayer.mismatches().len(), 1);
//!
//! replayer.finish()?; // every recorded interaction was used
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## The cassette
//!
//! ```json
//! {
//!   "version": 1,
//!   "meta": { "crate_version": "0.1.0", "recorded_at": "2025-01-15T10:30:00Z", "base_path": "" },
//!   "interactions": [
//!     {
//!       "operation": "create_snapshot",
//!       "inputs": { "sandbox_id": "sb-1", "name": "warm", "kill_sandbox_after": false },
//!       "request": {
//!         "method": "POST",
//!         "target": "/v1/sandbox/sb-1/snapshot/create",
//!         "headers": { "authorization": "<redacted>", "content-type": "application/json", ... },
//!         "body": { "json": { "name": "warm" } }
//!       },
//!       "response": { "status": 201, "headers": { ... }, "body": { "json": { "id": "snap-1", ... } } },
//!       "latency_ms": 4
//!     }
//!   ]
//! }
//! ```
//!
//! A body is absent when empty, `{"json": ...}` when compact JSON serialization
//! gives back its exact bytes, else `{"text": "..."}` or `{"base64": "..."}`. A
//! transport failure is stored as `"failure": {"kind", "may_have_been_sent",
//! "message"}` instead of `"response"`.
//!
//! ## Redaction
//!
//! Every request and response header that
//! [`is_sensitive_header`](leap0_core::transport::is_sensitive_header) calls
//! sensitive (named like auth, key, token, secret, cookie or session:
//! `authorization`, `x-api-key`, `set-cookie`, `x-session-token`, ...) is always
//! stored as [`REDACTED`] (`<redacted>`), the one placeholder every crate uses;
//! [`RecordOptions`] adds headers, query parameters and JSON fields. The cassette remembers the configured names, and
//! the replayer redacts live requests the same way before matching. Headers do
//! not take part in matching unless listed in [`ReplayOptions::match_headers`].
#![forbid(unsafe_code)]

mod age;
mod cassette;
mod decode_check;
mod drift;
mod drive;
mod identify;
mod index;
mod load;
mod normalize;
mod record;
mod replay;
mod rules;
#[cfg(feature = "serve")]
pub mod serve;
mod session;
mod store;
mod test_session;

pub use age::{AgeError, Stale, cassette_age, check_age};
pub use cassette::{
    Body, CASSETTE_VERSION, Cassette, CassetteError, Interaction, Meta, REDACTED, RecordedRequest,
    RecordedResponse, Redactions, Version,
};
pub use decode_check::{DecodeFinding, DecodeProblem, check_decoding};
pub use drift::{DRIFT_BASE_URL, Drift, check_drift};
pub use drive::drive_all;
pub use identify::identify;
pub use normalize::Difference;
pub use record::{RecordOptions, Recorder};
pub use replay::{
    Candidate, Exhausted, Mismatch, QueueUsage, ReplayError, ReplayOptions, Replayer,
    UnusedInteraction,
};
pub use rules::{
    InteractionHook, JsonPath, Matcher, RequestHook, RequestView, ResponseHook, RuleError,
};
pub use session::{Mode, ModeError, RECORD_ENV, Session, SessionClock};
pub use test_session::{CASSETTE_DIR_ENV, TestName, TestOptions, TestSession};
