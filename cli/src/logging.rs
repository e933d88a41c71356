//! Logs on stderr: `-v` shows what the client does, `-vv` everything (ureq,
//! rustls, hyper included), and `RUST_LOG` chooses exactly. Records of the
//! `log` crate (ureq, rustls) reach the same subscriber.
//!
//! Every line passes through [`Secrets::scrub`] before it is written: the
//! transports already keep the key out of what they log, and this makes sure
//! of it for every dependency, in any encoding.

use std::io::{self, IsTerminal, Write};
use std::str::FromStr;
use std::sync::Arc;

use leap0_core::transport::Secrets;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::output::Failure;

/// What `-v` shows.
const CLIENT_TARGETS: &str =
    "leap0=debug,leap0_core=debug,leap0_ureq=debug,leap0_hyper=debug,leap0_replay=debug";

/// Starts logging at `verbosity` (the count of `-v`), unless `RUST_LOG` says
/// otherwise. Nothing is logged without either; returns whether logs are on.
pub(crate) fn init(verbosity: u8, secrets: Secrets) -> Result<bool, Failure> {
    let filter = match std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        Some(given) => Targets::from_str(&given).map_err(|e| {
            Failure::usage(
                format!(
                    "RUST_LOG {:?} is not a log filter like info or leap0_core=debug: {e}",
                    crate::output::shown(&given)
                ),
                Some("verbose"),
            )
        })?,
        None => match verbosity {
            0 => return Ok(false),
            1 => Targets::from_str(CLIENT_TARGETS).unwrap_or_default(),
            _ => Targets::from_str("trace").unwrap_or_default(),
        },
    };
    let color = io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(Scrubbed(Arc::new(secrets)))
        .with_ansi(color)
        .with_target(true);
    // A second subscriber cannot be installed in the same process; the first stays.
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
    Ok(true)
}

/// Writes each log line to stderr after scrubbing it.
#[derive(Clone)]
struct Scrubbed(Arc<Secrets>);

/// One event's bytes, scrubbed and written when the event is complete.
struct Line {
    secrets: Arc<Secrets>,
    buffer: Vec<u8>,
}

impl<'a> MakeWriter<'a> for Scrubbed {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line {
            secrets: Arc::clone(&self.0),
            buffer: Vec::new(),
        }
    }
}

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buffer);
        let line = self.secrets.scrub(&text);
        let _ = io::stderr().lock().write_all(line.as_bytes());
    }
}
