//! `serve::Server`: cassettes served over HTTP to clients that are not
//! leap0-rs, and the recording proxy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use leap0_core::{
    Config, CreateSnapshot, ListSnapshots, PauseIntoSnapshot, ResumeSnapshot, SnapshotsClient,
    WaitPolicy,
};
use leap0_emulator::{Emulator, EmulatorConfig};
use leap0_replay::serve::{MISS_HEADER, ServeError, ServeOptions, Server};
use leap0_replay::{
    Body, Cassette, CassetteError, Exhausted, Mode, RecordOptions, Recorder, ReplayOptions,
    Replayer,
};
use leap0_ureq::UreqTransport;
use serde_json::{Value, json};

const KEY: &str = "sk-live-serve-test-4242";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("leap0-serve-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(base_url: &str) -> Config {
    Config::builder()
        .api_key(KEY)
        .base_url(base_url)
        .wait(WaitPolicy::new(
            Duration::from_millis(2),
            Duration::from_secs(60),
        ))
        .build()
        .unwrap()
}

/// The lifecycle, as the Rust client sees it.
fn lifecycle(
    client: &SnapshotsClient<
        impl leap0_core::transport::Transport,
        impl leap0_core::transport::Clock,
    >,
) -> Vec<String> {
    let created = client
        .create(CreateSnapshot::new("sb-seed-1").name("warm"))
        .unwrap();
    let paused = client
        .pause(PauseIntoSnapshot::new("sb-seed-1").name("paused-1"))
        .unwrap();
    let resumed = client
        .resume_and_wait(ResumeSnapshot::new("warm").timeout_min(5))
        .unwrap();
    let listed = client.list(ListSnapshots::default()).unwrap();
    client.delete(&paused.id).unwrap();
    vec![
        format!("{created:?}"),
        format!("{paused:?}"),
        format!("{resumed:?}"),
        format!("{listed:?}"),
    ]
}

/// Records the lifecycle against a fresh emulator with the Rust client.
fn record_lifecycle(dir: &std::path::Path) -> (PathBuf, Vec<String>) {
    let emulator = Emulator::start_with(EmulatorConfig::default().api_key(KEY)).unwrap();
    let recorder = Recorder::new(UreqTransport::new(), RecordOptions::new().secret(KEY));
    let client = SnapshotsClient::new(
        config(&emulator.base_url()),
        recorder.clone(),
        leap0_ureq::SystemClock::new(),
    );
    let outcomes = lifecycle(&client);
    let path = dir.join("lifecycle.json");
    recorder.save(&path).unwrap();
    (path, outcomes)
}

/// One HTTP/1.1 answer: status, headers (lowercase names), body.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A raw keep-alive HTTP/1.1 client over `TcpStream`: no leap0-rs at all.
struct Raw {
    reader: BufReader<TcpStream>,
}

impl Raw {
    fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Raw {
            reader: BufReader::new(stream),
        }
    }

    fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Answer {
        let mut head = format!("{method} {target} HTTP/1.1\r\nhost: 127.0.0.1\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        self.read_answer()
    }

    fn read_answer(&mut self) -> Answer {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).unwrap();
        Answer {
            status,
            headers,
            body,
        }
    }
}

/// The official Python SDK's headers (reference/official-requests.json), in
/// another order than ours, plus extra ones that differ between clients.
fn python_headers() -> Vec<(&'static str, &'static str)> {
    vec![
        ("user-agent", "leap0-python/0.5.1"),
        ("accept-encoding", "gzip, deflate"),
        ("leap0-sdk-version", "0.5.1"),
        ("accept", "*/*"),
        ("leap0-source", "sdk-python"),
        ("authorization", "Bearer some-other-key"),
        ("content-type", "application/json"),
    ]
}

fn body_bytes(body: &Option<Body>) -> Vec<u8> {
    match body {
        None => Vec::new(),
        Some(Body::Json(v)) => serde_json::to_vec(v).unwrap(),
        Some(Body::Text(t)) => t.clone().into_bytes(),
        Some(other) => panic!("unexpected body {other:?}"),
    }
}

#[test]
fn a_served_cassette_answers_other_clients_as_recorded() {
    let dir = temp_dir("replay");
    let (path, _) = record_lifecycle(&dir);
    let cassette = Cassette::load(&path).unwrap();
    assert!(cassette.interactions.len() >= 6);
    let replayer = Replayer::from_file(&path, ReplayOptions::default()).unwrap();
    let server = Server::replay(replayer, ServeOptions::default()).unwrap();

    // Twice: the Python SDK's headers, then (after a reset) another user
    // agent, the key in x-api-key, and no accept headers.
    let other_headers: Vec<(&str, &str)> = vec![
        ("x-api-key", "whatever"),
        ("content-type", "application/json"),
        ("user-agent", "curl/8.5.0"),
        ("connection", "keep-alive"),
    ];
    for headers in [python_headers(), other_headers] {
        let mut client = Raw::connect(server.addr());
        for x in &cassette.interactions {
            let answer = client.send(
                &x.request.method,
                &x.request.target,
                &headers,
                &body_bytes(&x.request.body),
            );
            let recorded = x.response.as_ref().unwrap();
            assert_eq!(answer.status, recorded.status, "{}", x.request.target);
            assert_eq!(
                answer.body,
                body_bytes(&recorded.body),
                "{}",
                x.request.target
            );
            for (name, value) in &recorded.headers {
                if name != "content-length" {
                    assert_eq!(answer.header(name), Some(value.as_str()), "header {name}");
                }
            }
        }
        let verify = client.send("GET", "/_leap0/verify", &[], b"");
        assert_eq!(
            verify.status,
            200,
            "{}",
            String::from_utf8_lossy(&verify.body)
        );
        assert_eq!(client.send("POST", "/_leap0/reset", &[], b"").status, 200);
    }

    // A changed body field: 418, naming the field.
    let mut client = Raw::connect(server.addr());
    let create = &cassette.interactions[0];
    let mut body = match &create.request.body {
        Some(Body::Json(v)) => v.clone(),
        other => panic!("{other:?}"),
    };
    body["name"] = json!("cold");
    let miss = client.send(
        "POST",
        &create.request.target,
        &python_headers(),
        body.to_string().as_bytes(),
    );
    assert_eq!(miss.status, 418);
    assert_eq!(
        miss.header("content-type"),
        Some("application/problem+json")
    );
    let report = miss.json();
    assert_eq!(report["operation"], "create_snapshot");
    assert_eq!(report["request"]["method"], "POST");
    let difference = &report["candidates"][0]["differences"][0];
    assert_eq!(difference["field"], "body.name");
    assert_eq!(difference["recorded"], "\"warm\"");
    assert_eq!(difference["got"], "\"cold\"");
    assert!(miss.header(MISS_HEADER).unwrap().contains("body.name"));

    // Verify now fails: every interaction unused (after the reset), one miss.
    let verify = client.send("GET", "/_leap0/verify", &[], b"");
    assert_eq!(verify.status, 409);
    let verify = verify.json();
    assert_eq!(verify["misses"].as_array().unwrap().len(), 1);
    assert_eq!(
        verify["unused"].as_array().unwrap().len(),
        cassette.interactions.len()
    );

    // A key used up: the queue position.
    let delete = cassette.interactions.last().unwrap();
    for _ in 0..1 {
        let answer = client.send(
            &delete.request.method,
            &delete.request.target,
            &python_headers(),
            b"",
        );
        assert_eq!(answer.status, 204);
    }
    let beyond = client.send(
        &delete.request.method,
        &delete.request.target,
        &python_headers(),
        b"",
    );
    assert_eq!(beyond.status, 418);
    let summary = beyond.header(MISS_HEADER).unwrap().to_owned();
    assert_eq!(
        summary, "2nd DELETE /v1/snapshot/{snapshot_id}; the cassette holds 1",
        "{summary}"
    );
    assert_eq!(beyond.json()["queue"]["position"], 2);
    let again = client.send(
        &delete.request.method,
        &delete.request.target,
        &python_headers(),
        b"",
    );
    assert!(again.header(MISS_HEADER).unwrap().starts_with("3rd DELETE"));

    // Missing key, unknown route, journal, health.
    let unauthorized = client.send("GET", "/v1/snapshots", &[("user-agent", "x")], b"");
    assert_eq!(unauthorized.status, 401);
    let unknown = client.send("GET", "/v2/nothing", &python_headers(), b"");
    assert_eq!(unknown.status, 418);
    assert_eq!(unknown.json()["operation"], Value::Null);
    let journal = client.send("GET", "/_leap0/journal", &[], b"").json();
    let outcomes: Vec<&str> = journal["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert!(
        outcomes.contains(&"hit")
            && outcomes.contains(&"miss")
            && outcomes.contains(&"unauthorized")
    );
    assert_eq!(client.send("GET", "/_leap0/health", &[], b"").status, 200);
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_proxy_records_other_clients_for_the_rust_client() {
    let dir = temp_dir("proxy");
    // The requests the Rust client makes, to script a client that is not ours.
    let (script_path, _) = record_lifecycle(&dir);
    let script = Cassette::load(&script_path).unwrap();

    let emulator = Emulator::start_with(EmulatorConfig::default().api_key(KEY)).unwrap();
    let path = dir.join("proxied.json");
    let server = Server::record(
        &path,
        Mode::ReRecordAll,
        &emulator.base_url(),
        UreqTransport::new(),
        RecordOptions::new(),
        ServeOptions::default(),
    )
    .unwrap();
    // A second recording of the same file is refused by the lock.
    let second = Server::record(
        &path,
        Mode::Append,
        &emulator.base_url(),
        UreqTransport::new(),
        RecordOptions::new(),
        ServeOptions::default(),
    );
    assert!(matches!(
        second,
        Err(ServeError::Cassette(CassetteError::Locked { .. }))
    ));

    let bearer = format!("Bearer {KEY}");
    let headers = [
        ("authorization", bearer.as_str()),
        ("user-agent", "leap0-python/0.5.1"),
        ("leap0-source", "sdk-python"),
        ("content-type", "application/json"),
    ];
    let mut client = Raw::connect(server.addr());
    let mut created_id = String::new();
    let mut last_poll: Option<String> = None;
    for x in &script.interactions {
        let op = x.operation.map(|o| o.name()).unwrap_or_default();
        if op == "get_sandbox" {
            // Poll until running, however often that takes now.
            if last_poll.as_deref() == Some(x.request.target.as_str()) {
                continue;
            }
            last_poll = Some(x.request.target.clone());
            for _ in 0..500 {
                let answer = client.send("GET", &x.request.target, &headers, b"");
                assert_eq!(answer.status, 200);
                if answer.json()["state"] == "running" {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            continue;
        }
        let target = if op == "delete_snapshot" {
            format!("/v1/snapshot/{created_id}")
        } else {
            x.request.target.clone()
        };
        let answer = client.send(
            &x.request.method,
            &target,
            &headers,
            &body_bytes(&x.request.body),
        );
        assert!(answer.status < 300, "{target}: {}", answer.status);
        if op == "pause_into_snapshot" {
            created_id = answer.json()["id"].as_str().unwrap().to_owned();
        }
    }
    let saved = client.send("POST", "/_leap0/save", &[], b"");
    assert_eq!(
        saved.status,
        200,
        "{}",
        String::from_utf8_lossy(&saved.body)
    );
    server.stop();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(KEY), "the key was written");
    assert!(text.contains("<redacted>"));

    // The Rust client replays it in-process, using every interaction.
    let replayer = Replayer::from_file(&path, ReplayOptions::default()).unwrap();
    let client = SnapshotsClient::new(
        config("https://api.leap0.dev"),
        replayer.clone(),
        replayer.clock(),
    );
    let outcomes = lifecycle(&client);
    assert!(outcomes[1].contains(&created_id), "{}", outcomes[1]);
    replayer.finish().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A cassette of `n` answers to one status poll, each naming its place.
fn poll_cassette(n: usize) -> Vec<u8> {
    let interactions: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "operation": "get_sandbox",
                "request": { "method": "GET", "target": "/v1/sandbox/sb-1/", "headers": {} },
                "response": { "status": 200, "headers": { "content-type": "application/json" },
                              "body": { "json": { "id": "sb-1", "state": "starting", "seq": i } } },
                "latency_ms": 0
            })
        })
        .collect();
    serde_json::to_vec(&json!({
        "version": 1,
        "meta": { "crate_version": "0.1.0", "recorded_at": "2025-01-15T10:30:00Z", "base_path": "" },
        "interactions": interactions,
    }))
    .unwrap()
}

#[test]
fn parallel_clients_get_each_answer_once_in_order() {
    const CLIENTS: usize = 16;
    const EACH: usize = 8;
    let replayer =
        Replayer::from_slice(&poll_cassette(CLIENTS * EACH), ReplayOptions::default()).unwrap();
    let server = Server::replay(replayer, ServeOptions::default()).unwrap();
    let addr = server.addr();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            std::thread::spawn(move || {
                let mut client = Raw::connect(addr);
                (0..EACH)
                    .map(|_| {
                        let answer =
                            client.send("GET", "/v1/sandbox/sb-1/", &[("authorization", "k")], b"");
                        assert_eq!(answer.status, 200);
                        answer.json()["seq"].as_u64().unwrap()
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut all = BTreeSet::new();
    for thread in threads {
        let seqs = thread.join().unwrap();
        // Each client's polls come back in recorded order.
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        for seq in seqs {
            assert!(all.insert(seq), "answer {seq} given twice");
        }
    }
    assert_eq!(all.len(), CLIENTS * EACH, "a request was lost");
    server.verify().unwrap();
    server.stop();
}

#[test]
fn bad_input_is_answered_and_the_server_keeps_serving() {
    let replayer = Replayer::from_slice(
        &poll_cassette(1),
        ReplayOptions::default().on_exhausted(Exhausted::RepeatLast),
    )
    .unwrap();
    let server = Server::replay(replayer, ServeOptions::default()).unwrap();
    let addr = server.addr();

    // A truncated request: the body is shorter than announced, then the client stops.
    {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"POST /v1/sandbox/sb-1/snapshot/create HTTP/1.1\r\nauthorization: k\r\ncontent-length: 100\r\n\r\n{\"na")
            .unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        let text = String::from_utf8_lossy(&rest);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 400"),
            "{text}"
        );
    }
    // Not HTTP at all.
    {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(b"\x00\x01garbage\r\n\r\n").unwrap();
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        let text = String::from_utf8_lossy(&rest);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 400"),
            "{text}"
        );
    }
    // A 10 MB body: 413.
    {
        let mut client = Raw::connect(addr);
        let body = vec![b'a'; 10 * 1024 * 1024];
        let head = format!(
            "POST /v1/sandbox/sb-1/snapshot/create HTTP/1.1\r\nauthorization: k\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let mut writer = client.reader.get_ref().try_clone().unwrap();
        let sender = std::thread::spawn(move || {
            let _ = writer.write_all(head.as_bytes());
            let _ = writer.write_all(&body);
        });
        let answer = client.read_answer();
        assert_eq!(answer.status, 413);
        let _ = sender.join();
    }
    // A missing or empty key: 401, as from the API.
    let mut client = Raw::connect(addr);
    assert_eq!(
        client.send("GET", "/v1/sandbox/sb-1/", &[], b"").status,
        401
    );
    assert_eq!(
        client
            .send(
                "GET",
                "/v1/sandbox/sb-1/",
                &[("authorization", "Bearer ")],
                b""
            )
            .status,
        401
    );
    // Still serving; RepeatLast answers again and again.
    for _ in 0..3 {
        let answer = client.send("GET", "/v1/sandbox/sb-1/", &[("x-api-key", "k")], b"");
        assert_eq!(answer.status, 200);
    }
    assert_eq!(client.send("GET", "/_leap0/health", &[], b"").status, 200);
    server.stop();
}
