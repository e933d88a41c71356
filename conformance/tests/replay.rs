//! The scenario suite recorded through ureq and through hyper, checked in under
//! conformance/fixtures, and replayed here with no emulator: each cassette,
//! under each kind of client, gives exactly the outcomes of the live run.
//!
//! Re-record (after an intended wire change) with:
//! `LEAP0_RECORD=all cargo test -p leap0-conformance --test replay`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use leap0_conformance::{Outcome, Scenario, Via, record, replay, scenarios};
use leap0_replay::{Cassette, Mode, check_drift};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn cassette(name: &str, via: Via) -> PathBuf {
    fixtures().join(format!("{name}.{}.json", via.name()))
}

fn outcomes_file(name: &str) -> PathBuf {
    fixtures().join(format!("{name}.outcomes.json"))
}

/// (step, outcome) pairs as stored next to the cassettes.
type Outcomes = Vec<(String, Outcome)>;

/// With `LEAP0_RECORD=all` (or `missing`), records every scenario once, before
/// any test of this file reads the fixtures.
fn fixtures_ready() {
    static RECORDED: Once = Once::new();
    RECORDED.call_once(|| {
        if matches!(
            Mode::from_env(),
            Ok(Mode::ReRecordAll | Mode::RecordMissing)
        ) {
            scenarios::all().iter().for_each(record_fixtures);
        }
    });
}

fn record_fixtures(scenario: &Scenario) {
    let mut live: Option<Outcomes> = None;
    for via in Via::ALL {
        let run = record(scenario, via, &cassette(scenario.name, via)).unwrap();
        if let Some(previous) = &live {
            assert_eq!(
                &run.outcomes, previous,
                "{}: transports disagree",
                scenario.name
            );
        }
        live = Some(run.outcomes);
    }
    let text = serde_json::to_string_pretty(&live).unwrap() + "\n";
    std::fs::write(outcomes_file(scenario.name), text).unwrap();
}

#[test]
fn every_cassette_replays_identically_under_every_client() {
    fixtures_ready();
    for scenario in scenarios::all() {
        let expected: Outcomes = serde_json::from_str(
            &std::fs::read_to_string(outcomes_file(scenario.name)).unwrap_or_else(|e| {
                panic!(
                    "{}: no recorded outcomes ({e}); record with LEAP0_RECORD=all",
                    scenario.name
                )
            }),
        )
        .unwrap();
        for recorded_via in Via::ALL {
            let path = cassette(scenario.name, recorded_via);
            for replay_via in Via::ALL {
                let run = replay(&scenario, replay_via, &path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(
                    run.outcomes,
                    expected,
                    "{} recorded through {} and replayed through {}",
                    scenario.name,
                    recorded_via.name(),
                    replay_via.name()
                );
            }
        }
    }
}

#[test]
fn replays_agree_with_a_live_run_today() {
    fixtures_ready();
    // The checked-in cassettes must still describe what the client does now.
    for scenario in [
        scenarios::lifecycle(),
        scenarios::errors(),
        scenarios::waiting(),
    ] {
        let live = leap0_conformance::run(&scenario, Via::Ureq);
        let replayed = replay(&scenario, Via::Hyper, &cassette(scenario.name, Via::Ureq)).unwrap();
        assert_eq!(replayed.outcomes, live.outcomes, "{}", scenario.name);
        assert_eq!(
            replayed.waited, live.waited,
            "{}: virtual time",
            scenario.name
        );
    }
}

#[test]
fn minutes_of_retry_after_and_polling_replay_on_a_virtual_clock() {
    fixtures_ready();
    let scenario = scenarios::patience();
    for via in Via::ALL {
        let run = replay(&scenario, via, &cassette("patience", Via::Ureq)).unwrap();
        // 120 s twice, 90 s, then three one-second polls: over five minutes.
        assert_eq!(run.waited, Duration::from_secs(120 + 120 + 90 + 3));
        assert!(
            run.outcomes.iter().all(|(_, o)| o.is_ok()),
            "{:?}",
            run.outcomes
        );
    }
}

#[test]
fn the_checked_in_cassettes_hold_no_key_and_no_drift() {
    fixtures_ready();
    for scenario in scenarios::all() {
        for via in Via::ALL {
            let path = cassette(scenario.name, via);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                !text.contains(leap0_conformance::API_KEY),
                "{}",
                path.display()
            );
            let drift = check_drift(&Cassette::load(&path).unwrap());
            assert!(drift.is_empty(), "{}: {drift:?}", path.display());
        }
    }
}

/// A test that owns its cassette (`tests/cassettes/replay/<this test>.json`):
/// one line opens it, `LEAP0_RECORD=all` re-records it against a fresh
/// emulator, and dropping it checks that every interaction was used.
#[test]
fn a_test_owns_its_cassette() {
    use leap0_core::{Config, CreateSnapshot, Deletion, SandboxState, SnapshotsClient};
    use leap0_replay::{RecordOptions, TestOptions, test_session};

    let record = RecordOptions::new().secret(leap0_conformance::API_KEY);
    let session = test_session!(
        leap0_ureq::UreqTransport::new(),
        TestOptions::new().record(record)
    );
    let emulator = session.is_recording().then(leap0_conformance::emulator);
    let base_url = emulator
        .as_ref()
        .map_or_else(|| "http://127.0.0.1:9".to_owned(), |e| e.base_url());
    let config = Config::builder()
        .api_key(leap0_conformance::API_KEY)
        .base_url(base_url)
        .build()
        .unwrap();
    let clock = session.clock(leap0_ureq::SystemClock::new());
    let client = SnapshotsClient::new(config, session.clone(), clock);

    let snapshot = client
        .create(CreateSnapshot::new("sb-seed-1").name("owned"))
        .unwrap();
    let sandbox = client.resume_and_wait(&snapshot).unwrap();
    assert_eq!(sandbox.state, SandboxState::Running);
    assert_eq!(client.delete_sandbox(&sandbox).unwrap(), Deletion::Deleted);
    assert_eq!(client.delete(&snapshot).unwrap(), Deletion::Deleted);
}
