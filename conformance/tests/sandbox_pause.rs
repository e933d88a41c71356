//! Pausing a sandbox in place (`POST /v1/sandbox/{id}/pause`) through both
//! transports, against the emulator: the sandbox comes back paused, a sandbox
//! that is not running is a conflict, and nothing but one body-less POST is sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use leap0_conformance::{API_KEY, Via, emulator};
use leap0_core::{ApiErrorKind, Call, CallOutput, Config, PauseSandbox, SandboxState};

fn config(base_url: &str) -> Config {
    Config::builder()
        .api_key(API_KEY)
        .base_url(base_url)
        .build()
        .unwrap()
}

#[test]
fn a_running_sandbox_is_paused_and_a_paused_one_is_a_conflict() {
    for via in Via::ALL {
        let emu = emulator();
        let config = config(&emu.base_url());
        let pause = || Call::PauseSandbox(PauseSandbox::new("sb-seed-1"));

        let Ok(CallOutput::Sandbox(sandbox)) = via.call(config.clone(), pause()) else {
            panic!("{via:?}: the pause did not give a sandbox");
        };
        assert_eq!(
            (sandbox.id.as_str(), &sandbox.state),
            ("sb-seed-1", &SandboxState::Paused),
            "{via:?}"
        );
        assert_eq!(emu.sandbox_state("sb-seed-1").as_deref(), Some("paused"));

        let again = via.call(config.clone(), pause()).unwrap_err();
        assert_eq!(again.api().unwrap().kind, ApiErrorKind::Conflict, "{via:?}");
        assert_eq!(again.kind_name(), "conflict");
        assert!(
            again.to_string().starts_with(
                "Failed to pause sandbox: 409 Request failed: POST /v1/sandbox/sb-seed-1/pause"
            ),
            "{via:?}: {again}"
        );
        // A conflict is final: one request each, no retry.
        let sent = emu.requests_for("POST", "/v1/sandbox/sb-seed-1/pause");
        assert_eq!(sent.len(), 2, "{via:?}");
        for request in &sent {
            assert!(request.body.is_empty(), "{via:?}: a body was sent");
            let length = request.headers.iter().find(|(n, _)| n == "content-length");
            assert_eq!(length.map(|(_, v)| v.as_str()), Some("0"), "{via:?}");
        }

        let unknown = via
            .call(config, Call::PauseSandbox(PauseSandbox::new("sb-nope")))
            .unwrap_err();
        assert_eq!(
            unknown.api().unwrap().kind,
            ApiErrorKind::NotFound,
            "{via:?}"
        );
    }
}

#[test]
fn both_clients_have_the_typed_method() {
    let emu = emulator();
    let client = leap0_ureq::client(config(&emu.base_url()));
    let sandbox = client.pause_sandbox("sb-seed-1").unwrap();
    assert_eq!(sandbox.state, SandboxState::Paused);

    let emu = emulator();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = leap0_hyper::client(config(&emu.base_url()));
    let sandbox = runtime.block_on(client.pause_sandbox(&sandbox)).unwrap();
    assert_eq!(sandbox.state, SandboxState::Paused);
}
