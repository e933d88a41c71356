//! The API key, which never shows itself.

use std::fmt;

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
        write!(f, "ApiKey({})", crate::transport::REDACTED)
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::transport::REDACTED)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::ApiKey;
    use crate::config::Config;

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
