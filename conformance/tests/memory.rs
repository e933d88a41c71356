//! A 100 MiB answer fails as body-too-large without being held in memory.
//! (Its own test binary, so the process's peak memory is this test's alone.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use leap0_conformance::{API_KEY, emulator};
use leap0_core::transport::TransportErrorKind;
use leap0_core::{Config, Error, ListSnapshots};
use leap0_emulator::{Fault, FaultRule};

/// Peak resident memory of this process, in KiB (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn assert_too_large(result: Result<leap0_core::model::SnapshotList, Error>, via: &str) {
    match result {
        Err(Error::Transport { source, .. }) => {
            assert_eq!(source.kind, TransportErrorKind::BodyTooLarge, "{via}")
        }
        other => panic!("{via}: expected body too large, got {other:?}"),
    }
}

#[test]
fn a_100_mib_answer_is_refused_while_streaming() {
    let emulator = emulator();
    let config = Config::builder()
        .api_key(API_KEY)
        .base_url(emulator.base_url())
        .build()
        .unwrap();
    let huge = || {
        FaultRule::new(Fault::OversizeBody {
            bytes: 100 * 1024 * 1024,
        })
    };
    let before = peak_rss_kib();

    emulator.inject(huge());
    assert_too_large(
        leap0_ureq::client(config.clone()).list(ListSnapshots::default()),
        "ureq",
    );
    emulator.inject(huge());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_too_large(
        runtime.block_on(leap0_hyper::client(config).list(ListSnapshots::default())),
        "hyper",
    );
    assert_eq!(emulator.request_count(), 2, "body-too-large is not retried");

    if let (Some(before), Some(after)) = (before, peak_rss_kib()) {
        let grown_mib = (after.saturating_sub(before)) / 1024;
        // The cap is 8 MiB; allow buffers and runtimes, but nowhere near 100 MiB.
        assert!(grown_mib < 40, "peak memory grew by {grown_mib} MiB");
    }
}
