//! Calls in flight together replay exactly as they ran: one recorded live
//! against the emulator (a create that meets `503` with `Retry-After: 1`, a
//! resume-and-wait whose 0.8 s wait is shorter than that backoff, a listing and
//! a status read, all at once), then replayed in every start order on tokio's
//! current-thread and multi-thread runtimes, on four threads sharing one
//! blocking client, and as machines on one loop, through transports that yield
//! before each answer. Every outcome equals the live run's, and every recorded
//! interaction is used.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Barrier};
use std::time::Duration;

use leap0_conformance::API_KEY;
use leap0_core::transport::{Request, Response, Transport, TransportError};
use leap0_core::{
    AsyncSnapshotsClient, Call, CallOutput, Config, CreateSnapshot, Error, GetSandbox,
    ListSnapshots, ResumeSnapshot, SnapshotsClient, WaitPolicy,
};
use leap0_emulator::{EmulatorConfig, Fault, FaultRule};
use leap0_hyper::{HyperTransport, TokioClock};
use leap0_replay::{RecordOptions, Recorder, ReplayOptions, Replayer, drive_all};
use serde_json::{Value, json};

/// What a call gave, comparable across runs.
fn outcome(result: Result<CallOutput, Error>) -> Value {
    match result {
        Ok(output) => serde_json::to_value(output).unwrap(),
        Err(error) => json!({"error": error.kind_name()}),
    }
}

fn config(base_url: &str) -> Config {
    Config::builder()
        .api_key(API_KEY)
        .base_url(base_url)
        // The wait gives up before the create's backoff is over.
        .wait(WaitPolicy::new(
            Duration::from_millis(100),
            Duration::from_millis(800),
        ))
        .build()
        .unwrap()
}

/// The call made first, alone: a snapshot to resume.
fn prelude() -> Call {
    Call::CreateSnapshot(CreateSnapshot::new("sb-seed-1").name("base"))
}

/// The four calls made at once.
fn calls() -> Vec<Call> {
    vec![
        Call::CreateSnapshot(CreateSnapshot::new("sb-seed-1").name("warm")),
        Call::ResumeAndWait(ResumeSnapshot::new("base")),
        Call::ListSnapshots(ListSnapshots::default()),
        Call::GetSandbox(GetSandbox::new("sb-seed-1")),
    ]
}

/// Every order of `0..n`.
fn orders(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for rest in orders(n - 1) {
        for at in 0..=rest.len() {
            let mut order = rest.clone();
            order.insert(at, n - 1);
            out.push(order);
        }
    }
    out
}

/// Records the calls live, made at once, and returns the cassette's path and
/// each call's outcome.
fn record_live(dir: &std::path::Path) -> (std::path::PathBuf, Vec<Value>) {
    let emu = emulator_ready_after(Duration::from_millis(300));
    let config = config(&emu.base_url());
    let recorder = Recorder::new(HyperTransport::new(), RecordOptions::new().secret(API_KEY));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = AsyncSnapshotsClient::new(config, recorder.clone(), TokioClock::new());
    let outcomes = runtime.block_on(async {
        client.call(prelude()).await.unwrap();
        emu.inject(
            FaultRule::new(Fault::Status {
                status: 503,
                retry_after: Some("1".to_owned()),
                body: None,
            })
            .method("POST")
            .path_prefix("/v1/sandbox/sb-seed-1/snapshot/create")
            .times(1),
        );
        let tasks: Vec<_> = calls()
            .into_iter()
            .map(|call| {
                let client = client.clone();
                tokio::spawn(async move { outcome(client.call(call).await) })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        outcomes
    });
    let path = dir.join("concurrent.json");
    recorder.save(&path).unwrap();
    (path, outcomes)
}

fn emulator_ready_after(delay: Duration) -> leap0_emulator::Emulator {
    let config = EmulatorConfig::default()
        .api_key(API_KEY)
        .ready_after(delay);
    leap0_emulator::Emulator::start_with(config).unwrap()
}

/// A replayer that lets every other task run before each answer, as a real
/// network transport does.
#[derive(Clone)]
struct Yielding(Replayer);

impl leap0_core::transport::AsyncTransport for Yielding {
    async fn send(&self, request: Request, timeout: Duration) -> Result<Response, TransportError> {
        tokio::task::yield_now().await;
        Transport::send(&self.0, request, timeout)
    }
}

impl Transport for Yielding {
    fn send(&self, request: Request, timeout: Duration) -> Result<Response, TransportError> {
        std::thread::yield_now();
        Transport::send(&self.0, request, timeout)
    }
}

fn load(path: &std::path::Path) -> Replayer {
    Replayer::from_file(path, ReplayOptions::default()).unwrap()
}

#[test]
fn calls_in_flight_together_replay_as_they_ran() {
    let dir = std::env::temp_dir().join(format!("leap0-concurrent-{}", std::process::id()));
    let (path, live) = record_live(&dir);
    assert!(
        live[0]["name"] == "warm",
        "the create succeeded live: {live:?}"
    );
    assert_eq!(
        live[1]["state"], "running",
        "the wait succeeded live: {live:?}"
    );
    let config = config("https://api.leap0.dev");

    for order in orders(calls().len()) {
        // Tokio, on both runtimes.
        for multi_thread in [false, true] {
            let (replayed, replayer) =
                replay_on_tokio(&path, &order, multi_thread, Replayer::clock);
            assert_eq!(
                replayed, live,
                "tokio (multi-thread: {multi_thread}), order {order:?}"
            );
            replayer.finish().unwrap();
        }

        // Four threads sharing one blocking client.
        let replayer = load(&path);
        let client =
            SnapshotsClient::new(config.clone(), Yielding(replayer.clone()), replayer.clock());
        client.call(prelude()).unwrap();
        let start = Arc::new(Barrier::new(order.len()));
        let mut threads: Vec<Option<std::thread::JoinHandle<Value>>> =
            (0..order.len()).map(|_| None).collect();
        for &i in &order {
            let (client, call, start) = (client.clone(), calls()[i].clone(), start.clone());
            threads[i] = Some(std::thread::spawn(move || {
                start.wait();
                outcome(client.call(call))
            }));
        }
        let replayed: Vec<Value> = threads
            .into_iter()
            .map(|t| t.unwrap().join().unwrap())
            .collect();
        assert_eq!(replayed, live, "threads, order {order:?}");
        replayer.finish().unwrap();

        // Machines on one loop.
        let replayer = load(&path);
        let first = drive_all(
            vec![prelude().machine(&config)],
            &replayer,
            &replayer.clock(),
        );
        assert!(first.iter().all(Result::is_ok));
        let machines: Vec<_> = order
            .iter()
            .map(|&i| calls()[i].clone().machine(&config))
            .collect();
        let results = drive_all(machines, &Yielding(replayer.clone()), &replayer.clock());
        let mut replayed = vec![Value::Null; order.len()];
        for (&i, result) in order.iter().zip(results) {
            replayed[i] = outcome(result);
        }
        assert_eq!(replayed, live, "one loop, order {order:?}");
        replayer.finish().unwrap();
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Replays the calls on tokio (multi-thread with 2 workers, or current-thread),
/// started in `order`, with `clock` for the client; gives the outcomes and the
/// replayer, for its `finish`.
fn replay_on_tokio(
    path: &std::path::Path,
    order: &[usize],
    multi_thread: bool,
    clock: impl Fn(&Replayer) -> leap0_core::transport::VirtualClock,
) -> (Vec<Value>, Replayer) {
    let replayer = load(path);
    let client = AsyncSnapshotsClient::new(
        config("https://api.leap0.dev"),
        Yielding(replayer.clone()),
        clock(&replayer),
    );
    let runtime = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread().build()
    }
    .unwrap();
    let outcomes = runtime.block_on(async {
        client.call(prelude()).await.unwrap();
        let calls = calls();
        let mut tasks: Vec<Option<tokio::task::JoinHandle<Value>>> =
            (0..calls.len()).map(|_| None).collect();
        for &i in order {
            let (client, call) = (client.clone(), calls[i].clone());
            tasks[i] = Some(tokio::spawn(
                async move { outcome(client.call(call).await) },
            ));
        }
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.unwrap().await.unwrap());
        }
        out
    });
    (outcomes, replayer)
}

#[test]
fn one_shared_jumping_clock_would_not_replay_them() {
    // The same cassette with one timeline for all calls (what the replayer
    // used to hand out): in some start orders the create's backoff ages the
    // wait's deadline, and the wait times out.
    let dir = std::env::temp_dir().join(format!("leap0-concurrent-shared-{}", std::process::id()));
    let (path, live) = record_live(&dir);
    let broken = orders(calls().len())
        .into_iter()
        .filter(|order| {
            let one_timeline = |_: &Replayer| leap0_core::transport::VirtualClock::new();
            let (replayed, _) = replay_on_tokio(&path, order, false, one_timeline);
            replayed != live
        })
        .count();
    assert!(
        broken > 0,
        "a shared jumping clock replayed every order exactly"
    );
    std::fs::remove_dir_all(&dir).ok();
}
