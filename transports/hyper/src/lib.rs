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
//! - goes through a proxy only when told to ([`TransportBuilder::proxy`],
//!   [`TransportBuilder::proxy_from_env`]): `https` targets are tunnelled with
//!   `CONNECT`, `http` targets forwarded;
//! - bounds the TCP connection (including DNS resolution) by the connect
//!   timeout; the TLS handshake is bounded by the per-call timeout only.
//!
//! It is built from the core's [`TransportSettings`], like every bundled
//! transport: [`HyperTransport::builder`] is the core's [`TransportBuilder`],
//! and [`HyperTransport::from_settings`] builds from settings made elsewhere.
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
//! - a flag the request's body sets when a connection takes the request:
//!   tells a timeout before any connection was ready (safe to retry, even a
//!   POST) from one after the request may have left;
//! - `tokio::time::timeout` around the exchange: the per-call timeout;
//! - the frame-by-frame body loop: the body cap, checked while streaming.
#![forbid(unsafe_code)]

mod body;
mod classify;
mod clock;
mod proxy;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use body::TrackedBody;
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client as PooledClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use leap0_core::transport::{
    AsyncTransport, BuildTransport, ExchangeSecrets, ParsedProxy, Request, Response,
    TransportBuilder, TransportError, TransportSettings,
};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

pub use clock::TokioClock;
pub use leap0_core::transport::{BuildError, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES};

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

type HyperClient = PooledClient<HttpsConnector<proxy::ProxyConnector>, TrackedBody>;

/// An asynchronous [`AsyncTransport`] over hyper-util's pooled client, with rustls.
///
/// Cheap to clone; clones share the connection pool. `Send + Sync`. `Debug`
/// shows the settings, never a proxy's credentials.
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
#[derive(Clone, Debug)]
pub struct HyperTransport {
    client: HyperClient,
    /// What the transport was built with (its `Debug` hides proxy credentials).
    settings: Arc<TransportSettings>,
}

impl HyperTransport {
    /// A transport with the defaults: webpki roots, a 10 s connect timeout, an
    /// 8 MiB body cap and no proxy.
    pub fn new() -> Self {
        // The defaults (ring, safe protocol versions, webpki roots) always build.
        Self::builder()
            .build()
            .unwrap_or_else(|e| unreachable!("the default hyper transport failed to build: {e}"))
    }

    /// A builder to change the defaults: [`HyperTransportBuilder`].
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
            && let Some(auth) = self
                .settings
                .proxy
                .parsed_proxy_for(&parts.uri)
                .and_then(ParsedProxy::authorization)
        {
            parts
                .headers
                .insert(http::header::PROXY_AUTHORIZATION, auth.clone());
        }
        let sensitive = ExchangeSecrets::of(&parts.headers, &self.settings.proxy);
        let (body, taken) = TrackedBody::new(body);
        let request = http::Request::from_parts(parts, body);
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
            Err(_elapsed) => Err(classify::timed_out(timeout, taken.get())),
        }
    }

    async fn collect(
        &self,
        response: http::Response<Incoming>,
        sensitive: &ExchangeSecrets<'_>,
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

/// Settings for a [`HyperTransport`]: the core's [`TransportBuilder`], with the
/// same methods for every bundled transport. Here the connect timeout bounds the
/// TCP connection (DNS included); the TLS handshake is bounded by the per-call
/// timeout only. Idle connections per host are unlimited unless set.
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
pub type HyperTransportBuilder = TransportBuilder<HyperTransport>;

impl BuildTransport for HyperTransport {
    /// Builds a transport from `settings`, as [`HyperTransport::builder`] does:
    /// a rustls client configuration on the ring provider, serving both `https`
    /// and plain `http` over HTTP/1.1. Idle connections per host are unlimited
    /// unless set; hyper-util's pool has no overall limit.
    fn from_settings(settings: TransportSettings) -> Result<Self, BuildError> {
        settings.proxy.check()?;
        let mut store = RootCertStore::empty();
        if settings.platform_roots {
            let loaded = rustls_native_certs::load_native_certs();
            let (added, _) = store.add_parsable_certificates(loaded.certs);
            if added == 0 {
                return Err(BuildError::platform_roots(loaded.errors.first()));
            }
        } else if settings.roots.is_empty() {
            store.roots = webpki_roots::TLS_SERVER_ROOTS.to_vec();
        }
        for der in &settings.roots {
            store
                .add(CertificateDer::from(der.clone()))
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
        http.set_connect_timeout(Some(settings.connect_timeout));
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config((*tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(proxy::ProxyConnector::new(
                http,
                settings.proxy.clone(),
                tls,
            ));
        let mut client = PooledClient::builder(TokioExecutor::new());
        // A request hyper-util finds it could not write on a stale pooled
        // connection comes back as an error (not sent) instead of being re-sent.
        client
            .retry_canceled_requests(false)
            .pool_timer(TokioTimer::new());
        if let Some(per_host) = settings.max_idle_per_host {
            client.pool_max_idle_per_host(per_host);
        }
        Ok(HyperTransport {
            client: client.build(connector),
            settings: Arc::new(settings),
        })
    }

    fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, BuildError> {
        CertificateDer::pem_slice_iter(pem)
            .map(|cert| {
                cert.map(|cert| cert.to_vec())
                    .map_err(|e| BuildError::InvalidCertificate(e.to_string()))
            })
            .collect()
    }

    fn check_root(der: &[u8]) -> Result<(), BuildError> {
        check_root(&CertificateDer::from(der))
    }

    fn env_var(name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// Fails unless `cert` can serve as a trust anchor.
fn check_root(cert: &CertificateDer<'_>) -> Result<(), BuildError> {
    RootCertStore::empty()
        .add(cert.clone())
        .map_err(|e| BuildError::InvalidCertificate(e.to_string()))
}
