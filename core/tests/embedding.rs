//! The async client without `Send`: a transport and a clock whose state lives
//! in `Rc`/`RefCell` (as a browser `fetch` binding or a single-threaded
//! runtime's would), run to completion on a single-threaded executor that is
//! not tokio (`futures::executor::LocalPool`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_executor::LocalPool;
use futures_util::task::LocalSpawnExt;
use leap0_core::transport::{AsyncClock, AsyncTransport, Request, Response, TransportError};
use leap0_core::{
    AsyncSnapshotsClient, Config, ResumeSnapshot, SandboxState, Timestamp, WaitPolicy, http,
};

/// A future that is pending once, then ready: it makes the executor really
/// schedule each step, as network I/O would.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Canned answers and a log of what was asked, in `Rc`s: `!Send`.
#[derive(Clone, Default)]
struct RcServer {
    answers: Rc<RefCell<VecDeque<(u16, &'static str)>>>,
    seen: Rc<RefCell<Vec<String>>>,
}

impl AsyncTransport for RcServer {
    fn send(
        &self,
        request: Request,
        _timeout: Duration,
    ) -> impl Future<Output = Result<Response, TransportError>> {
        let server = self.clone();
        async move {
            YieldOnce(false).await;
            server
                .seen
                .borrow_mut()
                .push(format!("{} {}", request.method(), request.uri().path()));
            let (status, body) = server.answers.borrow_mut().pop_front().expect("an answer");
            http::Response::builder()
                .status(status)
                .body(body.as_bytes().to_vec())
                .map_err(TransportError::other)
        }
    }
}

/// A virtual clock in an `Rc<Cell>`: `!Send`, and its sleep yields too.
#[derive(Clone, Default)]
struct RcClock(Rc<Cell<Duration>>);

impl AsyncClock for RcClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_origin(self.0.get())
    }

    fn sleep_until(&self, deadline: Timestamp) -> impl Future<Output = ()> {
        let clock = self.0.clone();
        async move {
            YieldOnce(false).await;
            clock.set(clock.get().max(deadline.since_origin()));
        }
    }
}

#[test]
fn a_not_send_transport_and_clock_run_the_async_client_on_a_local_executor() {
    let server = RcServer::default();
    server.answers.borrow_mut().extend([
        (503, r#"{"message":"no runner capacity"}"#),
        (201, r#"{"id":"sb-7","state":"starting"}"#),
        (200, r#"{"id":"sb-7","state":"starting"}"#),
        (200, r#"{"id":"sb-7","state":"running"}"#),
    ]);
    let clock = RcClock::default();
    let config = Config::builder()
        .api_key("key")
        .wait(WaitPolicy::new(
            Duration::from_secs(2),
            Duration::from_secs(60),
        ))
        .build()
        .unwrap();
    let client = AsyncSnapshotsClient::new(config, server.clone(), clock.clone());
    let result = Rc::new(RefCell::new(None));
    let mut pool = LocalPool::new();
    let slot = Rc::clone(&result);
    pool.spawner()
        .spawn_local(async move {
            let sandbox = client.resume_and_wait(ResumeSnapshot::new("warm")).await;
            *slot.borrow_mut() = Some(sandbox);
        })
        .unwrap();
    pool.run();

    let sandbox = result.borrow_mut().take().expect("the task ran").unwrap();
    assert_eq!(
        (sandbox.id.as_str(), sandbox.state),
        ("sb-7", SandboxState::Running)
    );
    assert_eq!(
        *server.seen.borrow(),
        [
            "POST /v1/snapshot/resume",
            "POST /v1/snapshot/resume",
            "GET /v1/sandbox/sb-7/",
            "GET /v1/sandbox/sb-7/",
        ]
    );
    // Backoff after the 503 (under a second) and two 2 s poll intervals.
    let waited = clock.0.get();
    assert!(
        waited >= Duration::from_secs(4) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}
