//! Where the official SDK behaves in a way users rely on, both transports do
//! the same: an error body without a string message is quoted, a list answer
//! without `items` or `total_items` is a decode error naming it, a new sandbox
//! without a state is `starting`, unknown network-policy keys are refused
//! before anything is sent, and a timeout is named a timeout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use leap0_conformance::{API_KEY, Via};
use leap0_core::{
    Call, CallOutput, Config, CreateSnapshot, ListSnapshots, NetworkPolicy, RestoreSnapshot,
    ResumeSnapshot, RetryPolicy,
};
use leap0_testkit::raw_server::{json_response, listener, serve_many};
use serde_json::json;

fn config(addr: SocketAddr) -> Config {
    Config::builder()
        .api_key(API_KEY)
        .base_url(format!("http://{addr}"))
        .retry(RetryPolicy::none())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap()
}

/// A server answering every request with `status` and the raw `body`.
fn answering(status: u16, body: &'static str) -> SocketAddr {
    serve_many(move |_| json_response(status, body)).0
}

#[test]
fn an_error_body_without_a_message_is_quoted_in_the_error() {
    let bodies = [
        (
            r#"{"error": "bad_request", "detail": "nope"}"#,
            r#": {"error": "bad_request", "detail": "nope"}"#,
        ),
        (r#"{"code": 7}"#, r#": {"code": 7}"#),
        ("upstream exploded", ": upstream exploded"),
    ];
    for via in Via::ALL {
        for (body, tail) in bodies {
            let addr = answering(400, body);
            let create = Call::CreateSnapshot(CreateSnapshot::new("sb-1"));
            let error = via.call(config(addr), create).unwrap_err();
            let message = error.to_string();
            assert!(
                message.starts_with("Failed to create snapshot: 400 Request failed: POST /v1/sandbox/sb-1/snapshot/create")
                    && message.ends_with(tail),
                "{via:?}: {message}"
            );
        }
    }
}

#[test]
fn a_list_answer_missing_its_lists_is_a_decode_error_naming_the_field() {
    let answers = [
        (r#"{"total_items": 3}"#, "items"),
        (r#"{"items": null, "total_items": 3}"#, "items"),
        (r#"{"items": []}"#, "total_items"),
    ];
    for via in Via::ALL {
        for (body, field) in answers {
            let addr = answering(200, body);
            for list in [
                Call::ListSnapshots(ListSnapshots::default()),
                Call::ListAllSnapshots(ListSnapshots::default()),
            ] {
                let error = via.call(config(addr), list).unwrap_err();
                assert_eq!(
                    (error.kind_name(), error.field()),
                    ("decode", Some(field)),
                    "{via:?} {body}: {error}"
                );
            }
        }
    }
}

#[test]
fn a_new_sandbox_without_a_state_is_starting() {
    for via in Via::ALL {
        let addr = answering(201, r#"{"id": "sb-7", "template_id": "t", "vcpu": 1}"#);
        for start in [
            Call::ResumeSnapshot(ResumeSnapshot::new("warm")),
            Call::RestoreSnapshot(RestoreSnapshot::new("warm")),
        ] {
            let Ok(CallOutput::Sandbox(sandbox)) = via.call(config(addr), start) else {
                panic!("{via:?}: a sandbox")
            };
            assert_eq!(sandbox.state.as_str(), "starting", "{via:?}");
        }
    }
}

#[test]
fn unknown_network_policy_keys_are_refused_before_sending() {
    let policies = [
        (
            json!({"mode": "allow-all", "unknown_key": 1}),
            "network_policy.unknown_key",
        ),
        (
            json!({"mode": "custom", "allow_domain": ["example.com"]}),
            "network_policy.allow_domain",
        ),
        (
            json!({"mode": "custom", "allow_domains": ["example.com"],
                   "transforms": [{"domain": "example.com", "inject_header": {}}]}),
            "network_policy.transforms[0].inject_header",
        ),
    ];
    for via in Via::ALL {
        let (addr, requests) = serve_many(|_| json_response(201, "{}"));
        for (policy, field) in &policies {
            // A policy with unknown keys still deserializes (they are kept), and
            // validation refuses it by name.
            let policy: NetworkPolicy = serde_json::from_value(policy.clone()).unwrap();
            let mut restore = RestoreSnapshot::new("warm");
            restore.network_policy = Some(policy);
            let error = via
                .call(config(addr), Call::RestoreSnapshot(restore))
                .unwrap_err();
            assert!(error.is_usage(), "{via:?}: {error}");
            assert_eq!(error.field(), Some(*field), "{via:?}: {error}");
        }
        assert_eq!(
            requests.load(Ordering::SeqCst),
            0,
            "{via:?}: nothing was sent"
        );
    }
}

#[test]
fn a_timeout_is_named_a_timeout() {
    // The kernel accepts the connection; nobody ever answers.
    let (_silent, addr) = listener();
    for via in Via::ALL {
        let error = via
            .call(config(addr), Call::ListSnapshots(ListSnapshots::default()))
            .unwrap_err();
        assert_eq!(error.kind_name(), "timeout", "{via:?}: {error}");
        assert!(error.to_string().contains("timeout"), "{via:?}: {error}");
    }
}
