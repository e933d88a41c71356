//! Decorrelated jitter: every machine draws from its own stream, a pinned seed
//! repeats exactly, and clients on clocks with entropy back off differently.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use leap0_core::machine::{Action, Machine};
use leap0_core::transport::{Clock, VirtualClock};
use leap0_core::{Call, Config, ListSnapshots, RetryPolicy, SnapshotsClient, Timestamp, http};

/// The first backoff deadline of each of `n` list machines built from
/// `config`, each answered 503 (no `Retry-After`) at its first attempt.
fn first_backoffs(config: &Config, n: usize) -> Vec<Timestamp> {
    (0..n)
        .map(|_| {
            let mut machine = Call::ListSnapshots(ListSnapshots::default()).machine(config);
            let Action::Send(_) = machine.poll(Timestamp::ZERO) else {
                panic!("a request first")
            };
            let busy = http::Response::builder()
                .status(503)
                .body(b"{}".to_vec())
                .unwrap();
            machine.handle_response(Timestamp::ZERO, busy);
            match machine.poll(Timestamp::ZERO) {
                Action::WaitUntil(at) => at,
                other => panic!("a backoff, not {other:?}"),
            }
        })
        .collect()
}

#[test]
fn machines_from_one_default_config_back_off_at_different_times() {
    let config = Config::new("key").unwrap();
    let deadlines = first_backoffs(&config, 100);
    let distinct: HashSet<Timestamp> = deadlines.iter().copied().collect();
    assert!(
        distinct.len() >= 95,
        "only {} distinct backoffs",
        distinct.len()
    );
}

#[test]
fn a_pinned_seed_repeats_exactly() {
    let pinned = || {
        Config::new("key")
            .unwrap()
            .with_retry(RetryPolicy::default().with_jitter_seed(7))
    };
    let first = first_backoffs(&pinned(), 20);
    assert_eq!(first_backoffs(&pinned(), 20), first);
    let other = Config::new("key")
        .unwrap()
        .with_retry(RetryPolicy::default().with_jitter_seed(8));
    assert_ne!(first_backoffs(&other, 20), first);
}

/// A virtual clock that hands out entropy, as a real one does.
struct Entropic(VirtualClock, u64);

impl Clock for Entropic {
    fn now(&self) -> Timestamp {
        Clock::now(&self.0)
    }
    fn sleep_until(&self, deadline: Timestamp) {
        Clock::sleep_until(&self.0, deadline)
    }
    fn entropy(&self) -> Option<u64> {
        Some(self.1)
    }
}

#[test]
fn clients_seed_from_their_clocks_entropy_unless_a_seed_is_pinned() {
    type Answer = Result<leap0_core::transport::Response, leap0_core::transport::TransportError>;
    let transport = |_: leap0_core::transport::Request, _: std::time::Duration| -> Answer {
        Err(leap0_core::transport::TransportError::connect("unused"))
    };
    let client = |entropy: u64, config: Config| {
        SnapshotsClient::new(config, transport, Entropic(VirtualClock::new(), entropy))
    };
    let default = || Config::new("key").unwrap();
    let a = client(1, default());
    let b = client(2, default());
    assert_eq!(a.config().jitter_entropy(), Some(1));
    assert_ne!(
        first_backoffs(a.config(), 5),
        first_backoffs(b.config(), 5),
        "two default clients differ"
    );
    // A virtual clock has no entropy: the same delays on every run.
    let plain = SnapshotsClient::new(default(), transport, VirtualClock::new());
    assert_eq!(plain.config().jitter_entropy(), None);
    // A pinned seed wins over the clock's entropy.
    let pinned = || default().with_retry(RetryPolicy::default().with_jitter_seed(3));
    let c = client(1, pinned());
    let d = client(2, pinned());
    assert_eq!(first_backoffs(c.config(), 5), first_backoffs(d.config(), 5));
}
