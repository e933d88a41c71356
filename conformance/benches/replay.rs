//! How long replaying the checked-in scenario cassettes takes, and how much
//! virtual time (Retry-After, backoff, polling) they skip. Run with
//! `cargo bench -p leap0-conformance`.
#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use leap0_conformance::{Via, replay, scenarios};

fn main() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let rounds = 20;
    let started = Instant::now();
    let mut skipped = Duration::ZERO;
    let mut replays = 0;
    for _ in 0..rounds {
        for scenario in scenarios::all() {
            for recorded in Via::ALL {
                let path = fixtures.join(format!("{}.{}.json", scenario.name, recorded.name()));
                for via in Via::ALL {
                    skipped += replay(&scenario, via, &path).unwrap().waited;
                    replays += 1;
                }
            }
        }
    }
    let elapsed = started.elapsed();
    println!(
        "{replays} scenario replays in {elapsed:.2?} ({:.2?} each), skipping {:.0?} of virtual waiting",
        elapsed / replays,
        skipped
    );
}
