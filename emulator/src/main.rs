//! `leap0-emulator`: serves the Leap0 snapshot API emulator on loopback until Ctrl-C.

#![forbid(unsafe_code)]

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use leap0_emulator::{Emulator, EmulatorConfig};

/// Serves an in-memory emulator of the Leap0 snapshot API on 127.0.0.1 until Ctrl-C.
#[derive(Debug, Parser)]
#[command(name = "leap0-emulator", version)]
struct Args {
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// API key the emulator accepts (default `test-key`).
    #[arg(
        long,
        env = "LEAP0_EMULATOR_API_KEY",
        default_value = "test-key",
        hide_default_value = true,
        hide_env_values = true
    )]
    api_key: String,
    /// Header that carries the API key.
    #[arg(long, default_value = "authorization")]
    auth_header: String,
    /// Status reads a new sandbox answers `starting` to before it is `running`.
    #[arg(long, default_value_t = 2)]
    ready_after_reads: u32,
    /// Most sandboxes active at once (no limit when absent).
    #[arg(long)]
    max_active_sandboxes: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = EmulatorConfig::default()
        .port(args.port)
        .api_key(args.api_key)
        .auth_header(args.auth_header)
        .ready_after_reads(args.ready_after_reads)
        .max_active_sandboxes(args.max_active_sandboxes);
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(io::stderr(), "leap0-emulator: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: EmulatorConfig) -> io::Result<()> {
    let emulator = Emulator::start_with(config)?;
    {
        let mut out = io::stdout().lock();
        writeln!(out, "leap0 emulator listening on {}", emulator.base_url())?;
        out.flush()?;
    }
    emulator.run_until_ctrl_c()
}
