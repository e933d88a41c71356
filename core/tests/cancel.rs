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

mod clients {
    //! The same three points through the clients: the blocking one cancelled
    //! from another thread, the async one dropped mid-call.
    #![allow(clippy::disallowed_types, clippy::disallowed_methods)]

    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};
    use std::time::{Duration, Instant};

    use leap0_core::error::Leftover;
    use leap0_core::machine::Cancel;
    use leap0_core::transport::{
        AsyncClock, Clock, Request, Response, TransportError, VirtualClock,
    };
    use leap0_core::{AsyncSnapshotsClient, Config, Error, SnapshotsClient, Timestamp, http};

    type Answer = Result<Response, TransportError>;

    fn answer(status: u16, body: &str) -> Answer {
        http::Response::builder()
            .status(status)
            .body(body.as_bytes().to_vec())
            .map_err(TransportError::other)
    }

    /// The API, where every sandbox stays `starting`.
    fn api(request: &Request) -> Answer {
        if request.method() == "POST" {
            answer(201, r#"{"id":"sb-9","state":"starting"}"#)
        } else {
            answer(200, r#"{"id":"sb-9","state":"starting"}"#)
        }
    }

    fn leftovers(result: Result<leap0_core::Sandbox, Error>) -> Vec<Leftover> {
        match result {
            Err(Error::Cancelled { leftovers, .. }) => leftovers,
            other => panic!("not a cancellation: {other:?}"),
        }
    }

    /// Real time, as a program's own clock would give it.
    // Only the threaded test uses it, and wasm32-wasip1 runs that one not.
    #[cfg_attr(target_os = "wasi", allow(dead_code))]
    struct Wall(Instant);

    impl Clock for Wall {
        fn now(&self) -> Timestamp {
            Timestamp::from_origin(self.0.elapsed())
        }
        fn sleep_until(&self, deadline: Timestamp) {
            std::thread::sleep(deadline.saturating_duration_since(self.now()));
        }
    }

    fn config() -> Config {
        Config::new("key")
            .unwrap()
            .with_wait(leap0_core::WaitPolicy::new(
                Duration::from_secs(1),
                Duration::from_secs(60),
            ))
    }

    #[test]
    // It cancels from a second thread, and wasm32-wasip1 has none to spawn.
    #[cfg(not(target_os = "wasi"))]
    fn a_blocking_client_cancelled_from_another_thread() {
        // Before sending.
        let cancel = Cancel::new();
        cancel.cancel();
        let client = SnapshotsClient::new(config(), |r: Request, _| api(&r), VirtualClock::new());
        let result = client.with_cancel(&cancel).resume_and_wait("warm");
        assert_eq!(leftovers(result), []);
        assert_eq!(cancel.leftovers(), Some(vec![]));

        // While its POST is outstanding: the transport gives up when cancelled.
        let cancel = Cancel::new();
        let seen = cancel.clone();
        let hanging = move |_: Request, _: Duration| -> Answer {
            while !seen.is_cancelled() {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(TransportError::timeout("gave up"))
        };
        let client = SnapshotsClient::new(config(), hanging, VirtualClock::new());
        let canceller = cancel.clone();
        let other = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            canceller.cancel();
        });
        let result = client.with_cancel(&cancel).resume_and_wait("warm");
        other.join().unwrap();
        let unknown = vec![Leftover::UnknownSandbox {
            from: "snapshot warm".to_owned(),
        }];
        assert_eq!(leftovers(result), unknown);
        assert_eq!(cancel.leftovers(), Some(unknown));

        // While waiting: seen within a slice of the 1 s poll interval.
        let cancel = Cancel::new();
        let client = SnapshotsClient::new(config(), |r: Request, _| api(&r), Wall(Instant::now()));
        let canceller = cancel.clone();
        let other = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            canceller.cancel();
        });
        let started = Instant::now();
        let result = client.with_cancel(&cancel).resume_and_wait("warm");
        other.join().unwrap();
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "{:?}",
            started.elapsed()
        );
        let sandbox = vec![Leftover::Sandbox {
            id: "sb-9".to_owned(),
        }];
        assert_eq!(leftovers(result), sandbox);
        assert_eq!(cancel.leftovers(), Some(sandbox));
    }

    /// A clock whose waits never end, so a future can be dropped mid-wait.
    struct Forever;

    impl AsyncClock for Forever {
        fn now(&self) -> Timestamp {
            Timestamp::ZERO
        }
        fn sleep_until(&self, _: Timestamp) -> impl Future<Output = ()> {
            std::future::pending()
        }
    }

    /// Polls `future` once and drops it.
    fn poll_once_and_drop<F: Future>(future: F) -> Poll<F::Output> {
        let mut future = pin!(future);
        future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn an_async_client_dropped_mid_call() {
        // Before sending: cancelled first, it ends at once.
        let cancel = Cancel::new();
        cancel.cancel();
        let ready = |r: Request, _: Duration| std::future::ready(api(&r));
        let client = AsyncSnapshotsClient::new(config(), ready, Forever).with_cancel(&cancel);
        let Poll::Ready(result) = poll_once_and_drop(client.resume_and_wait("warm")) else {
            panic!("a cancelled call ends at once")
        };
        assert_eq!(leftovers(result), []);
        assert_eq!(cancel.leftovers(), Some(vec![]));

        // Dropped while its POST is outstanding.
        let cancel = Cancel::new();
        let stuck = |_: Request, _: Duration| std::future::pending::<Answer>();
        let client = AsyncSnapshotsClient::new(config(), stuck, Forever).with_cancel(&cancel);
        assert!(poll_once_and_drop(client.resume_and_wait("warm")).is_pending());
        assert_eq!(
            cancel.leftovers(),
            Some(vec![Leftover::UnknownSandbox {
                from: "snapshot warm".to_owned()
            }])
        );

        // Dropped while waiting for the sandbox.
        let cancel = Cancel::new();
        let client = AsyncSnapshotsClient::new(config(), ready, Forever).with_cancel(&cancel);
        assert!(poll_once_and_drop(client.resume_and_wait("warm")).is_pending());
        assert_eq!(
            cancel.leftovers(),
            Some(vec![Leftover::Sandbox {
                id: "sb-9".to_owned()
            }])
        );

        // Cancelled while waiting, the future ends with the same report.
        let cancel = Cancel::new();
        let client = AsyncSnapshotsClient::new(config(), ready, Forever).with_cancel(&cancel);
        let mut future = pin!(client.resume_and_wait("warm"));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(future.as_mut().poll(&mut cx).is_pending());
        cancel.cancel();
        let Poll::Ready(result) = future.as_mut().poll(&mut cx) else {
            panic!("a cancelled wait ends")
        };
        assert_eq!(
            leftovers(result),
            [Leftover::Sandbox {
                id: "sb-9".to_owned()
            }]
        );
    }
}
