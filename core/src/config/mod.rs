//! Client configuration: where to send requests, how to authenticate, and how
//! patient to be. Building a [`Config`] checks everything once, so that building
//! a request later cannot fail on configuration.

mod base_url;
mod builder;
mod key;
mod policy;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderMap, HeaderName};

pub use base_url::{BaseUrl, redact_credentials};
pub use builder::ConfigBuilder;
pub use key::ApiKey;
pub use policy::{PaginationLimits, RetryPolicy, WaitPolicy};

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
            .field("api_key", &crate::transport::REDACTED)
            .field("bearer", &s.bearer)
            .field("timeout", &s.timeout)
            .field("retry", &s.retry)
            .field("wait", &s.wait)
            .field("pagination", &s.pagination)
            .finish()
    }
}

// The constructors (`new`, `from_env`, `builder`) are in `builder.rs`.
impl Config {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
