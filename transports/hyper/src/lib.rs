//! An asynchronous HTTP transport for [`leap0_core`], built on hyper 1, hyper-util's
//! pooled client and rustls (ring), on tokio.
//!
//! Most programs want the ready-made client:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = leap0_core::Config::from_env(|name| std::env::var(name).ok())?;
//! let snapshots = leap0_hyper::client(config); // Clone + Send + Sync
//! let snapshot = snapshots.create("sb-123").await?;
//! println!("created {} ({})", snapshot.name, snapshot.id);
//! # Ok(())
//! # }
//! ```
//!
//! Its futures are `Send`, so calls can be spawned:
//! `tokio::spawn(async move { snapshots.create("sb-123").await })`.
//!
//! [`HyperTransport`] implements [`leap0_core::transport::AsyncTransport`]: each call
//! performs exactly one HTTP/1.1 exchange, over `https` or plain `http`, and hands
//! back whatever the server answered. It
//!
//! - never retries (hyper-util's silent re-send of requests on a stale pooled
//!   connection is switched off) and never follows redirects (a redirect would carry
//!   the API key to another host): a `302` comes back as a normal [`Response`];
//! - never turns a status into an error: 4xx and 5xx answers are `Ok`;
//! - gives up after the per-call `timeout`, which covers the whole exchange, from DNS
//!   and connect to the last byte of the body;
//! - caps the response body ([`DEFAULT_MAX_BODY_BYTES`] unless configured): a larger
//!   body is a `BodyTooLarge` error, detected frame by frame while streaming, so an
//!   oversized answer is never buffered beyond the cap;
//! - sends the request's headers as they are (hyper adds only `host`, and a
//!   `content-length` for a body the caller did not size) and keeps every response
//!   header;
//! - keeps connections alive: clones of a transport share one connection pool;
//! - goes through a proxy only when told to ([`HyperTransportBuilder::proxy`],
//!   [`HyperTransportBuilder::proxy_from_env`]): `https` targets are tunnelled with
//!   `CONNECT`, `http` targets forwarded.
//!
//! The transport must be used from within a tokio runtime (current-thread or
//! multi-thread).
//!
//! Failures are classified into [`TransportErrorKind`](leap0_core::transport::TransportErrorKind)s:
//!
//! | failure | kind | may have been sent |
//! | --- | --- | --- |
//! | DNS, refused, unreachable, connect timeout, proxy refusal | `Connect` | no |
//! | per-call timeout before a connection was ready for the request | `Connect` | no |
//! | TLS handshake or certificate failure | `Tls` | no |
//! | pooled connection found closed before the request was written | `Reset` | no |
//! | per-call timeout once a connection carried the request | `Timeout` | yes |
//! | connection reset or closed early, truncated body | `Reset` | yes |
//! | malformed HTTP answer | `InvalidResponse` | yes |
//! | body over the cap | `BodyTooLarge` | yes |
//! | request rejected locally (e.g. no scheme or host in the URI) | `Other` | no |
//! | anything else | `Other` | yes |
//!
//! Error messages never contain the request's credentials or a proxy's.
//!
//! ## Per-call costs beyond raw hyper-util
//!
//! Each costs a little and buys something named:
//! - `capture_connection`: tells a timeout before any connection was ready
//!   (safe to retry, even a POST) from one after the request may have left;
//! - `tokio::time::timeout` around the exchange: the per-call timeout;
//! - the frame-by-frame body loop: the body cap, checked while streaming.
#![forbid(unsafe_code)]

mod classify;
mod clock;
mod proxy;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Incoming};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client as PooledClient;
use hyper_util::client::legacy::connect::{HttpConnector, capture_connection};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use leap0_core::transport::{AsyncTransport, ProxyRules, Request, Response, TransportError};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

pub use clock::TokioClock;
pub use leap0_core::transport::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES};

/// The async client this crate makes ready to use.
pub type Client = leap0_core::AsyncSnapshotsClient<HyperTransport, TokioClock>;

/// An async snapshots client over a default [`HyperTransport`] and a
/// [`TokioClock`]. Cheap to clone; share it across tasks. Use
/// [`AsyncSnapshotsClient::new`](leap0_core::AsyncSnapshotsClient::new) with a
/// configured transport to change the transport's defaults.
pub fn client(config: leap0_core::Config) -> Client {
    leap0_core::AsyncSnapshotsClient::new(config, HyperTransport::new(), TokioClock::new())
}

/// The largest buffer reserved up front from a declared `Content-Length`; the body
/// grows past it only as bytes actually arrive.
const MAX_PREALLOCATION: u64 = 1024 * 1024;

type HyperClient = PooledClient<HttpsConnector<proxy::ProxyConnector>, Full<Bytes>>;

/// An asynchronous [`AsyncTransport`] over hyper-util's pooled client, with rustls.
///
/// Cheap to clone; clones share the connection pool. `Send + Sync`.
///
/// ```no_run
/// use std::time::Duration;
/// use leap0_core::transport::AsyncTransport;
/// use leap0_hyper::HyperTransport;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let transport = HyperTransport::builder()
///     .connect_timeout(Duration::from_secs(5))
///     .max_body_bytes(1024 * 1024)
///     .build()?;
/// let request = leap0_core::http::Request::get("https://api.example.com/v1/snapshots")
///     .body(Vec::new())?;
/// let response = transport.send(request, Duration::from_secs(30)).await?;
/// println!("{}", response.status());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct HyperTransport {
    client: HyperClient,
    settings: Arc<Settings>,
}

struct Settings {
    connect_timeout: Duration,
    max_body_bytes: u64,
    roots: String,
    rules: ProxyRules,
}

impl fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        f.debug_struct("HyperTransport")
            .field("connect_timeout", &s.connect_timeout)
            .field("max_body_bytes", &s.max_body_bytes)
            .field("root_certificates", &s.roots)
            .field("proxy", &s.rules)
            .finish_non_exhaustive()
    }
}

impl HyperTransport {
    /// A transport with the defaults: webpki roots, a 10 s connect timeout, an
    /// 8 MiB body cap and no proxy.
    pub fn new() -> Self {
        match HyperTransportBuilder::default().build() {
            Ok(transport) => transport,
            // The defaults (ring, safe protocol versions, webpki roots) always build.
            Err(e) => unreachable!("the default hyper transport failed to build: {e}"),
        }
    }

    /// A builder to change the defaults.
    ///
    /// ```
    /// use std::time::Duration;
    /// use leap0_core::transport::ProxyRules;
    ///
    /// let transport = leap0_hyper::HyperTransport::builder()
    ///     .connect_timeout(Duration::from_secs(3))
    ///     .max_body_bytes(1024 * 1024)
    ///     // Through a proxy, except for the hosts NO_PROXY names.
    ///     .proxy_rules(ProxyRules::all("http://proxy.internal:3128").no_proxy("localhost,.internal"))?
    ///     .build()?;
    /// assert_eq!(transport.max_body_bytes(), 1024 * 1024);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder() -> HyperTransportBuilder {
        HyperTransportBuilder::default()
    }

    /// The response body cap, in bytes.
    pub fn max_body_bytes(&self) -> u64 {
        self.settings.max_body_bytes
    }

    async fn exchange(
        &self,
        request: Request,
        timeout: Duration,
    ) -> Result<Response, TransportError> {
        let (mut parts, body) = request.into_parts();
        // Forwarded through a proxy (plain http), the request names its credentials.
        if parts.uri.scheme_str() == Some("http")
            && let Some(auth) =
                proxy::proxy_for(&self.settings.rules, &parts.uri).and_then(|p| p.auth())
        {
            parts
                .headers
                .insert(http::header::PROXY_AUTHORIZATION, auth);
        }
        let sensitive = classify::Sensitive::of(&parts.headers, &self.settings.rules);
        let mut request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
        let connection = capture_connection(&mut request);
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| classify::client_error(&e, &sensitive))?;
            self.collect(response, &sensitive).await
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_elapsed) => Err(classify::timed_out(
                timeout,
                connection.connection_metadata().is_some(),
            )),
        }
    }

    async fn collect(
        &self,
        response: http::Response<Incoming>,
        sensitive: &classify::Sensitive<'_>,
    ) -> Result<Response, TransportError> {
        let cap = self.settings.max_body_bytes;
        let (mut parts, mut body) = response.into_parts();
        // hyper-util's bookkeeping is not part of the answer.
        parts.extensions = http::Extensions::new();
        // A declared length over the cap fails before reading anything.
        let declared = body.size_hint().lower();
        if declared > cap {
            return Err(TransportError::body_too_large(cap));
        }
        let reserve = declared.min(MAX_PREALLOCATION);
        let mut bytes = Vec::with_capacity(usize::try_from(reserve).unwrap_or(0));
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| classify::body_error(&e, sensitive))?;
            // Trailers are not part of the contract and are dropped.
            if let Ok(data) = frame.into_data() {
                let total =
                    u64::try_from(bytes.len().saturating_add(data.len())).unwrap_or(u64::MAX);
                if total > cap {
                    return Err(TransportError::body_too_large(cap));
                }
                bytes.extend_from_slice(&data);
            }
        }
        Ok(http::Response::from_parts(parts, bytes))
    }
}

impl Default for HyperTransport {
    fn default() -> Self {
        HyperTransport::new()
    }
}

impl AsyncTransport for HyperTransport {
    // A promise beyond the trait's: this future is `Send`, so calls can be spawned.
    #[allow(refining_impl_trait)]
    fn send(
        &self,
        request: Request,
        timeout: Duration,
    ) -> impl Future<Output = Result<Response, TransportError>> + Send {
        self.exchange(request, timeout)
    }
}

/// Why a [`HyperTransportBuilder`] could not build a transport.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The root certificate data held no usable certificate.
    #[error("invalid root certificate: {0}")]
    InvalidCertificate(String),
    /// The platform's certificate store could not be read, or is empty.
    #[error("cannot use the platform's certificate store: {0}")]
    PlatformRoots(String),
    /// A proxy address could not be understood (it is not repeated: it may
    /// hold credentials).
    #[error("invalid proxy address")]
    InvalidProxy,
    /// rustls refused the TLS configuration.
    #[error("invalid TLS configuration: {0}")]
    Tls(String),
}

/// Settings for a [`HyperTransport`]; see [`HyperTransport::builder`].
#[derive(Clone)]
pub struct HyperTransportBuilder {
    connect_timeout: Duration,
    max_body_bytes: u64,
    roots: Vec<CertificateDer<'static>>,
    platform_roots: bool,
    rules: ProxyRules,
}

impl Default for HyperTransportBuilder {
    fn default() -> Self {
        HyperTransportBuilder {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            roots: Vec::new(),
            platform_roots: false,
            rules: ProxyRules::none(),
        }
    }
}

impl fmt::Debug for HyperTransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperTransportBuilder")
            .field("connect_timeout", &self.connect_timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("custom_root_certificates", &self.roots.len())
            .field("platform_roots", &self.platform_roots)
            .field("proxy", &self.rules)
            .finish()
    }
}

impl HyperTransportBuilder {
    /// How long the TCP connection (including DNS resolution) may take to set up.
    /// Default: 10 s. The TLS handshake is bounded by the per-call timeout only, which
    /// also bounds the whole exchange.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The largest response body accepted, in bytes. Default: 8 MiB
    /// ([`DEFAULT_MAX_BODY_BYTES`]). A larger body fails the call with
    /// `BodyTooLarge`.
    pub fn max_body_bytes(mut self, max: u64) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// Trusts the certificates in `pem` (one or more `CERTIFICATE` blocks) as roots.
    ///
    /// ```
    /// let err = leap0_hyper::HyperTransport::builder()
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
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| BuildError::InvalidCertificate(e.to_string()))?;
            check_root(&cert)?;
            found.push(cert);
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
        let cert = CertificateDer::from(der.to_vec());
        check_root(&cert)?;
        self.roots.push(cert);
        Ok(self)
    }

    /// Trusts the platform's certificate store (read when the transport is
    /// built) instead of the built-in webpki roots, plus any certificates added.
    pub fn platform_roots(mut self, on: bool) -> Self {
        self.platform_roots = on;
        self
    }

    /// Sends every request through the proxy at `url` (`http://proxy:3128`,
    /// `https://proxy:8443`, with `user:pass@` credentials if needed).
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
            proxy::parse(url).map_err(|()| BuildError::InvalidProxy)?;
        }
        self.rules = rules;
        Ok(self)
    }

    /// Builds the transport: a rustls client configuration on the ring provider,
    /// serving both `https` and plain `http` over HTTP/1.1.
    pub fn build(self) -> Result<HyperTransport, BuildError> {
        let HyperTransportBuilder {
            connect_timeout,
            max_body_bytes,
            roots,
            platform_roots,
            rules,
        } = self;
        let custom = roots.len();
        let mut store = RootCertStore::empty();
        let shown = if platform_roots {
            let loaded = rustls_native_certs::load_native_certs();
            let (added, _) = store.add_parsable_certificates(loaded.certs);
            if added == 0 {
                let why = loaded
                    .errors
                    .first()
                    .map_or_else(|| "no certificate found".to_owned(), ToString::to_string);
                return Err(BuildError::PlatformRoots(why));
            }
            format!("platform ({added}) + {custom} custom")
        } else if roots.is_empty() {
            store.roots = webpki_roots::TLS_SERVER_ROOTS.to_vec();
            "webpki".to_owned()
        } else {
            format!("{custom} custom")
        };
        for cert in roots {
            store
                .add(cert)
                .map_err(|e| BuildError::InvalidCertificate(e.to_string()))?;
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| BuildError::Tls(e.to_string()))?
        .with_root_certificates(store)
        .with_no_client_auth();
        let tls = Arc::new(tls);

        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config((*tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(proxy::ProxyConnector::new(http, rules.clone(), tls));
        let client = PooledClient::builder(TokioExecutor::new())
            // A request hyper-util finds it could not write on a stale pooled
            // connection comes back as an error (not sent) instead of being re-sent.
            .retry_canceled_requests(false)
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(HyperTransport {
            client,
            settings: Arc::new(Settings {
                connect_timeout,
                max_body_bytes,
                roots: shown,
                rules,
            }),
        })
    }
}

/// Fails unless `cert` can serve as a trust anchor.
fn check_root(cert: &CertificateDer<'_>) -> Result<(), BuildError> {
    RootCertStore::empty()
        .add(cert.clone())
        .map_err(|e| BuildError::InvalidCertificate(e.to_string()))
}
