//! The whole snapshot lifecycle through the blocking client (ureq): what
//! `examples/examples/blocking_lifecycle.rs` runs.

use std::time::Duration;

use leap0_core::{
    Config, CreateSandbox, CreateSnapshot, Deletion, Error, ListSnapshots, PauseIntoSnapshot,
    ResumeSnapshot, Sandbox, SandboxState, Snapshot, WaitPolicy,
};

/// What the lifecycle made and saw, step by step.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Lifecycle {
    /// The sandbox started from a template, once running.
    pub sandbox: Sandbox,
    /// The snapshot taken while it ran.
    pub snapshot: Snapshot,
    /// The snapshot it was paused into.
    pub paused: Snapshot,
    /// The paused sandbox's state afterwards.
    pub state_after_pause: SandboxState,
    /// The sandbox resumed from the paused snapshot, once running.
    pub resumed: Sandbox,
    /// The names of every snapshot, as listed.
    pub listed: Vec<String>,
    /// How the first snapshot's deletion went.
    pub deleted: Deletion,
}

/// The configuration for an emulator at `base_url` with `api_key`. Status polls
/// every 50 ms instead of every second: the emulator is ready after two.
pub fn config(base_url: &str, api_key: &str) -> Result<Config, leap0_core::config::ConfigError> {
    Config::builder()
        .api_key(api_key)
        .base_url(base_url)
        .wait(WaitPolicy::new(
            Duration::from_millis(50),
            Duration::from_secs(60),
        ))
        .build()
}

/// Creates a sandbox, waits for it, snapshots it, pauses it into a second
/// snapshot, resumes that one and waits, lists the snapshots and deletes the
/// first. `say` is told each step as it is done.
pub fn run(config: Config, mut say: impl FnMut(&str)) -> Result<Lifecycle, Error> {
    let snapshots = leap0_ureq::client(config);

    let started = snapshots.create_sandbox(CreateSandbox::new("tpl-base"))?;
    say(&format!(
        "created sandbox {} ({})",
        started.id, started.state
    ));
    let sandbox = snapshots.wait_for(&started, SandboxState::Running)?;
    say(&format!("waited: {} is {}", sandbox.id, sandbox.state));

    let snapshot = snapshots.create(CreateSnapshot::new(&sandbox).name("warm"))?;
    say(&format!(
        "snapshot {} ({}) taken of {}, {} MiB; the sandbox keeps running",
        snapshot.name, snapshot.id, sandbox.id, snapshot.memory_mib
    ));

    let paused = snapshots.pause(PauseIntoSnapshot::new(&sandbox).name("paused"))?;
    let state_after_pause = snapshots.sandbox(&sandbox)?.state;
    say(&format!(
        "paused {} into snapshot {} ({}); the sandbox is now {state_after_pause}",
        sandbox.id, paused.name, paused.id
    ));

    let resumed = snapshots.resume_and_wait(ResumeSnapshot::from(&paused).timeout_min(30))?;
    say(&format!(
        "resumed {} as sandbox {}, {} (timeout {} s)",
        paused.name, resumed.id, resumed.state, resumed.timeout
    ));

    let all = snapshots.list_all(ListSnapshots::default())?;
    let listed: Vec<String> = all.items.iter().map(|s| s.name.clone()).collect();
    say(&format!(
        "listed {} snapshots: {}",
        all.total_items,
        listed.join(", ")
    ));

    let deleted = snapshots.delete(&snapshot)?;
    say(&format!(
        "deleted snapshot {} ({})",
        snapshot.name,
        deleted.name()
    ));

    Ok(Lifecycle {
        sandbox,
        snapshot,
        paused,
        state_after_pause,
        resumed,
        listed,
        deleted,
    })
}
