//! Client configuration: where to send requests, how to authenticate, and how
//! patient to be. Building a [`Config`] checks everything once, so that building
//! a request later cannot fail on configuration.

mod base_url;
mod builder;
mod key;
mod policy;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Entropy from outside for the jitter, when no seed is pinned.
    jitter_entropy: Option<u64>,
    /// How many jitter streams machines built from this configuration (and
    /// its clones) have taken: each machine's discriminator.
    jitter_streams: Arc<AtomicU64>,
}

/// The jitter's base when neither a seed nor entropy is given.
const UNSEEDED: u64 = 0x1ea9_0000_5eed;

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
            .field("jitter_entropy", &s.jitter_entropy.is_some())
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

    /// The same configuration with entropy from outside (the operating
    /// system's, say) for the jitter of its machines, used when the retry
    /// policy pins no seed. The clients take it from their clock.
    pub fn with_jitter_entropy(mut self, entropy: u64) -> Config {
        Arc::make_mut(&mut self.inner).jitter_entropy = Some(entropy);
        self
    }

    /// The entropy given with [`with_jitter_entropy`](Self::with_jitter_entropy).
    pub fn jitter_entropy(&self) -> Option<u64> {
        self.inner.jitter_entropy
    }

    /// The seed of the next machine's jitter stream: the pinned seed (else the
    /// entropy, else a constant) mixed with the machine's own number, so that
    /// machines built from one configuration back off at different times, and
    /// the same program with a pinned seed repeats its delays exactly.
    pub(crate) fn jitter_stream(&self) -> u64 {
        let s = &self.inner;
        let number = s.jitter_streams.fetch_add(1, Ordering::Relaxed);
        let base = s.retry.jitter_seed.or(s.jitter_entropy).unwrap_or(UNSEEDED);
        mix(base ^ mix(number))
    }

    /// The same configuration with other pagination limits.
    pub fn with_pagination(mut self, limits: PaginationLimits) -> Config {
        Arc::make_mut(&mut self.inner).pagination = limits;
        self
    }
}

/// A 64-bit finalizer (SplitMix64's): nearby inputs give unrelated outputs.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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
