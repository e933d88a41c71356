//! The transports work inside the call's span: ureq's own log lines (through
//! the `log` bridge) and hyper-util's own events nest in the `leap0` span of
//! the call that sent them, on both clients, against the emulator.
//!
//! The subscriber is process-wide, so this file is its own test binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex, OnceLock};

use leap0_conformance::{API_KEY, Via, emulator};
use leap0_core::{Call, Config, CreateSnapshot};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// One event: its target and the names of the spans it is inside.
#[derive(Debug, Clone)]
struct Seen {
    target: String,
    spans: Vec<String>,
}

#[derive(Clone, Default)]
struct Record(Arc<Mutex<Vec<Seen>>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Record {
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let spans = ctx
            .event_scope(event)
            .map(|scope| scope.map(|span| span.name().to_owned()).collect())
            .unwrap_or_default();
        // Records bridged from `log` name their crate in `log.target`.
        let mut target = event.metadata().target().to_owned();
        if target == "log" {
            let mut visitor = LogTarget(&mut target);
            event.record(&mut visitor);
        }
        self.0.lock().unwrap().push(Seen { target, spans });
    }
}

struct LogTarget<'a>(&'a mut String);

impl tracing::field::Visit for LogTarget<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "log.target" {
            *self.0 = value.to_owned();
        }
    }
    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

fn install() -> Record {
    static RECORD: OnceLock<Record> = OnceLock::new();
    RECORD
        .get_or_init(|| {
            let record = Record::default();
            // `try_init` also routes the `log` crate's records (ureq's) here.
            tracing_subscriber::registry()
                .with(record.clone())
                .try_init()
                .unwrap();
            record
        })
        .clone()
}

#[test]
fn each_transports_own_log_lines_nest_in_the_calls_span() {
    let record = install();
    for (via, dependency) in [(Via::Ureq, "ureq"), (Via::Hyper, "hyper_util::client")] {
        record.0.lock().unwrap().clear();
        let emu = emulator();
        let config = Config::builder()
            .api_key(API_KEY)
            .base_url(emu.base_url())
            .build()
            .unwrap();
        let call = Call::CreateSnapshot(CreateSnapshot::new("sb-seed-1"));
        via.call(config, call).unwrap();

        let seen = record.0.lock().unwrap().clone();
        let own: Vec<&Seen> = seen
            .iter()
            .filter(|e| e.target.starts_with(dependency))
            .collect();
        assert!(
            !own.is_empty(),
            "{via:?}: no {dependency} events: {seen:#?}"
        );
        let inside = own.iter().filter(|e| e.spans.iter().any(|s| s == "leap0"));
        match via {
            // A blocking transport does all its work in the call.
            Via::Ureq => assert_eq!(inside.count(), own.len(), "{seen:#?}"),
            // hyper-util also logs from its connection task, which outlives the call.
            Via::Hyper => assert!(inside.count() > 0, "{seen:#?}"),
        }
        let ours = seen.iter().filter(|e| e.target.starts_with("leap0_core"));
        assert!(
            ours.clone().count() >= 2 && ours.clone().all(|e| e.spans == ["leap0"]),
            "{via:?}: {seen:#?}"
        );
    }
}
