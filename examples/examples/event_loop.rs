//! One thread, no async runtime, 120 snapshot operations at once.
//!
//! ```text
//! cargo run --release --example event_loop
//! ```
//!
//! Creates, pauses, resumes-and-waits, list-alls and deletes (some meeting
//! injected 503s, a 502 and a dropped connection, so retries happen) run
//! together as leap0-core machines, driven by a `mio` poll loop over
//! non-blocking sockets and a timer heap: see `examples/src/event_loop.rs`.
//! Then the same calls run through the blocking client on a fresh emulator,
//! and every result is compared (`examples/src/workload.rs` says how, since
//! the server hands out ids in arrival order). One line is printed; the exit
//! status is 1 if anything differed.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use leap0_examples::workload::{Workload, compare_with_blocking};

fn main() -> Result<ExitCode, Box<dyn std::error::Error + Send + Sync>> {
    let comparison = compare_with_blocking(&Workload::new(24))?;
    println!("{}", comparison.summary());
    for difference in &comparison.differences {
        eprintln!(
            "differs: {}\n  event loop: {}\n  blocking:   {}",
            difference.what, difference.event_loop, difference.blocking
        );
    }
    Ok(if comparison.is_identical() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
