//! Replaying: a transport that answers from a cassette.

mod options;
mod replayer;
mod report;

pub use options::{Exhausted, ReplayOptions};
pub use replayer::{QueueUsage, Replayer};
pub use report::{Candidate, Mismatch, ReplayError, UnusedInteraction};
