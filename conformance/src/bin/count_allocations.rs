//! Counts the heap allocations of the core's hot path (see
//! `leap0_conformance::hot_path`) under a counting allocator, for the
//! transports bench: one line per workload, `name allocations-per-call`.
// Printing its counts is what this tool is for.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::alloc::System;
use std::process::ExitCode;

use leap0_conformance::hot_path::{create, request_and_parse, retry_round_trip};
use leap0_core::{Config, Error};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static ALLOC: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const CALLS: u32 = 1_000;

/// Allocations per call of `f`, after a warm-up.
fn count(mut f: impl FnMut() -> Result<(), Error>) -> Result<f64, Error> {
    for _ in 0..CALLS / 10 {
        f()?;
    }
    let region = Region::new(ALLOC);
    for _ in 0..CALLS {
        f()?;
    }
    Ok(region.change().allocations as f64 / f64::from(CALLS))
}

fn run() -> Result<(), Error> {
    let config = Config::new("bench-key")?;
    let input = create();
    let rp = count(|| request_and_parse(&input, &config))?;
    let retry = count(|| retry_round_trip(&config))?;
    println!("request_and_parse {rp}");
    println!("retry_round_trip {retry}");
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("count_allocations: {e}");
            ExitCode::FAILURE
        }
    }
}
