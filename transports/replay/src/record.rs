//! Recording: a transport wrapper that writes down every exchange.

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use leap0_core::transport::{
    AsyncTransport, Request, Response, Secrets, Transport, TransportError,
};

use crate::cassette::{
    Cassette, CassetteError, Interaction, RecordedRequest, RecordedResponse, Redactions, rfc3339,
    secrets_of,
};
use crate::identify::{identify, operation_of};
use crate::normalize::{Redactor, normalize_prefix, split_target};
use crate::rules::InteractionHook;

/// What to keep out of a recording.
///
/// Every request and response header the core calls sensitive is always
/// redacted (stored as [`REDACTED`](crate::REDACTED), `<redacted>`): by the one
/// rule of [`is_sensitive_header`](leap0_core::transport::is_sensitive_header),
/// a header marked sensitive or named like auth, key, token, secret, cookie or
/// session (`authorization`, `x-api-key`, `cookie`, `set-cookie`,
/// `x-auth-token`, `x-session-token`, ...). So is any header configured here,
/// and any header whose value contains a secret in any form. Redaction happens
/// before anything is stored. Before a cassette is written, its text is
/// also scanned for every secret (as given, as its bare token, base64-encoded,
/// JSON-escaped or percent-encoded), and the write is refused if one is found.
///
/// `Debug` shows how many secrets there are, never the secrets.
///
/// ```
/// let options = leap0_replay::RecordOptions::new()
///     .secret("sk-live-123")
///     .redact_header("x-leap0-key")
///     .redact_query("signature")
///     .redact_json_field("password");
/// assert!(!format!("{options:?}").contains("sk-live-123"));
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct RecordOptions {
    /// Strings that must never be written: pass the API key here.
    pub secrets: Vec<String>,
    /// More headers to redact (case-insensitive).
    pub redact_headers: Vec<String>,
    /// Query parameters whose values are redacted.
    pub redact_query: Vec<String>,
    /// JSON object keys whose values are redacted, at any depth of any body.
    pub redact_json_fields: Vec<String>,
    /// The base URL's path prefix, stored in the cassette's `meta.base_path`;
    /// when empty, it is taken from what precedes `/v1/` in the first request.
    pub base_path: String,
    /// Changes each interaction, redacted, before it is recorded (see
    /// [`before_record`](Self::before_record)).
    pub before_record: Option<InteractionHook>,
}

impl fmt::Debug for RecordOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordOptions")
            .field(
                "secrets",
                &format_args!("<{} redacted>", self.secrets.len()),
            )
            .field("redact_headers", &self.redact_headers)
            .field("redact_query", &self.redact_query)
            .field("redact_json_fields", &self.redact_json_fields)
            .field("base_path", &self.base_path)
            .field("before_record", &self.before_record.is_some())
            .finish()
    }
}

impl RecordOptions {
    /// The defaults: only the sensitive headers are redacted, no secrets.
    pub fn new() -> RecordOptions {
        RecordOptions::default()
    }

    /// Adds a secret that must never be written (the API key, a token).
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// Redacts another header.
    pub fn redact_header(mut self, name: impl Into<String>) -> Self {
        self.redact_headers
            .push(name.into().trim().to_ascii_lowercase());
        self
    }

    /// Redacts the values of a query parameter.
    pub fn redact_query(mut self, name: impl Into<String>) -> Self {
        self.redact_query.push(name.into());
        self
    }

    /// Redacts the values of a JSON object key, at any depth.
    pub fn redact_json_field(mut self, name: impl Into<String>) -> Self {
        self.redact_json_fields.push(name.into());
        self
    }

    /// Changes each interaction before it is recorded, after redaction: for a
    /// value that differs on every run (a generated name, a timestamp) that a
    /// test wants stored as one stable value. Secrets are still checked when
    /// the cassette is written.
    pub fn before_record(
        mut self,
        hook: impl Fn(&mut Interaction) + Send + Sync + 'static,
    ) -> Self {
        self.before_record = Some(std::sync::Arc::new(hook));
        self
    }

    /// Sets the base URL's path prefix.
    pub fn base_path(mut self, prefix: impl Into<String>) -> Self {
        self.base_path = prefix.into();
        self
    }

    /// Takes the auth header (redacted) and base path from a client
    /// configuration. The key itself cannot be read from a `Config`: add it with
    /// [`secret`](Self::secret).
    pub fn config(self, config: &leap0_core::Config) -> Self {
        let header = config.auth_header().as_str().to_owned();
        let prefix = config.base_url().prefix().to_owned();
        self.redact_header(header).base_path(prefix)
    }

    pub(crate) fn redactions(&self) -> Redactions {
        let mut headers: Vec<String> = Vec::new();
        for h in &self.redact_headers {
            let h = h.trim().to_ascii_lowercase();
            if !h.is_empty() && !headers.contains(&h) {
                headers.push(h);
            }
        }
        Redactions {
            headers,
            query: self.redact_query.clone(),
            json_fields: self.redact_json_fields.clone(),
        }
    }

    pub(crate) fn merge_redactions(&mut self, redactions: &Redactions) {
        let mut mine = self.redactions();
        mine.merge(redactions);
        self.redact_headers = mine.headers;
        self.redact_query = mine.query;
        self.redact_json_fields = mine.json_fields;
    }
}

/// Wraps a transport and records every exchange: request, response or failure,
/// and latency.
///
/// Clones share one log, so keep a clone when handing the recorder to a client,
/// and save it once the client is done. `Debug` shows no secrets and no recorded
/// data.
///
/// ```
/// use std::time::Duration;
/// use leap0_core::transport::{Request, Response, TransportError, VirtualClock};
/// use leap0_core::{Config, SnapshotsClient, http};
/// use leap0_replay::{RecordOptions, Recorder};
///
/// let server = |_req: Request, _timeout: Duration| -> Result<Response, TransportError> {
///     Ok(http::Response::builder().status(204).body(Vec::new()).unwrap())
/// };
/// let recorder = Recorder::new(server, RecordOptions::new().secret("my-key"));
/// let client = SnapshotsClient::new(Config::new("my-key")?, recorder.clone(), VirtualClock::new());
/// client.delete("snap-1")?;
///
/// let cassette = recorder.cassette();
/// assert_eq!(cassette.interactions.len(), 1);
/// assert_eq!(cassette.interactions[0].request.headers["authorization"], "<redacted>");
/// assert!(!cassette.to_json()?.contains("my-key"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Recorder<T> {
    inner: Arc<T>,
    shared: Arc<Shared>,
}

struct Shared {
    options: RecordOptions,
    secrets: Secrets,
    redactor: Redactor,
    started: SystemTime,
    log: Mutex<Vec<Interaction>>,
}

impl<T> Clone for Recorder<T> {
    fn clone(&self) -> Self {
        Recorder {
            inner: Arc::clone(&self.inner),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> fmt::Debug for Recorder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("inner", &std::any::type_name::<T>())
            .field("interactions", &self.lock().len())
            .field("options", &self.shared.options)
            .finish()
    }
}

impl<T> Recorder<T> {
    /// Records everything sent through `inner`.
    pub fn new(inner: T, options: RecordOptions) -> Recorder<T> {
        Recorder::from_arc(Arc::new(inner), options)
    }

    pub(crate) fn from_arc(inner: Arc<T>, options: RecordOptions) -> Recorder<T> {
        let secrets = secrets_of(&options.secrets);
        let redactor = Redactor::new(&options.redactions(), &secrets);
        Recorder {
            inner,
            shared: Arc::new(Shared {
                options,
                secrets,
                redactor,
                started: SystemTime::now(),
                log: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The options it records with.
    pub fn options(&self) -> &RecordOptions {
        &self.shared.options
    }

    /// How many exchanges were recorded so far.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// The recorded exchanges so far (already redacted).
    pub fn interactions(&self) -> Vec<Interaction> {
        self.lock().clone()
    }

    /// What was recorded so far, as a cassette (already redacted).
    pub fn cassette(&self) -> Cassette {
        self.cassette_with(Vec::new())
    }

    /// A cassette of `earlier` interactions followed by those recorded here.
    pub(crate) fn cassette_with(&self, mut interactions: Vec<Interaction>) -> Cassette {
        interactions.extend(self.interactions());
        let mut cassette = Cassette::new();
        cassette.meta.recorded_at = rfc3339(self.shared.started);
        cassette.meta.redact = self.shared.options.redactions();
        cassette.meta.base_path = if self.shared.options.base_path.is_empty() {
            infer_base_path(&interactions)
        } else {
            normalize_prefix(&self.shared.options.base_path)
        };
        cassette.interactions = interactions;
        cassette
    }

    /// Writes what was recorded to `path` (atomically, replacing what was
    /// there), refusing if a configured secret appears anywhere in it in any
    /// form, and if another recording is writing the same cassette.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), CassetteError> {
        self.cassette().save(path, &self.shared.options.secrets)
    }

    pub(crate) fn secrets(&self) -> &Secrets {
        &self.shared.secrets
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Interaction>> {
        self.shared.lock()
    }

    /// The redacted request, taken before the request is handed on.
    fn capture(&self, request: &Request) -> Interaction {
        let redactor = &self.shared.redactor;
        let raw_target = request.uri().path_and_query().map_or_else(
            || request.uri().path().to_owned(),
            |pq| pq.as_str().to_owned(),
        );
        let target = redactor.target(if raw_target.is_empty() {
            "/"
        } else {
            &raw_target
        });
        let method = request.method().as_str().to_owned();
        let body = redactor.body(request.body());
        let body_bytes = crate::cassette::body_bytes(body.as_ref()).unwrap_or_default();
        let (operation, inputs) = match identify(&method, &target, &body_bytes) {
            Some((operation, inputs)) => (Some(operation), Some(inputs)),
            None => (operation_of(&method, &target), None),
        };
        Interaction {
            operation,
            inputs,
            request: RecordedRequest {
                method,
                target,
                headers: redactor.headers(request.headers()),
                body,
            },
            response: None,
            failure: None,
            latency_ms: 0,
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Vec<Interaction>> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn finish_capture(
        &self,
        mut interaction: Interaction,
        outcome: &Result<Response, TransportError>,
        latency: Duration,
    ) {
        let redactor = &self.redactor;
        match outcome {
            Ok(response) => {
                interaction.response = Some(RecordedResponse {
                    status: response.status().as_u16(),
                    headers: redactor.headers(response.headers()),
                    body: redactor.body(response.body()),
                });
            }
            Err(error) => interaction.failure = Some(error.clone()),
        }
        interaction.latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        if let Some(hook) = &self.options.before_record {
            hook(&mut interaction);
        }
        self.lock().push(interaction);
    }
}

fn infer_base_path(interactions: &[Interaction]) -> String {
    interactions
        .iter()
        .find_map(|x| {
            let (path, _) = split_target(&x.request.target);
            path.find("/v1/").map(|at| path[..at].to_owned())
        })
        .unwrap_or_default()
}

impl<T: Transport> Transport for Recorder<T> {
    fn send(&self, request: Request, timeout: Duration) -> Result<Response, TransportError> {
        let interaction = self.capture(&request);
        let started = Instant::now();
        let outcome = self.inner.send(request, timeout);
        self.shared
            .finish_capture(interaction, &outcome, started.elapsed());
        outcome
    }
}

impl<T: AsyncTransport> AsyncTransport for Recorder<T> {
    fn send(
        &self,
        request: Request,
        timeout: Duration,
    ) -> impl Future<Output = Result<Response, TransportError>> {
        let interaction = self.capture(&request);
        let shared = Arc::clone(&self.shared);
        let exchange = self.inner.send(request, timeout);
        async move {
            let started = Instant::now();
            let outcome = exchange.await;
            shared.finish_capture(interaction, &outcome, started.elapsed());
            outcome
        }
    }
}
