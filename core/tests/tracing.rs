//! Telemetry from the machines themselves: a machine driven by hand reports
//! the same span and events as the clients, with OpenTelemetry's HTTP client
//! field names, and never the key.
#![cfg(feature = "tracing")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use leap0_core::machine::{Action, Machine, WaitReason};
use leap0_core::transport::{Request, Response, TransportError, VirtualClock};
use leap0_core::{
    Call, CallOutput, Config, ListSnapshots, ResumeSnapshot, SnapshotsClient, Timestamp, WaitPolicy,
};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// One span or event, as the subscriber saw it.
#[derive(Debug, Clone)]
struct Seen {
    /// The span's name, or the event's message.
    name: String,
    /// The span an event belongs to (its explicit parent, else the span entered).
    parent: Option<u64>,
    fields: BTreeMap<String, String>,
}

impl Seen {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// Records every span and event with its fields and parent span.
#[derive(Clone, Default)]
struct Collect {
    spans: Arc<Mutex<BTreeMap<u64, Seen>>>,
    events: Arc<Mutex<Vec<Seen>>>,
    entered: Arc<Mutex<Vec<u64>>>,
    next: Arc<AtomicU64>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").replace('"', ""),
        );
    }
}

impl Subscriber for Collect {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut fields = BTreeMap::new();
        span.record(&mut Fields(&mut fields));
        let seen = Seen {
            name: span.metadata().name().to_owned(),
            parent: span.parent().map(Id::into_u64),
            fields,
        };
        self.spans.lock().unwrap().insert(id, seen);
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some(seen) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            values.record(&mut Fields(&mut seen.fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let parent = match event.parent() {
            Some(id) => Some(id.into_u64()),
            None => self.entered.lock().unwrap().last().copied(),
        };
        self.events.lock().unwrap().push(Seen {
            name: fields.remove("message").unwrap_or_default(),
            parent,
            fields,
        });
    }
    fn enter(&self, span: &Id) {
        self.entered.lock().unwrap().push(span.into_u64());
    }
    fn exit(&self, _: &Id) {
        self.entered.lock().unwrap().pop();
    }
}

impl Collect {
    /// The one span of the test, its id and what it recorded.
    fn only_span(&self) -> (u64, Seen) {
        let spans = self.spans.lock().unwrap();
        assert_eq!(spans.len(), 1, "one span per call: {spans:?}");
        let (id, seen) = spans.iter().next().unwrap();
        (*id, seen.clone())
    }

    fn events(&self, name: &str) -> Vec<Seen> {
        let events = self.events.lock().unwrap();
        events.iter().filter(|e| e.name == name).cloned().collect()
    }
}

fn reply(status: u16, headers: &[(&str, &str)], body: serde_json::Value) -> Response {
    let mut builder = http::Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(serde_json::to_vec(&body).unwrap()).unwrap()
}

fn sandbox(state: &str) -> serde_json::Value {
    json!({"id": "sb-1", "template_id": "tpl", "vcpu": 2, "memory": 2048, "disk": 10240,
           "timeout": 300, "state": state, "auto_pause": false})
}

fn snapshot(id: &str) -> serde_json::Value {
    json!({"id": id, "name": id, "template_id": "tpl", "vcpu": 2, "memory": 2048, "disk": 10240})
}

const KEY: &str = "very-secret-key-123";

/// Drives `machine` by hand as an event loop would: each exchange takes
/// 250 ms, waits jump to their deadline. Returns the output and, for each
/// wait, the reason the machine gave for it.
fn drive_by_hand(
    mut machine: impl Machine<Output = CallOutput>,
    answers: Vec<Response>,
) -> (CallOutput, Vec<WaitReason>) {
    let mut answers = answers.into_iter();
    let mut now = Timestamp::ZERO;
    let mut reasons = Vec::new();
    loop {
        match machine.poll(now) {
            Action::Send(attempt) => {
                let answer = attempt.span().in_scope(|| answers.next().unwrap());
                now = now + Duration::from_millis(250);
                machine.handle_response(now, answer);
            }
            Action::WaitUntil(deadline) => {
                reasons.push(machine.wait_reason().expect("a reason to wait"));
                now = deadline;
            }
            Action::Awaiting => panic!("every answer was handed over"),
            Action::Done(result) => return (result.unwrap(), reasons),
        }
    }
}

#[test]
fn a_composite_call_driven_by_hand_reports_its_span_attempts_retries_and_polls() {
    let wait = WaitPolicy::new(Duration::from_secs(2), Duration::from_secs(60));
    let config = Config::new(KEY).unwrap().with_wait(wait);
    let collect = Collect::default();
    let answers = vec![
        reply(503, &[("retry-after", "3")], json!({"message": "busy"})),
        reply(503, &[], json!({"message": "busy"})),
        reply(201, &[], sandbox("starting")),
        reply(200, &[], sandbox("starting")),
        reply(200, &[], sandbox("running")),
    ];
    let (output, reasons) = tracing::subscriber::with_default(collect.clone(), || {
        let machine = Call::ResumeAndWait(ResumeSnapshot::new("warm")).machine(&config);
        drive_by_hand(machine, answers)
    });
    assert!(matches!(output, CallOutput::Sandbox(s) if s.id == "sb-1"));
    use WaitReason::*;
    assert_eq!(reasons, [RetryAfter, Backoff, Poll, Poll]);

    let (span, seen) = collect.only_span();
    assert_eq!(seen.name, "leap0");
    assert_eq!(seen.field("leap0.operation"), Some("resume_snapshot"));
    let all = collect.events.lock().unwrap().clone();
    assert!(all.iter().all(|e| e.parent == Some(span)), "{all:#?}");
    assert!(!format!("{all:?}").contains("very-secret"));

    let answered = collect.events("answered");
    let firsts: Vec<_> = answered
        .iter()
        .map(|e| {
            (
                e.field("http.request.method").unwrap(),
                e.field("url.template").unwrap(),
                e.field("http.response.status_code").unwrap(),
                e.field("http.request.resend_count"),
                e.field("error.type"),
            )
        })
        .collect();
    let resume = "/v1/snapshot/resume";
    let status = "/v1/sandbox/{sandbox_id}/";
    assert_eq!(
        firsts,
        [
            ("POST", resume, "503", None, Some("503")),
            ("POST", resume, "503", Some("1"), Some("503")),
            ("POST", resume, "201", Some("2"), None),
            ("GET", status, "200", None, None),
            ("GET", status, "200", None, None),
        ]
    );
    for event in &answered {
        assert_eq!(event.field("http.client.request.duration"), Some("0.25"));
        assert_eq!(event.field("leap0.may_have_been_sent"), Some("true"));
        assert!(event.field("leap0.operation").is_some());
    }
    assert_eq!(collect.events("sending").len(), 5);

    let waits: Vec<_> = collect
        .events("waiting")
        .iter()
        .map(|e| {
            (
                e.field("leap0.wait.reason").unwrap().to_owned(),
                e.field("leap0.wait.delay").unwrap().parse::<f64>().unwrap(),
            )
        })
        .collect();
    assert_eq!(waits[0], ("retry_after".to_owned(), 3.0));
    assert_eq!(waits[1].0, "backoff");
    assert!(waits[1].1 > 0.0 && waits[1].1 <= 30.0, "{waits:?}");
    assert_eq!(waits[2..], [("poll".into(), 2.0), ("poll".into(), 2.0)]);

    let polls: Vec<_> = collect
        .events("polled")
        .iter()
        .map(|e| {
            (
                e.field("leap0.sandbox.id").unwrap().to_owned(),
                e.field("leap0.sandbox.state").unwrap().to_owned(),
                e.field("leap0.sandbox.target").unwrap().to_owned(),
            )
        })
        .collect();
    let poll = |state: &str| ("sb-1".to_owned(), state.to_owned(), "running".to_owned());
    assert_eq!(polls, [poll("starting"), poll("running")]);
}

#[test]
fn a_listing_driven_by_hand_reports_each_page() {
    let config = Config::new(KEY).unwrap();
    let collect = Collect::default();
    let page = |items: &[&str], total: u64| {
        let items: Vec<_> = items.iter().map(|id| snapshot(id)).collect();
        reply(200, &[], json!({"items": items, "total_items": total}))
    };
    let answers = vec![page(&["a", "b"], 5), page(&["c", "d"], 5), page(&["e"], 5)];
    let (output, reasons) = tracing::subscriber::with_default(collect.clone(), || {
        let listing = ListSnapshots::default().page_size(2);
        drive_by_hand(Call::ListAllSnapshots(listing).machine(&config), answers)
    });
    assert!(matches!(output, CallOutput::List(l) if l.items.len() == 5));
    assert!(reasons.is_empty());
    let (span, seen) = collect.only_span();
    assert_eq!(seen.field("leap0.operation"), Some("list_snapshots"));
    let pages: Vec<_> = collect
        .events("page")
        .iter()
        .map(|e| {
            assert_eq!(e.parent, Some(span));
            ["leap0.page", "leap0.page.items", "leap0.items"]
                .map(|f| e.field(f).unwrap().to_owned())
        })
        .collect();
    assert_eq!(pages, [["1", "2", "2"], ["2", "2", "4"], ["3", "1", "5"]]);
}

#[test]
fn the_blocking_client_reports_the_same_and_runs_its_transport_inside_the_span() {
    let collect = Collect::default();
    let inside = Arc::new(Mutex::new(Vec::new()));
    let entered = collect.entered.clone();
    let seen_inside = inside.clone();
    let calls = Arc::new(AtomicU64::new(0));
    let counter = calls.clone();
    let transport = move |_r: Request, _t: Duration| -> Result<Response, TransportError> {
        seen_inside
            .lock()
            .unwrap()
            .push(entered.lock().unwrap().last().copied());
        if counter.fetch_add(1, Ordering::Relaxed) == 0 {
            return Err(TransportError::connect("refused"));
        }
        Ok(reply(201, &[], json!({"id": "snap-1", "name": "n"})))
    };
    let config = Config::new(KEY).unwrap();
    let client = SnapshotsClient::new(config, transport, VirtualClock::new());
    tracing::subscriber::with_default(collect.clone(), || client.create("sb-1").unwrap());
    assert_eq!(calls.load(Ordering::Relaxed), 2);

    let (span, seen) = collect.only_span();
    assert_eq!(seen.field("leap0.operation"), Some("create_snapshot"));
    assert_eq!(*inside.lock().unwrap(), [Some(span), Some(span)]);
    let failed = collect.events("no answer");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].field("error.type"), Some("connect"));
    assert_eq!(failed[0].field("leap0.may_have_been_sent"), Some("false"));
    let waits = collect.events("waiting");
    assert_eq!(waits.len(), 1);
    assert_eq!(waits[0].field("leap0.wait.reason"), Some("backoff"));
    let answered = collect.events("answered");
    assert_eq!(answered[0].field("http.response.status_code"), Some("201"));
    assert_eq!(answered[0].field("http.request.resend_count"), Some("1"));
    let all = format!("{:?}", collect.events.lock().unwrap());
    assert!(!all.contains("very-secret"), "{all}");
}
