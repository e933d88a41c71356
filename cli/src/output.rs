//! What the command prints: readable blocks and tables, or exactly one JSON
//! document with `--json`; and failures, as one line (plus its causes) on
//! stderr and an `{"error": ...}` document.
//!
//! Nothing from the server or a cassette reaches the terminal as it came:
//! control characters are escaped in everything human-readable, and every
//! secret the command knows (the API key, proxy credentials) is scrubbed from
//! everything printed, in any form it could take.

use std::fmt::Write as _;

use leap0_core::model::{ServerTime, SnapshotList};
use leap0_core::transport::Secrets;
use leap0_core::{CallOutput, Deletion, Error, Sandbox, Snapshot};
use serde_json::{Value, json};

/// What a call printed about, for the parts of the output that name the input.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'a> {
    /// A snapshot, by the id the user gave.
    Snapshot(&'a str),
    /// A sandbox, by the id the user gave.
    Sandbox(&'a str),
    /// A listing, at this page of this size.
    Listing { page: u64, size: u64, all: bool },
    /// Anything else.
    Other,
}

/// The human rendering of a call's result.
pub(crate) fn human(output: &CallOutput, subject: Subject<'_>) -> String {
    match (output, subject) {
        (CallOutput::Snapshot(s), _) => snapshot_block(s),
        (CallOutput::Sandbox(s), _) => sandbox_block(s),
        (CallOutput::List(list), Subject::Listing { page, size, all }) => {
            table(list, page, size, all)
        }
        (CallOutput::List(list), _) => table(list, 1, list.items.len() as u64, true),
        (CallOutput::Deleted(deletion), subject) => deleted(*deletion, subject),
        _ => String::new(),
    }
}

fn deleted(deletion: Deletion, subject: Subject<'_>) -> String {
    let (what, id) = match subject {
        Subject::Sandbox(id) => ("sandbox", id),
        Subject::Snapshot(id) => ("snapshot", id),
        _ => ("it", ""),
    };
    let id = shown(id);
    match deletion {
        Deletion::AlreadyDeleted => format!(
            "{what} {id} is deleted: an earlier attempt that got no answer in time deleted it\n"
        ),
        _ => format!("deleted {what} {id}\n"),
    }
}

/// The JSON rendering: the API object, or `{"deleted": id, "already_deleted": bool}`.
pub(crate) fn json_doc(output: &CallOutput, subject: Subject<'_>) -> Value {
    match (output, subject) {
        (CallOutput::Deleted(deletion), Subject::Snapshot(id) | Subject::Sandbox(id)) => json!({
            "deleted": id,
            "already_deleted": *deletion == Deletion::AlreadyDeleted,
        }),
        (other, _) => serde_json::to_value(other).unwrap_or(Value::Null),
    }
}

/// Text from outside (the server, a cassette, an error) made safe for a
/// terminal: control characters escaped, except the line breaks of a
/// multi-line report, whose continuation lines are indented so that no line
/// can pose as the command's own.
pub(crate) fn shown(text: &str) -> String {
    leap0_core::text::lines(text, "  ")
}

/// Every string in `value` with the secrets scrubbed.
pub(crate) fn scrub_json(value: &mut Value, secrets: &Secrets) {
    match value {
        Value::String(s) if secrets.contains(s) => *s = secrets.scrub(s).into_owned(),
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_json(v, secrets)),
        Value::Object(map) => {
            let leaking: Vec<String> = map
                .keys()
                .filter(|k| secrets.contains(k))
                .cloned()
                .collect();
            for key in leaking {
                if let Some(v) = map.remove(&key) {
                    map.insert(secrets.scrub(&key).into_owned(), v);
                }
            }
            map.values_mut().for_each(|v| scrub_json(v, secrets));
        }
        _ => {}
    }
}

fn block(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value) in rows {
        let _ = writeln!(out, "{key:<width$}  {}", shown(value));
    }
    out
}

fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_owned()
    }
}

fn created(at: Option<&ServerTime>) -> String {
    at.map_or_else(|| "-".to_owned(), |t| or_dash(t.as_str()))
}

fn snapshot_block(s: &Snapshot) -> String {
    block(&[
        ("id", s.id.clone()),
        ("name", s.name.clone()),
        ("template", or_dash(&s.template_id)),
        (
            "state",
            s.state.as_ref().map_or("-".into(), |st| st.to_string()),
        ),
        ("vcpu", s.vcpu.to_string()),
        ("memory", format!("{} MiB", s.memory_mib)),
        ("disk", format!("{} MiB", s.disk_mib)),
        (
            "network",
            s.network_policy
                .as_ref()
                .map_or("-".into(), |p| p.mode.to_string()),
        ),
        ("created", created(s.created_at.as_ref())),
    ])
}

fn sandbox_block(s: &Sandbox) -> String {
    block(&[
        ("id", s.id.clone()),
        ("state", s.state.to_string()),
        ("template", or_dash(&s.template_id)),
        ("vcpu", s.vcpu.to_string()),
        ("memory", format!("{} MiB", s.memory_mib)),
        ("disk", format!("{} MiB", s.disk_mib)),
        ("timeout", format!("{} s", s.timeout)),
        ("auto pause", s.auto_pause.to_string()),
        (
            "network",
            s.network_policy
                .as_ref()
                .map_or("-".into(), |p| p.mode.to_string()),
        ),
        ("created", created(s.created_at.as_ref())),
    ])
}

fn plural(n: u64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn table(list: &SnapshotList, page: u64, size: u64, all: bool) -> String {
    let header = [
        "ID", "NAME", "STATE", "TEMPLATE", "VCPU", "MEMORY", "DISK", "CREATED",
    ];
    let rows: Vec<[String; 8]> = list
        .items
        .iter()
        .map(|s| {
            [
                shown(&s.id),
                shown(&s.name),
                s.state.as_ref().map_or("-".into(), |st| shown(st.as_str())),
                shown(&or_dash(&s.template_id)),
                s.vcpu.to_string(),
                format!("{} MiB", s.memory_mib),
                format!("{} MiB", s.disk_mib),
                shown(&created(s.created_at.as_ref())),
            ]
        })
        .collect();
    let mut out = String::new();
    if !rows.is_empty() {
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut line = |cells: &[&str]| {
            let text: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            let _ = writeln!(out, "{}", text.join("  ").trim_end());
        };
        line(&header);
        for row in &rows {
            line(&row.each_ref().map(String::as_str));
        }
    }
    let shown_items = list.items.len() as u64;
    let total = list.total_items;
    let pages = total.div_ceil(size.max(1)).max(1);
    let footer = if total == 0 {
        "no snapshots".to_owned()
    } else if all {
        plural(shown_items, "snapshot")
    } else if shown_items == 0 {
        format!(
            "no snapshots on page {page}: {} in all, on {}",
            plural(total, "snapshot"),
            plural(pages, "page")
        )
    } else if pages == 1 {
        plural(total, "snapshot")
    } else {
        let first = (page - 1) * size + 1;
        let next = if page < pages {
            format!("; next: --page {}", page + 1)
        } else {
            String::new()
        };
        format!(
            "snapshots {first} to {} of {total} (page {page} of {pages}{next})",
            first + shown_items - 1
        )
    };
    let _ = writeln!(out, "{footer}");
    out
}

/// A failure, as the command reports it.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The command line itself is wrong (nothing was sent).
    Usage {
        /// What is wrong.
        message: String,
        /// The option at fault, if one.
        field: Option<String>,
    },
    /// The SDK reported an error; `hint` is a line of advice to add.
    Sdk {
        error: Box<Error>,
        hint: Option<String>,
    },
    /// Something else failed (a file, the emulator, a cassette check).
    Other {
        /// A stable kind name.
        kind: &'static str,
        /// What happened.
        message: String,
    },
}

impl Failure {
    pub(crate) fn usage(message: impl Into<String>, field: Option<&str>) -> Self {
        Failure::Usage {
            message: message.into(),
            field: field.map(str::to_owned),
        }
    }

    pub(crate) fn other(kind: &'static str, message: impl Into<String>) -> Self {
        Failure::Other {
            kind,
            message: message.into(),
        }
    }

    /// 2 when nothing was sent because the input was wrong, else 1.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage { .. } => 2,
            Failure::Sdk { error, .. } if error.is_usage() => 2,
            _ => 1,
        }
    }

    /// The message, with the chain of causes (one per line) and any hint.
    pub(crate) fn message(&self) -> String {
        match self {
            Failure::Usage { message, .. } | Failure::Other { message, .. } => message.clone(),
            Failure::Sdk { error, hint } => {
                let mut text = error.to_string();
                let mut cause = std::error::Error::source(&**error);
                while let Some(e) = cause {
                    let _ = write!(text, "\n{e}");
                    cause = e.source();
                }
                if let Some(hint) = hint {
                    let _ = write!(text, "\nhint: {hint}");
                }
                text
            }
        }
    }

    /// `{"error": {"kind", "status", "message", "retryable", "field"}}`.
    pub(crate) fn json(&self) -> Value {
        let (kind, status, retryable, field) = match self {
            Failure::Usage { field, .. } => ("usage", None, false, field.clone()),
            Failure::Other { kind, .. } => (*kind, None, false, None),
            Failure::Sdk { error, .. } => (
                error.kind_name(),
                error.status().map(|s| s.as_u16()),
                error.is_retryable(),
                error.field().map(str::to_owned),
            ),
        };
        json!({"error": {
            "kind": kind,
            "status": status,
            "message": self.message(),
            "retryable": retryable,
            "field": field,
        }})
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Sdk {
            error: Box::new(error),
            hint: None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn snap(id: &str, name: &str) -> Snapshot {
        serde_json::from_value(
            json!({"id": id, "name": name, "template_id": "tpl", "vcpu": 2,
            "memory": 2048, "disk": 10240, "created_at": "2025-01-15T10:30:00Z"}),
        )
        .unwrap()
    }

    #[test]
    fn tables_align_and_say_where_they_are() {
        let list = SnapshotList::new(
            vec![
                snap("snap-1", "warm"),
                snap("snap-22", "a-much-longer-name"),
            ],
            5,
        );
        let text = table(&list, 2, 2, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(
            lines[0].starts_with("ID       NAME                STATE"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("snap-1   warm                -"),
            "{text}"
        );
        assert_eq!(
            lines[3],
            "snapshots 3 to 4 of 5 (page 2 of 3; next: --page 3)"
        );
        let empty = table(&SnapshotList::new(vec![], 1), 5, 20, false);
        assert_eq!(
            empty,
            "no snapshots on page 5: 1 snapshot in all, on 1 page\n"
        );
        assert_eq!(
            table(&SnapshotList::new(vec![], 0), 1, 20, false),
            "no snapshots\n"
        );
    }

    #[test]
    fn deletions_render_with_their_id() {
        let subject = Subject::Snapshot("s-1");
        assert_eq!(
            json_doc(&CallOutput::Deleted(Deletion::Deleted), subject),
            json!({"deleted": "s-1", "already_deleted": false})
        );
        assert_eq!(
            human(&CallOutput::Deleted(Deletion::Deleted), subject),
            "deleted snapshot s-1\n"
        );
        assert!(
            human(&CallOutput::Deleted(Deletion::AlreadyDeleted), subject)
                .starts_with("snapshot s-1 is deleted: an earlier attempt")
        );
    }

    #[test]
    fn outside_text_cannot_steer_the_terminal() {
        assert_eq!(shown("a\u{1b}[2J\rb\u{7}"), "a\\u{1b}[2J\\rb\\u{7}");
        assert_eq!(shown("first\nerror: fake"), "first\n  error: fake");
        let secrets = Secrets::new().with("sk-secret-1234");
        let mut doc = json!({"x": ["has sk-secret-1234"], "sk-secret-1234": 1});
        scrub_json(&mut doc, &secrets);
        let redacted = leap0_core::transport::REDACTED;
        assert_eq!(doc, json!({"x": [format!("has {redacted}")], redacted: 1}));
    }
}
