//! # leap0-examples
//!
//! The programs people write first with leap0, in `examples/examples/`, each
//! run from the workspace root with `cargo run --example NAME` (add
//! `--release` for real timings). Every one talks only to an embedded
//! [`leap0_emulator::Emulator`] on loopback: no key, no network.
//!
//! | example | shows | logic in |
//! |---|---|---|
//! | `event_loop` | 120 operations at once on one thread, no async runtime: the core's machines over `mio` sockets and a timer heap, checked against the blocking client | [`event_loop`], [`workload`] |
//! | `blocking_lifecycle` | the blocking client (ureq) through a sandbox's whole life | [`lifecycle`] |
//! | `async_concurrency` | the async client (hyper on tokio), 20 creates in spawned tasks | [`fan_out`] |
//! | `replay_test` | record a session, then replay it with no server on a virtual clock | [`replay`] |
//!
//! The logic lives in this library so that `cargo test` runs it too (see
//! `examples/tests/`); each example's `main` only sets the stage and prints.
#![forbid(unsafe_code)]

pub mod event_loop;
pub mod fan_out;
pub mod lifecycle;
pub mod replay;
pub mod workload;

/// The README's snippets, compiled as doctests of this crate: it depends on the
/// published crates only, as a user's crate does. The crates' own READMEs too.
#[cfg(doctest)]
mod readmes {
    #[doc = include_str!("../../README.md")]
    struct Workspace;
    #[doc = include_str!("../../core/README.md")]
    struct Core;
    #[doc = include_str!("../../clock/README.md")]
    struct Clock;
    #[doc = include_str!("../../transports/ureq/README.md")]
    struct Ureq;
    #[doc = include_str!("../../transports/hyper/README.md")]
    struct Hyper;
    #[doc = include_str!("../../transports/replay/README.md")]
    struct Replay;
    #[doc = include_str!("../../emulator/README.md")]
    struct Emulator;
    #[doc = include_str!("../../cli/README.md")]
    struct Cli;
}
