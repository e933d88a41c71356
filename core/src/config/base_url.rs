//! The base URL: parsed and checked once, and credentials kept out of every
//! message that shows a URL.

use std::fmt;

use http::uri::{Authority, Scheme};

use super::ConfigError;

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::config::{Config, ConfigError};

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
}
