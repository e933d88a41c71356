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
//! - goes through a proxy only when told to ([`TransportBuilder::proxy`],
//!   [`TransportBuilder::proxy_from_env`]), tunnelling with `CONNECT`;
//! - bounds DNS resolution, and then connection setup (TCP, proxy negotiation
//!   and the TLS handshake), each by the connect timeout.
//!
//! It is built from the core's [`TransportSettings`], like every bundled
//! transport: [`UreqTransport::builder`] is the core's [`TransportBuilder`], and
//! [`UreqTransport::from_settings`] builds from settings made elsewhere.
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

use leap0_core::transport::{
    BuildTransport, ExchangeSecrets, ParsedProxy, Request, Response, Transport, TransportBuilder,
    TransportError, TransportSettings,
};
use ureq::config::AutoHeaderValue;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

pub use leap0_clock::SystemClock;
pub use leap0_core::transport::{BuildError, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES};

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
    /// With the idle connection limits in use filled in.
    kit: TransportSettings,
    /// One ureq proxy per proxy URL of the rules.
    proxies: HashMap<String, ureq::Proxy>,
}

impl fmt::Debug for UreqTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UreqTransport")
            .field("settings", &self.settings.kit)
            .finish_non_exhaustive()
    }
}

impl UreqTransport {
    /// A transport with the defaults: webpki roots, a 10 s connect timeout, an 8 MiB
    /// body cap, 32 idle connections per host and no proxy.
    pub fn new() -> Self {
        // The defaults read nothing from outside and parse no input.
        Self::builder()
            .build()
            .unwrap_or_else(|e| unreachable!("the default ureq transport failed to build: {e}"))
    }

    /// A builder to change the defaults: [`UreqTransportBuilder`].
    pub fn builder() -> UreqTransportBuilder {
        UreqTransportBuilder::default()
    }

    /// The response body cap, in bytes.
    pub fn max_body_bytes(&self) -> u64 {
        self.settings.kit.max_body_bytes
    }

    fn exchange(&self, request: Request, timeout: Duration) -> Result<Response, TransportError> {
        let (mut parts, body) = request.into_parts();
        let rules = &self.settings.kit.proxy;
        let sensitive = ExchangeSecrets::new(wire::hide_secrets(&mut parts.headers), rules);
        let proxy = rules
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
        sensitive: &ExchangeSecrets<'_>,
    ) -> Result<Vec<u8>, TransportError> {
        let cap = self.settings.kit.max_body_bytes;
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

/// Settings for a [`UreqTransport`]: the core's [`TransportBuilder`], with the
/// same methods for every bundled transport. Here the connect timeout bounds
/// DNS resolution and then connection setup (TCP, proxy negotiation and the
/// TLS handshake) each; idle connections default to 32 per host, 128 in all.
///
/// ```
/// use std::time::Duration;
/// use leap0_ureq::{DEFAULT_MAX_BODY_BYTES, UreqTransport};
///
/// // 64 threads share this transport: keep an idle connection for each.
/// let shared = UreqTransport::builder()
///     .max_idle_connections(64, 256)
///     .connect_timeout(Duration::from_secs(3))
///     .proxy("http://proxy.internal:3128")?
///     .build()?;
/// assert_eq!(shared.max_body_bytes(), DEFAULT_MAX_BODY_BYTES);
/// # Ok::<(), leap0_ureq::BuildError>(())
/// ```
pub type UreqTransportBuilder = TransportBuilder<UreqTransport>;

impl BuildTransport for UreqTransport {
    /// Builds a transport from `settings`, as [`UreqTransport::builder`] does
    /// (reading the platform's certificate store if asked to). Idle
    /// connections default to 32 per host and 128 in all.
    fn from_settings(settings: TransportSettings) -> Result<Self, BuildError> {
        settings.proxy.check()?;
        let mut roots = Vec::with_capacity(settings.roots.len());
        for der in &settings.roots {
            check_root(der)?;
            roots.push(Certificate::from_der(der).to_owned());
        }
        let root_certs = if settings.platform_roots {
            let loaded = rustls_native_certs::load_native_certs();
            if loaded.certs.is_empty() {
                return Err(BuildError::platform_roots(loaded.errors.first()));
            }
            roots.extend(
                loaded
                    .certs
                    .iter()
                    .map(|c| Certificate::from_der(c.as_ref()).to_owned()),
            );
            RootCerts::from(roots)
        } else if roots.is_empty() {
            RootCerts::WebPki
        } else {
            RootCerts::from(roots)
        };
        let proxies = settings
            .proxy
            .proxies()
            .map(|parsed| Ok((parsed.url().to_owned(), ureq_proxy(parsed)?)))
            .collect::<Result<_, BuildError>>()?;
        let max_idle_per_host = settings
            .max_idle_per_host
            .unwrap_or(DEFAULT_MAX_IDLE_PER_HOST);
        let max_idle = settings
            .max_idle
            .unwrap_or(DEFAULT_MAX_IDLE)
            .max(max_idle_per_host);
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(AutoHeaderValue::None)
            .accept(AutoHeaderValue::None)
            .accept_encoding(AutoHeaderValue::None)
            .max_idle_connections(max_idle)
            .max_idle_connections_per_host(max_idle_per_host)
            .timeout_resolve(Some(settings.connect_timeout))
            .timeout_connect(Some(settings.connect_timeout))
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
                kit: settings.max_idle_connections(max_idle_per_host, max_idle),
                proxies,
            }),
        })
    }

    fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, BuildError> {
        ureq::tls::parse_pem(pem)
            .filter_map(|item| match item {
                Ok(PemItem::Certificate(cert)) => Some(Ok(cert.der().to_vec())),
                Ok(_) => None,
                Err(e) => Some(Err(BuildError::InvalidCertificate(e.to_string()))),
            })
            .collect()
    }

    fn check_root(der: &[u8]) -> Result<(), BuildError> {
        check_root(der)
    }

    fn env_var(name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// The ureq proxy for `parsed`: its address and decoded credentials, as the
/// core parsed them (ureq sends the `Proxy-Authorization` itself).
fn ureq_proxy(parsed: &ParsedProxy) -> Result<ureq::Proxy, BuildError> {
    let protocol = if parsed.is_https() {
        ureq::ProxyProtocol::Https
    } else {
        ureq::ProxyProtocol::Http
    };
    let mut proxy = ureq::Proxy::builder(protocol)
        .host(parsed.host())
        .port(parsed.port());
    if let Some(user) = parsed.username() {
        proxy = proxy.username(user);
    }
    if let Some(password) = parsed.password() {
        proxy = proxy.password(password);
    }
    proxy.build().map_err(|_| BuildError::InvalidProxy)
}

/// Fails unless `der` can serve as a trust anchor.
fn check_root(der: &[u8]) -> Result<(), BuildError> {
    rustls::RootCertStore::empty()
        .add(rustls::pki_types::CertificateDer::from(der))
        .map_err(|e| BuildError::InvalidCertificate(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn proxies_built_from_the_parsed_url_match_what_ureq_parses_itself() {
        for url in [
            "http://us%40er:p%3Ass@proxy.internal:3128",
            "https://me:hunter2@[::1]:8443/path",
            "http://token-only@proxy",
            "proxy.internal:8080",
            "https://proxy.internal",
        ] {
            let ours = ureq_proxy(&ParsedProxy::parse(url).unwrap()).unwrap();
            let theirs = ureq::Proxy::new(url).unwrap();
            assert_eq!(ours.protocol(), theirs.protocol(), "{url}");
            assert_eq!(ours.host(), theirs.host(), "{url}");
            assert_eq!(ours.port(), theirs.port(), "{url}");
            assert_eq!(ours.username(), theirs.username(), "{url}");
            assert_eq!(ours.password(), theirs.password(), "{url}");
        }
    }
}
