//! The blocking client (ureq) through a sandbox's whole life, against the
//! embedded emulator:
//!
//! ```text
//! cargo run --example blocking_lifecycle
//! ```
//!
//! Create a sandbox, wait until it runs, snapshot it, pause it into a second
//! snapshot, resume that one and wait, list the snapshots, delete the first.
//! The steps are in `examples/src/lifecycle.rs`; against the real API, build
//! the config with `Config::from_env(|name| std::env::var(name).ok())`
//! instead.
#![allow(clippy::print_stdout)]

use leap0_emulator::{Emulator, EmulatorConfig};
use leap0_examples::lifecycle;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Emulator::start_with(EmulatorConfig::default().api_key("lifecycle-key"))?;
    println!("emulator on {}", server.base_url());
    let config = lifecycle::config(&server.base_url(), "lifecycle-key")?;
    lifecycle::run(config, |step| println!("- {step}"))?;
    println!("done: {} requests", server.request_count());
    Ok(())
}
