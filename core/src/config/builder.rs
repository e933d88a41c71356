//! Building a [`Config`]: explicit settings, the environment (through a lookup
//! function), then the defaults, all checked once.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue, USER_AGENT};

use super::{
    ApiKey, BaseUrl, Config, ConfigError, DEFAULT_BASE_URL, DEFAULT_TIMEOUT, PaginationLimits,
    RetryPolicy, SDK_VERSION, SOURCE_VALUE, Settings, USER_AGENT_VALUE, WaitPolicy,
    redact_credentials,
};

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
                jitter_entropy: None,
                jitter_streams: Default::default(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use crate::config::{Config, ConfigError};

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
}
