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

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder, MaybeHttpsStream};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use leap0_core::transport::ProxyRules;
use tokio::net::TcpStream;
use tower_service::Service;

type BoxError = Box<dyn StdError + Send + Sync>;
type ToProxy = HttpsConnector<HttpConnector>;

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
        // The rules parsed each proxy URL, credentials included, once.
        let Some(proxy) = self.rules.parsed_proxy_for(&dst) else {
            let connecting = self.http.call(dst);
            return Box::pin(async move { Ok(ProxyStream::Direct(connecting.await?)) });
        };
        if dst.scheme_str() == Some("https") {
            let mut tunnel = Tunnel::new(proxy.uri().clone(), self.to_proxy());
            if let Some(auth) = proxy.authorization() {
                tunnel = tunnel.with_auth(auth.clone());
            }
            let tunnelling = tunnel.call(dst);
            Box::pin(async move {
                Ok(ProxyStream::Proxy {
                    stream: Box::new(tunnelling.await?),
                    forwarding: false,
                })
            })
        } else {
            let connecting = self.to_proxy().call(proxy.uri().clone());
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
