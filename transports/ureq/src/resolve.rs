//! Name resolution without a thread per request.
//!
//! ureq's default resolver runs each lookup on a new thread whenever a timeout
//! applies, which with a per-call timeout is every request, pooled connection or
//! not. [`CachingResolver`] answers IP literals at once, keeps each name's
//! addresses for [`TTL`], and only looks a name up (through ureq's resolver,
//! which bounds the lookup by the connect timeout) when it has no fresh entry.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long a resolved name is reused.
pub(crate) const TTL: Duration = Duration::from_secs(30);

/// Most names kept; a fuller cache is emptied before the next entry.
const MAX_NAMES: usize = 256;

#[derive(Debug, Default)]
pub(crate) struct CachingResolver {
    inner: DefaultResolver,
    cache: Mutex<HashMap<String, (Instant, Vec<SocketAddr>)>>,
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &http::Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return Err(ureq::Error::BadUri(format!("{uri} has no scheme or host")));
        };
        let port = authority
            .port_u16()
            .or_else(|| match scheme.as_str() {
                "https" => Some(443),
                "http" => Some(80),
                _ => None,
            })
            .ok_or_else(|| ureq::Error::BadUri(format!("{uri} has no port")))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let addrs = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => self.lookup(uri, config, timeout, authority.as_str())?,
        };
        let mut result = self.inner.empty();
        for addr in config.ip_family().keep_wanted(addrs.into_iter()) {
            // The list holds 16 addresses; more are of no use.
            if result.try_push(addr).is_err() {
                break;
            }
        }
        if result.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(result)
    }
}

impl CachingResolver {
    fn lookup(
        &self,
        uri: &http::Uri,
        config: &Config,
        timeout: NextTimeout,
        key: &str,
    ) -> Result<Vec<SocketAddr>, ureq::Error> {
        let now = Instant::now();
        {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((at, addrs)) = cache.get(key)
                && now.duration_since(*at) < TTL
            {
                return Ok(addrs.clone());
            }
        }
        let resolved = self.inner.resolve(uri, config, timeout)?;
        let fresh: Vec<SocketAddr> = (&resolved).into_iter().copied().collect();
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= MAX_NAMES {
            cache.clear();
        }
        cache.insert(key.to_owned(), (now, fresh.clone()));
        Ok(fresh)
    }
}
