//! Layer B on a virtual clock: retries, Retry-After, deadlines, pagination,
//! waiting, and the clients built on them. Nothing sleeps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use leap0_core::machine::{Action, Machine, Retry};
use leap0_core::transport::{Clock, Request, Response, Transport, TransportError, VirtualClock};
use leap0_core::{
    AsyncSnapshotsClient, Config, CreateSnapshot, Error, ListSnapshots, PauseIntoSnapshot,
    RetryPolicy, SandboxState, SnapshotsClient, Timestamp, WaitPolicy, http,
};
use serde_json::json;

type Answer = Result<Response, TransportError>;

/// A scripted server: answers in order, and remembers when each request came.
#[derive(Clone)]
struct Script {
    answers: Arc<Mutex<VecDeque<Answer>>>,
    seen: Arc<Mutex<Vec<(Duration, String, Duration)>>>,
    clock: VirtualClock,
}

impl Script {
    fn new(clock: &VirtualClock, answers: Vec<Answer>) -> Self {
        Script {
            answers: Arc::new(Mutex::new(answers.into())),
            seen: Arc::default(),
            clock: clock.clone(),
        }
    }

    fn send(&self, request: Request, timeout: Duration) -> Answer {
        let now = Clock::now(&self.clock).since_origin();
        let target = format!(
            "{} {}",
            request.method(),
            request.uri().path_and_query().unwrap()
        );
        self.seen.lock().unwrap().push((now, target, timeout));
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .expect("the script ran out of answers")
    }

    /// Times (since start) and targets of the requests seen.
    fn seen(&self) -> Vec<(Duration, String)> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(t, s, _)| (*t, s.clone()))
            .collect()
    }

    fn timeouts(&self) -> Vec<Duration> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, _, t)| *t)
            .collect()
    }

    fn client(&self, config: Config) -> SnapshotsClient<impl Transport, VirtualClock> {
        let script = self.clone();
        SnapshotsClient::new(
            config,
            move |r: Request, t: Duration| script.send(r, t),
            self.clock.clone(),
        )
    }
}

fn reply(status: u16, headers: &[(&str, &str)], body: serde_json::Value) -> Answer {
    let mut b = http::Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let body = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&body).unwrap()
    };
    Ok(b.body(body).unwrap())
}

fn snapshot(id: &str, name: &str) -> serde_json::Value {
    json!({"id": id, "name": name, "template_id": "tpl", "vcpu": 2, "memory": 2048, "disk": 10240})
}

fn sandbox(id: &str, state: &str) -> serde_json::Value {
    json!({"id": id, "template_id": "tpl", "vcpu": 2, "memory": 2048, "disk": 10240,
           "timeout": 300, "state": state, "auto_pause": false})
}

fn config(policy: RetryPolicy) -> Config {
    Config::builder()
        .api_key("k")
        .base_url("http://127.0.0.1:1")
        .retry(policy)
        .build()
        .unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn retry_after_overrides_backoff() {
    let clock = VirtualClock::new();
    let script = Script::new(
        &clock,
        vec![
            reply(
                429,
                &[("retry-after", "42")],
                json!({"message": "slow down"}),
            ),
            reply(
                503,
                &[("retry-after", "3")],
                json!({"message": "no capacity"}),
            ),
            reply(201, &[], snapshot("snap-1", "warm")),
        ],
    );
    let snap = script
        .client(config(RetryPolicy::default()))
        .create(CreateSnapshot::new("sb-1").name("warm"))
        .unwrap();
    assert_eq!(snap.id, "snap-1");
    let times: Vec<Duration> = script.seen().into_iter().map(|(t, _)| t).collect();
    // 42 s is far above max_backoff's 30 s: the server's word wins.
    assert_eq!(times, vec![secs(0), secs(42), secs(45)]);
}

#[test]
fn backoff_doubles_with_seeded_jitter_and_is_reproducible() {
    let run = |seed: u64| {
        let clock = VirtualClock::new();
        let script = Script::new(
            &clock,
            vec![
                reply(502, &[], json!({})),
                reply(502, &[], json!({})),
                reply(502, &[], json!({})),
                reply(200, &[], json!({"items": [], "total_items": 0})),
            ],
        );
        let policy = RetryPolicy::default().with_jitter_seed(seed);
        script
            .client(config(policy))
            .list(ListSnapshots::default())
            .unwrap();
        script
            .seen()
            .into_iter()
            .map(|(t, _)| t)
            .collect::<Vec<_>>()
    };
    let times = run(7);
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    // Equal jitter: each gap lies in [base/2, base] for base = 0.5 s, 1 s, 2 s.
    for (gap, base) in gaps.iter().zip([500u64, 1000, 2000]) {
        let base = Duration::from_millis(base);
        assert!(*gap >= base / 2 && *gap <= base, "{gap:?} vs {base:?}");
    }
    assert_eq!(run(7), times, "same seed, same delays");
    assert_ne!(run(8), times, "another seed, other delays");
}

#[test]
fn gives_up_after_max_attempts_with_the_last_error() {
    let clock = VirtualClock::new();
    let script = Script::new(
        &clock,
        (0..4)
            .map(|_| reply(503, &[("retry-after", "1")], json!({"message": "busy"})))
            .collect(),
    );
    let error = script
        .client(config(RetryPolicy::default()))
        .create("sb-1")
        .unwrap_err();
    assert_eq!(script.seen().len(), 4);
    assert_eq!(error.status().unwrap().as_u16(), 503);
    assert!(error.is_retryable());
}

#[test]
fn a_wait_past_the_deadline_fails_at_once_without_sleeping() {
    let clock = VirtualClock::new();
    let script = Script::new(
        &clock,
        vec![reply(
            429,
            &[("retry-after", "3600")],
            json!({"message": "later"}),
        )],
    );
    let policy = RetryPolicy::default().with_total_deadline(Some(secs(60)));
    let error = script.client(config(policy)).pause("sb-1").unwrap_err();
    let Error::DeadlineExceeded {
        attempts,
        deadline,
        last,
        ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!((*attempts, *deadline), (1, secs(60)));
    assert_eq!(last.api().unwrap().retry_after, Some(secs(3600)));
    assert_eq!(
        Clock::now(&clock),
        Timestamp::ZERO,
        "no time was spent waiting"
    );
    assert!(
        error
            .to_string()
            .starts_with("Failed to pause sandbox: deadline of 1m exceeded")
    );
}

#[test]
fn per_attempt_timeouts_shrink_to_fit_the_deadline() {
    let clock = VirtualClock::new();
    let script = Script::new(
        &clock,
        vec![
            Err(TransportError::timeout("slow")),
            reply(200, &[], json!({"items": [], "total_items": 0})),
        ],
    );
    let policy = RetryPolicy::default()
        .with_backoff(secs(10), RetryPolicy::default().max_backoff)
        .with_total_deadline(Some(secs(100)))
        .with_jitter_seed(1);
    // Pretend the first attempt used its whole 90 s timeout.
    let cfg = config(policy).with_timeout(secs(90));
    let clock2 = clock.clone();
    let script2 = script.clone();
    let client = SnapshotsClient::new(
        cfg,
        move |r: Request, t: Duration| {
            let answer = script2.send(r, t);
            clock2.advance(t.min(secs(90)));
            answer
        },
        clock.clone(),
    );
    client.list(ListSnapshots::default()).unwrap();
    let timeouts = script.timeouts();
    assert_eq!(timeouts[0], secs(90));
    assert!(
        timeouts[1] < secs(10),
        "second attempt gets what is left: {timeouts:?}"
    );
}

#[test]
fn a_post_that_may_have_arrived_is_never_resent() {
    for failure in [
        TransportError::timeout("read timed out"),
        TransportError::reset("connection reset"),
    ] {
        let clock = VirtualClock::new();
        let script = Script::new(&clock, vec![Err(failure.clone())]);
        let error = script
            .client(config(RetryPolicy::default()))
            .resume("warm")
            .unwrap_err();
        assert_eq!(script.seen().len(), 1, "{failure:?}");
        assert!(error.may_have_reached_server());
        assert!(!error.is_retryable());
    }
}

#[test]
fn a_post_that_never_left_is_resent_and_gets_are_always_resent() {
    let clock = VirtualClock::new();
    let script = Script::new(
        &clock,
        vec![
            Err(TransportError::connect("refused")),
            reply(201, &[], sandbox("sb-2", "running")),
        ],
    );
    let sb = script
        .client(config(RetryPolicy::default()))
        .resume("warm")
        .unwrap();
    assert_eq!(sb.id, "sb-2");
    assert_eq!(script.seen().len(), 2);

    let script = Script::new(
        &clock,
        vec![
            Err(TransportError::timeout("t")),
            Err(TransportError::reset("r")),
            reply(504, &[], json!({})),
            reply(204, &[], serde_json::Value::Null),
        ],
    );
    script
        .client(config(RetryPolicy::default()))
        .delete("snap-1")
        .unwrap();
    assert_eq!(script.seen().len(), 4);
}

#[test]
fn five_hundred_and_other_client_errors_are_final() {
    for status in [400, 401, 403, 404, 409, 500] {
        let clock = VirtualClock::new();
        let script = Script::new(&clock, vec![reply(status, &[], json!({"message": "no"}))]);
        let error = script
            .client(config(RetryPolicy::default()))
            .list(ListSnapshots::default())
            .unwrap_err();
        assert_eq!(error.status().unwrap().as_u16(), status);
        assert_eq!(script.seen().len(), 1, "{status}");
    }
}

#[test]
fn pages_are_stitched_in_order() {
    let clock = VirtualClock::new();
    let page = |ids: &[&str], total: u64| {
        let items: Vec<_> = ids.iter().map(|id| snapshot(id, id)).collect();
        reply(200, &[], json!({"items": items, "total_items": total}))
    };
    let script = Script::new(
        &clock,
        vec![
            page(&["a", "b"], 5),
            reply(503, &[("retry-after", "1")], json!({})),
            page(&["c", "d"], 5),
            page(&["e"], 5),
        ],
    );
    let listing = ListSnapshots::default().page_size(2).query("x y");
    let all = script
        .client(config(RetryPolicy::default()))
        .list_all(listing)
        .unwrap();
    let ids: Vec<&str> = all.items.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
    assert_eq!(all.total_items, 5);
    let targets: Vec<String> = script.seen().into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        targets,
        [
            "GET /v1/snapshots?query=x%20y&sort=created_at&order-by=desc&page=1&page-size=2",
            "GET /v1/snapshots?query=x%20y&sort=created_at&order-by=desc&page=2&page-size=2",
            "GET /v1/snapshots?query=x%20y&sort=created_at&order-by=desc&page=2&page-size=2",
            "GET /v1/snapshots?query=x%20y&sort=created_at&order-by=desc&page=3&page-size=2",
        ]
    );
}

#[test]
fn an_empty_page_ends_the_walk_even_if_the_total_says_otherwise() {
    let clock = VirtualClock::new();
    let script = Script::new(
        &clock,
        vec![
            reply(
                200,
                &[],
                json!({"items": [snapshot("a", "a")], "total_items": 1000}),
            ),
            reply(200, &[], json!({"items": [], "total_items": 1000})),
        ],
    );
    // Pages of one: the first is full, so only the empty one ends the walk.
    let all = script
        .client(config(RetryPolicy::default()))
        .list_all(ListSnapshots::default().page_size(1))
        .unwrap();
    assert_eq!(all.items.len(), 1);
    assert_eq!(script.seen().len(), 2);
}

#[test]
fn a_stale_count_loses_no_item() {
    // The vendor's own example: one item, `total_items: 0`. A short page is the last.
    let clock = VirtualClock::new();
    let script = Script::new(
        &clock,
        vec![reply(
            200,
            &[],
            json!({"items": [snapshot("a", "a")], "total_items": 0}),
        )],
    );
    let client = script.client(config(RetryPolicy::default()));
    let all = client.list_all(ListSnapshots::default()).unwrap();
    assert_eq!((all.items.len(), all.total_items), (1, 1));
    assert_eq!(script.seen().len(), 1);

    // Full pages past a count that is too low: the walk goes on to the short page.
    let script = Script::new(
        &clock,
        vec![
            reply(
                200,
                &[],
                json!({"items": [snapshot("a", "a"), snapshot("b", "b")], "total_items": 1}),
            ),
            reply(
                200,
                &[],
                json!({"items": [snapshot("c", "c")], "total_items": 1}),
            ),
        ],
    );
    let all = script
        .client(config(RetryPolicy::default()))
        .list_all(ListSnapshots::default().page_size(2))
        .unwrap();
    let ids: Vec<&str> = all.items.iter().map(|s| s.id.as_str()).collect();
    assert_eq!((ids, all.total_items), (vec!["a", "b", "c"], 3));
    assert_eq!(script.seen().len(), 2);
}

fn wait_config(interval: u64, timeout: u64) -> Config {
    config(RetryPolicy::default()).with_wait(WaitPolicy::new(secs(interval), secs(timeout)))
}

#[test]
fn resume_and_wait_polls_until_running() {
    let clock = VirtualClock::new();
    let script = Script::new(
        &clock,
        vec![
            reply(201, &[], sandbox("sb-9", "starting")),
            reply(200, &[], sandbox("sb-9", "starting")),
            reply(503, &[("retry-after", "1")], json!({})),
            reply(200, &[], sandbox("sb-9", "unpausing")),
            reply(200, &[], sandbox("sb-9", "running")),
        ],
    );
    let sb = script
        .client(wait_config(2, 60))
        .resume_and_wait("warm")
        .unwrap();
    assert_eq!(sb.state, SandboxState::Running);
    let seen = script.seen();
    let expect = [
        (0, "POST /v1/snapshot/resume"),
        (2, "GET /v1/sandbox/sb-9/"),
        (4, "GET /v1/sandbox/sb-9/"),
        (5, "GET /v1/sandbox/sb-9/"),
        (7, "GET /v1/sandbox/sb-9/"),
    ];
    let expect: Vec<(Duration, String)> = expect
        .iter()
        .map(|(t, s)| (secs(*t), (*s).to_owned()))
        .collect();
    assert_eq!(seen, expect);
}

#[test]
fn a_sandbox_already_running_needs_no_poll() {
    let clock = VirtualClock::new();
    let script = Script::new(&clock, vec![reply(201, &[], sandbox("sb-9", "running"))]);
    script
        .client(wait_config(2, 60))
        .restore_and_wait("warm")
        .unwrap();
    assert_eq!(script.seen().len(), 1);
}

#[test]
fn waiting_fails_on_a_dead_end_state_and_times_out() {
    let clock = VirtualClock::new();
    let script = Script::new(
        &clock,
        vec![
            reply(201, &[], sandbox("sb-9", "starting")),
            reply(200, &[], sandbox("sb-9", "stopped")),
        ],
    );
    let error = script
        .client(wait_config(1, 60))
        .resume_and_wait("warm")
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Failed to resume snapshot: sandbox sb-9 is stopped while waiting for it to be running"
    );

    let clock = VirtualClock::new();
    let mut answers = vec![reply(201, &[], sandbox("sb-9", "starting"))];
    answers.extend((0..10).map(|_| reply(200, &[], sandbox("sb-9", "starting"))));
    let script = Script::new(&clock, answers);
    let error = script
        .client(wait_config(10, 35))
        .resume_and_wait("warm")
        .unwrap_err();
    let Error::WaitTimedOut { state, waited, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*state, Some(SandboxState::Starting));
    assert_eq!(*waited, secs(35), "the whole wait timeout");
    assert_eq!(
        script.seen().len(),
        5,
        "resume, then polls at 10, 20, 30 s and one at the deadline, 35 s"
    );
}

#[test]
fn validation_errors_send_nothing() {
    let clock = VirtualClock::new();
    let script = Script::new(&clock, vec![]);
    let client = script.client(config(RetryPolicy::default()));
    let cases: Vec<(Error, &str)> = vec![
        (client.create("").unwrap_err(), "sandbox_id"),
        (
            client
                .create(CreateSnapshot::new("sb").name("  "))
                .unwrap_err(),
            "name",
        ),
        (
            client.pause(PauseIntoSnapshot::new("..")).unwrap_err(),
            "sandbox_id",
        ),
        (
            client
                .resume(leap0_core::ResumeSnapshot::new("w").timeout_min(481))
                .unwrap_err(),
            "timeout_min",
        ),
        (
            client
                .restore(leap0_core::RestoreSnapshot::new("w").timeout(0))
                .unwrap_err(),
            "timeout",
        ),
        (
            client
                .list(ListSnapshots::default().page_size(101))
                .unwrap_err(),
            "page_size",
        ),
        (
            client.list(ListSnapshots::default().page(0)).unwrap_err(),
            "page",
        ),
        (
            client
                .list(ListSnapshots::default().query("q".repeat(65)))
                .unwrap_err(),
            "query",
        ),
        (client.delete(".").unwrap_err(), "snapshot_id"),
    ];
    for (error, field) in cases {
        assert!(error.is_usage(), "{error:?}");
        assert!(!error.may_have_reached_server());
        assert_eq!(error.field(), Some(field), "{error}");
    }
    assert!(script.seen().is_empty());
}

#[test]
fn the_sandbox_factory_wraps_resumed_sandboxes() {
    #[derive(Debug)]
    struct MyHandle(String);
    let clock = VirtualClock::new();
    let script = Script::new(&clock, vec![reply(201, &[], sandbox("sb-3", "running"))]);
    let client = script
        .client(config(RetryPolicy::default()))
        .with_sandbox_factory(|sb: leap0_core::Sandbox| MyHandle(sb.id));
    let handle: MyHandle = client.resume("warm").unwrap();
    assert_eq!(handle.0, "sb-3");
}

#[test]
fn misuse_is_an_error_not_a_panic() {
    let config = config(RetryPolicy::default());
    let mut m = Retry::new(CreateSnapshot::new("sb"), &config);
    let ok = http::Response::builder()
        .status(201)
        .body(Vec::new())
        .unwrap();
    m.handle_response(Timestamp::ZERO, ok);
    assert!(matches!(
        m.poll(Timestamp::ZERO),
        Action::Done(Err(Error::Misuse(_)))
    ));

    // After Done, polling again is misuse, every time.
    let mut m = Retry::new(CreateSnapshot::new("sb"), &config);
    assert!(matches!(m.poll(Timestamp::ZERO), Action::Send(_)));
    let created = reply(201, &[], snapshot("snap-1", "n")).unwrap();
    m.handle_response(Timestamp::ZERO, created);
    assert!(matches!(m.poll(Timestamp::ZERO), Action::Done(Ok(_))));
    for _ in 0..2 {
        assert!(matches!(
            m.poll(Timestamp::ZERO),
            Action::Done(Err(Error::Misuse(_)))
        ));
    }
}

#[test]
fn polling_while_an_answer_is_outstanding_is_harmless() {
    let config = wait_config(1, 60);
    // A composite machine: resume, then a status poll; poll it 1000 times
    // while each answer is outstanding, as an event loop waking often would.
    let mut m =
        leap0_core::Call::ResumeAndWait(leap0_core::ResumeSnapshot::new("warm")).machine(&config);
    let answers = [
        reply(201, &[], sandbox("sb-1", "starting")),
        reply(200, &[], sandbox("sb-1", "running")),
    ];
    let mut now = Timestamp::ZERO;
    let mut answers = answers.into_iter();
    let result = loop {
        match m.poll(now) {
            Action::Send(_) => {
                for _ in 0..1000 {
                    assert!(matches!(m.poll(now), Action::Awaiting));
                }
                let answer = answers.next().expect("an answer per request").unwrap();
                m.handle_response(now, answer);
            }
            Action::WaitUntil(t) => now = t,
            Action::Awaiting => panic!("nothing is outstanding"),
            Action::Done(result) => break result,
        }
    };
    let leap0_core::CallOutput::Sandbox(sandbox) = result.unwrap() else {
        panic!("a sandbox")
    };
    assert_eq!(sandbox.state, SandboxState::Running);
    assert_eq!(now, Timestamp::from_origin(secs(1)), "one wait interval");
    // An answer handed over when none is awaited is still misuse.
    let mut m = Retry::new(CreateSnapshot::new("sb"), &config);
    m.handle_transport_error(now, TransportError::reset("late"));
    assert!(matches!(m.poll(now), Action::Done(Err(Error::Misuse(_)))));
}

#[test]
fn machines_are_object_safe() {
    let config = config(RetryPolicy::default());
    let mut boxed: Box<dyn Machine<Output = leap0_core::Snapshot>> =
        Box::new(Retry::new(CreateSnapshot::new("sb"), &config));
    assert!(matches!(boxed.poll(Timestamp::ZERO), Action::Send(_)));
}

/// Polls a future whose leaves are all ready, without any runtime.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[test]
fn the_async_client_runs_the_same_machines() {
    let clock = VirtualClock::new();
    let script = Script::new(
        &clock,
        vec![
            reply(429, &[("retry-after", "5")], json!({})),
            reply(201, &[], snapshot("snap-1", "n")),
        ],
    );
    let s2 = script.clone();
    let client = AsyncSnapshotsClient::new(
        config(RetryPolicy::default()),
        move |r: Request, t: Duration| std::future::ready(s2.send(r, t)),
        clock.clone(),
    );
    fn assert_send<T: Send>(t: T) -> T {
        t
    }
    let snap = block_on(assert_send(client.create("sb-1"))).unwrap();
    assert_eq!(snap.id, "snap-1");
    let times: Vec<Duration> = script.seen().into_iter().map(|(t, _)| t).collect();
    assert_eq!(times, [secs(0), secs(5)]);
}

#[test]
fn wait_for_checks_at_once_and_a_long_retry_after_ends_the_wait() {
    let clock = VirtualClock::new();
    let script = Script::new(
        &clock,
        vec![
            reply(200, &[], sandbox("sb-1", "starting")),
            reply(503, &[("retry-after", "600")], json!({"message": "busy"})),
        ],
    );
    let error = script
        .client(wait_config(5, 60))
        .wait_for("sb-1", SandboxState::Running)
        .unwrap_err();
    let times: Vec<Duration> = script.seen().into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        times,
        [secs(0), secs(5)],
        "first check at once, then one interval"
    );
    let Error::WaitTimedOut { state, waited, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!((state, *waited), (&Some(SandboxState::Starting), secs(5)));
}

#[test]
fn a_per_call_http_timeout_applies_to_that_call_only() {
    let clock = VirtualClock::new();
    let script = Script::new(
        &clock,
        vec![
            reply(201, &[], snapshot("snap-1", "a")),
            reply(201, &[], snapshot("snap-2", "b")),
        ],
    );
    let client = script.client(config(RetryPolicy::default()));
    client
        .with_http_timeout(Duration::from_millis(1500))
        .pause("sb-1")
        .unwrap();
    client.pause("sb-1").unwrap();
    assert_eq!(
        script.timeouts(),
        [Duration::from_millis(1500), Duration::from_secs(300)]
    );
}

#[test]
fn computed_backoff_is_capped_but_retry_after_is_not() {
    let clock = VirtualClock::new();
    let script = Script::new(
        &clock,
        vec![
            reply(502, &[], json!({})),
            reply(502, &[], json!({})),
            reply(429, &[("retry-after", "45")], json!({})),
            reply(200, &[], json!({"items": [], "total_items": 0})),
        ],
    );
    let policy = RetryPolicy::default().with_backoff(secs(20), secs(30));
    script
        .client(config(policy))
        .list(ListSnapshots::default())
        .unwrap();
    let times: Vec<Duration> = script.seen().into_iter().map(|(t, _)| t).collect();
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] >= secs(10) && gaps[0] <= secs(20), "{gaps:?}");
    // 40 s doubled, capped at 30 s, then equal jitter: 15 to 30 s.
    assert!(gaps[1] >= secs(15) && gaps[1] <= secs(30), "{gaps:?}");
    assert_eq!(gaps[2], secs(45), "the server's word exceeds the cap");
}
