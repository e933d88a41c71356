//! Client configuration: where to send requests, how to authenticate, and how
//! patient to be. Building a [`Config`] checks everything once, so that building a
//! request later cannot fail on configuration.

use std::fmt;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::uri::{Authority, Scheme};

/// The default base URL of the Leap0 API.
pub const DEFAULT_BASE_URL: &str = "https://api.leap0.dev";
/// The default per-call HTTP timeout (the official SDKs' 300 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// This crate's version, sent in `Leap0-SDK-Version` and `User-Agent`.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

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

/// Why a configuration could not be built. Never contains the API key.
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
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Plain `http://` to a host that is not loopback would send the key in clear text.
    #[error(
        "invalid configuration: refusing to send the API key over plain http to {host}; use https, or allow insecure http explicitly"
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }
}

/// How a sandbox is polled while waiting for a state.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// A checked base URL: scheme, authority and a path prefix without trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    scheme: Scheme,
    authority: Authority,
    prefix: String,
}

impl BaseUrl {
    /// Parses and checks a base URL (`allow_insecure`: permit `http://` to any host).
    pub fn parse(url: &str, allow_insecure: bool) -> Result<Self, ConfigError> {
        let bad = |reason: &str| ConfigError::InvalidBaseUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: http::Uri = url
            .trim()
            .parse()
            .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
        let scheme = uri
            .scheme()
            .cloned()
            .ok_or_else(|| bad("must start with https:// or http://"))?;
        let authority = uri.authority().cloned().ok_or_else(|| bad("has no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("must not contain credentials"));
        }
        if authority.host().is_empty() {
            return Err(bad("has no host"));
        }
        if uri.query().is_some() || url.contains('#') {
            return Err(bad("must not contain a query or fragment"));
        }
        if scheme == Scheme::HTTP {
            if !allow_insecure && !is_loopback(authority.host()) {
                return Err(ConfigError::InsecureHttp {
                    host: authority.host().to_owned(),
                });
            }
        } else if scheme != Scheme::HTTPS {
            return Err(bad("must start with https:// or http://"));
        }
        let prefix = uri.path().trim_end_matches('/').to_owned();
        Ok(BaseUrl {
            scheme,
            authority,
            prefix,
        })
    }

    /// The scheme (`https` or `http`).
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// Host and port.
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

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<core::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// A complete, checked client configuration. Cheap to clone.
#[derive(Clone)]
pub struct Config {
    base_url: BaseUrl,
    auth_header: HeaderName,
    auth_value: HeaderValue,
    bearer: bool,
    timeout: Duration,
    retry: RetryPolicy,
    wait: WaitPolicy,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url.to_string())
            .field("auth_header", &self.auth_header)
            .field("api_key", &"<redacted>")
            .field("bearer", &self.bearer)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("wait", &self.wait)
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
    /// })
    /// .unwrap();
    /// assert_eq!(config.base_url().to_string(), "https://api.leap0.dev");
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
        &self.base_url
    }

    /// The header that carries the key.
    pub fn auth_header(&self) -> &HeaderName {
        &self.auth_header
    }

    /// The authentication header's value, marked sensitive.
    pub(crate) fn auth_value(&self) -> &HeaderValue {
        &self.auth_value
    }

    /// Whether the key is sent as `Bearer <key>`.
    pub fn bearer(&self) -> bool {
        self.bearer
    }

    /// The per-call HTTP timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The retry policy.
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The wait policy.
    pub fn wait(&self) -> &WaitPolicy {
        &self.wait
    }

    /// The same configuration with another per-call timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Config {
        self.timeout = timeout;
        self
    }

    /// The same configuration with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Config {
        self.retry = retry;
        self
    }

    /// The same configuration with another wait policy.
    pub fn with_wait(mut self, wait: WaitPolicy) -> Config {
        self.wait = wait;
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
    allow_insecure_http: bool,
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("api_key", &self.api_key)
            .field("base_url", &self.base_url)
            .field("env_api_key", &self.env_api_key)
            .field("env_base_url", &self.env_base_url)
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
        Ok(Config {
            base_url,
            auth_header,
            auth_value,
            bearer,
            timeout,
            retry: self.retry.unwrap_or_default(),
            wait: self.wait.unwrap_or_default(),
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

    #[test]
    fn defaults() {
        let c = Config::new(" key ").unwrap();
        assert_eq!(c.base_url().to_string(), "https://api.leap0.dev");
        assert_eq!(c.auth_header().as_str(), "authorization");
        assert_eq!(c.auth_value().to_str().unwrap(), "Bearer key");
        assert_eq!(c.timeout(), Duration::from_secs(300));
        // The retry and wait defaults the README promises.
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
        ] {
            let err = Config::builder()
                .api_key("k")
                .base_url(bad)
                .build()
                .unwrap_err();
            assert_eq!(err.field(), Some("base_url"), "{bad}");
        }
    }

    #[test]
    fn bearer_is_never_doubled_and_can_be_off() {
        let c = Config::new("bEaReR abc").unwrap();
        assert_eq!(c.auth_value().to_str().unwrap(), "bEaReR abc");
        let c = Config::builder()
            .api_key("abc")
            .bearer(false)
            .auth_header("X-API-Key")
            .build()
            .unwrap();
        assert_eq!(c.auth_value().to_str().unwrap(), "abc");
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
        assert_eq!(c.auth_value().to_str().unwrap(), "Bearer from-env");
        assert_eq!(c.base_url().to_string(), "http://127.0.0.1:9");
        // Explicit wins, whichever order the calls come in.
        let c = Config::builder()
            .api_key("explicit")
            .env(&vars)
            .base_url("https://x.example")
            .build()
            .unwrap();
        assert_eq!(c.auth_value().to_str().unwrap(), "Bearer explicit");
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
}
