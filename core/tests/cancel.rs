//! Cancellation as data: a machine cancelled at any point ends with
//! `Error::Cancelled`, listing what it may have left on the server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use leap0_core::error::Leftover;
use leap0_core::machine::{Action, Machine};
use leap0_core::{Call, Config, DeleteSandbox, Error, Operation, ResumeSnapshot, Timestamp, http};

fn resume_and_wait() -> leap0_core::CallMachine {
    Call::ResumeAndWait(ResumeSnapshot::new("warm")).machine(&Config::new("key").unwrap())
}

fn leftovers(error: Error) -> Vec<Leftover> {
    match error {
        Error::Cancelled {
            operation,
            leftovers,
        } => {
            assert_eq!(operation, Some(Operation::ResumeSnapshot));
            leftovers
        }
        other => panic!("not a cancellation: {other}"),
    }
}

#[test]
fn a_resume_and_wait_reports_what_it_leaves_at_each_point() {
    let now = Timestamp::ZERO;

    // Before anything was sent: nothing.
    let mut machine = resume_and_wait();
    let error = machine.cancel(now);
    assert_eq!(error.kind_name(), "cancelled");
    assert!(!error.may_have_reached_server());
    assert!(
        error
            .to_string()
            .ends_with("nothing was left on the server"),
        "{error}"
    );
    assert_eq!(leftovers(error), []);

    // While its POST is outstanding: a sandbox of unknown id may exist.
    let mut machine = resume_and_wait();
    assert!(matches!(machine.poll(now), Action::Send(_)));
    let error = machine.cancel(now);
    assert!(error.may_have_reached_server());
    assert!(
        error
            .to_string()
            .contains("a sandbox may have been started from snapshot warm"),
        "{error}"
    );
    let left = leftovers(error);
    assert_eq!(
        left,
        [Leftover::UnknownSandbox {
            from: "snapshot warm".to_owned()
        }]
    );
    assert_eq!(left[0].cleanup(), None);

    // While waiting for it: the sandbox, and the call that deletes it.
    let mut machine = resume_and_wait();
    assert!(matches!(machine.poll(now), Action::Send(_)));
    let started = http::Response::builder()
        .status(201)
        .body(br#"{"id":"sb-9","state":"starting"}"#.to_vec())
        .unwrap();
    machine.handle_response(now, started);
    // Answered, not yet polled: the sandbox already exists.
    assert_eq!(
        machine.leftovers(),
        [Leftover::Sandbox {
            id: "sb-9".to_owned()
        }]
    );
    assert!(matches!(machine.poll(now), Action::WaitUntil(_)));
    let left = leftovers(machine.cancel(now + Duration::from_millis(300)));
    assert_eq!(
        left,
        [Leftover::Sandbox {
            id: "sb-9".to_owned()
        }]
    );
    assert_eq!(
        left[0].cleanup(),
        Some(Call::DeleteSandbox(DeleteSandbox::new("sb-9")))
    );
}

#[test]
fn a_create_cancelled_in_flight_names_the_snapshot_to_look_for() {
    let config = Config::new("key").unwrap();
    let mut machine = Call::CreateSnapshot(leap0_core::CreateSnapshot::new("sb-1").name("nightly"))
        .machine(&config);
    assert!(matches!(machine.poll(Timestamp::ZERO), Action::Send(_)));
    let Error::Cancelled { leftovers, .. } = machine.cancel(Timestamp::ZERO) else {
        panic!("a cancellation")
    };
    assert_eq!(
        leftovers,
        [Leftover::Snapshot {
            sandbox_id: "sb-1".to_owned(),
            name: Some("nightly".to_owned())
        }]
    );
    let Some(Call::ListSnapshots(listing)) = leftovers[0].cleanup() else {
        panic!("a listing to find it")
    };
    assert_eq!(listing.query, "nightly");
}
