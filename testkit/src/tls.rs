//! A private certificate authority ([`TestCa`]) and a TLS front ([`TlsFront`])
//! that serves `https` on loopback for any plain HTTP server behind it.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::http1::read_message;
use crate::raw_server::listener;

/// A certificate authority made for one test run.
pub struct TestCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

impl TestCa {
    /// A fresh CA.
    ///
    /// # Panics
    ///
    /// If the key or certificate cannot be generated.
    pub fn new() -> TestCa {
        let key = must(KeyPair::generate(), "generate the CA key");
        let mut params = must(
            CertificateParams::new(Vec::<String>::new()),
            "make CA params",
        );
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "leap0 test CA");
        let cert = must(params.self_signed(&key), "self-sign the CA");
        TestCa {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA certificate, PEM-encoded (what `--ca-cert` takes).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A server certificate for `127.0.0.1` and `localhost`, signed by this CA.
    ///
    /// # Panics
    ///
    /// If the certificate cannot be generated or the TLS configuration built.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let key = must(KeyPair::generate(), "generate the server key");
        let params = must(
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]),
            "make server params",
        );
        let cert = must(
            params.signed_by(&key, &self.issuer),
            "sign the server certificate",
        );
        let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key));
        Arc::new(must(config, "build the server TLS configuration"))
    }
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}

fn must<T, E: std::fmt::Display>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("cannot {what}: {e}"),
    }
}

/// Serves `https://127.0.0.1:PORT` with a certificate of `ca`, passing each
/// request to the plain HTTP server at `backend` and its answer back. Runs
/// until the process ends.
#[derive(Debug, Clone, Copy)]
pub struct TlsFront {
    addr: SocketAddr,
}

impl TlsFront {
    /// Starts the front.
    pub fn start(ca: &TestCa, backend: SocketAddr) -> TlsFront {
        let config = ca.server_config();
        let (listener, addr) = listener();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let config = Arc::clone(&config);
                thread::spawn(move || {
                    // A client that fails the handshake (an unknown CA) ends here.
                    let _ = serve(stream, config, backend);
                });
            }
        });
        TlsFront { addr }
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// `https://localhost:PORT`.
    pub fn url_by_name(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

fn serve(
    stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
    backend: SocketAddr,
) -> io::Result<()> {
    let connection = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(connection, stream);
    let mut upstream = TcpStream::connect(backend)?;
    while let Some(request) = read_message(&mut tls, false)? {
        upstream.write_all(&request.bytes())?;
        let bodyless = request.first_line().starts_with("HEAD ");
        match read_message(&mut upstream, bodyless)? {
            Some(answer) => {
                tls.write_all(&answer.bytes())?;
                tls.flush()?;
            }
            None => break,
        }
    }
    tls.conn.send_close_notify();
    tls.flush()
}
