//! [`ProxyRules`]: which proxy a request goes through, read from the usual
//! environment variables (through a lookup function) or given explicitly. Both
//! bundled transports decide with these rules, so they agree. Each proxy URL
//! is parsed once, into a [`ParsedProxy`], when the rules are made.

use std::fmt;
// `core::net`: address parsing only; the core opens no socket.
use core::net::IpAddr;
use std::sync::Arc;

use super::Secrets;
use super::kit::{ParsedProxy, ProxyUrlError, raw_proxy_secrets, redacted_proxy_url};

/// Which proxy, if any, each request goes through.
///
/// From the environment ([`from_lookup`](Self::from_lookup)), as curl reads it:
/// `HTTPS_PROXY` for `https` targets, `HTTP_PROXY` for `http` targets,
/// `ALL_PROXY` for either when the specific one is unset (each also in lower
/// case), and `NO_PROXY`: a comma-separated list of hosts that go direct, where
/// `example.com` and `.example.com` match the domain and its subdomains, an IP
/// address or CIDR range matches addresses, and `*` matches everything.
///
/// Each proxy URL is parsed once, when the rules are made, into a
/// [`ParsedProxy`] ([`parsed_proxy_for`](Self::parsed_proxy_for)); a URL that
/// does not parse is kept, and [`check`](Self::check) says why (transport
/// builders refuse such rules).
///
/// `Debug` never shows a proxy's credentials.
///
/// ```
/// use leap0_core::http::Uri;
/// use leap0_core::transport::ProxyRules;
///
/// let env = |name: &str| match name {
///     "HTTPS_PROXY" => Some("http://user:pw@proxy.internal:3128".to_owned()),
///     "NO_PROXY" => Some("localhost,.internal,10.0.0.0/8".to_owned()),
///     _ => None,
/// };
/// let rules = ProxyRules::from_lookup(env);
/// let via = |url: &str| rules.proxy_for(&url.parse::<Uri>().unwrap()).map(str::to_owned);
/// assert_eq!(via("https://api.leap0.dev/v1"), Some("http://user:pw@proxy.internal:3128".into()));
/// assert_eq!(via("http://api.leap0.dev/v1"), None); // no HTTP_PROXY
/// assert_eq!(via("https://db.internal"), None);
/// assert_eq!(via("https://10.1.2.3"), None);
/// assert!(!format!("{rules:?}").contains("pw"));
/// ```
#[derive(Clone, Default)]
pub struct ProxyRules {
    http: Option<Slot>,
    https: Option<Slot>,
    no_proxy: Vec<NoProxy>,
    /// The credentials of every proxy URL, parsed or not.
    secrets: Secrets,
}

/// One proxy URL of the rules, parsed once (shared when two schemes use the
/// same URL).
#[derive(Clone)]
enum Slot {
    Parsed(Arc<ParsedProxy>),
    Invalid(Arc<str>, ProxyUrlError),
}

impl Slot {
    fn new(url: &str) -> Self {
        match ParsedProxy::parse(url) {
            Ok(parsed) => Slot::Parsed(Arc::new(parsed)),
            Err(error) => Slot::Invalid(url.into(), error),
        }
    }

    fn url(&self) -> &str {
        match self {
            Slot::Parsed(parsed) => parsed.url(),
            Slot::Invalid(url, _) => url,
        }
    }

    fn parsed(&self) -> Option<&ParsedProxy> {
        match self {
            Slot::Parsed(parsed) => Some(parsed),
            Slot::Invalid(..) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum NoProxy {
    Everything,
    Domain(String),
    Address(IpAddr),
    Range(IpAddr, u8),
}

impl ProxyRules {
    /// No proxy at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// Every request through `url` (for example `http://proxy:3128` or
    /// `https://user:pass@proxy:8443`).
    pub fn all(url: impl Into<String>) -> Self {
        let url = url.into();
        Self::with_proxies(Some(url.clone()), Some(url))
    }

    /// Rules with these proxy URLs and no `NO_PROXY` entries; each distinct
    /// URL is parsed once.
    fn with_proxies(http: Option<String>, https: Option<String>) -> Self {
        let http = http.as_deref().map(Slot::new);
        let https = match (&http, https) {
            (Some(shared), Some(url)) if shared.url() == url => Some(shared.clone()),
            (_, url) => url.as_deref().map(Slot::new),
        };
        let mut secrets = Secrets::new();
        for slot in http.iter().chain(&https) {
            match slot {
                Slot::Parsed(parsed) => secrets.merge(parsed.secrets()),
                Slot::Invalid(url, _) => secrets.merge(&raw_proxy_secrets(url)),
            }
        }
        ProxyRules {
            http,
            https,
            no_proxy: Vec::new(),
            secrets,
        }
    }

    /// The rules of the environment, read through `lookup` (pass
    /// `|name| std::env::var(name).ok()`). Empty variables count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let var = |names: [&str; 2]| {
            names.into_iter().find_map(|name| {
                lookup(name)
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
            })
        };
        let all = var(["ALL_PROXY", "all_proxy"]);
        let rules = Self::with_proxies(
            var(["HTTP_PROXY", "http_proxy"]).or_else(|| all.clone()),
            var(["HTTPS_PROXY", "https_proxy"]).or(all),
        );
        match var(["NO_PROXY", "no_proxy"]) {
            Some(list) => rules.no_proxy(&list),
            None => rules,
        }
    }

    /// Adds `NO_PROXY`-style entries (comma-separated) of hosts that go direct.
    pub fn no_proxy(mut self, list: &str) -> Self {
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let entry = entry.to_ascii_lowercase();
            let parsed = if entry == "*" {
                NoProxy::Everything
            } else if let Some((ip, bits)) = entry.split_once('/') {
                match (ip.parse::<IpAddr>(), bits.parse::<u8>()) {
                    (Ok(ip), Ok(bits)) => NoProxy::Range(ip, bits),
                    _ => NoProxy::Domain(entry),
                }
            } else if let Ok(ip) = entry.trim_start_matches('[').trim_end_matches(']').parse() {
                NoProxy::Address(ip)
            } else {
                NoProxy::Domain(
                    entry
                        .trim_start_matches("*.")
                        .trim_start_matches('.')
                        .to_owned(),
                )
            };
            self.no_proxy.push(parsed);
        }
        self
    }

    /// The proxy URLs in use (credentials included), each once.
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        self.slots().map(Slot::url)
    }

    /// The parsed proxies in use, each once (those whose URL parses).
    pub fn proxies(&self) -> impl Iterator<Item = &ParsedProxy> {
        self.slots().filter_map(Slot::parsed)
    }

    /// Fails with the first proxy URL that does not parse.
    pub fn check(&self) -> Result<(), ProxyUrlError> {
        match self.slots().find_map(|slot| match slot {
            Slot::Invalid(_, error) => Some(error.clone()),
            Slot::Parsed(_) => None,
        }) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// The credentials in the proxy URLs (as written, decoded, and as the
    /// `Proxy-Authorization` header sends them), to keep out of messages.
    pub fn secrets(&self) -> Secrets {
        self.secrets.clone()
    }

    /// Whether no request would go through a proxy.
    pub fn is_empty(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }

    /// The proxy URL a request to `uri` goes through, credentials included;
    /// `None` to go direct.
    pub fn proxy_for(&self, uri: &http::Uri) -> Option<&str> {
        self.slot_for(uri).map(Slot::url)
    }

    /// The parsed proxy a request to `uri` goes through; `None` to go direct
    /// (or if its URL does not parse, which [`check`](Self::check) reports).
    pub fn parsed_proxy_for(&self, uri: &http::Uri) -> Option<&ParsedProxy> {
        self.slot_for(uri).and_then(Slot::parsed)
    }

    fn slots(&self) -> impl Iterator<Item = &Slot> {
        let https = self
            .https
            .as_ref()
            .filter(|h| self.http.as_ref().is_none_or(|p| p.url() != h.url()));
        self.http.iter().chain(https)
    }

    fn slot_for(&self, uri: &http::Uri) -> Option<&Slot> {
        let proxy = match uri.scheme_str() {
            Some("https") => self.https.as_ref(),
            Some("http") => self.http.as_ref(),
            _ => None,
        }?;
        let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
        let bypass = self.no_proxy.iter().any(|rule| rule.matches(host));
        (!bypass).then_some(proxy)
    }
}

impl PartialEq for ProxyRules {
    fn eq(&self, other: &Self) -> bool {
        let url = |slot: &Option<Slot>| slot.as_ref().map(|s| s.url().to_owned());
        (url(&self.http), url(&self.https), &self.no_proxy)
            == (url(&other.http), url(&other.https), &other.no_proxy)
    }
}

impl Eq for ProxyRules {}

impl NoProxy {
    fn matches(&self, host: &str) -> bool {
        let ip = host.parse::<IpAddr>().ok();
        match (self, ip) {
            (NoProxy::Everything, _) => true,
            (NoProxy::Address(a), Some(ip)) => *a == ip,
            (NoProxy::Range(net, bits), Some(ip)) => in_range(ip, *net, *bits),
            (NoProxy::Domain(domain), None) => {
                let host = host.to_ascii_lowercase();
                host == *domain
                    || host
                        .strip_suffix(domain.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            }
            _ => false,
        }
    }
}

fn in_range(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

impl fmt::Debug for ProxyRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |p: &Option<Slot>| p.as_ref().map(|s| redacted_proxy_url(s.url()));
        f.debug_struct("ProxyRules")
            .field("http", &shown(&self.http))
            .field("https", &shown(&self.https))
            .field("no_proxy", &self.no_proxy)
            .finish()
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

    fn via<'a>(rules: &'a ProxyRules, url: &str) -> Option<&'a str> {
        rules.proxy_for(&url.parse().unwrap())
    }

    #[test]
    fn each_scheme_takes_its_variable_then_all_proxy() {
        let rules = ProxyRules::from_lookup(env(&[
            ("http_proxy", "http://h:1"),
            ("ALL_PROXY", "http://a:2"),
        ]));
        assert_eq!(via(&rules, "http://x.io"), Some("http://h:1"));
        assert_eq!(via(&rules, "https://x.io"), Some("http://a:2"));
        let upper_first = ProxyRules::from_lookup(env(&[
            ("HTTPS_PROXY", "http://U:1"),
            ("https_proxy", "http://l:2"),
        ]));
        assert_eq!(via(&upper_first, "https://x.io"), Some("http://U:1"));
        assert!(ProxyRules::from_lookup(env(&[("HTTP_PROXY", "  ")])).is_empty());
    }

    #[test]
    fn no_proxy_matches_domains_addresses_ranges_and_everything() {
        let rules = ProxyRules::all("http://p:1")
            .no_proxy("example.com, .corp, 127.0.0.1, 10.0.0.0/8, ::1");
        for direct in [
            "https://example.com",
            "https://api.EXAMPLE.com",
            "https://corp",
            "https://db.corp",
            "http://127.0.0.1:8080",
            "http://10.200.0.1",
            "http://[::1]:9",
        ] {
            assert_eq!(via(&rules, direct), None, "{direct}");
        }
        for proxied in [
            "https://notexample.com",
            "https://example.com.evil",
            "http://11.0.0.1",
            "http://127.0.0.2",
        ] {
            assert_eq!(via(&rules, proxied), Some("http://p:1"), "{proxied}");
        }
        let everything = ProxyRules::all("http://p:1").no_proxy("*");
        assert_eq!(via(&everything, "https://x.io"), None);
    }
}
