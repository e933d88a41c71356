//! The ready-made clients seed their retry jitter from the operating system:
//! two default clients back off differently, and a pinned seed still repeats.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use leap0_core::machine::{Action, Machine};
use leap0_core::{Call, Config, ListSnapshots, RetryPolicy, Timestamp, http};

/// The first backoff of a list machine built from `config` and answered 503.
fn first_backoff(config: &Config) -> Timestamp {
    let mut machine = Call::ListSnapshots(ListSnapshots::default()).machine(config);
    assert!(matches!(machine.poll(Timestamp::ZERO), Action::Send(_)));
    let busy = http::Response::builder()
        .status(503)
        .body(Vec::new())
        .unwrap();
    machine.handle_response(Timestamp::ZERO, busy);
    match machine.poll(Timestamp::ZERO) {
        Action::WaitUntil(at) => at,
        other => panic!("a backoff, not {other:?}"),
    }
}

#[test]
fn two_default_clients_back_off_differently_and_a_pinned_seed_repeats() {
    let config = || Config::new("key").unwrap();
    let ureq = [leap0_ureq::client(config()), leap0_ureq::client(config())];
    let hyper = [leap0_hyper::client(config()), leap0_hyper::client(config())];
    let entropies = [
        ureq[0].config().jitter_entropy(),
        ureq[1].config().jitter_entropy(),
        hyper[0].config().jitter_entropy(),
        hyper[1].config().jitter_entropy(),
    ];
    assert!(entropies.iter().all(Option::is_some), "{entropies:?}");
    assert_ne!(
        first_backoff(ureq[0].config()),
        first_backoff(ureq[1].config())
    );
    assert_ne!(
        first_backoff(hyper[0].config()),
        first_backoff(hyper[1].config())
    );

    let pinned = || config().with_retry(RetryPolicy::default().with_jitter_seed(11));
    let a = leap0_ureq::client(pinned());
    let b = leap0_hyper::client(pinned());
    assert_eq!(
        a.config().jitter_entropy(),
        None,
        "a pinned seed needs no entropy"
    );
    assert_eq!(first_backoff(a.config()), first_backoff(b.config()));
}
