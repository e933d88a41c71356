//! The blocking lifecycle example's steps, against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use leap0_core::{Deletion, SandboxState};
use leap0_emulator::{Emulator, EmulatorConfig};
use leap0_examples::lifecycle;

#[test]
fn the_lifecycle_goes_from_a_new_sandbox_to_a_resumed_one() {
    let server = Emulator::start_with(EmulatorConfig::default().api_key("k")).unwrap();
    let mut steps = Vec::new();
    let done = lifecycle::run(
        lifecycle::config(&server.base_url(), "k").unwrap(),
        |step| steps.push(step.to_owned()),
    )
    .unwrap();

    assert_eq!(steps.len(), 7, "{steps:#?}");
    assert!(
        steps[0].starts_with("created sandbox sb-0001"),
        "{steps:#?}"
    );
    assert_eq!(done.sandbox.state, SandboxState::Running);
    assert_eq!(
        (done.snapshot.name.as_str(), done.paused.name.as_str()),
        ("warm", "paused")
    );
    assert_eq!(done.state_after_pause, SandboxState::Stopped);
    assert_eq!(done.resumed.state, SandboxState::Running);
    assert_ne!(done.resumed.id, done.sandbox.id);
    assert_eq!(done.resumed.timeout, 30 * 60);
    // Newest first, as the API lists by default.
    assert_eq!(done.listed, ["paused", "warm"]);
    assert_eq!(done.deleted, Deletion::Deleted);
    assert_eq!(server.snapshot_count(), 1);
    assert_eq!(
        server.sandbox_state(&done.sandbox.id).as_deref(),
        Some("stopped")
    );
    assert_eq!(
        server.sandbox_state(&done.resumed.id).as_deref(),
        Some("running")
    );
}
