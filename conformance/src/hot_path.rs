//! The core's hot path as the transports bench measures it, shared with the
//! `count_allocations` binary (which counts what the bench times: a counting
//! allocator in the bench itself would slow both sides of every comparison).

use std::hint::black_box;

use leap0_core::machine::{Action, Machine, Retry};
use leap0_core::{Config, CreateSnapshot, Error, Exchange, Timestamp, http};

/// The answer to a create, as the bench's server sends it.
pub const CREATED: &str = r#"{"id":"snap_0123456789abcdef","name":"warm","template_id":"tpl_0000000000000001","vcpu":2,"memory":2048,"disk":10240,"created_at":"2025-01-15T10:30:00Z"}"#;

/// The create the bench sends.
pub fn create() -> CreateSnapshot {
    CreateSnapshot::new("sb-0123456789abcdef").name("warm")
}

/// `input.request(config)`, then the parse of a `201`.
pub fn request_and_parse(input: &CreateSnapshot, config: &Config) -> Result<(), Error> {
    black_box(input.request(black_box(config))?);
    let answer = http::Response::builder()
        .status(201)
        .body(CREATED.as_bytes())
        .map_err(|_| Error::Misuse("the bench's answer did not build"))?;
    black_box(input.parse(answer)?);
    Ok(())
}

/// `Retry::new`, a poll that sends, the `201` handed in, a poll to `Done`.
pub fn retry_round_trip(config: &Config) -> Result<(), Error> {
    let mut retry = Retry::new(create(), config);
    let Action::Send(attempt) = retry.poll(Timestamp::ZERO) else {
        return Err(Error::Misuse("a create sends first"));
    };
    black_box(attempt);
    let answer = http::Response::builder()
        .status(201)
        .body(CREATED.as_bytes().to_vec())
        .map_err(|_| Error::Misuse("the bench's answer did not build"))?;
    retry.handle_response(Timestamp::ZERO, answer);
    match retry.poll(Timestamp::ZERO) {
        Action::Done(result) => result.map(|snapshot| drop(black_box(snapshot))),
        _ => Err(Error::Misuse("an answered create is done")),
    }
}
