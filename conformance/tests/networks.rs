//! Both transports behind real networks: a private CA, a CONNECT proxy for
//! https, a plain http proxy, `NO_PROXY`, and connection reuse under threads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use leap0_conformance::{API_KEY, AsyncEngine, Via};
use leap0_core::transport::{ProxyRules, TransportErrorKind, VirtualClock};
use leap0_core::{AsyncSnapshotsClient, Config, Error, ListSnapshots, SnapshotsClient};
use leap0_emulator::{Emulator, EmulatorConfig};
use leap0_hyper::HyperTransport;
use leap0_testkit::proxy::{CountingRelay, TestProxy};
use leap0_testkit::tls::{TestCa, TlsFront};
use leap0_ureq::UreqTransport;

fn emulator() -> Emulator {
    Emulator::start_with(EmulatorConfig::default().api_key(API_KEY)).unwrap()
}

fn config(base_url: &str) -> Config {
    Config::builder()
        .api_key(API_KEY)
        .base_url(base_url)
        .retry(leap0_core::RetryPolicy::none())
        .build()
        .unwrap()
}

/// How a test sets a transport up: trusted roots and proxy rules.
#[derive(Clone, Default)]
struct Setup {
    ca_pem: Option<String>,
    rules: ProxyRules,
}

/// Lists snapshots once through `via` set up as asked.
fn list(via: Via, base_url: &str, setup: &Setup) -> Result<u64, Error> {
    let config = config(base_url);
    match via {
        Via::Ureq => {
            let mut builder = UreqTransport::builder()
                .proxy_rules(setup.rules.clone())
                .unwrap();
            if let Some(pem) = &setup.ca_pem {
                builder = builder.add_root_certificate_pem(pem.as_bytes()).unwrap();
            }
            SnapshotsClient::new(config, builder.build().unwrap(), VirtualClock::new())
                .list(ListSnapshots::default())
                .map(|l| l.total_items)
        }
        Via::Hyper => {
            let mut builder = HyperTransport::builder()
                .proxy_rules(setup.rules.clone())
                .unwrap();
            if let Some(pem) = &setup.ca_pem {
                builder = builder.add_root_certificate_pem(pem.as_bytes()).unwrap();
            }
            AsyncEngine::new(AsyncSnapshotsClient::new(
                config,
                builder.build().unwrap(),
                VirtualClock::new(),
            ))
            .block_on(|client| client.list(ListSnapshots::default()))
            .map(|l| l.total_items)
        }
    }
}

#[test]
fn a_private_ca_is_trusted_when_given_and_an_unknown_one_fails_as_tls() {
    let emulator = emulator();
    let ca = TestCa::new();
    let front = TlsFront::start(&ca, emulator.addr());
    let trusted = Setup {
        ca_pem: Some(ca.pem().to_owned()),
        ..Setup::default()
    };
    let stranger = Setup {
        ca_pem: Some(TestCa::new().pem().to_owned()),
        ..Setup::default()
    };
    for via in Via::ALL {
        for url in [front.url(), front.url_by_name()] {
            assert_eq!(list(via, &url, &trusted).unwrap(), 0, "{via:?} {url}");
        }
        for setup in [&stranger, &Setup::default()] {
            let err = list(via, &front.url(), setup).unwrap_err();
            let failure = err.transport().expect("a transport error");
            assert_eq!(failure.kind, TransportErrorKind::Tls, "{via:?}: {err}");
            assert!(!failure.may_have_been_sent);
        }
    }
}

#[test]
fn https_goes_through_a_connect_proxy_and_http_through_a_plain_one() {
    let emulator = emulator();
    let ca = TestCa::new();
    let front = TlsFront::start(&ca, emulator.addr());
    for via in Via::ALL {
        let proxy = TestProxy::start();
        let setup = Setup {
            ca_pem: Some(ca.pem().to_owned()),
            rules: ProxyRules::all(proxy.url()),
        };
        list(via, &front.url(), &setup).unwrap();
        assert_eq!(proxy.tunnels(), 1, "{via:?}: {:?}", proxy.lines());
        assert!(
            proxy.lines()[0].starts_with("CONNECT 127.0.0.1:"),
            "{:?}",
            proxy.lines()
        );

        let plain = TestProxy::start();
        let setup = Setup {
            rules: ProxyRules::all(plain.url()),
            ..Setup::default()
        };
        list(via, &emulator.base_url(), &setup).unwrap();
        // hyper forwards http requests; ureq tunnels every target.
        let used = plain.forwarded() + plain.tunnels();
        assert_eq!(used, 1, "{via:?}: {:?}", plain.lines());
    }
    assert_eq!(emulator.request_count(), 4);
}

#[test]
fn no_proxy_hosts_go_direct() {
    let emulator = emulator();
    for via in Via::ALL {
        let proxy = TestProxy::start();
        let rules = ProxyRules::from_lookup(|name| match name {
            "HTTP_PROXY" => Some(proxy.url()),
            "NO_PROXY" => Some("localhost,127.0.0.1".to_owned()),
            _ => None,
        });
        let setup = Setup {
            rules,
            ..Setup::default()
        };
        list(via, &emulator.base_url(), &setup).unwrap();
        assert!(proxy.lines().is_empty(), "{via:?}: {:?}", proxy.lines());
    }
    assert_eq!(emulator.request_count(), 2);
}

#[test]
fn a_proxy_that_refuses_is_a_connect_failure_before_sending() {
    let emulator = emulator();
    for via in Via::ALL {
        let proxy = TestProxy::with_credentials("bm90OnRoaXM=");
        let ca = TestCa::new();
        let front = TlsFront::start(&ca, emulator.addr());
        let setup = Setup {
            ca_pem: Some(ca.pem().to_owned()),
            rules: ProxyRules::all(format!("http://wrong:creds@{}", proxy.addr())),
        };
        let err = list(via, &front.url(), &setup).unwrap_err();
        let failure = err.transport().expect("a transport error");
        assert_eq!(failure.kind, TransportErrorKind::Connect, "{via:?}: {err}");
        assert!(!failure.may_have_been_sent);
        assert!(!err.to_string().contains("creds"), "{err}");
        assert_eq!(proxy.refused(), 1);
    }
    assert_eq!(emulator.request_count(), 0);
}

/// 16 threads sharing one client keep reusing their connections: at most 20
/// connections for 320 calls, made in lockstep rounds so that all 16 are in
/// flight (and then idle) together.
#[test]
fn threads_sharing_a_ureq_client_reuse_their_connections() {
    let emulator = emulator();
    let relay = CountingRelay::start(emulator.addr());
    let client = Arc::new(leap0_ureq::client(config(&relay.url())));
    let rounds = Arc::new(std::sync::Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let client = Arc::clone(&client);
            let rounds = Arc::clone(&rounds);
            std::thread::spawn(move || {
                for _ in 0..20 {
                    rounds.wait();
                    client.list(ListSnapshots::default()).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(emulator.request_count(), 320);
    let opened = relay.connections();
    assert!(opened <= 20, "16 threads opened {opened} connections");
}
