//! Observability: a span per operation, an event per attempt, never the key.
#![cfg(feature = "tracing")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use leap0_core::transport::{Request, Response, TransportError, VirtualClock};
use leap0_core::{Config, SnapshotsClient};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Collects every field of every span and event as text.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<String>>>);

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl Subscriber for Collect {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut line = format!("span {} ", span.metadata().name());
        span.record(&mut Line(&mut line));
        self.0.lock().unwrap().push(line);
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut line = "record ".to_owned();
        values.record(&mut Line(&mut line));
        self.0.lock().unwrap().push(line);
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = "event ".to_owned();
        event.record(&mut Line(&mut line));
        self.0.lock().unwrap().push(line);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn attempts_are_traced_without_the_key() {
    let collect = Collect::default();
    let lines = collect.0.clone();
    let calls_seen = Arc::new(Mutex::new(0));
    let counter = calls_seen.clone();
    let transport = move |_r: Request, _t: Duration| -> Result<Response, TransportError> {
        let mut n = counter.lock().unwrap();
        *n += 1;
        let status = if *n == 1 { 503 } else { 201 };
        Ok(http::Response::builder()
            .status(status)
            .header("retry-after", "1")
            .body(br#"{"id":"snap-1","name":"n"}"#.to_vec())
            .unwrap())
    };
    let config = Config::new("very-secret-key-123").unwrap();
    let client = SnapshotsClient::new(config, transport, VirtualClock::new());
    tracing::subscriber::with_default(collect, || client.create("sb-1").unwrap());
    assert_eq!(*calls_seen.lock().unwrap(), 2);

    let lines = lines.lock().unwrap();
    let all = lines.join("\n");
    assert!(!all.contains("very-secret"), "{all}");
    assert!(all.contains("operation=\"create_snapshot\""), "{all}");
    let answered: Vec<&String> = lines.iter().filter(|l| l.contains("answered")).collect();
    assert_eq!(answered.len(), 2, "{all}");
    assert!(answered[0].contains("status=503") && answered[0].contains("attempt=1"));
    assert!(answered[1].contains("status=201") && answered[1].contains("attempt=2"));
    assert!(answered[0].contains("route=\"/v1/sandbox/{sandbox_id}/snapshot/create\""));
    assert!(all.contains("delay_ms=1000"), "{all}");
}
