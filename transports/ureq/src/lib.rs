//! A blocking HTTP transport for [`leap0_core`], built on [ureq] 3 with rustls (ring).
//!
//! Most programs want the ready-made client:
//!
//! ```no_run
//! let config = leap0_core::Config::from_env(|name| std::env::var(name).ok())?;
//! let snapshots = leap0_ureq::client(config);
//! let snapshot = snapshots.create("sb-123")?;
//! println!("created {} ({})", snapshot.name, snapshot.id);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`UreqTransport`] implements [`leap0_core::transport::Transport`]: it performs
//! exactly one HTTP exchange per call and hands back whatever the server answered.
//! It
//!
//! - never retries and never follows redirects (a redirect would carry the API key to
//!   another host): a `302` comes back as a normal [`Response`];
//! - never turns a status into an error: 4xx and 5xx answers are `Ok`;
//! - gives up after the per-call `timeout`, which covers the whole exchange, from DNS
//!   and connect to the last byte of the body;
//! - caps the response body ([`DEFAULT_MAX_BODY_BYTES`] unless configured): a larger
//!   body is a [`TransportErrorKind::BodyTooLarge`] error, detected while streaming,
//!   so an oversized answer is never buffered beyond the cap;
//! - sends the request's headers as they are (no `user-agent`, `accept` or
//!   `accept-encoding` of its own) and keeps every response header;
//! - keeps connections alive: clones share one pool, which keeps up to 32 idle
//!   connections per host (so 32 threads sharing a client reuse theirs);
//! - starts no thread per request: IP addresses are used as they are, and names
//!   are resolved once per 30 s;
//! - keeps credentials out of every log: ureq logs each request head it writes at
//!   `trace` level, so the head it writes holds placeholders, and the real values
//!   are put in as the bytes leave (see `wire.rs`);
//! - goes through a proxy only when told to ([`UreqTransportBuilder::proxy`],
//!   [`UreqTransportBuilder::proxy_from_env`]), tunnelling with `CONNECT`.
//!
//! Failures are classified into [`TransportErrorKind`]s, and `may_have_been_sent` is
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
//! Error messages never contain the request's credentials or a proxy's.
//!
//! [`TransportErrorKind::BodyTooLarge`]: leap0_core::transport::TransportErrorKind::BodyTooLarge
//! [`TransportErrorKind`]: leap0_core::transport::TransportErrorKind
#![forbid(unsafe_code)]

mod classify;
mod resolve;
mod wire;

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use leap0_core::transport::{ProxyRules, Request, Response, Transport, TransportError};
use ureq::config::AutoHeaderValue;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

pub use leap0_clock::SystemClock;
pub use leap0_core::transport::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES};

/// The blocking client this crate makes ready to use.
pub type Client = leap0_core::SnapshotsClient<UreqTransport, SystemClock>;

/// A blocking snapshots client over a default [`UreqTransport`] and a
/// [`SystemClock`]. Use [`SnapshotsClient::new`](leap0_core::SnapshotsClient::new)
/// with a configured transport to change the transport's defaults.
pub fn client(config: leap0_core::Config) -> Client {
    leap0_core::SnapshotsClient::new(config, UreqTransport::new(), SystemClock::new())
}

/// Idle connections kept per host by default: enough for as many threads
/// sharing one client.
pub const DEFAULT_MAX_IDLE_PER_HOST: usize = 32;

/// Idle connections kept in all by default.
pub const DEFAULT_MAX_IDLE: usize = 128;

/// The per-call timeout the agent itself is built with: the core's default.
const AGENT_TIMEOUT: Duration = leap0_core::config::DEFAULT_TIMEOUT;

/// The largest buffer reserved up front from a declared `Content-Length`; the body
/// grows past it only as bytes actually arrive.
const MAX_PREALLOCATION: u64 = 1024 * 1024;

/// A blocking [`Transport`] over ureq: one shared agent with a keep-alive pool.
///
/// Cloning is cheap and clones share the connection pool. `Debug` shows the
/// settings, never a proxy's credentials.
///
/// ```no_run
/// use std::time::Duration;
/// use leap0_core::transport::Transport;
/// use leap0_ureq::UreqTransport;
///
/// let transport = UreqTransport::builder()
///     .connect_timeout(Duration::from_secs(5))
///     .max_body_bytes(1024 * 1024)
///     .build()?;
/// let request = leap0_core::http::Request::get("https://api.example.com/v1/snapshots")
///     .body(Vec::new())?;
/// let response = transport.send(request, Duration::from_secs(30))?;
/// println!("{}", response.status());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct UreqTransport {
    agent: ureq::Agent,
    settings: Arc<Settings>,
}

/// What the transport was built with.
struct Settings {
    connect_timeout: Duration,
    max_body_bytes: u64,
    roots: String,
    max_idle_per_host: usize,
    rules: ProxyRules,
    /// One ureq proxy per proxy URL of the rules.
    proxies: HashMap<String, ureq::Proxy>,
}

impl fmt::Debug for UreqTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        f.debug_struct("UreqTransport")
            .field("connect_timeout", &s.connect_timeout)
            .field("max_body_bytes", &s.max_body_bytes)
            .field("root_certificates", &s.roots)
            .field("max_idle_per_host", &s.max_idle_per_host)
            .field("proxy", &s.rules)
            .finish_non_exhaustive()
    }
}

impl UreqTransport {
    /// A transport with the defaults: webpki roots, a 10 s connect timeout, an 8 MiB
    /// body cap, 32 idle connections per host and no proxy.
    pub fn new() -> Self {
        match UreqTransportBuilder::default().build() {
            Ok(transport) => transport,
            // The defaults read nothing from outside and parse no input.
            Err(e) => unreachable!("the default ureq transport failed to build: {e}"),
        }
    }

    /// A builder to change the defaults.
    ///
    /// ```
    /// use std::time::Duration;
    /// use leap0_core::transport::ProxyRules;
    ///
    /// let transport = leap0_ureq::UreqTransport::builder()
    ///     .connect_timeout(Duration::from_secs(3))
    ///     .max_body_bytes(1024 * 1024)
    ///     // Through a proxy, except for the hosts NO_PROXY names.
    ///     .proxy_rules(ProxyRules::all("http://proxy.internal:3128").no_proxy("localhost,.internal"))?
    ///     .build()?;
    /// assert_eq!(transport.max_body_bytes(), 1024 * 1024);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder() -> UreqTransportBuilder {
        UreqTransportBuilder::default()
    }

    /// The response body cap, in bytes.
    pub fn max_body_bytes(&self) -> u64 {
        self.settings.max_body_bytes
    }

    fn exchange(&self, request: Request, timeout: Duration) -> Result<Response, TransportError> {
        let (mut parts, body) = request.into_parts();
        let sensitive = classify::Sensitive {
            headers: wire::hide_secrets(&mut parts.headers),
            proxy: &self.settings.rules,
        };
        let proxy = self
            .settings
            .rules
            .proxy_for(&parts.uri)
            .and_then(|url| self.settings.proxies.get(url))
            .cloned();
        // An empty body is sent as no body at all, so that ureq adds no
        // `content-length: 0` to a GET; a `content-length` the caller set is kept.
        let result = if body.is_empty() {
            self.run(http::Request::from_parts(parts, ()), timeout, proxy)
        } else {
            self.run(http::Request::from_parts(parts, body), timeout, proxy)
        };
        let response =
            result.map_err(|e| classify::error(e, wire::request_written(), timeout, &sensitive))?;
        let (mut parts, mut body) = response.into_parts();
        // ureq's own bookkeeping (final URI, redirect history) is not part of the answer.
        parts.extensions = http::Extensions::new();
        let bytes = self.read_body(&mut body, timeout, &sensitive)?;
        Ok(http::Response::from_parts(parts, bytes))
    }

    /// Runs `request` with the per-call `timeout` and `proxy`. The agent's own
    /// settings are a default client's call (the core's default timeout, no
    /// proxy); such a call needs no settings of its own, which ureq would make
    /// by copying the agent's whole configuration into the request.
    fn run<B: ureq::AsSendBody>(
        &self,
        request: http::Request<B>,
        timeout: Duration,
        proxy: Option<ureq::Proxy>,
    ) -> Result<http::Response<ureq::Body>, ureq::Error> {
        if timeout == AGENT_TIMEOUT && proxy.is_none() {
            return self.agent.run(request);
        }
        let request = self
            .agent
            .configure_request(request)
            .timeout_global(Some(timeout))
            .proxy(proxy)
            .build();
        self.agent.run(request)
    }

    fn read_body(
        &self,
        body: &mut ureq::Body,
        timeout: Duration,
        sensitive: &classify::Sensitive<'_>,
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
            .map_err(|e| classify::error(ureq::Error::from(e), true, timeout, sensitive))?;
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
    /// The platform's certificate store could not be read, or is empty.
    #[error("cannot use the platform's certificate store: {0}")]
    PlatformRoots(String),
    /// A proxy address could not be understood. The address itself is not
    /// repeated, since it may hold credentials.
    #[error("invalid proxy address")]
    InvalidProxy,
}

/// Settings for a [`UreqTransport`]; see [`UreqTransport::builder`].
///
/// `Debug` never shows a proxy's credentials.
#[derive(Clone)]
pub struct UreqTransportBuilder {
    connect_timeout: Duration,
    max_body_bytes: u64,
    roots: Vec<Certificate<'static>>,
    platform_roots: bool,
    max_idle_per_host: usize,
    max_idle: usize,
    rules: ProxyRules,
}

impl Default for UreqTransportBuilder {
    fn default() -> Self {
        UreqTransportBuilder {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            roots: Vec::new(),
            platform_roots: false,
            max_idle_per_host: DEFAULT_MAX_IDLE_PER_HOST,
            max_idle: DEFAULT_MAX_IDLE,
            rules: ProxyRules::none(),
        }
    }
}

impl fmt::Debug for UreqTransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UreqTransportBuilder")
            .field("connect_timeout", &self.connect_timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("custom_root_certificates", &self.roots.len())
            .field("platform_roots", &self.platform_roots)
            .field("max_idle_per_host", &self.max_idle_per_host)
            .field("proxy", &self.rules)
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
    /// `BodyTooLarge` after reading at most `max + 1` bytes.
    pub fn max_body_bytes(mut self, max: u64) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// How many idle connections are kept per host (default 32) and in all
    /// (default 128). Keep the first at least as high as the number of threads
    /// sharing the transport, or they will open new connections.
    pub fn max_idle_connections(mut self, per_host: usize, total: usize) -> Self {
        self.max_idle_per_host = per_host;
        self.max_idle = total.max(per_host);
        self
    }

    /// Trusts the certificates in `pem` (one or more `CERTIFICATE` blocks) as roots.
    ///
    /// ```
    /// let err = leap0_ureq::UreqTransport::builder()
    ///     .add_root_certificate_pem(b"not a certificate")
    ///     .unwrap_err();
    /// assert!(err.to_string().starts_with("invalid root certificate"));
    /// ```
    ///
    /// Certificates added this way are trusted **instead of** the built-in webpki
    /// roots (a private CA does not widen trust to the public web PKI), or in
    /// addition to the platform's store with [`platform_roots`](Self::platform_roots).
    /// Fails if `pem` holds no certificate, or one that does not parse as a
    /// trust anchor.
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
    /// [`add_root_certificate_pem`](Self::add_root_certificate_pem).
    pub fn add_root_certificate_der(mut self, der: &[u8]) -> Result<Self, BuildError> {
        check_root(der)?;
        self.roots.push(Certificate::from_der(der).to_owned());
        Ok(self)
    }

    /// Trusts the platform's certificate store (read when the transport is
    /// built) instead of the built-in webpki roots, plus any certificates added.
    pub fn platform_roots(mut self, on: bool) -> Self {
        self.platform_roots = on;
        self
    }

    /// Sends every request through the proxy at `url`: `http://proxy:3128`,
    /// `https://proxy:8443` (TLS to the proxy), `user:pass@` credentials allowed.
    /// Targets are tunnelled with `CONNECT`, so the proxy never sees the API key
    /// of an `https` request.
    pub fn proxy(self, url: &str) -> Result<Self, BuildError> {
        self.proxy_rules(ProxyRules::all(url))
    }

    /// Proxies as the environment says (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
    /// `NO_PROXY`, in upper or lower case; see [`ProxyRules`]). Off unless called.
    pub fn proxy_from_env(self) -> Result<Self, BuildError> {
        self.proxy_rules(ProxyRules::from_lookup(|name| std::env::var(name).ok()))
    }

    /// Proxies by `rules`.
    pub fn proxy_rules(mut self, rules: ProxyRules) -> Result<Self, BuildError> {
        for url in rules.urls() {
            ureq::Proxy::new(url).map_err(|_| BuildError::InvalidProxy)?;
        }
        self.rules = rules;
        Ok(self)
    }

    /// Builds the transport (reading the platform's certificate store if asked to).
    pub fn build(self) -> Result<UreqTransport, BuildError> {
        let UreqTransportBuilder {
            connect_timeout,
            max_body_bytes,
            mut roots,
            platform_roots,
            max_idle_per_host,
            max_idle,
            rules,
        } = self;
        let custom = roots.len();
        let (root_certs, shown) = if platform_roots {
            let loaded = rustls_native_certs::load_native_certs();
            if loaded.certs.is_empty() {
                let why = loaded
                    .errors
                    .first()
                    .map_or_else(|| "no certificate found".to_owned(), ToString::to_string);
                return Err(BuildError::PlatformRoots(why));
            }
            let platform = loaded.certs.len();
            roots.extend(
                loaded
                    .certs
                    .iter()
                    .map(|c| Certificate::from_der(c.as_ref()).to_owned()),
            );
            (
                RootCerts::from(roots),
                format!("platform ({platform}) + {custom} custom"),
            )
        } else if roots.is_empty() {
            (RootCerts::WebPki, "webpki".to_owned())
        } else {
            (RootCerts::from(roots), format!("{custom} custom"))
        };
        let mut proxies = HashMap::new();
        for url in rules.urls() {
            let proxy = ureq::Proxy::new(url).map_err(|_| BuildError::InvalidProxy)?;
            proxies.insert(url.to_owned(), proxy);
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(AutoHeaderValue::None)
            .accept(AutoHeaderValue::None)
            .accept_encoding(AutoHeaderValue::None)
            .max_idle_connections(max_idle)
            .max_idle_connections_per_host(max_idle_per_host)
            .timeout_resolve(Some(connect_timeout))
            .timeout_connect(Some(connect_timeout))
            .timeout_global(Some(AGENT_TIMEOUT))
            .tls_config(TlsConfig::builder().root_certs(root_certs).build())
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            wire::TrackingConnector::default(),
            resolve::CachingResolver::default(),
        );
        Ok(UreqTransport {
            agent,
            settings: Arc::new(Settings {
                connect_timeout,
                max_body_bytes,
                roots: shown,
                max_idle_per_host,
                rules,
                proxies,
            }),
        })
    }
}

/// Fails unless `der` can serve as a trust anchor.
fn check_root(der: &[u8]) -> Result<(), BuildError> {
    rustls::RootCertStore::empty()
        .add(rustls::pki_types::CertificateDer::from(der))
        .map_err(|e| BuildError::InvalidCertificate(e.to_string()))
}
