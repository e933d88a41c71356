//! What the command prints: readable blocks and tables, or exactly one JSON
//! document with `--json`.

use std::fmt::Write as _;

use leap0_core::model::SnapshotList;
use leap0_core::{CallOutput, Deletion, Error, Sandbox, Snapshot};
use serde_json::{Value, json};

/// The human rendering of a call's result.
pub(crate) fn human(output: &CallOutput, deleted_id: Option<&str>) -> String {
    match output {
        CallOutput::Snapshot(s) => snapshot_block(s),
        CallOutput::Sandbox(s) => sandbox_block(s),
        CallOutput::List(list) => table(list),
        CallOutput::Deleted(Deletion::AlreadyDeleted) => format!(
            "snapshot {} was already deleted (an earlier attempt that got no answer deleted it)\n",
            deleted_id.unwrap_or("")
        ),
        CallOutput::Deleted(_) => format!("deleted snapshot {}\n", deleted_id.unwrap_or("")),
        _ => String::new(),
    }
}

/// The JSON rendering: the API object, or `{"deleted": id}`.
pub(crate) fn json_doc(output: &CallOutput, deleted_id: Option<&str>) -> Value {
    match output {
        CallOutput::Deleted(deletion) => json!({
            "deleted": deleted_id,
            "already_deleted": *deletion == Deletion::AlreadyDeleted,
        }),
        other => serde_json::to_value(other).unwrap_or(Value::Null),
    }
}

fn block(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value) in rows {
        let _ = writeln!(out, "{key:<width$}  {value}");
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

fn created(at: Option<&leap0_core::model::ServerTime>) -> String {
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

fn table(list: &SnapshotList) -> String {
    let header = [
        "ID", "NAME", "TEMPLATE", "VCPU", "MEMORY", "DISK", "CREATED",
    ];
    let rows: Vec<[String; 7]> = list
        .items
        .iter()
        .map(|s| {
            [
                s.id.clone(),
                s.name.clone(),
                or_dash(&s.template_id),
                s.vcpu.to_string(),
                format!("{} MiB", s.memory_mib),
                format!("{} MiB", s.disk_mib),
                created(s.created_at.as_ref()),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
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
    let _ = writeln!(
        out,
        "{} of {} snapshot{}",
        list.items.len(),
        list.total_items,
        if list.total_items == 1 { "" } else { "s" }
    );
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
    /// The SDK reported an error.
    Sdk(Error),
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
            Failure::Sdk(e) if e.is_usage() => 2,
            _ => 1,
        }
    }

    pub(crate) fn message(&self) -> String {
        match self {
            Failure::Usage { message, .. } | Failure::Other { message, .. } => message.clone(),
            Failure::Sdk(e) => e.to_string(),
        }
    }

    /// `{"error": {"kind", "status", "message", "retryable", "field"}}`.
    pub(crate) fn json(&self) -> Value {
        let (kind, status, retryable, field) = match self {
            Failure::Usage { field, .. } => ("usage", None, false, field.clone()),
            Failure::Other { kind, .. } => (*kind, None, false, None),
            Failure::Sdk(e) => (
                e.kind_name(),
                e.status().map(|s| s.as_u16()),
                e.is_retryable(),
                e.field().map(str::to_owned),
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
    fn from(e: Error) -> Self {
        Failure::Sdk(e)
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
    fn tables_align_and_count() {
        let list = SnapshotList::new(
            vec![
                snap("snap-1", "warm"),
                snap("snap-22", "a-much-longer-name"),
            ],
            5,
        );
        let text = table(&list);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(
            lines[0].starts_with("ID       NAME                "),
            "{text}"
        );
        assert!(
            lines[1].starts_with("snap-1   warm                "),
            "{text}"
        );
        assert_eq!(lines[3], "2 of 5 snapshots");
    }

    #[test]
    fn deleted_renders_with_its_id() {
        assert_eq!(
            json_doc(&CallOutput::Deleted(Deletion::Deleted), Some("s-1")),
            json!({"deleted": "s-1", "already_deleted": false})
        );
        assert_eq!(
            human(&CallOutput::Deleted(Deletion::Deleted), Some("s-1")),
            "deleted snapshot s-1\n"
        );
    }
}
