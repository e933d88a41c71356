//! Client configuration: where to send requests, how to authenticate, and how
//! patient to be. Building a [`Config`] checks everything once, so that building
//! a request later cannot fail on configuration.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use http::uri::{Authority, Scheme};

/// The default base URL of the Leap0 API.
pub const DEFAULT_BASE_URL: &str = "https://api.leap0.dev";
/// The default per-call HTTP timeout (the official SDKs' 300 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// This crate's version, sent in `Leap0-SDK-Version` and `User-Agent`.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");
/// `User-Agent` sent with every request.
pub const USER_AGENT_VALUE: &str = concat!("leap0-rust/", env!("CARGO_PKG_VERSION"));
/// `Leap0-Source` sent with every request.
pub const SOURCE_VALUE: &str = "sdk-rust";

/// An API key. Its `Debug` and `Display` never show the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key (trimmed).
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into().trim().to_owned())
    }

    /// The key itself. Call this only to put it on the wire.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Why a configuration could not be built. Never contains the API key, and a
/// URL in it never shows a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No API key was given, explicitly or through `LEAP0_API_KEY`.
    #[error("invalid configuration: no API key: pass one explicitly or set LEAP0_API_KEY")]
    MissingApiKey,
    /// The API key is empty (after trimming).
    #[error("invalid configuration: the API key is empty")]
    EmptyApiKey,
    /// The base URL cannot be used.
    #[error("invalid configuration: base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL as given, with any credentials in it replaced by `***`.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Plain `http://` to a host that is not loopback would send the key in clear text.
    #[error(
        "invalid configuration: refusing to send the API key over plain http to {host}; use https, or allow insecure http explicitly (ConfigBuilder::allow_insecure_http)"
    )]
    InsecureHttp {
        /// The non-loopback host.
        host: String,
    },
    /// A setting cannot be used (a header name or value, a timeout).
    #[error("invalid configuration: {setting}: {reason}")]
    Invalid {
        /// The setting at fault.
        setting: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl ConfigError {
    /// The setting at fault.
    pub fn field(&self) -> Option<&str> {
        match self {
            ConfigError::MissingApiKey | ConfigError::EmptyApiKey => Some("api_key"),
            ConfigError::InvalidBaseUrl { .. } | ConfigError::InsecureHttp { .. } => {
                Some("base_url")
            }
            ConfigError::Invalid { setting, .. } => Some(setting),
        }
    }
}

/// How failed attempts are retried. Plain data; see the crate docs for the rules.
///
/// ```
/// use std::time::Duration;
/// use leap0_core::RetryPolicy;
///
/// let mut policy = RetryPolicy::default();
/// policy.max_attempts = 6;
/// let policy = policy.with_backoff(Duration::from_millis(100), Duration::from_secs(5));
/// assert_eq!((policy.max_attempts, policy.max_backoff), (6, Duration::from_secs(5)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, including the first (1 disables retries).
    pub max_attempts: u32,
    /// Backoff before the second attempt; it doubles each time.
    pub initial_backoff: Duration,
    /// Cap on the computed backoff (a server's `Retry-After` may exceed it).
    pub max_backoff: Duration,
    /// Cap on the whole operation, all attempts and waits included.
    pub total_deadline: Option<Duration>,
    /// Seed of the jitter: the same seed gives the same delays.
    pub jitter_seed: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            total_deadline: Some(Duration::from_secs(15 * 60)),
            jitter_seed: 0x1ea9_0000_5eed,
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retries.
    pub fn none() -> Self {
        RetryPolicy::default().with_max_attempts(1)
    }

    /// The same policy with `attempts` attempts in all (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The same policy with another first backoff and cap.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// The same policy with another total deadline (`None`: no deadline).
    pub fn with_total_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.total_deadline = deadline;
        self
    }

    /// The same policy with another jitter seed.
    pub fn with_jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = seed;
        self
    }
}

/// How a sandbox is polled while waiting for a state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitPolicy {
    /// Delay between two status polls.
    pub interval: Duration,
    /// Give up after this long.
    pub timeout: Duration,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        WaitPolicy {
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(5 * 60),
        }
    }
}

impl WaitPolicy {
    /// Polls every `interval`, for at most `timeout`.
    pub fn new(interval: Duration, timeout: Duration) -> Self {
        WaitPolicy { interval, timeout }
    }
}

/// How far listing every page may go before it stops with
/// [`Error::LimitReached`](crate::Error::LimitReached). A server that keeps
/// answering full pages, or reports an absurd `total_items`, cannot make a
/// client fetch or hold more than this.
///
/// The defaults (10 000 pages, 100 000 snapshots) are far above what an
/// organization holds today and keep a listing's memory below a few hundred MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PaginationLimits {
    /// Most pages fetched by one listing.
    pub max_pages: u64,
    /// Most items collected by one listing; a first page reporting a larger
    /// `total_items` stops the listing at once.
    pub max_items: u64,
}

impl Default for PaginationLimits {
    fn default() -> Self {
        PaginationLimits {
            max_pages: 10_000,
            max_items: 100_000,
        }
    }
}

impl PaginationLimits {
    /// At most `max_pages` pages and `max_items` items.
    pub fn new(max_pages: u64, max_items: u64) -> Self {
        PaginationLimits {
            max_pages,
            max_items,
        }
    }
}

/// A checked base URL: scheme, authority and a path prefix without trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    scheme: Scheme,
    authority: Authority,
    prefix: String,
}

impl BaseUrl {
    /// Parses and checks a base URL (`allow_insecure`: permit `http://` to any
    /// host). The URL must start with `https://` or `http://`, name a host, have
    /// a valid port, and hold no credentials, query or fragment.
    pub fn parse(url: &str, allow_insecure: bool) -> Result<Self, ConfigError> {
        let bad = |reason: &str| ConfigError::InvalidBaseUrl {
            url: redact_credentials(url),
            reason: reason.to_owned(),
        };
        let trimmed = url.trim();
        let lower = trimmed.get(..8).unwrap_or(trimmed).to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://")) {
            return Err(bad("must start with https:// or http://"));
        }
        // The URL standard forgives tabs, newlines and backslashes; a base URL
        // holding them was not meant, so it is refused rather than repaired.
        if trimmed
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
        {
            return Err(bad("must not contain spaces, control characters or '\\'"));
        }
        let parsed = url::Url::parse(trimmed).map_err(|e| match e {
            url::ParseError::InvalidPort => bad("the port must be a number from 1 to 65535"),
            url::ParseError::EmptyHost => bad("has no host"),
            other => bad(&other.to_string()),
        })?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad("must not contain credentials"));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(bad("must not contain a query or fragment"));
        }
        let host = match parsed.host() {
            Some(host) => host.to_string(),
            None => return Err(bad("has no host")),
        };
        if parsed.port() == Some(0) {
            return Err(bad("the port must be a number from 1 to 65535"));
        }
        let scheme = match parsed.scheme() {
            "https" => Scheme::HTTPS,
            _ => Scheme::HTTP,
        };
        let loopback = match parsed.host() {
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if scheme == Scheme::HTTP && !allow_insecure && !loopback {
            return Err(ConfigError::InsecureHttp { host });
        }
        let authority = match parsed.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        };
        let authority: Authority = authority.parse().map_err(|_| bad("has an invalid host"))?;
        Ok(BaseUrl {
            scheme,
            authority,
            prefix: parsed.path().trim_end_matches('/').to_owned(),
        })
    }

    /// The scheme (`https` or `http`).
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// Host and port (the port only when it is not the scheme's default).
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// The path prefix, empty or starting with `/`, never ending with `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.prefix)
    }
}

/// `url` with its credentials replaced: `user:***@host` when a password is
/// given, `***@host` for a lone user name (which is often a token).
pub fn redact_credentials(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    let shown = match userinfo.split_once(':') {
        Some((user, _password)) => format!("{user}:***"),
        None => "***".to_owned(),
    };
    format!("{}{shown}{}", &url[..start], &url[start + at..])
}

/// A complete, checked client configuration. Cheap to clone (one reference count).
#[derive(Clone)]
pub struct Config {
    inner: Arc<Settings>,
}

#[derive(Clone)]
struct Settings {
    base_url: BaseUrl,
    auth_header: HeaderName,
    bearer: bool,
    /// Every header each request carries (auth, source, version, user agent),
    /// built once.
    headers: HeaderMap,
    timeout: Duration,
    retry: RetryPolicy,
    wait: WaitPolicy,
    pagination: PaginationLimits,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.inner;
        f.debug_struct("Config")
            .field("base_url", &s.base_url.to_string())
            .field("auth_header", &s.auth_header)
            .field("api_key", &"<redacted>")
            .field("bearer", &s.bearer)
            .field("timeout", &s.timeout)
            .field("retry", &s.retry)
            .field("wait", &s.wait)
            .field("pagination", &s.pagination)
            .finish()
    }
}

impl Config {
    /// A configuration with the given key and every other setting at its default.
    pub fn new(api_key: impl Into<String>) -> Result<Config, ConfigError> {
        Config::builder().api_key(api_key).build()
    }

    /// A configuration from `LEAP0_API_KEY` and `LEAP0_BASE_URL`, read through
    /// `lookup` (the core never reads the environment itself):
    ///
    /// ```
    /// # use leap0_core::Config;
    /// let config = Config::from_env(|name| match name {
    ///     "LEAP0_API_KEY" => Some("key-from-env".to_owned()),
    ///     _ => None,
    /// })?;
    /// assert_eq!(config.base_url().to_string(), "https://api.leap0.dev");
    /// # Ok::<(), leap0_core::config::ConfigError>(())
    /// ```
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Config::builder().env(lookup).build()
    }

    /// A builder with every setting at its default.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// The checked base URL.
    pub fn base_url(&self) -> &BaseUrl {
        &self.inner.base_url
    }

    /// The header that carries the key.
    pub fn auth_header(&self) -> &HeaderName {
        &self.inner.auth_header
    }

    /// The headers every request carries, the key's marked sensitive.
    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// Whether the key is sent as `Bearer <key>`.
    pub fn bearer(&self) -> bool {
        self.inner.bearer
    }

    /// The per-call HTTP timeout.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The retry policy.
    pub fn retry(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The wait policy.
    pub fn wait(&self) -> &WaitPolicy {
        &self.inner.wait
    }

    /// The limits of listing every page.
    pub fn pagination(&self) -> &PaginationLimits {
        &self.inner.pagination
    }

    /// The same configuration with another per-call timeout (zero is ignored).
    pub fn with_timeout(mut self, timeout: Duration) -> Config {
        if !timeout.is_zero() {
            Arc::make_mut(&mut self.inner).timeout = timeout;
        }
        self
    }

    /// The same configuration with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Config {
        Arc::make_mut(&mut self.inner).retry = retry;
        self
    }

    /// The same configuration with another wait policy.
    pub fn with_wait(mut self, wait: WaitPolicy) -> Config {
        Arc::make_mut(&mut self.inner).wait = wait;
        self
    }

    /// The same configuration with other pagination limits.
    pub fn with_pagination(mut self, limits: PaginationLimits) -> Config {
        Arc::make_mut(&mut self.inner).pagination = limits;
        self
    }
}

/// Builds a [`Config`]. Explicit settings win over the environment, whatever the
/// order of calls.
#[derive(Default)]
pub struct ConfigBuilder {
    api_key: Option<ApiKey>,
    base_url: Option<String>,
    env_api_key: Option<ApiKey>,
    env_base_url: Option<String>,
    auth_header: Option<String>,
    bearer: Option<bool>,
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    wait: Option<WaitPolicy>,
    pagination: Option<PaginationLimits>,
    allow_insecure_http: bool,
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = |u: &Option<String>| u.as_deref().map(redact_credentials);
        f.debug_struct("ConfigBuilder")
            .field("api_key", &self.api_key)
            .field("base_url", &url(&self.base_url))
            .field("env_api_key", &self.env_api_key)
            .field("env_base_url", &url(&self.env_base_url))
            .field("auth_header", &self.auth_header)
            .finish_non_exhaustive()
    }
}

impl ConfigBuilder {
    /// The API key (trimmed; required).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self
    }

    /// The base URL (default `https://api.leap0.dev`; a trailing `/` is trimmed and a
    /// path prefix kept).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Fills the key and base URL from `LEAP0_API_KEY` and `LEAP0_BASE_URL` through
    /// `lookup`, where not set explicitly. Empty variables count as unset.
    pub fn env(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        self.env_api_key = non_empty("LEAP0_API_KEY").map(ApiKey::new);
        self.env_base_url = non_empty("LEAP0_BASE_URL");
        self
    }

    /// The header that carries the key (default `authorization`).
    pub fn auth_header(mut self, name: impl Into<String>) -> Self {
        self.auth_header = Some(name.into());
        self
    }

    /// Whether to send `Bearer <key>` (default true; never doubled).
    pub fn bearer(mut self, bearer: bool) -> Self {
        self.bearer = Some(bearer);
        self
    }

    /// The per-call HTTP timeout (default 300 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = Some(retry);
        self
    }

    /// The policy for waiting on sandbox states.
    pub fn wait(mut self, wait: WaitPolicy) -> Self {
        self.wait = Some(wait);
        self
    }

    /// The limits of listing every page.
    pub fn pagination(mut self, limits: PaginationLimits) -> Self {
        self.pagination = Some(limits);
        self
    }

    /// Permits plain `http://` to hosts other than loopback (the key then travels
    /// in clear text). Off by default.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Checks every setting and builds the configuration.
    pub fn build(self) -> Result<Config, ConfigError> {
        let key = self
            .api_key
            .or(self.env_api_key)
            .ok_or(ConfigError::MissingApiKey)?;
        if key.expose_secret().is_empty() {
            return Err(ConfigError::EmptyApiKey);
        }
        let base_url = self
            .base_url
            .or(self.env_base_url)
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let base_url = BaseUrl::parse(&base_url, self.allow_insecure_http)?;

        let header = self.auth_header.unwrap_or_else(|| "authorization".into());
        let auth_header =
            HeaderName::from_bytes(header.trim().as_bytes()).map_err(|_| ConfigError::Invalid {
                setting: "auth_header".into(),
                reason: format!("{header:?} is not a valid header name"),
            })?;
        let bearer = self.bearer.unwrap_or(true);
        let secret = key.expose_secret();
        let has_prefix = secret
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("bearer "));
        let value = if bearer && !has_prefix {
            format!("Bearer {secret}")
        } else {
            secret.to_owned()
        };
        if value.chars().any(char::is_control) {
            return Err(ConfigError::Invalid {
                setting: "api_key".into(),
                reason: "the API key contains a control character".into(),
            });
        }
        let mut auth_value = HeaderValue::from_str(&value).map_err(|_| ConfigError::Invalid {
            setting: "api_key".into(),
            reason: "the API key contains characters that cannot be sent in a header".into(),
        })?;
        auth_value.set_sensitive(true);

        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        if timeout.is_zero() {
            return Err(ConfigError::Invalid {
                setting: "timeout".into(),
                reason: "the timeout must be greater than zero".into(),
            });
        }
        // Room for content-type and content-length, added per request.
        let mut headers = HeaderMap::with_capacity(6);
        headers.insert(auth_header.clone(), auth_value);
        headers.insert(
            HeaderName::from_static("leap0-source"),
            HeaderValue::from_static(SOURCE_VALUE),
        );
        headers.insert(
            HeaderName::from_static("leap0-sdk-version"),
            HeaderValue::from_static(SDK_VERSION),
        );
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        Ok(Config {
            inner: Arc::new(Settings {
                base_url,
                auth_header,
                bearer,
                headers,
                timeout,
                retry: self.retry.unwrap_or_default(),
                wait: self.wait.unwrap_or_default(),
                pagination: self.pagination.unwrap_or_default(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn auth_value(c: &Config) -> &str {
        c.headers()[c.auth_header()].to_str().unwrap()
    }

    #[test]
    fn defaults() {
        let c = Config::new(" key ").unwrap();
        assert_eq!(c.base_url().to_string(), "https://api.leap0.dev");
        assert_eq!(c.auth_header().as_str(), "authorization");
        assert_eq!(auth_value(&c), "Bearer key");
        assert!(c.headers()[c.auth_header()].is_sensitive());
        assert_eq!(c.timeout(), Duration::from_secs(300));
        // The retry, wait and pagination defaults the README promises.
        let retry = c.retry();
        assert_eq!(retry.max_attempts, 4);
        assert_eq!(
            (retry.initial_backoff, retry.max_backoff),
            (Duration::from_millis(500), Duration::from_secs(30))
        );
        assert_eq!(retry.total_deadline, Some(Duration::from_secs(15 * 60)));
        assert_eq!(
            (c.wait().interval, c.wait().timeout),
            (Duration::from_secs(1), Duration::from_secs(300))
        );
        assert_eq!(
            (c.pagination().max_pages, c.pagination().max_items),
            (10_000, 100_000)
        );
    }

    #[test]
    fn base_url_keeps_prefix_and_trims_slash() {
        let c = Config::builder()
            .api_key("k")
            .base_url("https://proxy.example.com/leap0/")
            .build()
            .unwrap();
        assert_eq!(c.base_url().prefix(), "/leap0");
        assert_eq!(c.base_url().to_string(), "https://proxy.example.com/leap0");
        let c = Config::builder()
            .api_key("k")
            .base_url("HTTPS://API.Leap0.dev:443")
            .build()
            .unwrap();
        assert_eq!(c.base_url().to_string(), "https://api.leap0.dev");
    }

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
            "http://127.3.2.1",
        ] {
            Config::builder().api_key("k").base_url(ok).build().unwrap();
        }
        let err = Config::builder()
            .api_key("k")
            .base_url("http://api.example.com")
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            ConfigError::InsecureHttp {
                host: "api.example.com".into()
            }
        );
        Config::builder()
            .api_key("k")
            .base_url("http://api.example.com")
            .allow_insecure_http(true)
            .build()
            .unwrap();
    }

    #[test]
    fn bad_base_urls_are_rejected() {
        for bad in [
            "api.leap0.dev",
            "ftp://api.leap0.dev",
            "https://",
            "https://user:pw@api.leap0.dev",
            "https://api.leap0.dev/?x=1",
            "https://api.leap0.dev/#frag",
            "not a url",
            "http://127.0.0.1:99999",
            "http://127.0.0.1:0",
            "http://:80",
            "https:api.leap0.dev",
            "https://api.leap0.dev\\x",
            "https://api.leap0.dev/a b",
        ] {
            let err = Config::builder()
                .api_key("k")
                .base_url(bad)
                .build()
                .unwrap_err();
            assert_eq!(err.field(), Some("base_url"), "{bad}");
        }
        let err = Config::builder()
            .api_key("k")
            .base_url("http://127.0.0.1:99999")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("from 1 to 65535"), "{err}");
    }

    #[test]
    fn credentials_are_never_echoed() {
        for (url, shown) in [
            (
                "https://user:hunter2@api.leap0.dev/x",
                "https://user:***@api.leap0.dev/x",
            ),
            (
                "https://sk-token@api.leap0.dev",
                "https://***@api.leap0.dev",
            ),
            ("http://a:b:c@h:99999", "http://a:***@h:99999"),
        ] {
            let err = Config::builder()
                .api_key("k")
                .base_url(url)
                .build()
                .unwrap_err();
            let text = err.to_string();
            assert!(text.contains(shown), "{text}");
            for secret in ["hunter2", "sk-token", ":b:c"] {
                assert!(!text.contains(secret), "{text}");
                assert!(!format!("{err:?}").contains(secret));
            }
        }
        let builder = Config::builder().base_url("https://u:hunter2@x.io");
        assert!(!format!("{builder:?}").contains("hunter2"));
    }

    #[test]
    fn bearer_is_never_doubled_and_can_be_off() {
        let c = Config::new("bEaReR abc").unwrap();
        assert_eq!(auth_value(&c), "bEaReR abc");
        let c = Config::builder()
            .api_key("abc")
            .bearer(false)
            .auth_header("X-API-Key")
            .build()
            .unwrap();
        assert_eq!(auth_value(&c), "abc");
        assert_eq!(c.auth_header().as_str(), "x-api-key");
    }

    #[test]
    fn invalid_keys_and_headers_are_errors_without_the_key() {
        assert_eq!(Config::new("   ").unwrap_err(), ConfigError::EmptyApiKey);
        assert_eq!(
            Config::builder().build().unwrap_err(),
            ConfigError::MissingApiKey
        );
        let err = Config::new("sec\nret").unwrap_err();
        assert!(!err.to_string().contains("sec"), "{err}");
        assert_eq!(err.field(), Some("api_key"));
        let err = Config::builder()
            .api_key("k")
            .auth_header("bad header")
            .build()
            .unwrap_err();
        assert_eq!(err.field(), Some("auth_header"));
    }

    #[test]
    fn env_fills_gaps_and_explicit_values_win() {
        let vars = env(&[
            ("LEAP0_API_KEY", "from-env"),
            ("LEAP0_BASE_URL", "http://127.0.0.1:9"),
        ]);
        let c = Config::from_env(&vars).unwrap();
        assert_eq!(auth_value(&c), "Bearer from-env");
        assert_eq!(c.base_url().to_string(), "http://127.0.0.1:9");
        // Explicit wins, whichever order the calls come in.
        let c = Config::builder()
            .api_key("explicit")
            .env(&vars)
            .base_url("https://x.example")
            .build()
            .unwrap();
        assert_eq!(auth_value(&c), "Bearer explicit");
        assert_eq!(c.base_url().to_string(), "https://x.example");
        assert_eq!(
            Config::from_env(env(&[("LEAP0_API_KEY", "  ")])).unwrap_err(),
            ConfigError::MissingApiKey
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let c = Config::new("super-secret-key").unwrap();
        let b = Config::builder().api_key("super-secret-key");
        for text in [
            format!("{c:?}"),
            format!("{b:?}"),
            format!("{:?}", ApiKey::new("super-secret-key")),
            ApiKey::new("super-secret-key").to_string(),
        ] {
            assert!(!text.contains("super-secret"), "{text}");
        }
    }

    #[test]
    fn clones_share_until_changed() {
        let a = Config::new("k").unwrap();
        let b = a.clone().with_timeout(Duration::from_secs(5));
        assert_eq!(a.timeout(), DEFAULT_TIMEOUT);
        assert_eq!(b.timeout(), Duration::from_secs(5));
        assert_eq!(
            a.clone().with_timeout(Duration::ZERO).timeout(),
            DEFAULT_TIMEOUT
        );
    }
}
