//! leap0's clients against the raw HTTP clients under them, in one run, on the
//! same loopback server and the same request bytes; then the core's hot path
//! and a large cassette's load. Run with
//! `cargo bench -p leap0-conformance --bench transports`.
//!
//! Each transport row runs both sides in interleaved rounds (the side going
//! first alternating), so that a drift of this machine's speed touches both
//! alike, and reports the median of the per-round throughput ratios (leap0 /
//! raw: above 1 is faster), with both sides' throughput, p50 and p99.
//!
//! - leap0-ureq: one `UreqTransport` shared by the threads, against one raw
//!   ureq 3 `Agent` with the same pool settings;
//! - leap0-hyper: clones of one `HyperTransport` in tokio tasks on a 2-worker
//!   runtime, against clones of one raw hyper-util
//!   `Client<HttpConnector, Full<Bytes>>` with TCP_NODELAY.
//!
//! Both sides send the same request bytes, prepared once, and read the
//! answer's body. The "client" rows, for information, put the whole client
//! call a program makes on leap0's side (`client.create(..)`: the request
//! built, sent, answered and decoded, under the retry machine), against the
//! same raw call: the difference is the core's work, which the core rows
//! measure alone.
//!
//! `LEAP0_BENCH_ROWS=hyper` (or any part of a row's name) runs only those
//! rows; the core and cassette rows run when it names `core`.
//! `LEAP0_BENCH_SIDE=leap0` (or `raw`) runs one side of each row only, for
//! a profiler, and `LEAP0_BENCH_CALLS` sets the calls per round (3,000).
#![allow(
    missing_docs,
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used
)]

#[path = "../../transports/replay/benches/workload/mod.rs"]
mod workload;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use leap0_conformance::hot_path::{
    CREATED as SNAPSHOT, create, request_and_parse, retry_round_trip,
};
use leap0_core::transport::{AsyncTransport, Request, Transport};
use leap0_core::{Config, Exchange};
use leap0_hyper::HyperTransport;
use leap0_testkit::raw_server::{json_response, serve_many};
use leap0_ureq::UreqTransport;
/// Interleaved rounds per row.
const ROUNDS: usize = 11;
/// The per-call timeout a client with the default configuration passes.
const TIMEOUT: Duration = leap0_core::config::DEFAULT_TIMEOUT;
/// Calls per side per round, unless `LEAP0_BENCH_CALLS` says otherwise.
fn calls() -> usize {
    std::env::var("LEAP0_BENCH_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3_000)
}

fn expect_created(status: u16, body: &[u8]) {
    assert_eq!((status, body.len()), (201, SNAPSHOT.len()));
}

/// One side's round: each call's latency, the round's wall time, and the CPU
/// time the whole process spent in it (the server's threads included, which
/// do the same work for both sides).
#[derive(Default)]
struct Run {
    latencies: Vec<Duration>,
    wall: Duration,
    cpu: Duration,
}

/// The CPU time this process has used (its threads, living and ended), from
/// `/proc/self/stat` in ticks of 10 ms (Linux's fixed USER_HZ of 100).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command (in parentheses, which may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|n| n.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Measures one side's round: `run` returns the latencies.
fn timed(run: impl FnOnce() -> Vec<Duration>) -> Run {
    let (cpu, started) = (process_cpu(), Instant::now());
    let latencies = run();
    Run {
        latencies,
        wall: started.elapsed(),
        cpu: process_cpu().saturating_sub(cpu),
    }
}

impl Run {
    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64()
    }

    fn cpu_per_call(&self) -> Duration {
        self.cpu / u32::try_from(self.latencies.len().max(1)).unwrap_or(u32::MAX)
    }

    fn merge(&mut self, other: Run) {
        self.latencies.extend(other.latencies);
        self.wall += other.wall;
        self.cpu += other.cpu;
    }

    fn quantile(&mut self, q: f64) -> Duration {
        self.latencies.sort_unstable();
        let last = self.latencies.len().saturating_sub(1);
        let at = ((last as f64) * q).round() as usize;
        self.latencies.get(at).copied().unwrap_or_default()
    }
}

/// `calls` calls of `call` spread over `threads` threads.
fn threads(threads: usize, calls: usize, call: impl Fn() + Sync) -> Run {
    timed(|| {
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        (0..calls / threads)
                            .map(|_| {
                                let started = Instant::now();
                                call();
                                started.elapsed()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect()
        })
    })
}

/// `calls` calls of the futures `call` makes, in `tasks` tasks on `runtime`.
fn tasks<F>(
    runtime: &tokio::runtime::Runtime,
    tasks: usize,
    calls: usize,
    call: impl Fn() -> F + Clone + Send + 'static,
) -> Run
where
    F: Future<Output = ()> + Send + 'static,
{
    timed(|| {
        runtime.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..tasks {
                let call = call.clone();
                set.spawn(async move {
                    let mut latencies = Vec::with_capacity(calls / tasks);
                    for _ in 0..calls / tasks {
                        let started = Instant::now();
                        call().await;
                        latencies.push(started.elapsed());
                    }
                    latencies
                });
            }
            let mut latencies = Vec::with_capacity(calls);
            while let Some(done) = set.join_next().await {
                latencies.extend(done.unwrap());
            }
            latencies
        })
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Whether to run `row`: every row unless `LEAP0_BENCH_ROWS` names others
/// (a row runs when its name contains that text, e.g. `hyper` or `64 tasks`).
fn wanted(row: &str) -> bool {
    std::env::var("LEAP0_BENCH_ROWS").map_or(true, |only| row.contains(only.as_str()))
}

/// Runs `leap0` and `raw` in interleaved rounds and prints the row.
fn compare(
    row: &str,
    goal: Option<f64>,
    mut leap0: impl FnMut() -> Run,
    mut raw: impl FnMut() -> Run,
) {
    if !wanted(row) {
        return;
    }
    // For a profiler: one side only, as many times as a comparison runs it.
    match std::env::var("LEAP0_BENCH_SIDE").as_deref() {
        Ok("leap0") => return (0..=ROUNDS).for_each(|_| drop(leap0())),
        Ok("raw") => return (0..=ROUNDS).for_each(|_| drop(raw())),
        _ => {}
    }
    // A warm-up of each: pools filled, code paged in.
    leap0();
    raw();
    let (mut ours, mut theirs) = (Run::default(), Run::default());
    let mut ratios = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let (a, b) = if round % 2 == 0 {
            let a = leap0();
            (a, raw())
        } else {
            let b = raw();
            (leap0(), b)
        };
        ratios.push(a.throughput() / b.throughput());
        ours.merge(a);
        theirs.merge(b);
    }
    let (low, high) = (
        ratios.iter().copied().fold(f64::MAX, f64::min),
        ratios.iter().copied().fold(f64::MIN, f64::max),
    );
    let ratio = median(ratios);
    let verdict = match goal {
        Some(goal) if ratio >= goal => format!("goal >= {goal:.2}x: met"),
        Some(goal) => format!("goal >= {goal:.2}x: NOT met"),
        None => "for information".to_owned(),
    };
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{row:<23} {ratio:>5.2}x (rounds {low:.2}-{high:.2}; {verdict})\n{:<6} leap0 {:>7.0} calls/s p50 {:>6.1} µs p99 {:>7.1} µs CPU/call {:>5.1} µs | raw {:>7.0} calls/s p50 {:>6.1} µs p99 {:>7.1} µs CPU/call {:>5.1} µs",
        "",
        ours.throughput(),
        micros(ours.quantile(0.5)),
        micros(ours.quantile(0.99)),
        micros(ours.cpu_per_call()),
        theirs.throughput(),
        micros(theirs.quantile(0.5)),
        micros(theirs.quantile(0.99)),
        micros(theirs.cpu_per_call()),
    );
}

/// The fastest of five rounds of `f`, per call.
fn per_op(iterations: u32, mut f: impl FnMut()) -> Duration {
    for _ in 0..iterations / 10 {
        f();
    }
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        for _ in 0..iterations / 5 {
            f();
        }
        best = best.min(started.elapsed() / (iterations / 5));
    }
    best
}

/// The hot path's allocations per call, counted by the `count_allocations`
/// binary (a counting allocator here would slow every comparison above).
fn allocations() -> Vec<(String, f64)> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_count_allocations"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (name, count) = line.split_once(' ')?;
            Some((name.to_owned(), count.parse().ok()?))
        })
        .collect()
}

fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    if workload::answered_load_only() {
        return;
    }
    println!("load average at start: {}", load_average());
    let (addr, _) = serve_many(|_| json_response(201, SNAPSHOT));
    let config = Config::builder()
        .api_key("bench-key")
        .base_url(format!("http://{addr}"))
        .build()
        .unwrap();
    // The same bytes for every client: the request the core builds for a create.
    let request: Request = create().request(&config).unwrap();

    // ---- blocking: leap0-ureq and raw ureq ----
    let transport = UreqTransport::new();
    let client = leap0_ureq::client(config.clone());
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
    let transport_call = || {
        let response = transport.send(request.clone(), TIMEOUT).unwrap();
        expect_created(response.status().as_u16(), response.body());
    };
    let client_call = || {
        black_box(client.create(create()).unwrap());
    };
    let raw_call = || {
        let mut response = raw.run(request.clone()).unwrap();
        let body = response.body_mut().read_to_vec().unwrap();
        expect_created(response.status().as_u16(), &body);
    };
    for n in [1, 16] {
        compare(
            &format!("ureq, {n} thread{}", if n == 1 { "" } else { "s" }),
            Some(0.95),
            || threads(n, calls(), transport_call),
            || threads(n, calls(), raw_call),
        );
    }
    compare(
        "ureq client, 16 threads",
        None,
        || threads(16, calls(), client_call),
        || threads(16, calls(), raw_call),
    );

    // ---- async: leap0-hyper and raw hyper-util, 2 workers ----
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (transport, client) =
        runtime.block_on(async { (HyperTransport::new(), leap0_hyper::client(config.clone())) });
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let raw: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let request = Arc::new(request);
    let transport_call = {
        let request = Arc::clone(&request);
        move || {
            let (transport, request) = (transport.clone(), Request::clone(&request));
            async move {
                let response = transport.send(request, TIMEOUT).await.unwrap();
                expect_created(response.status().as_u16(), response.body());
            }
        }
    };
    let client_call = move || {
        let client = client.clone();
        async move {
            black_box(client.create(create()).await.unwrap());
        }
    };
    let raw_call = move || {
        let raw = raw.clone();
        let request = Request::clone(&request).map(|body| Full::new(Bytes::from(body)));
        async move {
            let response = raw.request(request).await.unwrap();
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            expect_created(status, &body);
        }
    };
    for n in [1, 16, 64] {
        compare(
            &format!("hyper, {n} task{}", if n == 1 { "" } else { "s" }),
            Some(0.95),
            || tasks(&runtime, n, calls(), transport_call.clone()),
            || tasks(&runtime, n, calls(), raw_call.clone()),
        );
    }
    compare(
        "hyper client, 64 tasks",
        None,
        || tasks(&runtime, 64, calls(), client_call.clone()),
        || tasks(&runtime, 64, calls(), raw_call.clone()),
    );
    drop(runtime);

    // ---- the core's hot path ----
    if !wanted("core") {
        return;
    }
    let config = Config::new("bench-key").unwrap();
    let input = create();
    let counted = allocations();
    let count = |name: &str| {
        counted
            .iter()
            .find(|(n, _)| n == name)
            .map_or(f64::NAN, |(_, c)| *c)
    };
    let time = per_op(200_000, || request_and_parse(&input, &config).unwrap());
    println!(
        "core: CreateSnapshot::request + parse(201)    {:>5} ns, {:.0} allocations (goal <= 800 ns, <= 8 allocations)",
        time.as_nanos(),
        count("request_and_parse")
    );
    let time = per_op(200_000, || retry_round_trip(&config).unwrap());
    println!(
        "core: Retry::new, poll, 201, poll to Done      {:>5} ns, {:.0} allocations (goal <= 900 ns)",
        time.as_nanos(),
        count("retry_round_trip")
    );

    // ---- a large cassette's load ----
    let dir = std::env::temp_dir().join(format!("leap0-transports-bench-{}", std::process::id()));
    let path = dir.join("10k.json");
    workload::record(&Config::new(workload::KEY).unwrap(), 10_000, &path);
    let size = std::fs::metadata(&path).unwrap().len();
    let load = workload::load_in_a_fresh_process(&path);
    println!(
        "replay: Replayer::from_file, 10k interactions ({:.1} MB)   {:.1} ms (goal <= 30 ms)",
        size as f64 / 1e6,
        load.as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(&dir);
    println!("load average at end: {}", load_average());
}
