//! leap0-ureq and leap0-hyper against raw ureq and raw hyper-util, in one run,
//! on the same loopback server and the same request bytes: median latency and
//! CPU time per call, one call at a time and with 16 in flight, and the ratio
//! of each leap0 transport to its raw client. Run with
//! `cargo bench -p leap0-conformance --bench transports`.
//!
//! CPU time is the client threads' own (`/proc/thread-self/schedstat`); the
//! server runs on threads of its own, which are not counted. Both hyper
//! clients run on a current-thread runtime, so that all their work is on the
//! measuring thread.
#![allow(
    missing_docs,
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use leap0_core::transport::{AsyncTransport, Request, Transport};
use leap0_core::{Config, CreateSnapshot, Exchange};
use leap0_hyper::HyperTransport;
use leap0_testkit::raw_server::{json_response, serve_many};
use leap0_ureq::UreqTransport;

const SNAPSHOT: &str = r#"{"id":"snap_0123456789abcdef","name":"warm","template_id":"tpl_0000000000000001","vcpu":2,"memory":2048,"disk":10240,"created_at":"2025-01-15T10:30:00Z"}"#;
const CALLS: usize = 8_000;
/// Rounds of each client, alternating.
const ROUNDS: usize = 8;
const IN_FLIGHT: usize = 16;
/// The per-call timeout a client with the default configuration passes.
const TIMEOUT: Duration = leap0_core::config::DEFAULT_TIMEOUT;

/// CPU time this thread has used.
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let nanos = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(nanos)
}

/// Latencies and CPU time of a run.
#[derive(Default)]
struct Run {
    latencies: Vec<Duration>,
    cpu: Duration,
}

impl Run {
    fn merge(mut self, other: Run) -> Run {
        self.latencies.extend(other.latencies);
        self.cpu += other.cpu;
        self
    }

    fn p50(&mut self) -> Duration {
        self.latencies.sort_unstable();
        self.latencies
            .get(self.latencies.len() / 2)
            .copied()
            .unwrap_or_default()
    }

    fn cpu_per_call(&self) -> Duration {
        self.cpu / u32::try_from(self.latencies.len().max(1)).unwrap()
    }
}

/// `calls` calls of `call`, one at a time, after a warm-up.
fn sequential(calls: usize, mut call: impl FnMut()) -> Run {
    for _ in 0..calls / 10 {
        call();
    }
    let cpu = thread_cpu();
    let mut latencies = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        call();
        latencies.push(started.elapsed());
    }
    Run {
        latencies,
        cpu: thread_cpu() - cpu,
    }
}

/// `calls` calls spread over `IN_FLIGHT` threads that share one client.
fn threaded(calls: usize, call: impl Fn() + Sync) -> Run {
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..IN_FLIGHT)
            .map(|_| scope.spawn(|| sequential(calls / IN_FLIGHT, &call)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .fold(Run::default(), Run::merge)
    })
}

/// `calls` calls of the future `call` makes, one at a time, on `runtime`.
fn sequential_async<F: Future<Output = ()>>(
    runtime: &tokio::runtime::Runtime,
    calls: usize,
    call: impl Fn() -> F,
) -> Run {
    runtime.block_on(async {
        for _ in 0..calls / 10 {
            call().await;
        }
        let cpu = thread_cpu();
        let mut latencies = Vec::with_capacity(calls);
        for _ in 0..calls {
            let started = Instant::now();
            call().await;
            latencies.push(started.elapsed());
        }
        Run {
            latencies,
            cpu: thread_cpu() - cpu,
        }
    })
}

/// `calls` calls with `IN_FLIGHT` of them outstanding at any time, as tasks on
/// `runtime` (a current-thread runtime: all on this thread).
fn in_flight_async<F>(
    runtime: &tokio::runtime::Runtime,
    calls: usize,
    call: impl Fn() -> F + Clone + Send + 'static,
) -> Run
where
    F: Future<Output = ()> + Send + 'static,
{
    runtime.block_on(async {
        let cpu = thread_cpu();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..IN_FLIGHT {
            let call = call.clone();
            tasks.spawn(async move {
                let mut latencies = Vec::with_capacity(calls / IN_FLIGHT);
                for _ in 0..calls / IN_FLIGHT {
                    let started = Instant::now();
                    call().await;
                    latencies.push(started.elapsed());
                }
                latencies
            });
        }
        let mut run = Run::default();
        while let Some(latencies) = tasks.join_next().await {
            run.latencies.extend(latencies.unwrap());
        }
        run.cpu = thread_cpu() - cpu;
        run
    })
}

/// Runs `leap0` and `raw` in alternating rounds (so that a drift of the
/// machine's speed affects both alike) and reports the two.
fn compare(what: &str, mut leap0: impl FnMut(usize) -> Run, mut raw: impl FnMut(usize) -> Run) {
    let (mut ours, mut theirs) = (Run::default(), Run::default());
    for _ in 0..ROUNDS {
        ours = ours.merge(leap0(CALLS / ROUNDS));
        theirs = theirs.merge(raw(CALLS / ROUNDS));
    }
    report(what, &mut ours, &mut theirs);
}

fn report(what: &str, leap0: &mut Run, raw: &mut Run) {
    let (p50, raw_p50) = (leap0.p50(), raw.p50());
    let (cpu, raw_cpu) = (leap0.cpu_per_call(), raw.cpu_per_call());
    println!(
        "{what:<34} p50 {:>7.1} µs vs raw {:>7.1} µs ({:.2}x)   CPU/call {:>6.1} µs vs raw {:>6.1} µs ({:.2}x)",
        p50.as_secs_f64() * 1e6,
        raw_p50.as_secs_f64() * 1e6,
        p50.as_secs_f64() / raw_p50.as_secs_f64(),
        cpu.as_secs_f64() * 1e6,
        raw_cpu.as_secs_f64() * 1e6,
        cpu.as_secs_f64() / raw_cpu.as_secs_f64(),
    );
}

fn main() {
    let (addr, _) = serve_many(|_| json_response(201, SNAPSHOT));
    let config = Config::builder()
        .api_key("bench-key")
        .base_url(format!("http://{addr}"))
        .build()
        .unwrap();
    // The same bytes for every client: the request the core builds for a create.
    let request: Request = CreateSnapshot::new("sb-0123456789abcdef")
        .name("warm")
        .request(&config)
        .unwrap();
    let expect_created = |status: u16, body: &[u8]| {
        assert_eq!((status, body.len()), (201, SNAPSHOT.len()));
    };

    // Blocking: leap0-ureq, and raw ureq configured alike (the same pool sizes,
    // no redirects, no automatic headers) but with no timeouts: with any, ureq's
    // own resolver spends a thread per call (which leap0-ureq's resolver does
    // not), and raw ureq would look 2 to 3 times slower than it can be. So the
    // ratio includes what leap0-ureq's timeouts cost.
    let ours = UreqTransport::new();
    let raw: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(ureq::config::AutoHeaderValue::None)
        .accept(ureq::config::AutoHeaderValue::None)
        .accept_encoding(ureq::config::AutoHeaderValue::None)
        .max_idle_connections(leap0_ureq::DEFAULT_MAX_IDLE)
        .max_idle_connections_per_host(leap0_ureq::DEFAULT_MAX_IDLE_PER_HOST)
        .build()
        .into();
    let leap0_call = || {
        let response = ours.send(request.clone(), TIMEOUT).unwrap();
        expect_created(response.status().as_u16(), response.body());
    };
    let raw_call = || {
        let mut response = raw.run(request.clone()).unwrap();
        let body = response.body_mut().read_to_vec().unwrap();
        expect_created(response.status().as_u16(), &body);
    };
    compare(
        "ureq, sequential",
        |n| sequential(n, leap0_call),
        |n| sequential(n, raw_call),
    );
    compare(
        &format!("ureq, {IN_FLIGHT} threads"),
        |n| threaded(n, leap0_call),
        |n| threaded(n, raw_call),
    );

    // Async: leap0-hyper and raw hyper-util's pooled client.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ours = Arc::new(runtime.block_on(async { HyperTransport::new() }));
    let raw: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let request = Arc::new(request);
    let leap0_call = {
        let (ours, request) = (Arc::clone(&ours), Arc::clone(&request));
        move || {
            let (ours, request) = (Arc::clone(&ours), Request::clone(&request));
            async move {
                let response = ours.send(request, TIMEOUT).await.unwrap();
                expect_created(response.status().as_u16(), response.body());
            }
        }
    };
    let raw_call = {
        let (raw, request) = (raw.clone(), Arc::clone(&request));
        move || {
            let raw = raw.clone();
            let request = Request::clone(&request).map(|body| Full::new(Bytes::from(body)));
            async move {
                let response = raw.request(request).await.unwrap();
                let status = response.status().as_u16();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                expect_created(status, &body);
            }
        }
    };
    compare(
        "hyper, sequential",
        |n| sequential_async(&runtime, n, &leap0_call),
        |n| sequential_async(&runtime, n, &raw_call),
    );
    // Warm both pools to the same size before the concurrent runs.
    in_flight_async(&runtime, IN_FLIGHT * 10, leap0_call.clone());
    in_flight_async(&runtime, IN_FLIGHT * 10, raw_call.clone());
    compare(
        &format!("hyper, {IN_FLIGHT} in flight"),
        |n| in_flight_async(&runtime, n, leap0_call.clone()),
        |n| in_flight_async(&runtime, n, raw_call.clone()),
    );
    println!("(the core's own cost per operation: cargo bench -p leap0-core)");
}
