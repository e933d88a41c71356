//! The emulated API: the in-memory model, free of I/O. Time comes in as `now` (read
//! from the [`EmulatorClock`](crate::EmulatorClock) by the server, once per request).

use std::time::Duration;

use percent_encoding::percent_decode_str;
use serde::Serialize;
use serde_json::{Value, json};

use crate::clock::{self, VirtualClock};
use crate::config::EmulatorConfig;
use crate::route::Route;
use crate::validate::{self, BodyError, FieldErrors, MAX_NAME_CHARS};

/// A response before it is put on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// Serialized JSON, or `None` for an empty body.
    pub(crate) json: Option<Vec<u8>>,
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub(crate) fn json(status: u16, value: &impl Serialize) -> Self {
        match serde_json::to_vec(value) {
            Ok(bytes) => Self {
                status,
                json: Some(bytes),
                headers: Vec::new(),
            },
            Err(_) => Self::message(500, "could not serialize the response"),
        }
    }

    pub(crate) fn message(status: u16, message: &str) -> Self {
        let body = json!({ "message": message });
        Self {
            status,
            json: Some(body.to_string().into_bytes()),
            headers: Vec::new(),
        }
    }

    pub(crate) fn empty(status: u16) -> Self {
        Self {
            status,
            json: None,
            headers: Vec::new(),
        }
    }

    fn validation(errs: FieldErrors) -> Self {
        Self::json(
            400,
            &json!({ "message": "Invalid request", "errors": errs.0 }),
        )
    }

    /// A 400 about the body as a whole: `message`, and one `errors` entry for `body`
    /// (a validation answer always lists its errors).
    pub(crate) fn bad_body(message: &str, error: &str) -> Self {
        Self::json(
            400,
            &json!({ "message": message, "errors": [{ "field": "body", "error": error }] }),
        )
    }

    fn body_error(err: BodyError) -> Self {
        match err {
            BodyError::Malformed => Self::bad_body("invalid JSON body", "must be valid JSON"),
            BodyError::NotObject => Self::bad_body(
                "request body must be a JSON object",
                "must be a JSON object",
            ),
        }
    }
}

/// Sandbox states the emulator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SandboxState {
    Starting,
    Running,
    Paused,
    Stopped,
    Deleted,
}

impl SandboxState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Stopped => "stopped",
            Self::Deleted => "deleted",
        }
    }

    fn is_active(self) -> bool {
        matches!(self, Self::Starting | Self::Running)
    }
}

/// The wire form of a sandbox. Memory and disk go out under both names, as the real
/// service sends them: the OpenAPI's `memory`/`disk` and SDK 0.5.1's `memory_mib`/`disk_mib`.
#[derive(Debug, Clone, Serialize)]
struct SandboxJson<'a> {
    id: &'a str,
    template_id: &'a str,
    vcpu: i64,
    memory: i64,
    memory_mib: i64,
    disk: i64,
    disk_mib: i64,
    timeout: i64,
    state: &'static str,
    auto_pause: bool,
    network_policy: &'a Option<Value>,
    created_at: &'a str,
}

#[derive(Debug, Clone)]
struct Sandbox {
    id: String,
    template_id: String,
    vcpu: i64,
    memory: i64,
    disk: i64,
    timeout: i64,
    state: SandboxState,
    auto_pause: bool,
    network_policy: Option<Value>,
    created_at: String,
    /// Status reads answered while `starting`.
    reads: u32,
    /// When it was started, on the emulator's clock.
    started: Duration,
    /// The snapshot it was resumed or restored from.
    source_snapshot: Option<String>,
}

impl Sandbox {
    fn to_json(&self) -> SandboxJson<'_> {
        SandboxJson {
            id: &self.id,
            template_id: &self.template_id,
            vcpu: self.vcpu,
            memory: self.memory,
            memory_mib: self.memory,
            disk: self.disk,
            disk_mib: self.disk,
            timeout: self.timeout,
            state: self.state.as_str(),
            auto_pause: self.auto_pause,
            network_policy: &self.network_policy,
            created_at: &self.created_at,
        }
    }

    /// Turns `starting` into `running` once it has been read enough and is old enough.
    fn promote(&mut self, config: &EmulatorConfig, now: Duration) {
        if self.state == SandboxState::Starting
            && self.reads >= config.ready_after_reads
            && now.saturating_sub(self.started) >= config.ready_after
        {
            self.state = SandboxState::Running;
        }
    }
}

/// A stored snapshot.
#[derive(Debug, Clone)]
struct Snapshot {
    id: String,
    name: String,
    template_id: String,
    vcpu: i64,
    memory: i64,
    disk: i64,
    state: Option<&'static str>,
    network_policy: Option<Value>,
    created_at: String,
}

/// The wire form of a snapshot, with memory and disk under both names (see [`SandboxJson`]).
#[derive(Debug, Clone, Serialize)]
struct SnapshotJson<'a> {
    id: &'a str,
    name: &'a str,
    template_id: &'a str,
    vcpu: i64,
    memory: i64,
    memory_mib: i64,
    disk: i64,
    disk_mib: i64,
    state: Option<&'static str>,
    network_policy: &'a Option<Value>,
    created_at: &'a str,
}

impl Snapshot {
    fn to_json(&self) -> SnapshotJson<'_> {
        SnapshotJson {
            id: &self.id,
            name: &self.name,
            template_id: &self.template_id,
            vcpu: self.vcpu,
            memory: self.memory,
            memory_mib: self.memory,
            disk: self.disk,
            disk_mib: self.disk,
            state: self.state,
            network_policy: &self.network_policy,
            created_at: &self.created_at,
        }
    }
}

#[derive(Serialize)]
struct SnapshotPage<'a> {
    items: Vec<SnapshotJson<'a>>,
    total_items: usize,
}

/// Everything the emulator remembers about the emulated organization.
#[derive(Debug)]
pub(crate) struct Model {
    clock: VirtualClock,
    sandbox_counter: u64,
    snapshot_counter: u64,
    name_counter: u64,
    /// In creation order.
    sandboxes: Vec<Sandbox>,
    /// In creation order.
    snapshots: Vec<Snapshot>,
}

impl Model {
    /// A model holding the configured seed sandboxes, all `running`, started at `now`.
    pub(crate) fn new(config: &EmulatorConfig, now: Duration) -> Self {
        let mut model = Self {
            clock: VirtualClock::new(),
            sandbox_counter: 0,
            snapshot_counter: 0,
            name_counter: 0,
            sandboxes: Vec::new(),
            snapshots: Vec::new(),
        };
        for id in &config.seed_sandboxes {
            if model.sandbox(id).is_some() {
                continue;
            }
            model.sandboxes.push(Sandbox {
                id: id.clone(),
                template_id: "tpl-base".to_owned(),
                vcpu: 2,
                memory: 2048,
                disk: 10240,
                timeout: 300,
                state: SandboxState::Running,
                auto_pause: false,
                network_policy: None,
                created_at: clock::format_rfc3339(clock::SEED_UNIX),
                reads: 0,
                started: now,
                source_snapshot: None,
            });
        }
        model
    }

    /// Answers one authenticated `/v1` request received at `now`.
    pub(crate) fn handle(
        &mut self,
        config: &EmulatorConfig,
        route: Route,
        query: Option<&str>,
        body: &[u8],
        now: Duration,
    ) -> Reply {
        match route {
            Route::CreateSandbox => self.create_sandbox(config, body, now),
            Route::GetSandbox(id) => self.get_sandbox(config, &id, now),
            Route::DeleteSandbox(id) => self.delete_sandbox(&id),
            Route::PauseSandbox(id) => self.pause_sandbox(config, &id, now),
            Route::SnapshotCreate(id) => self.snapshot(config, &id, body, false, now),
            Route::SnapshotPause(id) => self.snapshot(config, &id, body, true, now),
            Route::Resume => self.restore(config, body, true, now),
            Route::Restore => self.restore(config, body, false, now),
            Route::DeleteSnapshot(id) => self.delete_snapshot(&id),
            Route::ListSnapshots => self.list_snapshots(query),
            Route::MethodNotAllowed(allow) => {
                let mut reply = Reply::message(405, "method not allowed");
                reply.headers.push(("allow", allow));
                reply
            }
            Route::NotFound => Reply::message(404, "route not found"),
        }
    }

    /// The state of a sandbox, without counting as a status read.
    pub(crate) fn sandbox_state(&self, id: &str) -> Option<&'static str> {
        self.sandbox(id).map(|s| s.state.as_str())
    }

    /// How many snapshots exist.
    pub(crate) fn snapshot_count(&self) -> usize {
        self.snapshots.len()
    }

    fn sandbox(&self, id: &str) -> Option<&Sandbox> {
        self.sandboxes.iter().find(|s| s.id == id)
    }

    fn sandbox_mut(&mut self, id: &str) -> Option<&mut Sandbox> {
        self.sandboxes.iter_mut().find(|s| s.id == id)
    }

    fn active_sandboxes(&self) -> usize {
        self.sandboxes
            .iter()
            .filter(|s| s.state.is_active())
            .count()
    }

    fn limit_reached(&self, config: &EmulatorConfig) -> bool {
        config
            .max_active_sandboxes
            .is_some_and(|max| self.active_sandboxes() >= max)
    }

    fn next_sandbox_id(&mut self) -> String {
        loop {
            self.sandbox_counter += 1;
            let id = format!("sb-{:04}", self.sandbox_counter);
            if self.sandbox(&id).is_none() {
                return id;
            }
        }
    }

    fn next_snapshot_id(&mut self) -> String {
        self.snapshot_counter += 1;
        format!("snap-{:04}", self.snapshot_counter)
    }

    fn next_snapshot_name(&mut self) -> String {
        loop {
            self.name_counter += 1;
            let name = format!("snapshot-{:04}", self.name_counter);
            if !self.snapshots.iter().any(|s| s.name == name) {
                return name;
            }
        }
    }

    fn create_sandbox(&mut self, config: &EmulatorConfig, body: &[u8], now: Duration) -> Reply {
        let obj = match validate::parse_object(body) {
            Ok(obj) => obj,
            Err(err) => return Reply::body_error(err),
        };
        let mut errs = FieldErrors::default();
        let template = validate::required_string(&obj, "template_name", &mut errs);
        let vcpu = validate::opt_int(&obj, "vcpu", 1, 8, &mut errs).unwrap_or(1);
        // SDK 0.5.1 spells memory `memory_mib` and may give the timeout in minutes.
        let memory = validate::memory_mib(&obj, "memory", &mut errs);
        let memory_mib = validate::memory_mib(&obj, "memory_mib", &mut errs);
        let memory =
            validate::one_setting(("memory", memory), ("memory_mib", memory_mib), &mut errs);
        let timeout = validate::timeout_secs(&obj, "timeout", &mut errs);
        let timeout_min = validate::timeout_min_as_secs(&obj, "timeout_min", &mut errs);
        let timeout = validate::one_setting(
            ("timeout", timeout),
            ("timeout_min", timeout_min),
            &mut errs,
        );
        let auto_pause = validate::opt_bool(&obj, "auto_pause", &mut errs).unwrap_or(false);
        let network_policy = validate::network_policy(&obj, &mut errs);
        let Some(template) = template.filter(|_| errs.is_empty()) else {
            return Reply::validation(errs);
        };
        if self.limit_reached(config) {
            return Reply::message(409, "organization sandbox limit reached");
        }
        let sandbox = Sandbox {
            id: self.next_sandbox_id(),
            template_id: format!("tpl-{template}"),
            vcpu,
            memory: memory.unwrap_or(1024),
            disk: 10240,
            timeout: timeout.unwrap_or(300),
            state: SandboxState::Starting,
            auto_pause,
            network_policy,
            created_at: self.clock.tick(),
            reads: 0,
            started: now,
            source_snapshot: None,
        };
        let reply = Reply::json(201, &sandbox.to_json());
        self.sandboxes.push(sandbox);
        reply
    }

    fn get_sandbox(&mut self, config: &EmulatorConfig, id: &str, now: Duration) -> Reply {
        let Some(sandbox) = self.sandbox_mut(id) else {
            return Reply::message(404, "sandbox not found");
        };
        sandbox.promote(config, now);
        if sandbox.state == SandboxState::Starting {
            sandbox.reads = sandbox.reads.saturating_add(1);
        }
        Reply::json(200, &sandbox.to_json())
    }

    fn delete_sandbox(&mut self, id: &str) -> Reply {
        let Some(sandbox) = self.sandbox_mut(id) else {
            return Reply::message(404, "sandbox not found");
        };
        sandbox.state = SandboxState::Deleted;
        Reply::empty(204)
    }

    /// `POST /v1/sandbox/{id}/pause`: a running sandbox becomes `paused`, without a
    /// named snapshot. The route takes no body, so none is read.
    fn pause_sandbox(&mut self, config: &EmulatorConfig, id: &str, now: Duration) -> Reply {
        let Some(sandbox) = self.sandbox_mut(id) else {
            return Reply::message(404, "sandbox not found");
        };
        sandbox.promote(config, now);
        if sandbox.state != SandboxState::Running {
            return Reply::message(409, "sandbox is not running");
        }
        sandbox.state = SandboxState::Paused;
        Reply::json(201, &sandbox.to_json())
    }

    fn snapshot(
        &mut self,
        config: &EmulatorConfig,
        id: &str,
        body: &[u8],
        pause: bool,
        now: Duration,
    ) -> Reply {
        let obj = match validate::parse_object(body) {
            Ok(obj) => obj,
            Err(err) => return Reply::body_error(err),
        };
        let mut errs = FieldErrors::default();
        let name = validate::snapshot_name(&obj, "name", false, &mut errs);
        let kill = if pause {
            false
        } else {
            validate::opt_bool(&obj, "kill_sandbox_after", &mut errs).unwrap_or(false)
        };
        if !errs.is_empty() {
            return Reply::validation(errs);
        }
        let Some(sandbox) = self.sandbox_mut(id) else {
            return Reply::message(404, "sandbox not found");
        };
        sandbox.promote(config, now);
        if sandbox.state != SandboxState::Running {
            return Reply::message(409, "sandbox is not running");
        }
        let source = sandbox.clone();
        if name
            .as_deref()
            .is_some_and(|n| self.snapshots.iter().any(|s| s.name == n))
        {
            return Reply::message(409, "snapshot name already exists");
        }
        let name = match name {
            Some(name) => name,
            None => self.next_snapshot_name(),
        };
        let snapshot = Snapshot {
            id: self.next_snapshot_id(),
            name,
            template_id: source.template_id,
            vcpu: source.vcpu,
            memory: source.memory,
            disk: source.disk,
            state: pause.then_some("paused"),
            network_policy: source.network_policy,
            created_at: self.clock.tick(),
        };
        let new_state = if pause {
            Some(SandboxState::Stopped)
        } else if kill {
            Some(SandboxState::Deleted)
        } else {
            None
        };
        if let (Some(state), Some(sandbox)) = (new_state, self.sandbox_mut(id)) {
            sandbox.state = state;
        }
        let reply = Reply::json(201, &snapshot.to_json());
        self.snapshots.push(snapshot);
        reply
    }

    /// `POST /v1/snapshot/resume` (`minutes`: timeout in `timeout_min`) or
    /// `POST /v1/snapshot/restore` (timeout in seconds, `timeout`).
    fn restore(
        &mut self,
        config: &EmulatorConfig,
        body: &[u8],
        minutes: bool,
        now: Duration,
    ) -> Reply {
        let obj = match validate::parse_object(body) {
            Ok(obj) => obj,
            Err(err) => return Reply::body_error(err),
        };
        let mut errs = FieldErrors::default();
        let name = validate::snapshot_name(&obj, "snapshot_name", true, &mut errs);
        let auto_pause = validate::opt_bool(&obj, "auto_pause", &mut errs).unwrap_or(false);
        let timeout = if minutes {
            validate::timeout_min_as_secs(&obj, "timeout_min", &mut errs)
        } else {
            validate::timeout_secs(&obj, "timeout", &mut errs)
        };
        let policy = validate::network_policy(&obj, &mut errs);
        let Some(name) = name.filter(|_| errs.is_empty()) else {
            return Reply::validation(errs);
        };
        let Some(snapshot) = self.snapshots.iter().find(|s| s.name == name).cloned() else {
            return Reply::message(404, "snapshot not found");
        };
        if self.limit_reached(config) {
            return Reply::message(429, "organization sandbox limit reached");
        }
        let sandbox = Sandbox {
            id: self.next_sandbox_id(),
            template_id: snapshot.template_id,
            vcpu: snapshot.vcpu,
            memory: snapshot.memory,
            disk: snapshot.disk,
            timeout: timeout.unwrap_or(300),
            state: SandboxState::Starting,
            auto_pause,
            network_policy: policy.or(snapshot.network_policy),
            created_at: self.clock.tick(),
            reads: 0,
            started: now,
            source_snapshot: Some(snapshot.id),
        };
        let reply = Reply::json(201, &sandbox.to_json());
        self.sandboxes.push(sandbox);
        reply
    }

    fn delete_snapshot(&mut self, id: &str) -> Reply {
        let Some(index) = self.snapshots.iter().position(|s| s.id == id) else {
            return Reply::message(404, "snapshot not found");
        };
        let in_use = self
            .sandboxes
            .iter()
            .any(|s| s.state.is_active() && s.source_snapshot.as_deref() == Some(id));
        if in_use {
            return Reply::message(409, "snapshot is in use by an active sandbox");
        }
        self.snapshots.remove(index);
        Reply::empty(204)
    }

    fn list_snapshots(&self, query: Option<&str>) -> Reply {
        let params = match ListParams::parse(query.unwrap_or("")) {
            Ok(params) => params,
            Err(errs) => return Reply::validation(errs),
        };
        let needle = params.query.to_lowercase();
        let mut items: Vec<&Snapshot> = self
            .snapshots
            .iter()
            .filter(|s| s.name.to_lowercase().contains(&needle))
            .collect();
        if params.sort_template {
            items.sort_by(|a, b| {
                (&a.template_id, &a.created_at, &a.id).cmp(&(&b.template_id, &b.created_at, &b.id))
            });
        } else {
            items.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        }
        if params.descending {
            items.reverse();
        }
        let total_items = items.len();
        let skip = usize::try_from((params.page - 1).saturating_mul(params.page_size))
            .unwrap_or(usize::MAX);
        let take = usize::try_from(params.page_size).unwrap_or(usize::MAX);
        let items = items
            .into_iter()
            .skip(skip)
            .take(take)
            .map(Snapshot::to_json)
            .collect();
        Reply::json(200, &SnapshotPage { items, total_items })
    }
}

/// The query of `GET /v1/snapshots`.
#[derive(Debug, PartialEq, Eq)]
struct ListParams {
    query: String,
    sort_template: bool,
    descending: bool,
    page: u64,
    page_size: u64,
}

impl ListParams {
    fn parse(raw: &str) -> Result<Self, FieldErrors> {
        let pairs: Vec<(String, String)> = raw
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (form_decode(k), form_decode(v))
            })
            .collect();
        let get = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let mut errs = FieldErrors::default();
        let query = get("query").unwrap_or("").to_owned();
        if query.chars().count() > MAX_NAME_CHARS {
            errs.push(
                "query",
                format!("must be at most {MAX_NAME_CHARS} characters"),
            );
        }
        let sort_template = match get("sort") {
            None | Some("created_at") => false,
            Some("template_id") => true,
            Some(_) => {
                errs.push("sort", "must be one of created_at, template_id");
                false
            }
        };
        let descending = match get("order-by") {
            None | Some("desc") => true,
            Some("asc") => false,
            Some(_) => {
                errs.push("order-by", "must be one of asc, desc");
                true
            }
        };
        let page = int_param(get("page"), "page", 1, u64::from(u32::MAX), 1, &mut errs);
        let page_size = int_param(get("page-size"), "page-size", 1, 100, 20, &mut errs);
        if errs.is_empty() {
            Ok(Self {
                query,
                sort_template,
                descending,
                page,
                page_size,
            })
        } else {
            Err(errs)
        }
    }
}

fn int_param(
    value: Option<&str>,
    field: &str,
    min: u64,
    max: u64,
    default: u64,
    errs: &mut FieldErrors,
) -> u64 {
    let Some(text) = value else {
        return default;
    };
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => n,
        Ok(_) => {
            errs.push(field, format!("must be between {min} and {max}"));
            default
        }
        Err(_) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            errs.push(field, format!("must be between {min} and {max}"));
            default
        }
        Err(_) => {
            errs.push(field, "must be an integer");
            default
        }
    }
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
fn form_decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn list_params() {
        assert_eq!(
            ListParams::parse("").unwrap(),
            ListParams {
                query: String::new(),
                sort_template: false,
                descending: true,
                page: 1,
                page_size: 20
            }
        );
        let p =
            ListParams::parse("query=a+b%21&sort=template_id&order-by=asc&page=3&page-size=100")
                .unwrap();
        assert_eq!(p.query, "a b!");
        assert!(p.sort_template && !p.descending && p.page == 3 && p.page_size == 100);
        let errs = ListParams::parse(&format!(
            "query={}&sort=name&order-by=up&page=0&page-size=101",
            "q".repeat(65)
        ))
        .unwrap_err();
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["query", "sort", "order-by", "page", "page-size"]);
        let errs = ListParams::parse("page=x&page-size=").unwrap_err();
        assert_eq!(errs.0.len(), 2);
        assert_eq!(errs.0[0].error, "must be an integer");
    }
}
