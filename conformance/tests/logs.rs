//! No key in any log: a `log` logger and a `tracing` subscriber, both at TRACE,
//! watch both transports talk to the emulator, directly and through a proxy
//! that wants credentials. Neither the API key nor the proxy's password may
//! appear anywhere, not even in ureq's hex dump of the bytes it writes.
//!
//! Loggers are process-wide, so this file is its own test binary with one test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use leap0_conformance::{API_KEY, AsyncEngine, Via};
use leap0_core::transport::VirtualClock;
use leap0_core::{AsyncSnapshotsClient, Config, CreateSnapshot, ListSnapshots, SnapshotsClient};
use leap0_emulator::{Emulator, EmulatorConfig};
use leap0_hyper::HyperTransport;
use leap0_testkit::proxy::TestProxy;
use leap0_ureq::UreqTransport;

const PROXY_PASSWORD: &str = "proxy-pw-8c1d0e";

/// Every `log` record and `tracing` event, formatted.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<String>>>);

impl Captured {
    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl log::Log for Captured {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        self.push(format!("{} {}", record.target(), record.args()));
    }

    fn flush(&self) {}
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.push(String::from_utf8_lossy(buf).into_owned());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install() -> Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            log::set_boxed_logger(Box::new(captured.clone())).unwrap();
            log::set_max_level(log::LevelFilter::Trace);
            let writer = captured.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(move || writer.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
            captured
        })
        .clone()
}

/// The bytes of ureq's wire dump: rows of up to 16 bytes as hex pairs.
fn dumped_bytes(lines: &[String]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for line in lines {
        let Some(row) = line.strip_prefix("ureq_proto::util ") else {
            continue;
        };
        for group in row.split(' ').take(8) {
            for pair in group.as_bytes().chunks(2) {
                if let Ok(b) = u8::from_str_radix(std::str::from_utf8(pair).unwrap_or("--"), 16) {
                    bytes.push(b);
                }
            }
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn exercise(via: Via, config: Config, proxy: Option<&str>) {
    match via {
        Via::Ureq => {
            let mut transport = UreqTransport::builder();
            if let Some(url) = proxy {
                transport = transport.proxy(url).unwrap();
            }
            let client =
                SnapshotsClient::new(config, transport.build().unwrap(), VirtualClock::new());
            client.create(CreateSnapshot::new("sb-seed-1")).unwrap();
            client.list(ListSnapshots::default()).unwrap();
        }
        Via::Hyper => {
            let mut transport = HyperTransport::builder();
            if let Some(url) = proxy {
                transport = transport.proxy(url).unwrap();
            }
            let engine = AsyncEngine::new(AsyncSnapshotsClient::new(
                config,
                transport.build().unwrap(),
                VirtualClock::new(),
            ));
            engine
                .block_on(|client| client.create(CreateSnapshot::new("sb-seed-1")))
                .unwrap();
            engine
                .block_on(|client| client.list(ListSnapshots::default()))
                .unwrap();
        }
    }
}

#[test]
fn trace_logs_of_both_transports_hold_no_key_and_no_proxy_password() {
    let captured = install();
    let emulator = Emulator::start_with(EmulatorConfig::default().api_key(API_KEY)).unwrap();
    let proxy = TestProxy::with_credentials(&base64_of(&format!("leap0:{PROXY_PASSWORD}")));
    let proxy_url = format!("http://leap0:{PROXY_PASSWORD}@{}", proxy.addr());
    let config = Config::builder()
        .api_key(API_KEY)
        .base_url(emulator.base_url())
        .build()
        .unwrap();
    for via in Via::ALL {
        exercise(via, config.clone(), None);
        exercise(via, config.clone(), Some(&proxy_url));
    }
    // ureq tunnels both calls through one kept-alive CONNECT; hyper forwards
    // each http request.
    assert_eq!(
        (proxy.tunnels(), proxy.forwarded()),
        (1, 2),
        "{:?}",
        proxy.lines()
    );
    assert_eq!(proxy.refused(), 0, "the proxy saw its credentials");

    let lines = captured.lines();
    // The loggers were listening: ureq dumped request heads, hyper-util and
    // the core traced their work.
    let dumped = dumped_bytes(&lines);
    assert!(
        contains(&dumped, b"\r\nauthorization: "),
        "no wire dump captured"
    );
    assert!(
        lines.iter().any(|l| l.contains("leap0")),
        "no core tracing captured"
    );
    assert!(
        lines.iter().any(|l| l.contains("hyper_util")),
        "no hyper-util tracing captured"
    );
    for secret in [API_KEY, PROXY_PASSWORD] {
        for line in &lines {
            assert!(!line.contains(secret), "a log line holds a secret: {line}");
        }
        assert!(
            !contains(&dumped, secret.as_bytes()),
            "the wire dump holds a secret"
        );
    }
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}
