//! The replay example: what was recorded against the emulator comes back the
//! same from the cassette, with no server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use leap0_examples::replay;

#[test]
fn a_recorded_session_replays_to_the_same_results_with_no_server() {
    let dir = std::env::temp_dir().join(format!("leap0-examples-replay-{}", std::process::id()));
    let run = replay::record_and_replay(&dir).unwrap();

    assert_eq!(run.recorded.len(), 5);
    assert_eq!(run.replayed, run.recorded);
    // create (a 503, then the retry), resume, three status polls, list, two deletes.
    assert_eq!(run.interactions, 9);
    let text = std::fs::read_to_string(&run.cassette).unwrap();
    assert!(!text.contains(replay::API_KEY));
    // Three 50 ms status polls at least, on the virtual clock: nothing slept.
    assert!(
        run.virtual_time >= Duration::from_millis(150),
        "{:?}",
        run.virtual_time
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
