//! `leap0-emulator`: serves the Leap0 snapshot API emulator on loopback until Ctrl-C.

#![forbid(unsafe_code)]

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use leap0_emulator::{Emulator, EmulatorArgs};

/// Serves an in-memory emulator of the Leap0 snapshot API on 127.0.0.1 until Ctrl-C.
#[derive(Debug, Parser)]
#[command(name = "leap0-emulator", version)]
struct Cli {
    #[command(flatten)]
    emulator: EmulatorArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli.emulator) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(io::stderr(), "leap0-emulator: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &EmulatorArgs) -> io::Result<()> {
    let emulator = Emulator::start_with(args.config())?;
    let url = emulator.base_url();
    let banner = format!(
        "leap0 emulator listening on {url}\n{}\nCtrl-C to stop\n",
        args.startup_hint(&url)
    );
    // One write, and no exit when it fails: a reader that keeps only the first line
    // (`leap0-emulator | head -1`) must not stop the server by closing the pipe.
    let mut out = io::stdout().lock();
    if let Err(err) = out.write_all(banner.as_bytes()).and_then(|()| out.flush()) {
        let _ = writeln!(
            io::stderr(),
            "leap0-emulator: could not print the banner: {err}"
        );
    }
    drop(out);
    emulator.run_until_ctrl_c()
}
