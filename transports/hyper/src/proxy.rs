//! The connector below hyper-util's pooled client: straight to the server, or
//! through the proxy [`ProxyRules`] name for it.
//!
//! - `https` targets through a proxy are tunnelled (`CONNECT`, hyper-util's
//!   `Tunnel`), and TLS to the server runs inside the tunnel: the proxy sees
//!   neither the API key nor the answers.
//! - `http` targets through a proxy are forwarded: the connection goes to the
//!   proxy and is marked proxied, so hyper sends the absolute URI.
//! - An `https://` proxy gets TLS of its own, with the same trust roots.

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderValue, Uri};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder, MaybeHttpsStream};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use leap0_core::transport::ProxyRules;
use percent_encoding::percent_decode_str;
use tokio::net::TcpStream;
use tower_service::Service;

type BoxError = Box<dyn StdError + Send + Sync>;
type ToProxy = HttpsConnector<HttpConnector>;

/// A proxy as a connection target: its address, and the `Proxy-Authorization`
/// its credentials make.
#[derive(Clone)]
pub(crate) struct Proxy {
    uri: Uri,
    auth: Option<HeaderValue>,
}

impl Proxy {
    /// The `Proxy-Authorization` value of its credentials, if it has any.
    pub(crate) fn auth(self) -> Option<HeaderValue> {
        self.auth
    }
}

/// Parses a proxy URL; credentials become a sensitive `Basic` header value.
pub(crate) fn parse(url: &str) -> Result<Proxy, ()> {
    let with_scheme = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    let (scheme, rest) = with_scheme.split_once("://").ok_or(())?;
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return Err(());
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (userinfo, host) = match rest[..end].rsplit_once('@') {
        Some((userinfo, host)) => (Some(userinfo), host),
        None => (None, &rest[..end]),
    };
    let uri: Uri = format!("{scheme}://{host}").parse().map_err(|_| ())?;
    uri.host().filter(|h| !h.is_empty()).ok_or(())?;
    let auth = match userinfo {
        None => None,
        Some(userinfo) => {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            let token = STANDARD.encode(format!("{}:{}", decode(user), decode(password)));
            let mut value = HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| ())?;
            value.set_sensitive(true);
            Some(value)
        }
    };
    Ok(Proxy { uri, auth })
}

/// The proxy a request to `uri` goes through, by `rules` (already checked to parse).
pub(crate) fn proxy_for(rules: &ProxyRules, uri: &Uri) -> Option<Proxy> {
    rules.proxy_for(uri).and_then(|url| parse(url).ok())
}

/// Connects directly, or through a proxy.
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    http: HttpConnector,
    rules: Arc<ProxyRules>,
    tls: Arc<rustls::ClientConfig>,
}

impl ProxyConnector {
    pub(crate) fn new(
        http: HttpConnector,
        rules: ProxyRules,
        tls: Arc<rustls::ClientConfig>,
    ) -> Self {
        ProxyConnector {
            http,
            rules: Arc::new(rules),
            tls,
        }
    }

    fn to_proxy(&self) -> ToProxy {
        HttpsConnectorBuilder::new()
            .with_tls_config((*self.tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(self.http.clone())
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = ProxyStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<ProxyStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let Some(proxy) = proxy_for(&self.rules, &dst) else {
            let connecting = self.http.call(dst);
            return Box::pin(async move { Ok(ProxyStream::Direct(connecting.await?)) });
        };
        if dst.scheme_str() == Some("https") {
            let mut tunnel = Tunnel::new(proxy.uri, self.to_proxy());
            if let Some(auth) = proxy.auth {
                tunnel = tunnel.with_auth(auth);
            }
            let tunnelling = tunnel.call(dst);
            Box::pin(async move {
                Ok(ProxyStream::Proxy {
                    stream: Box::new(tunnelling.await?),
                    forwarding: false,
                })
            })
        } else {
            let connecting = self.to_proxy().call(proxy.uri);
            Box::pin(async move {
                Ok(ProxyStream::Proxy {
                    stream: Box::new(connecting.await?),
                    forwarding: true,
                })
            })
        }
    }
}

/// A connection to the server, or to a proxy (tunnelled or forwarding).
pub(crate) enum ProxyStream {
    Direct(TokioIo<TcpStream>),
    Proxy {
        // Boxed: a TLS stream is large, and proxied connections are the rare case.
        stream: Box<MaybeHttpsStream<TokioIo<TcpStream>>>,
        /// `http` through the proxy: requests carry the absolute URI.
        forwarding: bool,
    },
}

impl Connection for ProxyStream {
    fn connected(&self) -> Connected {
        match self {
            ProxyStream::Direct(tcp) => tcp.connected(),
            ProxyStream::Proxy { stream, forwarding } => stream.connected().proxy(*forwarding),
        }
    }
}

impl Read for ProxyStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ProxyStream::Direct(tcp) => Pin::new(tcp).poll_read(cx, buf),
            ProxyStream::Proxy { stream, .. } => Pin::new(&mut **stream).poll_read(cx, buf),
        }
    }
}

impl Write for ProxyStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ProxyStream::Direct(tcp) => Pin::new(tcp).poll_write(cx, buf),
            ProxyStream::Proxy { stream, .. } => Pin::new(&mut **stream).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ProxyStream::Direct(tcp) => Pin::new(tcp).poll_flush(cx),
            ProxyStream::Proxy { stream, .. } => Pin::new(&mut **stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ProxyStream::Direct(tcp) => Pin::new(tcp).poll_shutdown(cx),
            ProxyStream::Proxy { stream, .. } => Pin::new(&mut **stream).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn proxy_urls_split_into_address_and_credentials() {
        let p = parse("http://us%40er:p%3Ass@proxy.internal:3128").unwrap();
        assert_eq!(p.uri, "http://proxy.internal:3128");
        let auth = p.auth.unwrap();
        assert!(auth.is_sensitive());
        assert_eq!(
            auth,
            format!("Basic {}", STANDARD.encode("us@er:p:ss")).as_str()
        );
        assert_eq!(parse("proxy:8080").unwrap().uri, "http://proxy:8080");
        assert!(parse("https://proxy:8443").unwrap().auth.is_none());
        for bad in ["socks5://proxy:1080", "http://", "http://[bad"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
