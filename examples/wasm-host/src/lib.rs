//! leap0-core as a WebAssembly module (`wasm32-unknown-unknown`, no WASI, no
//! imports at all): the host owns the network and the clock, the module owns
//! the protocol (request building, parsing, retries, waiting, pagination).
//!
//! # The ABI
//!
//! Every value that crosses the boundary is either a number or UTF-8 JSON in
//! the module's memory. Lengths and pointers are `u32` (wasm32's `usize`);
//! times are milliseconds as `f64`, on any monotonic origin the host picks
//! (`performance.now()` will do), the same origin for every call.
//!
//! | export | does |
//! |---|---|
//! | `alloc(len) -> ptr` | reserves `len` bytes for the host to write an input into |
//! | `dealloc(ptr, len)` | frees what `alloc` gave (the host frees its inputs after the call) |
//! | `start(ptr, len) -> out` | input `{"config": {...}, "call": {...}}`; answers `{"machine": id}` |
//! | `poll(id, now_ms) -> out` | the machine's next action (below) |
//! | `respond(id, now_ms, status, headers_ptr, headers_len, body_ptr, body_len) -> out` | hands over the answer to the last `send`; headers are JSON `[[name, value], ...]`, the body raw bytes |
//! | `fail(id, now_ms, ptr, len) -> out` | the last `send` got no answer: `{"kind": "connect", "may_have_been_sent": false, "message": "..."}`, kinds as in `TransportErrorKind` (`connect`, `tls`, `timeout`, `reset`, `body_too_large`, `invalid_response`, `other`) |
//! | `cancel(id) -> out` | forgets a machine that is no longer wanted |
//!
//! `out` points at a 4-byte little-endian length followed by that many bytes
//! of JSON. The module owns it: it stays valid until the next call into the
//! module, and the host never frees it. `respond`, `fail` and `cancel` answer
//! `{}`; any export answers `{"error": {...}}` when its input is wrong (an
//! unknown machine, bad JSON, a bad config).
//!
//! `poll` answers one of:
//! - `{"send": {"method", "url", "headers": [[name, value], ...], "body": string | null, "timeout_ms", "attempt", "operation"}}`:
//!   send it, enforce `timeout_ms` yourself, then call `respond` or `fail`;
//! - `{"wait_until": ms}`: poll again at that time (set a timer);
//! - `"awaiting"`: an answer to the last `send` is still due;
//! - `{"done": {"ok": value}}` or `{"done": {"error": {"kind", "message", "status", "retryable", "may_have_reached_server", "field", "operation"}}}`:
//!   finished; the module has forgotten the machine.
//!
//! `config` is `{"api_key", "base_url"}` with optional `timeout_ms`,
//! `wait_interval_ms`, `wait_timeout_ms` and `jitter_entropy` (a number: jitter is
//! seeded, never random, in leap0-core). `call` is a [`leap0_core::Call`] as
//! it serializes: `{"call": "create_snapshot", "inputs": {"sandbox_id": "sb-1"}}`.
//! `ok` values are [`leap0_core::CallOutput`]s as they serialize: the API
//! object itself, or `"deleted"` / `"already_deleted"`.
//!
//! # Unsafe code
//!
//! The rest of leap0 forbids `unsafe`. A module whose host passes raw pointers
//! cannot: `alloc`/`dealloc` call the global allocator, and the exports that take
//! input read `len` bytes at `ptr`. That is the only `unsafe` here, each block
//! with the contract the host must keep. Everything else is safe Rust over
//! leap0-core.
//!
//! The module is single-threaded, as wasm32-unknown-unknown is: its state
//! lives in a `thread_local`.

use std::alloc::{Layout, alloc as raw_alloc, dealloc as raw_dealloc};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::time::Duration;

use leap0_core::machine::{Action, Attempt};
use leap0_core::transport::{Response, TransportError, TransportErrorKind};
use leap0_core::{Call, CallMachine, CallOutput, Config, Error, Timestamp, WaitPolicy, http};
use serde_json::{Value, json};

struct State {
    machines: BTreeMap<u32, CallMachine>,
    next_id: u32,
    /// The last answer, length-prefixed: what the returned pointer points at.
    out: Vec<u8>,
}

thread_local! {
    static STATE: RefCell<State> = const {
        RefCell::new(State { machines: BTreeMap::new(), next_id: 1, out: Vec::new() })
    };
}

// ---- memory ------------------------------------------------------------------

/// Reserves `len` bytes for an input; free them with `dealloc(ptr, len)`.
/// Returns 0 if the memory cannot be had.
#[unsafe(no_mangle)]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let Ok(layout) = Layout::array::<u8>(len) else {
        return std::ptr::null_mut();
    };
    if len == 0 {
        return NonNull::<u8>::dangling().as_ptr();
    }
    // SAFETY: the layout has a non-zero size (checked above).
    unsafe { raw_alloc(layout) }
}

/// Frees what [`alloc`] returned for the same `len`.
///
/// # Safety
/// `ptr` came from `alloc(len)` with this very `len`, and is freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dealloc(ptr: *mut u8, len: usize) {
    if len == 0 || ptr.is_null() {
        return;
    }
    if let Ok(layout) = Layout::array::<u8>(len) {
        // SAFETY: the caller promises `ptr` was allocated by `alloc` with this layout.
        unsafe { raw_dealloc(ptr, layout) }
    }
}

/// The `len` bytes the host wrote at `ptr`.
///
/// # Safety
/// `ptr..ptr + len` is memory the host owns (from `alloc`) and does not change
/// during the call. A zero `len` reads nothing.
unsafe fn input<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 || ptr.is_null() {
        return &[];
    }
    // SAFETY: as promised by the caller.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// Stores `value` as the answer and returns its address.
fn answer(value: Value) -> *const u8 {
    let json = value.to_string();
    STATE.with_borrow_mut(|state| {
        state.out.clear();
        let len = u32::try_from(json.len()).unwrap_or(u32::MAX);
        state.out.extend_from_slice(&len.to_le_bytes());
        state.out.extend_from_slice(json.as_bytes());
        state.out.as_ptr()
    })
}

fn usage(message: impl Into<String>) -> Value {
    json!({"error": {"kind": "usage", "message": message.into()}})
}

// ---- the exports -------------------------------------------------------------

/// Makes the machine for `{"config": {...}, "call": {...}}`.
///
/// # Safety
/// See [`input`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn start(ptr: *const u8, len: usize) -> *const u8 {
    // SAFETY: the host keeps the contract of `input`.
    let bytes = unsafe { input(ptr, len) };
    answer(start_json(bytes).unwrap_or_else(|e| e))
}

fn start_json(bytes: &[u8]) -> Result<Value, Value> {
    let doc: Value =
        serde_json::from_slice(bytes).map_err(|e| usage(format!("start: bad JSON: {e}")))?;
    let config = config(doc.get("config").unwrap_or(&Value::Null))?;
    let call: Call = serde_json::from_value(doc.get("call").cloned().unwrap_or(Value::Null))
        .map_err(|e| usage(format!("start: bad call: {e}")))?;
    let machine = call.machine(&config);
    let id = STATE.with_borrow_mut(|state| {
        let id = state.next_id;
        state.next_id = state.next_id.wrapping_add(1).max(1);
        state.machines.insert(id, machine);
        id
    });
    Ok(json!({"machine": id}))
}

fn config(doc: &Value) -> Result<Config, Value> {
    let text = |name: &str| doc.get(name).and_then(Value::as_str).unwrap_or_default();
    let millis = |name: &str| {
        doc.get(name)
            .and_then(Value::as_u64)
            .map(Duration::from_millis)
    };
    let mut builder = Config::builder()
        .api_key(text("api_key"))
        .base_url(text("base_url"));
    if let Some(timeout) = millis("timeout_ms") {
        builder = builder.timeout(timeout);
    }
    let default_wait = WaitPolicy::default();
    let interval = millis("wait_interval_ms");
    let wait_timeout = millis("wait_timeout_ms");
    if interval.is_some() || wait_timeout.is_some() {
        builder = builder.wait(WaitPolicy::new(
            interval.unwrap_or(default_wait.interval),
            wait_timeout.unwrap_or(default_wait.timeout),
        ));
    }
    let mut config = builder.build().map_err(|e| error_json(&Error::from(e)))?;
    if let Some(entropy) = doc.get("jitter_entropy").and_then(Value::as_u64) {
        config = config.with_jitter_entropy(entropy);
    }
    Ok(config)
}

/// The next action of machine `id` at `now_ms`.
#[unsafe(no_mangle)]
pub extern "C" fn poll(id: u32, now_ms: f64) -> *const u8 {
    let now = timestamp(now_ms);
    let value = STATE.with_borrow_mut(|state| {
        let Some(machine) = state.machines.get_mut(&id) else {
            return unknown(id);
        };
        match machine.poll(now) {
            Action::Send(attempt) => json!({"send": send_json(&attempt)}),
            Action::WaitUntil(at) => json!({"wait_until": millis(at)}),
            Action::Awaiting => json!("awaiting"),
            Action::Done(result) => {
                state.machines.remove(&id);
                json!({"done": done_json(result)})
            }
        }
    });
    answer(value)
}

/// Hands the answer to the last `send` of machine `id` over.
///
/// # Safety
/// Both byte ranges keep the contract of [`input`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn respond(
    id: u32,
    now_ms: f64,
    status: u32,
    headers_ptr: *const u8,
    headers_len: usize,
    body_ptr: *const u8,
    body_len: usize,
) -> *const u8 {
    // SAFETY: the host keeps the contract of `input` for both ranges.
    let (headers, body) = unsafe { (input(headers_ptr, headers_len), input(body_ptr, body_len)) };
    let value = match response(status, headers, body) {
        Ok(response) => with_machine(id, |machine| {
            machine.handle_response(timestamp(now_ms), response)
        }),
        Err(e) => e,
    };
    answer(value)
}

fn response(status: u32, headers: &[u8], body: &[u8]) -> Result<Response, Value> {
    let pairs: Vec<(String, String)> = if headers.is_empty() {
        Vec::new()
    } else {
        serde_json::from_slice(headers).map_err(|e| {
            usage(format!(
                "respond: headers are not [[name, value], ...]: {e}"
            ))
        })?
    };
    let mut builder = http::Response::builder().status(u16::try_from(status).unwrap_or(0));
    for (name, value) in pairs {
        builder = builder.header(name, value);
    }
    builder
        .body(body.to_vec())
        .map_err(|e| usage(format!("respond: bad response: {e}")))
}

/// Reports that the last `send` of machine `id` got no answer.
///
/// # Safety
/// See [`input`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fail(id: u32, now_ms: f64, ptr: *const u8, len: usize) -> *const u8 {
    // SAFETY: the host keeps the contract of `input`.
    let bytes = unsafe { input(ptr, len) };
    let value = match transport_error(bytes) {
        Ok(error) => with_machine(id, |machine| {
            machine.handle_transport_error(timestamp(now_ms), error)
        }),
        Err(e) => e,
    };
    answer(value)
}

fn transport_error(bytes: &[u8]) -> Result<TransportError, Value> {
    let doc: Value =
        serde_json::from_slice(bytes).map_err(|e| usage(format!("fail: bad JSON: {e}")))?;
    let kind: TransportErrorKind =
        serde_json::from_value(doc.get("kind").cloned().unwrap_or(json!("other")))
            .map_err(|e| usage(format!("fail: bad kind: {e}")))?;
    // Unknown means it may have left: the cautious answer.
    let sent = doc
        .get("may_have_been_sent")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let message = doc
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(TransportError::new(kind, sent, message))
}

/// Forgets machine `id`.
#[unsafe(no_mangle)]
pub extern "C" fn cancel(id: u32) -> *const u8 {
    let known = STATE.with_borrow_mut(|state| state.machines.remove(&id).is_some());
    answer(if known { json!({}) } else { unknown(id) })
}

// ---- JSON shapes -------------------------------------------------------------

fn with_machine(id: u32, f: impl FnOnce(&mut CallMachine)) -> Value {
    STATE.with_borrow_mut(|state| match state.machines.get_mut(&id) {
        Some(machine) => {
            f(machine);
            json!({})
        }
        None => unknown(id),
    })
}

fn unknown(id: u32) -> Value {
    usage(format!(
        "no machine {id} (never started, finished or cancelled)"
    ))
}

fn send_json(attempt: &Attempt) -> Value {
    let request = &attempt.request;
    let headers: Vec<(&str, String)> = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = request.body();
    // leap0-core's request bodies are JSON text, or nothing.
    let body = (!body.is_empty()).then(|| String::from_utf8_lossy(body).into_owned());
    json!({
        "method": request.method().as_str(),
        "url": request.uri().to_string(),
        "headers": headers,
        "body": body,
        "timeout_ms": attempt.timeout.as_secs_f64() * 1000.0,
        "attempt": attempt.number,
        "operation": attempt.operation.name(),
    })
}

fn done_json(result: Result<CallOutput, Error>) -> Value {
    match result {
        Ok(output) => match serde_json::to_value(&output) {
            Ok(value) => json!({"ok": value}),
            Err(e) => json!({"error": {"kind": "decode", "message": e.to_string()}}),
        },
        Err(error) => json!({"error": error_json(&error)}),
    }
}

fn error_json(error: &Error) -> Value {
    json!({
        "kind": error.kind_name(),
        "message": error.to_string(),
        "status": error.status().map(|s| s.as_u16()),
        "retryable": error.is_retryable(),
        "may_have_reached_server": error.may_have_reached_server(),
        "field": error.field(),
        "operation": error.operation().map(|o| o.name()),
    })
}

fn timestamp(now_ms: f64) -> Timestamp {
    let secs = if now_ms.is_finite() && now_ms > 0.0 {
        now_ms / 1000.0
    } else {
        0.0
    };
    Timestamp::from_origin(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

fn millis(at: Timestamp) -> f64 {
    at.since_origin().as_secs_f64() * 1000.0
}
