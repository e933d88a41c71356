//! The event loop example's workload, and its check against the blocking
//! client: the same calls, on two fresh emulators set up the same way, one
//! run all at once by [`event_loop::run`], the other one after another by
//! `SnapshotsClient` over ureq.
//!
//! # Why the results are comparable
//!
//! Run at once, the calls reach the server in an order nobody chose, and the
//! emulator hands out ids (`snap-0007`, `sb-0003`) and `created_at` times in
//! arrival order. So the workload is built so that nothing else depends on
//! order, and the comparison masks exactly those two fields:
//!
//! - every call works on something of its own: a sandbox of its own to
//!   snapshot or pause, a snapshot of its own to resume or delete, a name of
//!   its own for what it creates;
//! - the listings ask for `keep-*` snapshots, made during the setup and
//!   touched by no call, so every listing sees the same pages;
//! - faults are aimed at one call's route, or shared by at most three
//!   requests on one route (fewer than a call's four attempts), so every call
//!   gets through whichever of them meets the faults, and the server sees
//!   the same number of requests in both runs;
//! - per call, the outcome is compared with `id` and `created_at` masked
//!   where the call created the object; the masked values are then compared
//!   as sets (both runs must hand out the same ids, in whatever order); and
//!   the snapshots left on each server at the end are compared by name.

use std::io;
use std::time::Duration;

use leap0_clock::SystemClock;
use leap0_core::config::ConfigError;
use leap0_core::{
    Call, CallOutput, Config, CreateSnapshot, DeleteSnapshot, Error, ListSnapshots,
    PauseIntoSnapshot, ResumeSnapshot, RetryPolicy, SnapshotsClient, WaitPolicy,
};
use leap0_emulator::{Emulator, EmulatorConfig, Fault, FaultRule};
use leap0_ureq::UreqTransport;
use serde_json::{Value, json};

use crate::event_loop::{self, Report};

/// The API key the emulators of the workload accept.
pub const API_KEY: &str = "example-key";

/// The seed sandbox the setup snapshots.
const SOURCE: &str = "sb-src";

/// How many `keep-*` snapshots the listings find: three pages of four.
const KEPT: usize = 10;

/// What the masked fields are replaced with.
const ASSIGNED: &str = "<assigned by the server>";

/// A mix of calls, all to be run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload {
    per_kind: usize,
}

impl Workload {
    /// `per_kind` calls each of create snapshot, pause, resume-and-wait and
    /// delete, and half as many list-alls and deletes of snapshots that do not
    /// exist (answered 404): `Workload::new(24)` is 120 operations.
    pub fn new(per_kind: usize) -> Workload {
        Workload { per_kind }
    }

    /// How many calls [`prepare`](Self::prepare) returns.
    pub fn operations(&self) -> usize {
        4 * self.per_kind + 2 * self.per_kind.div_ceil(2)
    }

    /// A fresh emulator holding the sandboxes the workload needs.
    pub fn emulator(&self) -> io::Result<Emulator> {
        let seeds = std::iter::once(SOURCE.to_owned())
            .chain((0..self.per_kind).map(create_target))
            .chain((0..self.per_kind).map(pause_target));
        Emulator::start_with(
            EmulatorConfig::default()
                .api_key(API_KEY)
                .seed_sandboxes(seeds),
        )
    }

    /// The client configuration for the emulator at `base_url`: quick backoff
    /// and status polls, since the emulator answers in microseconds.
    pub fn config(base_url: &str) -> Result<Config, ConfigError> {
        Config::builder()
            .api_key(API_KEY)
            .base_url(base_url)
            .timeout(Duration::from_secs(30))
            .retry(
                RetryPolicy::default()
                    .with_backoff(Duration::from_millis(5), Duration::from_millis(40)),
            )
            .wait(WaitPolicy::new(
                Duration::from_millis(10),
                Duration::from_secs(30),
            ))
            .build()
    }

    /// Sets `emulator` up (through the blocking client, one call after the
    /// other, so its ids are the same on every emulator), queues the faults,
    /// forgets the setup's requests, and returns the calls.
    pub fn prepare(&self, emulator: &Emulator, config: &Config) -> Result<Vec<Call>, Error> {
        let setup = leap0_ureq::client(config.clone());
        for k in 0..KEPT {
            setup.create(CreateSnapshot::new(SOURCE).name(format!("keep-{k:02}")))?;
        }
        let mut doomed = Vec::with_capacity(self.per_kind);
        for i in 0..self.per_kind {
            setup.create(CreateSnapshot::new(SOURCE).name(resume_name(i)))?;
            doomed.push(setup.create(CreateSnapshot::new(SOURCE).name(format!("del-{i:03}")))?);
        }
        emulator.clear_requests();

        let listing = ListSnapshots::default().query("keep").page_size(4);
        let mut calls = Vec::with_capacity(self.operations());
        for (i, doomed) in doomed.iter().enumerate() {
            calls.push(Call::CreateSnapshot(
                CreateSnapshot::new(create_target(i)).name(format!("cs-{i:03}")),
            ));
            calls.push(Call::PauseIntoSnapshot(
                PauseIntoSnapshot::new(pause_target(i)).name(format!("ps-{i:03}")),
            ));
            calls.push(Call::ResumeAndWait(
                ResumeSnapshot::new(resume_name(i)).timeout_min(30),
            ));
            calls.push(Call::DeleteSnapshot(DeleteSnapshot::new(doomed)));
            if i % 2 == 0 {
                calls.push(Call::ListAllSnapshots(listing.clone()));
                calls.push(Call::DeleteSnapshot(DeleteSnapshot::new(format!(
                    "snap-gone-{i:03}"
                ))));
            }

            // One call in four of each kind meets a 503 first (one in eight, two).
            let route = match i % 4 {
                0 => Some((
                    "POST",
                    format!("/v1/sandbox/{}/snapshot/create", create_target(i)),
                )),
                1 => Some((
                    "POST",
                    format!("/v1/sandbox/{}/snapshot/pause", pause_target(i)),
                )),
                2 => Some(("DELETE", format!("/v1/snapshot/{}", doomed.id))),
                _ => None,
            };
            if let Some((method, path)) = route {
                let times = if i % 8 == 0 { 2 } else { 1 };
                emulator.inject(
                    FaultRule::new(Fault::status(503))
                        .times(times)
                        .method(method)
                        .path_prefix(path),
                );
            }
        }
        // Shared routes: whichever calls come first meet these.
        emulator.inject(
            FaultRule::new(Fault::status(503))
                .times(2)
                .method("POST")
                .path_prefix("/v1/snapshot/resume"),
        );
        // Resumed sandboxes get generated ids (`sb-0001`, ...); the seeds do not.
        emulator.inject(
            FaultRule::new(Fault::status(503))
                .times(2)
                .method("GET")
                .path_prefix("/v1/sandbox/sb-0"),
        );
        for fault in [Fault::status(502), Fault::DropConnection] {
            emulator.inject(
                FaultRule::new(fault)
                    .method("GET")
                    .path_prefix("/v1/snapshots?query=keep"),
            );
        }
        Ok(calls)
    }
}

fn create_target(i: usize) -> String {
    format!("sb-c-{i:03}")
}

fn pause_target(i: usize) -> String {
    format!("sb-p-{i:03}")
}

fn resume_name(i: usize) -> String {
    format!("res-{i:03}")
}

/// The event loop's run and the blocking client's, side by side.
#[derive(Debug)]
#[non_exhaustive]
pub struct Comparison {
    /// The event loop's report.
    pub event_loop: Report,
    /// Requests the event loop's emulator received.
    pub event_loop_server_requests: usize,
    /// Requests the blocking client's emulator received.
    pub blocking_requests: usize,
    /// How long the blocking client took for the same calls.
    pub blocking_wall: Duration,
    /// Everything that differed; empty when the runs agree.
    pub differences: Vec<Difference>,
}

/// One thing the two runs disagree on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Difference {
    /// What differs: a call (its index and JSON form), or a whole-run check.
    pub what: String,
    /// The event loop's side.
    pub event_loop: String,
    /// The blocking client's side.
    pub blocking: String,
}

impl Comparison {
    /// Whether the runs agree on everything.
    pub fn is_identical(&self) -> bool {
        self.differences.is_empty()
    }

    /// The one line the example prints.
    pub fn summary(&self) -> String {
        let r = &self.event_loop;
        let verdict = if self.is_identical() {
            format!(
                "identical to the blocking client ({} requests, {:.3} s)",
                self.blocking_requests,
                self.blocking_wall.as_secs_f64()
            )
        } else {
            format!(
                "{} differences from the blocking client",
                self.differences.len()
            )
        };
        format!(
            "event_loop: {} operations on one thread, {} requests ({} retries after {} distinct \
             backoffs, {} timed out), {:.3} s, peak {} machines and {} sockets at once; {verdict}",
            r.results.len(),
            r.requests_sent,
            r.retries,
            r.distinct_backoffs,
            r.timeouts,
            r.wall.as_secs_f64(),
            r.peak_machines,
            r.peak_connections,
        )
    }
}

/// Runs `workload` through the event loop, then through the blocking client,
/// each on a fresh emulator set up the same way, and compares the two.
pub fn compare_with_blocking(
    workload: &Workload,
) -> Result<Comparison, Box<dyn std::error::Error + Send + Sync>> {
    let server = workload.emulator()?;
    let config = Workload::config(&server.base_url())?;
    let calls = workload.prepare(&server, &config)?;
    let report = event_loop::run(&config, calls.clone())?;
    let event_loop_server_requests = server.request_count();
    let loop_left = snapshots_left(&server, &config)?;
    drop(server);

    let server = workload.emulator()?;
    let config = Workload::config(&server.base_url())?;
    if workload.prepare(&server, &config)? != calls {
        return Err("the setup gave different calls on the second emulator".into());
    }
    let client = SnapshotsClient::new(config.clone(), UreqTransport::new(), SystemClock::new());
    let clock = SystemClock::new();
    let start = clock.now();
    let blocking: Vec<_> = calls.iter().map(|call| client.call(call.clone())).collect();
    let blocking_wall = clock.now().saturating_duration_since(start);
    let blocking_requests = server.request_count();
    let blocking_left = snapshots_left(&server, &config)?;

    let mut differences = Vec::new();
    let (mut loop_assigned, mut blocking_assigned) = (Assigned::default(), Assigned::default());
    for (index, ((call, ours), theirs)) in
        calls.iter().zip(&report.results).zip(&blocking).enumerate()
    {
        let ours = outcome(call, ours, &mut loop_assigned);
        let theirs = outcome(call, theirs, &mut blocking_assigned);
        if ours != theirs {
            differences.push(Difference {
                what: format!(
                    "call {index} {}",
                    serde_json::to_string(call).unwrap_or_default()
                ),
                event_loop: ours.to_string(),
                blocking: theirs.to_string(),
            });
        }
    }
    let mut whole = |what: &str, ours: String, theirs: String| {
        if ours != theirs {
            differences.push(Difference {
                what: what.to_owned(),
                event_loop: ours,
                blocking: theirs,
            });
        }
    };
    whole(
        "ids the server assigned",
        loop_assigned.ids(),
        blocking_assigned.ids(),
    );
    whole(
        "creation times the server assigned",
        loop_assigned.times(),
        blocking_assigned.times(),
    );
    whole(
        "requests the server received",
        event_loop_server_requests.to_string(),
        blocking_requests.to_string(),
    );
    whole("snapshots left on the server", loop_left, blocking_left);
    Ok(Comparison {
        event_loop: report,
        event_loop_server_requests,
        blocking_requests,
        blocking_wall,
        differences,
    })
}

/// Values masked out of the outcomes, kept to be compared as sets.
#[derive(Debug, Default)]
struct Assigned {
    ids: Vec<String>,
    times: Vec<String>,
}

impl Assigned {
    fn ids(&mut self) -> String {
        self.ids.sort();
        self.ids.join(" ")
    }

    fn times(&mut self) -> String {
        self.times.sort();
        self.times.join(" ")
    }
}

/// A call's outcome as JSON, with what depends on arrival order masked.
fn outcome(call: &Call, result: &Result<CallOutput, Error>, assigned: &mut Assigned) -> Value {
    let output = match result {
        Ok(output) => output,
        Err(error) => return error_json(error),
    };
    let mut value = serde_json::to_value(output)
        .unwrap_or_else(|e| Value::String(format!("not serializable: {e}")));
    let creates = matches!(
        call,
        Call::CreateSnapshot(_) | Call::PauseIntoSnapshot(_) | Call::ResumeAndWait(_)
    );
    if creates && let Value::Object(object) = &mut value {
        if let Some(id) = object.insert("id".to_owned(), json!(ASSIGNED)) {
            assigned.ids.push(id.to_string());
        }
        if let Some(time) = object.insert("created_at".to_owned(), json!(ASSIGNED)) {
            assigned.times.push(time.to_string());
        }
    }
    value
}

/// An error as JSON, without the request id (given in arrival order) or a
/// transport's own wording.
fn error_json(error: &Error) -> Value {
    if let Some(api) = error.api() {
        json!({
            "error": error.kind_name(),
            "status": api.status.as_u16(),
            "path": api.path,
            "message": api.message,
        })
    } else if let Some(failure) = error.transport() {
        json!({"error": error.kind_name(), "may_have_been_sent": failure.may_have_been_sent})
    } else {
        json!({"error": error.kind_name(), "message": error.to_string()})
    }
}

/// The snapshots on `server` as sorted `name:state` pairs (ids and times
/// depend on arrival order).
fn snapshots_left(server: &Emulator, config: &Config) -> Result<String, Error> {
    server.clear_faults();
    let all =
        leap0_ureq::client(config.clone()).list_all(ListSnapshots::default().page_size(100))?;
    let mut names: Vec<String> = all
        .items
        .iter()
        .map(|s| {
            format!(
                "{}:{}",
                s.name,
                s.state.as_ref().map_or("-", |state| state.as_str())
            )
        })
        .collect();
    names.sort();
    Ok(names.join(" "))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use leap0_core::Snapshot;

    use super::*;

    fn created(json: &str) -> Result<CallOutput, Error> {
        Ok(CallOutput::Snapshot(
            serde_json::from_str::<Snapshot>(json).unwrap(),
        ))
    }

    #[test]
    fn only_what_the_server_assigns_in_arrival_order_is_masked() {
        let call = Call::CreateSnapshot(CreateSnapshot::new("sb-1").name("a"));
        let (mut first, mut second) = (Assigned::default(), Assigned::default());
        let one = outcome(
            &call,
            &created(r#"{"id":"snap-0001","name":"a","created_at":"2025-01-15T10:30:01Z"}"#),
            &mut first,
        );
        let two = outcome(
            &call,
            &created(r#"{"id":"snap-0002","name":"a","created_at":"2025-01-15T10:30:02Z"}"#),
            &mut second,
        );
        assert_eq!(one, two);
        assert_ne!(
            first.ids(),
            second.ids(),
            "the masked ids are kept to be compared"
        );
        let renamed = outcome(
            &call,
            &created(r#"{"id":"snap-0001","name":"b","created_at":"2025-01-15T10:30:01Z"}"#),
            &mut Assigned::default(),
        );
        assert_ne!(one, renamed);

        // A listing's ids are not masked: its snapshots were made in the setup.
        let list = Call::ListAllSnapshots(ListSnapshots::default());
        let page = |id: &str| {
            let json = format!(r#"{{"items":[{{"id":"{id}","name":"keep-00"}}],"total_items":1}}"#);
            Ok(CallOutput::List(serde_json::from_str(&json).unwrap()))
        };
        let mut unused = Assigned::default();
        assert_ne!(
            outcome(&list, &page("snap-0001"), &mut unused),
            outcome(&list, &page("snap-0002"), &mut unused)
        );
        assert!(unused.ids.is_empty());
    }
}
