//! `serve::Server` throughput: hits/s with 16 keep-alive connections on a
//! 10k-interaction cassette (mixed keys, the first, the last), p99 latency,
//! beside a fixed-answer hyper server in the same run, and the time from exec
//! to the first stdout line of `leap0 cassette serve` on that cassette.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use leap0_replay::serve::{ServeOptions, Server};
use leap0_replay::{Exhausted, ReplayOptions, Replayer};

const CONNECTIONS: usize = 16;
const INTERACTIONS: usize = 10_000;
const RUN: Duration = Duration::from_millis(600);
/// Rounds of the four loads, interleaved, so that the machine's drift hits all alike.
const ROUNDS: usize = 5;

fn cassette() -> Vec<u8> {
    let mut text = String::from(
        r#"{"version":1,"meta":{"crate_version":"0.1.0","recorded_at":"2025-01-15T10:30:00Z","base_path":""},"interactions":["#,
    );
    for i in 0..INTERACTIONS {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            r#"{{"operation":"get_sandbox","request":{{"method":"GET","target":"/v1/sandbox/sb-{i}/","headers":{{}}}},"response":{{"status":200,"headers":{{"content-type":"application/json"}},"body":{{"json":{{"id":"sb-{i}","state":"running"}}}}}},"latency_ms":0}}"#
        ));
    }
    text.push_str("]}");
    text.into_bytes()
}

/// Runs CONNECTIONS keep-alive clients for RUN; returns hits/s and p99.
fn load(addr: SocketAddr, targets: impl Fn(usize) -> String + Sync) -> (f64, Duration) {
    let started = Instant::now();
    let results: Vec<Vec<Duration>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CONNECTIONS)
            .map(|c| {
                let targets = &targets;
                scope.spawn(move || {
                    let stream = TcpStream::connect(addr).unwrap();
                    stream.set_nodelay(true).unwrap();
                    let mut reader = BufReader::new(stream);
                    let mut latencies = Vec::new();
                    let mut n = c;
                    while started.elapsed() < RUN {
                        let head = format!(
                            "GET {} HTTP/1.1\r\nhost: x\r\nauthorization: k\r\n\r\n",
                            targets(n)
                        );
                        n += CONNECTIONS;
                        let sent = Instant::now();
                        reader.get_mut().write_all(head.as_bytes()).unwrap();
                        let mut length = 0;
                        let mut status = String::new();
                        reader.read_line(&mut status).unwrap();
                        assert!(status.contains(" 200 "), "{status}");
                        loop {
                            let mut line = String::new();
                            reader.read_line(&mut line).unwrap();
                            let line = line.trim_end();
                            if line.is_empty() {
                                break;
                            }
                            if let Some(v) =
                                line.to_ascii_lowercase().strip_prefix("content-length:")
                            {
                                length = v.trim().parse().unwrap();
                            }
                        }
                        let mut body = vec![0; length];
                        reader.read_exact(&mut body).unwrap();
                        latencies.push(sent.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = started.elapsed();
    let mut all: Vec<Duration> = results.into_iter().flatten().collect();
    all.sort();
    let p99 = all.get(all.len() * 99 / 100).copied().unwrap_or_default();
    (all.len() as f64 / elapsed.as_secs_f64(), p99)
}

/// A minimal hyper server answering a constant body, on the same kind of runtime.
fn fixed_server() -> (SocketAddr, std::sync::mpsc::Sender<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                if stopped.try_recv().is_ok() {
                    break;
                }
                let Ok(Ok((stream, _))) =
                    tokio::time::timeout(Duration::from_millis(50), listener.accept()).await
                else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_req| async {
                        let mut r = hyper::Response::new(Full::new(Bytes::from_static(
                            br#"{"id":"sb-1","state":"running"}"#,
                        )));
                        r.headers_mut()
                            .insert("content-type", "application/json".parse().unwrap());
                        Ok::<_, Infallible>(r)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    (addr, stop)
}

fn first_line_time(path: &std::path::Path) -> Option<(Duration, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
    let binary = ["release/leap0", "debug/leap0"]
        .iter()
        .map(|b| root.join(b))
        .find(|b| b.exists())?;
    let started = Instant::now();
    let mut child = std::process::Command::new(&binary)
        .args(["cassette", "serve"])
        .arg(path)
        .arg("--allow-unused")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take()?)
        .read_line(&mut line)
        .ok()?;
    let elapsed = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    Some((elapsed, binary.display().to_string()))
}

fn main() {
    let bytes = cassette();
    let path = std::env::temp_dir().join(format!("leap0-bench-serve-{}.json", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    let options = ReplayOptions::default()
        .on_exhausted(Exhausted::RepeatLast)
        .simulate_latency(false);
    let server = Server::replay(
        Replayer::from_slice(&bytes, options).unwrap(),
        ServeOptions::default(),
    )
    .unwrap();
    let (fixed, stop) = fixed_server();

    let last = INTERACTIONS - 1;
    // Each round measures the four loads back to back; a ratio is taken within
    // a round, and the median over rounds is reported.
    let mut rounds: Vec<[(f64, Duration); 4]> = Vec::new();
    let first_key = |_| "/v1/sandbox/sb-0/".to_owned();
    let last_key = move |_| format!("/v1/sandbox/sb-{last}/");
    for round in 0..ROUNDS {
        let fixed_load = load(fixed, |_| "/v1/sandbox/sb-1/".to_owned());
        let mixed = load(server.addr(), |n| {
            format!("/v1/sandbox/sb-{}/", n % INTERACTIONS)
        });
        // First and last take turns going first, so that neither gains from its place.
        let (first, last) = if round % 2 == 0 {
            let first = load(server.addr(), first_key);
            (first, load(server.addr(), last_key))
        } else {
            let last = load(server.addr(), last_key);
            (load(server.addr(), first_key), last)
        };
        rounds.push([fixed_load, mixed, first, last]);
    }
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let rate = |i: usize| median(rounds.iter().map(|r| r[i].0).collect());
    let p99 = |i: usize| {
        let mut all: Vec<Duration> = rounds.iter().map(|r| r[i].1).collect();
        all.sort();
        all[all.len() / 2]
    };
    let ratio = |i: usize, j: usize| median(rounds.iter().map(|r| r[i].0 / r[j].0).collect());
    println!(
        "{CONNECTIONS} keep-alive connections, {INTERACTIONS}-interaction cassette, RepeatLast; medians of {ROUNDS} interleaved rounds"
    );
    println!(
        "fixed-answer hyper server: {:>10.0} hits/s  p99 {:?}",
        rate(0),
        p99(0)
    );
    println!(
        "serve, mixed keys:         {:>10.0} hits/s  p99 {:?}  ({:.2}x fixed)",
        rate(1),
        p99(1),
        ratio(1, 0)
    );
    println!(
        "serve, first interaction:  {:>10.0} hits/s  p99 {:?}  ({:.2}x fixed)",
        rate(2),
        p99(2),
        ratio(2, 0)
    );
    println!(
        "serve, last interaction:   {:>10.0} hits/s  p99 {:?}  (last/first {:.2})",
        rate(3),
        p99(3),
        ratio(3, 2)
    );
    match first_line_time(&path) {
        Some((t, binary)) => println!("exec to first line ({binary}): {t:?}"),
        None => {
            let started = Instant::now();
            let replayer = Replayer::from_file(&path, ReplayOptions::default()).unwrap();
            let s = Server::replay(replayer, ServeOptions::default()).unwrap();
            println!(
                "no leap0 binary built: Server load+bind in-process: {:?}",
                started.elapsed()
            );
            s.stop();
        }
    }
    let _ = stop.send(());
    server.stop();
    let _ = std::fs::remove_file(&path);
}
