//! The HTTP side: accepting connections, recording requests, faults, admin routes.

use std::convert::Infallible;
use std::future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinSet;

use crate::api::{Model, Reply};
use crate::body::EmuBody;
use crate::config::EmulatorConfig;
use crate::fault::{self, Fault, FaultRule};
use crate::log::{AuthSeen, RequestLog, SeenRequest, SeenRequestJson};
use crate::route::Route;

/// Largest request body read; larger ones are answered 413.
const MAX_REQUEST_BODY: usize = 8 * 1024 * 1024;

/// What a [`Fault::TruncatedBody`] sends before closing.
const TRUNCATED_START: &[u8] = b"{\"id\": \"truncated\", \"name\": \"trunc";

/// How many bytes a [`Fault::TruncatedBody`] announces but never sends.
const TRUNCATED_MISSING: u64 = 64;

/// What a [`Fault::MalformedJson`] answers.
const MALFORMED_BODY: &[u8] = b"{\"id\": \"malformed\", \"state\": <html>not json";

const JSON: &str = "application/json";

/// State shared by the handle and every connection.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: EmulatorConfig,
    inner: Mutex<Inner>,
}

/// The mutable part of [`Shared`].
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) model: Model,
    pub(crate) faults: Vec<FaultRule>,
    pub(crate) log: RequestLog,
    request_counter: u64,
    admin_counter: u64,
}

impl Shared {
    pub(crate) fn new(config: EmulatorConfig) -> Self {
        let model = Model::new(&config, config.clock.now());
        let log = RequestLog::new(config.max_logged_requests);
        Self {
            config,
            inner: Mutex::new(Inner {
                model,
                faults: Vec::new(),
                log,
                request_counter: 0,
                admin_counter: 0,
            }),
        }
    }

    /// Locks the mutable state; a panic elsewhere never makes it unusable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Accepts connections until `shutdown` fires (or its sender is dropped), then aborts every
/// connection still open, including ones sleeping in a delay.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&shared)));
                }
                // Out of file descriptors and the like: let it pass, then go on.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let service_kill = Arc::clone(&kill);
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        let kill = Arc::clone(&service_kill);
        async move { Ok::<_, Infallible>(handle(request, shared, kill).await) }
    });
    let mut builder = http1::Builder::new();
    builder.auto_date_header(false);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    // Dropping the connection closes the socket: that is how faults cut it short.
    tokio::select! {
        biased;
        () = kill.notified() => {}
        _ = connection => {}
    }
}

/// Why a request body could not be read.
enum BodyError {
    TooLarge,
    Broken,
}

async fn read_body(body: Incoming) -> Result<Bytes, BodyError> {
    match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Broken),
    }
}

async fn handle(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    kill: Arc<Notify>,
) -> Response<EmuBody> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| path.clone(), |pq| pq.as_str().to_owned());
    let query = parts.uri.query().map(str::to_owned);
    let body = read_body(body).await;

    if path == "/_emulator" || path.starts_with("/_emulator/") {
        return admin(&parts.method, &path, body, &shared);
    }

    let auth = check_auth(&parts.headers, &shared.config);
    let (request_id, fault) = {
        let mut inner = shared.lock();
        inner.request_counter += 1;
        let request_id = format!("req-{:04}", inner.request_counter);
        let fault = fault::take_matching(&mut inner.faults, parts.method.as_str(), &target);
        let seen = SeenRequest {
            request_id: request_id.clone(),
            method: parts.method.as_str().to_owned(),
            target,
            headers: recorded_headers(&parts.headers, &shared.config),
            auth,
            body: body.as_ref().map(|b| b.to_vec()).unwrap_or_default(),
            fault: fault.clone(),
        };
        inner.log.push(seen);
        (request_id, fault)
    };

    let route = Route::resolve(&parts.method, &path);
    let mut hold_answer = None;
    match fault {
        None => {}
        Some(Fault::Delay(delay)) => hold_answer = Some(delay),
        Some(Fault::DropConnection) => {
            kill.notify_one();
            return future::pending().await;
        }
        Some(other) => {
            let response = fault_response(other, route.success_status(), kill);
            return finish(response, &request_id);
        }
    }

    let reply = match body {
        Err(BodyError::TooLarge) => Reply::message(413, "request body too large"),
        Err(BodyError::Broken) => {
            Reply::bad_body("could not read the request body", "could not be read")
        }
        Ok(_) if !(path == "/v1" || path.starts_with("/v1/")) => {
            Reply::message(404, "route not found")
        }
        Ok(_) if auth != AuthSeen::Accepted => Reply::message(401, "invalid or missing API key"),
        Ok(bytes) => {
            // The one clock reading of this request: the model never reads a clock.
            let now = shared.config.clock.now();
            let mut inner = shared.lock();
            inner
                .model
                .handle(&shared.config, route, query.as_deref(), &bytes, now)
        }
    };
    // A slow answer, not a slow server: the request has been acted on before the
    // client can time out, which is what makes re-sending a POST unsafe.
    if let Some(delay) = hold_answer {
        tokio::time::sleep(delay).await;
    }
    finish(reply_response(reply), &request_id)
}

/// Whether the configured auth header carries the key, as `Bearer <key>` or bare.
fn check_auth(headers: &HeaderMap, config: &EmulatorConfig) -> AuthSeen {
    let Some(value) = headers.get(config.auth_header.trim()) else {
        return AuthSeen::Missing;
    };
    let Ok(text) = value.to_str() else {
        return AuthSeen::Rejected;
    };
    let text = text.trim();
    let key = match (text.get(..7), text.get(7..)) {
        (Some(scheme), Some(rest)) if scheme.eq_ignore_ascii_case("bearer ") => rest.trim(),
        _ => text,
    };
    if !key.is_empty() && key == config.api_key {
        AuthSeen::Accepted
    } else {
        AuthSeen::Rejected
    }
}

/// The headers as the log keeps them: without the auth header, with secrets redacted.
fn recorded_headers(headers: &HeaderMap, config: &EmulatorConfig) -> Vec<(String, String)> {
    let auth_name = config.auth_header.trim().to_ascii_lowercase();
    headers
        .iter()
        .filter(|(name, _)| name.as_str() != auth_name)
        .map(|(name, value)| {
            let name = name.as_str();
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            // Sensitive names are redacted by the one rule when the log keeps
            // the request; here, the key found under any other name.
            let secret = !config.api_key.is_empty() && text.contains(config.api_key.as_str());
            let text = if secret {
                crate::log::REDACTED.to_owned()
            } else {
                text
            };
            (name.to_owned(), text)
        })
        .collect()
}

fn default_fault_message(status: u16) -> String {
    match status {
        429 => "rate limit exceeded".to_owned(),
        500 => "internal server error".to_owned(),
        502 => "bad gateway".to_owned(),
        503 => "no runner capacity available".to_owned(),
        504 => "gateway timeout".to_owned(),
        _ => StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .map_or_else(|| "injected fault".to_owned(), str::to_ascii_lowercase),
    }
}

/// The response a non-delay, non-drop fault gives; `success` is the route's success status.
fn fault_response(fault: Fault, success: u16, kill: Arc<Notify>) -> Response<EmuBody> {
    let success = if success == 204 { 200 } else { success };
    match fault {
        Fault::Status {
            status,
            retry_after,
            body,
        } => {
            let status = if (200..=599).contains(&status) {
                status
            } else {
                500
            };
            let mut response = match body {
                None => reply_response(Reply::message(status, &default_fault_message(status))),
                Some(text) => {
                    let content_type = if serde_json::from_str::<serde_json::Value>(&text).is_ok() {
                        JSON
                    } else {
                        "text/plain; charset=utf-8"
                    };
                    response(status, EmuBody::full(text), Some(content_type))
                }
            };
            if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static("retry-after"), value);
            }
            response
        }
        Fault::TruncatedBody => response(
            success,
            EmuBody::truncated(TRUNCATED_START, TRUNCATED_MISSING, kill),
            Some(JSON),
        ),
        Fault::MalformedJson => response(
            success,
            EmuBody::full(Bytes::from_static(MALFORMED_BODY)),
            Some(JSON),
        ),
        Fault::OversizeBody { bytes } => {
            response(success, EmuBody::filler(bytes, true), Some(JSON))
        }
        Fault::OversizeChunked { bytes } => {
            response(success, EmuBody::filler(bytes, false), Some(JSON))
        }
        // Handled before a response is built; answered normally if they ever get here.
        Fault::Delay(_) | Fault::DropConnection => response(success, EmuBody::empty(), None),
    }
}

fn response(status: u16, body: EmuBody, content_type: Option<&'static str>) -> Response<EmuBody> {
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    response
}

fn reply_response(reply: Reply) -> Response<EmuBody> {
    let mut out = match reply.json {
        Some(bytes) => response(reply.status, EmuBody::full(bytes), Some(JSON)),
        None => response(reply.status, EmuBody::empty(), None),
    };
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            out.headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    out
}

fn finish(mut response: Response<EmuBody>, request_id: &str) -> Response<EmuBody> {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    response
}

fn json_reply(status: u16, value: &impl Serialize) -> Response<EmuBody> {
    reply_response(Reply::json(status, value))
}

/// The `/_emulator` routes: no key needed, not logged, not faulted.
fn admin(
    method: &Method,
    path: &str,
    body: Result<Bytes, BodyError>,
    shared: &Shared,
) -> Response<EmuBody> {
    let request_id = {
        let mut inner = shared.lock();
        inner.admin_counter += 1;
        format!("req-admin-{:04}", inner.admin_counter)
    };
    let path = path.strip_suffix('/').unwrap_or(path);
    let response = match (path, method) {
        ("/_emulator/faults", &Method::POST) => match body {
            Ok(bytes) => match serde_json::from_slice::<FaultRule>(&bytes) {
                Ok(rule) => match &rule.fault {
                    Fault::Status { status, .. } if !(200..=599).contains(status) => {
                        reply_response(Reply::message(
                            400,
                            "invalid fault rule: status must be in 200..=599",
                        ))
                    }
                    _ => {
                        let response = json_reply(201, &rule);
                        shared.lock().faults.push(rule);
                        response
                    }
                },
                Err(err) => {
                    reply_response(Reply::message(400, &format!("invalid fault rule: {err}")))
                }
            },
            Err(_) => reply_response(Reply::message(400, "could not read the request body")),
        },
        ("/_emulator/faults", &Method::GET) => {
            let rules = shared.lock().faults.clone();
            json_reply(200, &rules)
        }
        ("/_emulator/faults", &Method::DELETE) => {
            shared.lock().faults.clear();
            reply_response(Reply::empty(204))
        }
        ("/_emulator/requests", &Method::GET) => {
            let inner = shared.lock();
            let log: Vec<SeenRequestJson<'_>> =
                inner.log.iter().map(SeenRequestJson::from).collect();
            json_reply(200, &log)
        }
        ("/_emulator/requests", &Method::DELETE) => {
            shared.lock().log.clear();
            reply_response(Reply::empty(204))
        }
        ("/_emulator/faults" | "/_emulator/requests", _) => {
            let mut reply = Reply::message(405, "method not allowed");
            let allow = if path.ends_with("faults") {
                "GET, POST, DELETE"
            } else {
                "GET, DELETE"
            };
            reply.headers.push(("allow", allow.to_owned()));
            reply_response(reply)
        }
        _ => reply_response(Reply::message(404, "route not found")),
    };
    finish(response, &request_id)
}
