//! The one transport kit: what every bundled transport builds from, and the
//! pieces of their error handling that do not depend on the HTTP client.
//!
//! - [`TransportSettings`]: the settings a transport is built with (connect
//!   timeout, body cap, idle connections, extra trust roots as DER, the
//!   platform's roots, [`ProxyRules`]), and the one [`BuildError`].
//! - [`BuildTransport`]: how a transport is built from them, and
//!   [`TransportBuilder`], the builder every transport hands out
//!   (`leap0_ureq::UreqTransportBuilder` and `leap0_hyper::HyperTransportBuilder`
//!   are this type), so code generic over the trait builds either.
//! - [`ParsedProxy`]: a proxy URL parsed once, credentials included, as
//!   [`ProxyRules`] keeps it.
//! - [`io_error_kind`], [`error_chain`] and [`ExchangeSecrets`]: classifying I/O
//!   failures and keeping credentials out of error messages.
//!
//! Everything here is pure: the transport does the I/O (reading PEM, the
//! platform's store or the environment) through the trait.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use percent_encoding::percent_decode_str;

use super::secrets::is_plain_header;
use super::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES, ProxyRules, Secrets, TransportError,
    TransportErrorKind, is_sensitive_header_name,
};

/// Why a transport could not be built. The same for every bundled transport.
///
/// Messages never repeat a proxy's credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The root certificate data held no usable certificate; says why.
    #[error("invalid root certificate: {0}")]
    InvalidCertificate(String),
    /// The platform's certificate store could not be read, or is empty; says why.
    #[error("cannot use the platform's certificate store: {0}")]
    PlatformRoots(String),
    /// A proxy address could not be understood (it is not repeated: it may
    /// hold credentials). [`ProxyRules::check`] says which rule and why.
    #[error("invalid proxy address")]
    InvalidProxy,
    /// The TLS library refused the configuration.
    #[error("invalid TLS configuration: {0}")]
    Tls(String),
}

impl BuildError {
    /// The platform's store gave no certificate; `first_error` is the first
    /// error met while reading it, if any.
    pub fn platform_roots(first_error: Option<impl fmt::Display>) -> Self {
        BuildError::PlatformRoots(
            first_error.map_or_else(|| "no certificate found".to_owned(), |e| e.to_string()),
        )
    }
}

impl From<ProxyUrlError> for BuildError {
    fn from(_: ProxyUrlError) -> Self {
        BuildError::InvalidProxy
    }
}

/// The settings a transport is built with, whatever its HTTP client.
///
/// Read the fields; change them with the builder-style methods (which check
/// what they can) or directly. A transport checks them again when it is built
/// ([`BuildTransport::from_settings`]): root certificates are checked there,
/// since parsing one as a trust anchor needs the transport's TLS library.
///
/// `Debug` shows how many roots there are and never a proxy's credentials.
///
/// ```
/// use std::time::Duration;
/// use leap0_core::transport::TransportSettings;
///
/// let settings = TransportSettings::new()
///     .connect_timeout(Duration::from_secs(3))
///     .max_body_bytes(1 << 20)
///     .proxy("http://me:hunter2@proxy.internal:3128")?;
/// assert_eq!(settings.max_body_bytes, 1 << 20);
/// assert!(!format!("{settings:?}").contains("hunter2"));
/// # Ok::<(), leap0_core::transport::BuildError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportSettings {
    /// How long connection setup may take. Default: 10 s
    /// ([`DEFAULT_CONNECT_TIMEOUT`]). What it covers (DNS, TCP, proxy, TLS) is
    /// said by each transport; the per-call timeout bounds the whole exchange.
    pub connect_timeout: Duration,
    /// The largest response body accepted, in bytes. Default: 8 MiB
    /// ([`DEFAULT_MAX_BODY_BYTES`]).
    pub max_body_bytes: u64,
    /// Idle connections kept per host; `None` for the transport's default.
    pub max_idle_per_host: Option<usize>,
    /// Idle connections kept in all; `None` for the transport's default. A
    /// transport whose pool has no overall limit ignores it.
    pub max_idle: Option<usize>,
    /// Extra trust roots, DER-encoded. When there are any, they are trusted
    /// **instead of** the built-in web PKI roots, or beside the platform's
    /// store with [`platform_roots`](Self::platform_roots).
    pub roots: Vec<Vec<u8>>,
    /// Whether the platform's certificate store is trusted instead of the
    /// built-in web PKI roots.
    pub platform_roots: bool,
    /// Which proxy each request goes through.
    pub proxy: ProxyRules,
}

impl Default for TransportSettings {
    fn default() -> Self {
        TransportSettings {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_idle_per_host: None,
            max_idle: None,
            roots: Vec::new(),
            platform_roots: false,
            proxy: ProxyRules::none(),
        }
    }
}

impl fmt::Debug for TransportSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportSettings")
            .field("connect_timeout", &self.connect_timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_idle_per_host", &self.max_idle_per_host)
            .field("max_idle", &self.max_idle)
            .field("custom_root_certificates", &self.roots.len())
            .field("platform_roots", &self.platform_roots)
            .field("proxy", &self.proxy)
            .finish()
    }
}

impl TransportSettings {
    /// The defaults: a 10 s connect timeout, an 8 MiB body cap, the
    /// transport's idle pool, the built-in web PKI roots and no proxy.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`max_body_bytes`](Self::max_body_bytes).
    pub fn max_body_bytes(mut self, max: u64) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// Keeps up to `per_host` idle connections per host and `total` in all
    /// (raised to `per_host` if lower).
    pub fn max_idle_connections(mut self, per_host: usize, total: usize) -> Self {
        self.max_idle_per_host = Some(per_host);
        self.max_idle = Some(total.max(per_host));
        self
    }

    /// Adds a DER-encoded trust root (checked when the transport is built).
    pub fn add_root_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.roots.push(der.into());
        self
    }

    /// Sets [`platform_roots`](Self::platform_roots).
    pub fn platform_roots(mut self, on: bool) -> Self {
        self.platform_roots = on;
        self
    }

    /// Sends every request through the proxy at `url`.
    pub fn proxy(self, url: &str) -> Result<Self, BuildError> {
        self.proxy_rules(ProxyRules::all(url))
    }

    /// Proxies by `rules`; fails if one of their proxy URLs does not parse.
    pub fn proxy_rules(mut self, rules: ProxyRules) -> Result<Self, BuildError> {
        rules.check()?;
        self.proxy = rules;
        Ok(self)
    }
}

/// A transport that can be built from [`TransportSettings`].
///
/// The transport does what the pure core cannot: parse PEM and check trust
/// roots with its TLS library, read the platform's store and the environment.
/// [`TransportBuilder`] is written once on top of it.
///
/// ```
/// use leap0_core::transport::{BuildError, BuildTransport, TransportBuilder, TransportSettings};
///
/// /// A stand-in transport that keeps its settings.
/// struct Recorded(TransportSettings);
///
/// impl BuildTransport for Recorded {
///     fn from_settings(settings: TransportSettings) -> Result<Self, BuildError> {
///         settings.proxy.check()?;
///         Ok(Recorded(settings))
///     }
///     fn pem_certificates(_pem: &[u8]) -> Result<Vec<Vec<u8>>, BuildError> {
///         Err(BuildError::InvalidCertificate("this transport takes DER only".into()))
///     }
///     fn env_var(_name: &str) -> Option<String> {
///         None
///     }
/// }
///
/// let built = TransportBuilder::<Recorded>::new()
///     .max_body_bytes(1024)
///     .proxy("http://proxy.internal:3128")?
///     .build()?;
/// assert_eq!(built.0.max_body_bytes, 1024);
/// # Ok::<(), BuildError>(())
/// ```
pub trait BuildTransport: Sized {
    /// Builds the transport, checking what the settings' setters could not.
    fn from_settings(settings: TransportSettings) -> Result<Self, BuildError>;

    /// The DER bytes of each `CERTIFICATE` block in `pem` (other blocks are
    /// skipped). Fails if the PEM data is malformed. [`TransportBuilder`]
    /// checks each with [`check_root`](Self::check_root), and refuses data that
    /// holds no certificate.
    fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, BuildError>;

    /// Fails unless `der` can serve as a trust anchor. By default nothing is
    /// checked here, and [`from_settings`](Self::from_settings) checks.
    fn check_root(der: &[u8]) -> Result<(), BuildError> {
        let _ = der;
        Ok(())
    }

    /// Reads one environment variable, for [`TransportBuilder::proxy_from_env`]
    /// (the core reads none itself). A transport where there is no
    /// environment returns `None`.
    fn env_var(name: &str) -> Option<String>;
}

/// The builder of any [`BuildTransport`]: [`TransportSettings`] with the
/// checks of the transport's TLS library, built with [`build`](Self::build).
///
/// `Debug` never shows a proxy's credentials.
pub struct TransportBuilder<T> {
    settings: TransportSettings,
    transport: PhantomData<fn() -> T>,
}

impl<T> Clone for TransportBuilder<T> {
    fn clone(&self) -> Self {
        TransportBuilder {
            settings: self.settings.clone(),
            transport: PhantomData,
        }
    }
}

impl<T> Default for TransportBuilder<T> {
    fn default() -> Self {
        Self::with_settings(TransportSettings::default())
    }
}

impl<T> fmt::Debug for TransportBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportBuilder")
            .field("transport", &std::any::type_name::<T>())
            .field("settings", &self.settings)
            .finish()
    }
}

impl<T> TransportBuilder<T> {
    /// A builder with the default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder starting from `settings`.
    pub fn with_settings(settings: TransportSettings) -> Self {
        TransportBuilder {
            settings,
            transport: PhantomData,
        }
    }

    /// The settings so far.
    pub fn settings(&self) -> &TransportSettings {
        &self.settings
    }

    /// The settings, to build with [`BuildTransport::from_settings`] later.
    pub fn into_settings(self) -> TransportSettings {
        self.settings
    }

    fn map(self, change: impl FnOnce(TransportSettings) -> TransportSettings) -> Self {
        Self::with_settings(change(self.settings))
    }
}

impl<T: BuildTransport> TransportBuilder<T> {
    /// How long connection setup may take. Default: 10 s
    /// ([`DEFAULT_CONNECT_TIMEOUT`]); each transport says what it covers. The
    /// per-call timeout still bounds the whole exchange.
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        self.map(|s| s.connect_timeout(timeout))
    }

    /// The largest response body accepted, in bytes. Default: 8 MiB
    /// ([`DEFAULT_MAX_BODY_BYTES`]). A larger body fails the call with
    /// `BodyTooLarge`, detected while streaming.
    pub fn max_body_bytes(self, max: u64) -> Self {
        self.map(|s| s.max_body_bytes(max))
    }

    /// How many idle connections are kept per host and in all. Keep the first
    /// at least as high as the number of threads or tasks sharing the
    /// transport, or they will open new connections. Defaults are the
    /// transport's.
    pub fn max_idle_connections(self, per_host: usize, total: usize) -> Self {
        self.map(|s| s.max_idle_connections(per_host, total))
    }

    /// Trusts the certificates in `pem` (one or more `CERTIFICATE` blocks) as roots.
    ///
    /// Certificates added this way are trusted **instead of** the built-in webpki
    /// roots (a private CA does not widen trust to the public web PKI), or in
    /// addition to the platform's store with [`platform_roots`](Self::platform_roots).
    /// Fails if `pem` holds no certificate, or one that does not parse as a
    /// trust anchor.
    pub fn add_root_certificate_pem(self, pem: &[u8]) -> Result<Self, BuildError> {
        let roots = T::pem_certificates(pem)?;
        for der in &roots {
            T::check_root(der)?;
        }
        if roots.is_empty() {
            return Err(BuildError::InvalidCertificate(
                "no CERTIFICATE block found in the PEM data".to_owned(),
            ));
        }
        Ok(self.map(|s| roots.into_iter().fold(s, TransportSettings::add_root_der)))
    }

    /// Trusts a DER-encoded certificate as a root, with the same rule as
    /// [`add_root_certificate_pem`](Self::add_root_certificate_pem).
    pub fn add_root_certificate_der(self, der: &[u8]) -> Result<Self, BuildError> {
        T::check_root(der)?;
        Ok(self.map(|s| s.add_root_der(der)))
    }

    /// Trusts the platform's certificate store (read when the transport is
    /// built) instead of the built-in webpki roots, plus any certificates added.
    pub fn platform_roots(self, on: bool) -> Self {
        self.map(|s| s.platform_roots(on))
    }

    /// Sends every request through the proxy at `url`: `http://proxy:3128`,
    /// `https://proxy:8443` (TLS to the proxy), `user:pass@` credentials allowed.
    pub fn proxy(self, url: &str) -> Result<Self, BuildError> {
        self.proxy_rules(ProxyRules::all(url))
    }

    /// Proxies as the environment says (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
    /// `NO_PROXY`, in upper or lower case; see [`ProxyRules`]), read through
    /// [`BuildTransport::env_var`]. Off unless called.
    pub fn proxy_from_env(self) -> Result<Self, BuildError> {
        self.proxy_rules(ProxyRules::from_lookup(T::env_var))
    }

    /// Proxies by `rules`; fails if one of their proxy URLs does not parse.
    pub fn proxy_rules(self, rules: ProxyRules) -> Result<Self, BuildError> {
        Ok(Self::with_settings(self.settings.proxy_rules(rules)?))
    }

    /// Builds the transport (reading the platform's certificate store if asked to).
    pub fn build(self) -> Result<T, BuildError> {
        T::from_settings(self.settings)
    }
}

/// Why a proxy URL could not be understood. The URL is not repeated: it may
/// hold credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyUrlError {
    /// The scheme is neither `http` nor `https`.
    #[error("the proxy scheme {0:?} is not supported (use http:// or https://)")]
    UnsupportedScheme(String),
    /// The address after the credentials does not parse.
    #[error("the proxy address does not parse")]
    InvalidAddress,
    /// There is no host.
    #[error("the proxy address names no host")]
    NoHost,
}

/// A proxy URL parsed once: where to connect, the ready `Proxy-Authorization`
/// value of its credentials, and those credentials as [`Secrets`].
///
/// A URL without a scheme is `http`. User name and password are
/// percent-decoded (lossily, into UTF-8); the `Basic` value encodes
/// `user:password`. `Debug` never shows the credentials.
///
/// ```
/// use leap0_core::transport::ParsedProxy;
///
/// let proxy = ParsedProxy::parse("http://me:p%40ss@proxy.internal:3128")?;
/// assert_eq!(proxy.uri(), "http://proxy.internal:3128/");
/// assert_eq!(proxy.password(), Some("p@ss"));
/// assert!(proxy.authorization().is_some_and(|v| v.is_sensitive()));
/// assert!(proxy.secrets().contains("p@ss"));
/// assert!(!format!("{proxy:?}").contains("p%40ss"));
/// # Ok::<(), leap0_core::transport::ProxyUrlError>(())
/// ```
#[derive(Clone)]
pub struct ParsedProxy {
    url: String,
    uri: Uri,
    username: Option<String>,
    password: Option<String>,
    authorization: Option<HeaderValue>,
    secrets: Secrets,
}

impl ParsedProxy {
    /// Parses a proxy URL: `http://host:port`, `https://host:port`, with
    /// `user:password@` if needed, or `host:port` for `http`.
    pub fn parse(url: &str) -> Result<Self, ProxyUrlError> {
        let (scheme, rest) = split_scheme(url);
        let scheme = scheme.unwrap_or("http").to_ascii_lowercase();
        if !matches!(scheme.as_str(), "http" | "https") {
            return Err(ProxyUrlError::UnsupportedScheme(scheme));
        }
        let (userinfo, host) = split_authority(rest);
        let uri: Uri = format!("{scheme}://{host}")
            .parse()
            .map_err(|_| ProxyUrlError::InvalidAddress)?;
        if uri.host().is_none_or(str::is_empty) {
            return Err(ProxyUrlError::NoHost);
        }
        let mut proxy = ParsedProxy {
            url: url.to_owned(),
            uri,
            username: None,
            password: None,
            authorization: None,
            secrets: userinfo_secrets(userinfo),
        };
        if let Some(userinfo) = userinfo {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            let (user, decoded) = (decode(user), decode(password));
            let token = STANDARD.encode(format!("{user}:{decoded}"));
            // Base64 is always a valid header value.
            let mut value = HeaderValue::from_str(&format!("Basic {token}"))
                .map_err(|_| ProxyUrlError::InvalidAddress)?;
            value.set_sensitive(true);
            proxy.secrets.add(&format!("{user}:{decoded}"));
            proxy.secrets.add(&decoded);
            proxy.secrets.add(&format!("Basic {token}"));
            proxy.username = Some(user);
            proxy.password = userinfo.contains(':').then_some(decoded);
            proxy.authorization = Some(value);
        }
        Ok(proxy)
    }

    /// The URL as given, credentials included: keep it out of messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where to connect: `scheme://host[:port]`, without credentials.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// Whether the connection to the proxy itself uses TLS (`https://`).
    pub fn is_https(&self) -> bool {
        self.uri.scheme_str() == Some("https")
    }

    /// The proxy's host (an IPv6 address in brackets).
    pub fn host(&self) -> &str {
        self.uri.host().unwrap_or_default()
    }

    /// The proxy's port: as given, else 443 for `https` and 80 for `http`.
    pub fn port(&self) -> u16 {
        self.uri
            .port_u16()
            .unwrap_or(if self.is_https() { 443 } else { 80 })
    }

    /// The decoded user name, if the URL has credentials.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The decoded password, if the URL has one.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The `Proxy-Authorization` value (`Basic …`, marked sensitive) of the
    /// credentials, if the URL has any.
    pub fn authorization(&self) -> Option<&HeaderValue> {
        self.authorization.as_ref()
    }

    /// The credentials, in every form they were given or will be sent in.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }
}

impl PartialEq for ParsedProxy {
    /// Everything else follows from the URL.
    fn eq(&self, other: &Self) -> bool {
        self.url == other.url
    }
}

impl Eq for ParsedProxy {}

impl fmt::Debug for ParsedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedProxy")
            .field("url", &redacted_proxy_url(&self.url))
            .finish()
    }
}

/// The scheme of a URL (if it starts with one and `://`) and the rest. Text
/// before a later `://` (in a query, say) is no scheme, and may hold credentials.
fn split_scheme(url: &str) -> (Option<&str>, &str) {
    match url.split_once("://") {
        Some((scheme, rest))
            if scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) =>
        {
            (Some(scheme), rest)
        }
        _ => (None, url),
    }
}

/// The userinfo (if any) and the host part of a URL's text after `scheme://`.
fn split_authority(rest: &str) -> (Option<&str>, &str) {
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => (Some(userinfo), host),
        None => (None, authority),
    }
}

/// The userinfo as written, and its password part.
fn userinfo_secrets(userinfo: Option<&str>) -> Secrets {
    let mut secrets = Secrets::new();
    if let Some(userinfo) = userinfo {
        secrets.add(userinfo);
        if let Some((_, password)) = userinfo.split_once(':') {
            secrets.add(password);
        }
    }
    secrets
}

/// The credentials of a proxy URL as written, whether or not it parses.
pub(super) fn raw_proxy_secrets(url: &str) -> Secrets {
    userinfo_secrets(split_authority(split_scheme(url).1).0)
}

/// A proxy URL with its credentials replaced (`user:***@`, or `***@`), with or
/// without a scheme.
pub(super) fn redacted_proxy_url(url: &str) -> String {
    if split_scheme(url).0.is_some() {
        crate::config::redact_credentials(url)
    } else {
        let shown = crate::config::redact_credentials(&format!("http://{url}"));
        shown
            .strip_prefix("http://")
            .map_or_else(|| shown.clone(), str::to_owned)
    }
}

/// The failure an I/O error of this kind stands for, met after the request
/// may have been sent: `TimedOut` (and `WouldBlock`, a blocking socket's read
/// timeout) is a [`Timeout`](TransportErrorKind::Timeout); a reset, abort,
/// broken pipe, early end or lost connection is a
/// [`Reset`](TransportErrorKind::Reset); `InvalidData` is an
/// [`InvalidResponse`](TransportErrorKind::InvalidResponse) (unless a TLS error
/// is inside, which the transport checks); anything else, `None`.
///
/// ```
/// use std::io::ErrorKind;
/// use leap0_core::transport::{TransportErrorKind, io_error_kind};
///
/// assert_eq!(io_error_kind(ErrorKind::ConnectionReset), Some(TransportErrorKind::Reset));
/// assert_eq!(io_error_kind(ErrorKind::PermissionDenied), None);
/// ```
pub fn io_error_kind(kind: io::ErrorKind) -> Option<TransportErrorKind> {
    use io::ErrorKind as Io;
    match kind {
        Io::TimedOut | Io::WouldBlock => Some(TransportErrorKind::Timeout),
        Io::ConnectionReset
        | Io::ConnectionAborted
        | Io::BrokenPipe
        | Io::UnexpectedEof
        | Io::NotConnected => Some(TransportErrorKind::Reset),
        Io::InvalidData => Some(TransportErrorKind::InvalidResponse),
        _ => None,
    }
}

/// `err` and its causes. Unlike following `source()`, this looks inside an
/// `io::Error` at the error it wraps, which its own `source()` skips.
pub fn error_chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |&e: &&'a (dyn StdError + 'static)| match e
        .downcast_ref::<io::Error>()
    {
        Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
        None => e.source(),
    })
}

/// The credentials one exchange carries (its sensitive header values and the
/// proxies'), to scrub out of its error messages. Made for every exchange and
/// read only when one fails, so the work is left to the failure: the scrubber
/// is put together, and header names are read, only when there is a message.
///
/// `Debug` shows how many values there are, never what they are.
pub struct ExchangeSecrets<'a> {
    /// Header values that may be credentials: with the header's name when
    /// that name is still to be checked (see [`is_sensitive_header`](super::is_sensitive_header)).
    headers: Vec<(Option<HeaderName>, HeaderValue)>,
    proxy: &'a ProxyRules,
}

impl fmt::Debug for ExchangeSecrets<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangeSecrets")
            .field("header_values", &self.headers.len())
            .field("proxy", &self.proxy.secrets())
            .finish()
    }
}

impl<'a> ExchangeSecrets<'a> {
    /// The given sensitive header values, and the proxies' credentials.
    pub fn new(headers: Vec<HeaderValue>, proxy: &'a ProxyRules) -> Self {
        let headers = headers.into_iter().map(|value| (None, value)).collect();
        ExchangeSecrets { headers, proxy }
    }

    /// The values of the headers that may carry credentials (see
    /// [`is_sensitive_header`](super::is_sensitive_header); cheap clones), and
    /// the proxies' credentials.
    pub fn of(headers: &HeaderMap, proxy: &'a ProxyRules) -> Self {
        let headers = headers
            .iter()
            .filter_map(|(name, value)| match value.is_sensitive() {
                true => Some((None, value.clone())),
                false if is_plain_header(name) => None,
                false => Some((Some(name.clone()), value.clone())),
            })
            .collect();
        ExchangeSecrets { headers, proxy }
    }

    /// `message` with every credential of the exchange scrubbed out.
    pub fn scrub(&self, message: &str) -> String {
        let mut secrets = self.proxy.secrets();
        for (name, value) in &self.headers {
            if name
                .as_ref()
                .is_none_or(|name| is_sensitive_header_name(name.as_str()))
            {
                secrets.add(&String::from_utf8_lossy(value.as_bytes()));
            }
        }
        secrets.scrub(message).into_owned()
    }

    /// A [`TransportError`] whose message is `message`, scrubbed.
    pub fn error(
        &self,
        kind: TransportErrorKind,
        may_have_been_sent: bool,
        message: &str,
    ) -> TransportError {
        TransportError::new(kind, may_have_been_sent, self.scrub(message))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_proxy_url_is_parsed_once_into_address_header_and_secrets() {
        let p = ParsedProxy::parse("http://us%40er:p%3Ass@proxy.internal:3128/ignored").unwrap();
        assert_eq!(p.uri(), "http://proxy.internal:3128/");
        assert_eq!(
            (p.host(), p.port(), p.is_https()),
            ("proxy.internal", 3128, false)
        );
        assert_eq!((p.username(), p.password()), (Some("us@er"), Some("p:ss")));
        let auth = p.authorization().unwrap();
        assert!(auth.is_sensitive());
        assert_eq!(
            auth,
            format!("Basic {}", STANDARD.encode("us@er:p:ss")).as_str()
        );
        // As written, decoded, and as the header sends it.
        for secret in ["us%40er:p%3Ass", "p%3Ass", "us@er:p:ss", "p:ss"] {
            assert!(p.secrets().contains(secret), "{secret}");
        }
        assert!(p.secrets().contains(&STANDARD.encode("us@er:p:ss")));
        let debug = format!("{p:?}");
        assert!(
            debug.contains("http://us%40er:***@proxy.internal:3128"),
            "{debug}"
        );
        assert!(!p.secrets().contains(&debug), "{debug}");
    }

    #[test]
    fn proxy_urls_without_scheme_port_or_password_take_the_defaults() {
        let bare = ParsedProxy::parse("proxy:8080").unwrap();
        assert_eq!(bare.uri(), "http://proxy:8080/");
        assert!(bare.authorization().is_none() && bare.secrets().is_empty());
        let tls = ParsedProxy::parse("HTTPS://proxy").unwrap();
        assert_eq!((tls.is_https(), tls.port()), (true, 443));
        let user_only = ParsedProxy::parse("http://token1234@[::1]:3128").unwrap();
        assert_eq!((user_only.host(), user_only.port()), ("[::1]", 3128));
        assert_eq!(
            (user_only.username(), user_only.password()),
            (Some("token1234"), None)
        );
        assert_eq!(
            user_only.authorization().unwrap(),
            format!("Basic {}", STANDARD.encode("token1234:")).as_str()
        );
        let schemeless = ParsedProxy::parse("me:hunter2@proxy:3128").unwrap();
        assert!(!format!("{schemeless:?}").contains("hunter2"));
        assert_eq!(schemeless.password(), Some("hunter2"));
        // A `://` further on is no scheme: the credentials before it stay hidden.
        let later = ParsedProxy::parse("me:hunter2@proxy:3128/?next=http://x").unwrap();
        assert_eq!((later.host(), later.password()), ("proxy", Some("hunter2")));
        assert!(!format!("{later:?}").contains("hunter2"));
    }

    #[test]
    fn unusable_proxy_urls_are_refused_without_repeating_them() {
        assert_eq!(
            ParsedProxy::parse("socks5://me:pw@proxy:1080").unwrap_err(),
            ProxyUrlError::UnsupportedScheme("socks5".into())
        );
        for bad in [
            "http://",
            "http://[bad",
            "http://me:pw@",
            "me:pw@[bad/?x=http://y",
        ] {
            let err = ParsedProxy::parse(bad).unwrap_err();
            assert!(!err.to_string().contains("pw"), "{bad}: {err}");
        }
        assert_eq!(
            BuildError::from(ProxyUrlError::NoHost),
            BuildError::InvalidProxy
        );
    }

    #[test]
    fn rules_parse_each_proxy_url_once_and_keep_its_credentials_out_of_debug() {
        let rules = ProxyRules::all("me:hunter2@proxy:3128");
        let http = rules
            .parsed_proxy_for(&"http://x.io".parse().unwrap())
            .unwrap();
        let https = rules
            .parsed_proxy_for(&"https://x.io".parse().unwrap())
            .unwrap();
        assert!(std::ptr::eq(http, https), "one parse for both schemes");
        assert_eq!(rules.proxies().count(), 1);
        assert_eq!(http.authorization(), Some(&basic("me:hunter2")));
        assert!(rules.secrets().contains("hunter2"));
        let debug = format!("{rules:?}");
        assert!(
            !debug.contains("hunter2") && debug.contains("me:***@proxy:3128"),
            "{debug}"
        );
        // A URL that does not parse is kept, reported, and its secrets still known.
        let bad = ProxyRules::all("socks5://me:pw-5678@proxy:1080");
        assert!(bad.check().is_err() && bad.proxies().next().is_none());
        assert!(bad.secrets().contains("pw-5678"));
        assert_eq!(bad.parsed_proxy_for(&"http://x.io".parse().unwrap()), None);
        assert!(rules.check().is_ok());
    }

    fn basic(credentials: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(credentials))).unwrap()
    }

    #[test]
    fn settings_check_proxies_and_hide_their_credentials() {
        let settings = TransportSettings::new()
            .max_idle_connections(8, 2)
            .add_root_der(vec![1, 2, 3])
            .proxy("https://me:hunter2@proxy:8443")
            .unwrap();
        assert_eq!(
            (settings.max_idle_per_host, settings.max_idle),
            (Some(8), Some(8))
        );
        let debug = format!("{settings:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("custom_root_certificates: 1"), "{debug}");
        let err = TransportSettings::new().proxy("http://[bad").unwrap_err();
        assert_eq!(err, BuildError::InvalidProxy);
        assert_eq!(
            BuildError::platform_roots(None::<String>).to_string(),
            "cannot use the platform's certificate store: no certificate found"
        );
    }

    #[test]
    fn io_errors_are_classified_once_for_every_transport() {
        use TransportErrorKind as K;
        use io::ErrorKind as Io;
        for (io, kind) in [
            (Io::TimedOut, Some(K::Timeout)),
            (Io::WouldBlock, Some(K::Timeout)),
            (Io::ConnectionReset, Some(K::Reset)),
            (Io::ConnectionAborted, Some(K::Reset)),
            (Io::BrokenPipe, Some(K::Reset)),
            (Io::UnexpectedEof, Some(K::Reset)),
            (Io::NotConnected, Some(K::Reset)),
            (Io::InvalidData, Some(K::InvalidResponse)),
            (Io::PermissionDenied, None),
            (Io::Other, None),
        ] {
            assert_eq!(io_error_kind(io), kind, "{io:?}");
        }
    }

    #[test]
    fn the_chain_looks_inside_io_errors() {
        use io::ErrorKind as Io;
        let inner = io::Error::other(fmt::Error);
        let outer = io::Error::new(Io::ConnectionReset, inner);
        let chain: Vec<_> = error_chain(&outer).collect();
        assert_eq!(chain.len(), 3);
        assert!(chain[2].is::<fmt::Error>());
    }

    #[test]
    fn exchange_messages_lose_header_and_proxy_credentials() {
        let rules = ProxyRules::all("http://me:proxy-pw-1234@proxy:3128");
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            HeaderValue::from_static("Bearer sk-abcdef123"),
        );
        headers.insert("accept", HeaderValue::from_static("application/json"));
        headers.insert("x-api-key", HeaderValue::from_static("key-777-abc"));
        headers.insert("leap0-source", HeaderValue::from_static("rust-sdk"));
        let secrets = ExchangeSecrets::of(&headers, &rules);
        let err = secrets.error(
            TransportErrorKind::Reset,
            true,
            "sk-abcdef123 via proxy-pw-1234 as application/json with key-777-abc from rust-sdk",
        );
        assert_eq!(
            err.message,
            format!(
                "{0} via {0} as application/json with {0} from rust-sdk",
                crate::transport::REDACTED
            )
        );
        assert!(err.may_have_been_sent);
        let debug = format!("{secrets:?}");
        assert!(
            !debug.contains("sk-abcdef") && !debug.contains("proxy-pw"),
            "{debug}"
        );
    }
}
