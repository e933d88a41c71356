//! How to write a deterministic replay test: record a session against a
//! server once, then replay the cassette with no server on a virtual clock.
//!
//! ```text
//! cargo run --example replay_test
//! ```
//!
//! The session is in `examples/src/replay.rs`: it records against the embedded
//! emulator (a 503 included, so the cassette holds a retry), saves the
//! cassette in a temporary directory, stops the emulator, replays, and the
//! results must be equal. In a test suite of your own the same steps are one
//! `#[test]`, with `Mode::from_env()` choosing between replaying a checked-in
//! cassette (the default) and re-recording it (`LEAP0_RECORD=all`).
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use leap0_examples::replay;

fn main() -> Result<ExitCode, Box<dyn std::error::Error + Send + Sync>> {
    let dir = std::env::temp_dir().join(format!("leap0-replay-example-{}", std::process::id()));
    let run = replay::record_and_replay(&dir)?;
    let same = run.recorded == run.replayed;
    println!(
        "replay_test: {} calls recorded in {} exchanges to {} (removed on exit); replayed with no server in {} ms of virtual time: {}",
        run.recorded.len(),
        run.interactions,
        run.cassette.display(),
        run.virtual_time.as_millis(),
        if same {
            "the same results"
        } else {
            "DIFFERENT results"
        }
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(if same {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
