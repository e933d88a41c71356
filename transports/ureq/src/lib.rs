//! A blocking HTTP transport for [`leap0_core`], built on [ureq] 3 with rustls (ring).
//!
//! [`UreqTransport`] implements [`leap0_core::Transport`]: it performs exactly one HTTP
//! exchange per call and hands back whatever the server answered. It
//!
//! - never retries and never follows redirects (a redirect would carry the API key to
//!   another host): a `302` comes back as a normal [`Response`];
//! - never turns a status into an error: 4xx and 5xx answers are `Ok`;
//! - gives up after the per-call `timeout`, which covers the whole exchange, from DNS
//!   and connect to the last byte of the body;
//! - caps the response body ([`DEFAULT_MAX_BODY_BYTES`] unless configured): a larger
//!   body is a [`TransportErrorKind::BodyTooLarge`](leap0_core::TransportErrorKind::BodyTooLarge) error, detected while streaming,
//!   so an oversized answer is never buffered beyond the cap;
//! - sends the request's headers as they are (no `user-agent`, `accept` or
//!   `accept-encoding` of its own) and keeps every response header;
//! - keeps connections alive: clones of a transport share one connection pool.
//!
//! Failures are classified into [`TransportErrorKind`](leap0_core::TransportErrorKind)s, and `may_have_been_sent` is
//! `false` exactly when no byte of the request was handed to the connection (DNS
//! failures, refused connections, connect timeouts, TLS handshake failures):
//!
//! | failure | kind | may have been sent |
//! | --- | --- | --- |
//! | DNS, refused, unreachable, timeout or proxy failure before the request was written | `Connect` | no |
//! | TLS handshake or certificate failure | `Tls` | no |
//! | timeout after the request was written | `Timeout` | yes |
//! | connection reset or closed early, truncated body | `Reset` | yes |
//! | malformed HTTP answer | `InvalidResponse` | yes |
//! | body over the cap | `BodyTooLarge` | yes |
//! | anything else | `Other` | yes, unless nothing was written |
//!
//! Error messages never contain the request's headers.
//!
//! To know whether any byte of the request left, the transport wraps ureq's default
//! connector in a thin connector of its own (ureq's `unversioned` transport API), which
//! notes on the calling thread when the request is first written to a connection.
//!
//! ```no_run
//! use std::time::Duration;
//! use leap0_core::Transport;
//! use leap0_ureq::UreqTransport;
//!
//! let transport = UreqTransport::builder()
//!     .connect_timeout(Duration::from_secs(5))
//!     .max_body_bytes(1024 * 1024)
//!     .build()?;
//! let request = leap0_core::http::Request::get("https://api.example.com/v1/snapshots")
//!     .body(Vec::new())?;
//! let response = transport.send(request, Duration::from_secs(30))?;
//! println!("{}", response.status());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`SystemClock`] is the matching [`leap0_core::Clock`] for blocking drivers, and
//! [`client`] puts the three together:
//!
//! ```no_run
//! let config = leap0_core::Config::from_env(|name| std::env::var(name).ok())?;
//! let snapshots = leap0_ureq::client(config);
//! let snapshot = snapshots.create("sb-123")?;
//! println!("created {} ({})", snapshot.name, snapshot.id);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod classify;
mod clock;
mod wire;

use std::fmt;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use leap0_core::{Request, Response, Transport, TransportError};
use ureq::config::AutoHeaderValue;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

pub use clock::SystemClock;

/// The blocking client this crate makes ready to use.
pub type Client = leap0_core::SnapshotsClient<UreqTransport, SystemClock>;

/// A blocking snapshots client over a default [`UreqTransport`] and a
/// [`SystemClock`]. Use [`SnapshotsClient::new`](leap0_core::SnapshotsClient::new)
/// with a configured transport to change the transport's defaults.
pub fn client(config: leap0_core::Config) -> Client {
    leap0_core::SnapshotsClient::new(config, UreqTransport::new(), SystemClock::new())
}

pub use leap0_core::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES};

/// The largest buffer reserved up front from a declared `Content-Length`; the body
/// grows past it only as bytes actually arrive.
const MAX_PREALLOCATION: u64 = 1024 * 1024;

/// A blocking [`Transport`] over ureq: one shared agent with a keep-alive pool.
///
/// Cloning is cheap and clones share the connection pool. `Debug` shows the settings,
/// never a proxy address (which may hold credentials).
#[derive(Clone)]
pub struct UreqTransport {
    agent: ureq::Agent,
    settings: Arc<Settings>,
}

/// What the transport was built with, kept for `Debug` and for the body cap.
#[derive(Debug)]
struct Settings {
    connect_timeout: Duration,
    max_body_bytes: u64,
    custom_roots: usize,
    proxy: bool,
}

impl fmt::Debug for UreqTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let roots = if self.settings.custom_roots == 0 {
            "webpki".to_owned()
        } else {
            format!("{} custom", self.settings.custom_roots)
        };
        f.debug_struct("UreqTransport")
            .field("connect_timeout", &self.settings.connect_timeout)
            .field("max_body_bytes", &self.settings.max_body_bytes)
            .field("root_certificates", &roots)
            .field("proxy", &self.settings.proxy)
            .finish_non_exhaustive()
    }
}

impl UreqTransport {
    /// A transport with the defaults: webpki roots, a 10 s connect timeout, an 8 MiB
    /// body cap and no proxy.
    pub fn new() -> Self {
        UreqTransport::from_builder(UreqTransportBuilder::default())
    }

    /// A builder to change the defaults.
    pub fn builder() -> UreqTransportBuilder {
        UreqTransportBuilder::default()
    }

    /// The response body cap, in bytes.
    pub fn max_body_bytes(&self) -> u64 {
        self.settings.max_body_bytes
    }

    fn from_builder(builder: UreqTransportBuilder) -> Self {
        let UreqTransportBuilder {
            connect_timeout,
            max_body_bytes,
            roots,
            proxy,
        } = builder;
        let settings = Settings {
            connect_timeout,
            max_body_bytes,
            custom_roots: roots.len(),
            proxy: proxy.is_some(),
        };
        let root_certs = if roots.is_empty() {
            RootCerts::WebPki
        } else {
            RootCerts::from(roots)
        };
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(AutoHeaderValue::None)
            .accept(AutoHeaderValue::None)
            .accept_encoding(AutoHeaderValue::None)
            .proxy(proxy)
            .timeout_resolve(Some(connect_timeout))
            .timeout_connect(Some(connect_timeout))
            .tls_config(TlsConfig::builder().root_certs(root_certs).build())
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            wire::TrackingConnector::default(),
            ureq::unversioned::resolver::DefaultResolver::default(),
        );
        UreqTransport {
            agent,
            settings: Arc::new(settings),
        }
    }

    fn exchange(&self, request: Request, timeout: Duration) -> Result<Response, TransportError> {
        let secrets = classify::Secrets::from_headers(request.headers());
        let (parts, body) = request.into_parts();
        // An empty body is sent as no body at all, so that ureq adds no
        // `content-length: 0` to a GET; a `content-length` the caller set is kept.
        let result = if body.is_empty() {
            let request = http::Request::from_parts(parts, ());
            let request = self
                .agent
                .configure_request(request)
                .timeout_global(Some(timeout))
                .build();
            self.agent.run(request)
        } else {
            let request = http::Request::from_parts(parts, body);
            let request = self
                .agent
                .configure_request(request)
                .timeout_global(Some(timeout))
                .build();
            self.agent.run(request)
        };
        let response =
            result.map_err(|e| classify::error(e, wire::request_written(), timeout, &secrets))?;
        let (mut parts, mut body) = response.into_parts();
        // ureq's own bookkeeping (final URI, redirect history) is not part of the answer.
        parts.extensions = http::Extensions::new();
        let bytes = self.read_body(&mut body, timeout, &secrets)?;
        Ok(http::Response::from_parts(parts, bytes))
    }

    fn read_body(
        &self,
        body: &mut ureq::Body,
        timeout: Duration,
        secrets: &classify::Secrets,
    ) -> Result<Vec<u8>, TransportError> {
        let cap = self.settings.max_body_bytes;
        let declared = body.content_length();
        if declared.is_some_and(|len| len > cap) {
            return Err(TransportError::body_too_large(cap));
        }
        let reserve = declared.unwrap_or(0).min(cap).min(MAX_PREALLOCATION);
        let mut bytes = Vec::with_capacity(usize::try_from(reserve).unwrap_or(0));
        body.as_reader()
            .take(cap.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| classify::error(ureq::Error::from(e), true, timeout, secrets))?;
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > cap {
            return Err(TransportError::body_too_large(cap));
        }
        Ok(bytes)
    }
}

impl Default for UreqTransport {
    fn default() -> Self {
        UreqTransport::new()
    }
}

impl Transport for UreqTransport {
    fn send(&self, request: Request, timeout: Duration) -> Result<Response, TransportError> {
        wire::start_exchange();
        self.exchange(request, timeout)
    }
}

/// Why a [`UreqTransportBuilder`] could not build a transport.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The root certificate data held no usable certificate.
    #[error("invalid root certificate: {0}")]
    InvalidCertificate(String),
    /// The proxy address could not be understood. The address itself is not repeated,
    /// since it may hold credentials.
    #[error("invalid proxy address")]
    InvalidProxy,
}

/// Settings for a [`UreqTransport`]; see [`UreqTransport::builder`].
///
/// `Debug` shows whether a proxy is set, never its address.
#[derive(Clone)]
pub struct UreqTransportBuilder {
    connect_timeout: Duration,
    max_body_bytes: u64,
    roots: Vec<Certificate<'static>>,
    proxy: Option<ureq::Proxy>,
}

impl Default for UreqTransportBuilder {
    fn default() -> Self {
        UreqTransportBuilder {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            roots: Vec::new(),
            proxy: None,
        }
    }
}

impl fmt::Debug for UreqTransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UreqTransportBuilder")
            .field("connect_timeout", &self.connect_timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("custom_root_certificates", &self.roots.len())
            .field("proxy", &self.proxy.is_some())
            .finish()
    }
}

impl UreqTransportBuilder {
    /// How long DNS resolution, and then connection setup (TCP, proxy negotiation and
    /// the TLS handshake), may each take. Default: 10 s. The per-call timeout given to
    /// [`Transport::send`] still bounds the whole exchange.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The largest response body accepted, in bytes. Default: 8 MiB
    /// ([`DEFAULT_MAX_BODY_BYTES`]). A larger body fails the call with
    /// [`TransportErrorKind::BodyTooLarge`](leap0_core::TransportErrorKind::BodyTooLarge) after reading at most `max + 1` bytes.
    pub fn max_body_bytes(mut self, max: u64) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// Trusts the certificates in `pem` (one or more `CERTIFICATE` blocks) as roots.
    ///
    /// As soon as one root is added, the transport trusts **only** the roots added
    /// this way, instead of the built-in webpki roots: a private CA or a test
    /// certificate does not widen trust to the public web PKI. Call it several times
    /// to trust several roots. Fails if `pem` holds no certificate, or one that does
    /// not parse as a trust anchor.
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Result<Self, BuildError> {
        let mut found = Vec::new();
        for item in ureq::tls::parse_pem(pem) {
            match item {
                Ok(PemItem::Certificate(cert)) => {
                    check_root(cert.der())?;
                    found.push(cert);
                }
                Ok(_) => {}
                Err(e) => return Err(BuildError::InvalidCertificate(e.to_string())),
            }
        }
        if found.is_empty() {
            return Err(BuildError::InvalidCertificate(
                "no CERTIFICATE block found in the PEM data".to_owned(),
            ));
        }
        self.roots.extend(found);
        Ok(self)
    }

    /// Trusts a DER-encoded certificate as a root, with the same rule as
    /// [`add_root_certificate_pem`](Self::add_root_certificate_pem): custom roots
    /// replace the webpki roots. Fails if `der` does not parse as a trust anchor.
    pub fn add_root_certificate_der(mut self, der: &[u8]) -> Result<Self, BuildError> {
        check_root(der)?;
        self.roots.push(Certificate::from_der(der).to_owned());
        Ok(self)
    }

    /// Sends every request through the proxy at `url`, for example
    /// `http://proxy.internal:3128` (an HTTP CONNECT proxy; `https` targets are
    /// tunnelled, so the proxy never sees the API key) or `user:pass@host:port`.
    ///
    /// Without this call no proxy is used: `HTTP_PROXY`, `HTTPS_PROXY` and friends are
    /// ignored unless [`proxy_from_env`](Self::proxy_from_env) is called.
    pub fn proxy(mut self, url: &str) -> Result<Self, BuildError> {
        let proxy = ureq::Proxy::new(url).map_err(|_| BuildError::InvalidProxy)?;
        self.proxy = Some(proxy);
        Ok(self)
    }

    /// Uses the proxy named by the environment (`ALL_PROXY`, `HTTPS_PROXY`,
    /// `HTTP_PROXY` and `NO_PROXY`, in ureq's reading), if any; otherwise keeps the
    /// current setting.
    pub fn proxy_from_env(mut self) -> Self {
        if let Some(proxy) = ureq::Proxy::try_from_env() {
            self.proxy = Some(proxy);
        }
        self
    }

    /// Builds the transport.
    ///
    /// Every check happens in the builder methods that take input, so this does not
    /// fail today; it returns a `Result` so that later checks do not change the API.
    pub fn build(self) -> Result<UreqTransport, BuildError> {
        Ok(UreqTransport::from_builder(self))
    }
}

/// Fails unless `der` can serve as a trust anchor.
fn check_root(der: &[u8]) -> Result<(), BuildError> {
    rustls::RootCertStore::empty()
        .add(rustls::pki_types::CertificateDer::from(der))
        .map_err(|e| BuildError::InvalidCertificate(e.to_string()))
}
