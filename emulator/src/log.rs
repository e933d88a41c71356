//! The request log: a ring of the latest requests, and a count of all of them.

use std::collections::VecDeque;

use serde::Serialize;

use crate::fault::Fault;

/// What the request's auth header looked like. Its value itself is never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthSeen {
    /// No auth header.
    Missing,
    /// An auth header that does not carry the configured key.
    Rejected,
    /// An auth header carrying the configured key.
    Accepted,
}

/// One request the emulator received (admin routes excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// The `x-request-id` the emulator answered with (`req-0001`, ...).
    pub request_id: String,
    /// The method, e.g. `POST`.
    pub method: String,
    /// The raw request target: path and query exactly as sent, percent-encoding kept.
    pub target: String,
    /// The headers in the order received, names lower-case, values lossily decoded as
    /// UTF-8. The configured auth header is left out (see [`auth`](Self::auth)); any other
    /// header whose value contains the API key, and any header the SDK's one rule calls
    /// sensitive ([`is_sensitive_header_name`]: `authorization`, `proxy-authorization`,
    /// `x-api-key`, `cookie`, `x-session-token`, ...), has its value replaced by
    /// [`REDACTED`] (`<redacted>`).
    pub headers: Vec<(String, String)>,
    /// Whether the auth header was present and accepted.
    pub auth: AuthSeen,
    /// The request body (empty when none, or when it exceeded the 8 MiB limit).
    pub body: Vec<u8>,
    /// The fault injected into this request, if any.
    pub fault: Option<Fault>,
}

impl SeenRequest {
    /// The path part of [`target`](Self::target) (before any `?`), still percent-encoded.
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(self.target.as_str(), |(path, _)| path)
    }

    /// The query part of [`target`](Self::target) (after the first `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, query)| query)
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy UTF-8).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Whether the method matches (case-insensitive) and the raw target starts with
    /// `target_prefix`.
    pub fn matches(&self, method: &str, target_prefix: &str) -> bool {
        self.method.eq_ignore_ascii_case(method) && self.target.starts_with(target_prefix)
    }
}

/// The last `capacity` requests received, oldest first, and how many older ones were
/// dropped to make room.
#[derive(Debug)]
pub(crate) struct RequestLog {
    kept: VecDeque<SeenRequest>,
    capacity: usize,
    dropped: usize,
}

impl RequestLog {
    /// An empty log keeping at most `capacity` requests.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            kept: VecDeque::new(),
            capacity,
            dropped: 0,
        }
    }

    /// Records a request, dropping the oldest one when full. Whatever the
    /// caller redacted already, every sensitive header's value is replaced by
    /// [`REDACTED`] here, so that no credential is ever kept.
    pub(crate) fn push(&mut self, mut seen: SeenRequest) {
        redact_sensitive(&mut seen.headers);
        self.kept.push_back(seen);
        while self.kept.len() > self.capacity && self.kept.pop_front().is_some() {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    /// Forgets everything, the count of dropped requests included.
    pub(crate) fn clear(&mut self) {
        self.kept.clear();
        self.dropped = 0;
    }

    /// The requests kept, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &SeenRequest> {
        self.kept.iter()
    }

    /// How many requests were received since the last [`clear`](Self::clear), kept or not.
    pub(crate) fn received(&self) -> usize {
        self.kept.len().saturating_add(self.dropped)
    }

    /// How many requests were dropped since the last [`clear`](Self::clear).
    pub(crate) fn dropped(&self) -> usize {
        self.dropped
    }
}

pub(crate) use leap0_core::transport::{REDACTED, is_sensitive_header_name};

/// Replaces the value of every header that [`is_sensitive_header_name`] calls
/// sensitive by [`REDACTED`].
pub(crate) fn redact_sensitive(headers: &mut [(String, String)]) {
    for (name, value) in headers {
        if is_sensitive_header_name(name) && value != REDACTED {
            REDACTED.clone_into(value);
        }
    }
}

/// The JSON form of a [`SeenRequest`] served by `GET /_emulator/requests`.
#[derive(Serialize)]
pub(crate) struct SeenRequestJson<'a> {
    request_id: &'a str,
    method: &'a str,
    target: &'a str,
    headers: &'a [(String, String)],
    auth: AuthSeen,
    body: String,
    fault: Option<&'a Fault>,
}

impl<'a> From<&'a SeenRequest> for SeenRequestJson<'a> {
    fn from(seen: &'a SeenRequest) -> Self {
        Self {
            request_id: &seen.request_id,
            method: &seen.method,
            target: &seen.target,
            headers: &seen.headers,
            auth: seen.auth,
            body: seen.body_text(),
            fault: seen.fault.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(n: usize) -> SeenRequest {
        SeenRequest {
            request_id: format!("req-{n:04}"),
            method: "GET".to_owned(),
            target: "/v1/snapshots".to_owned(),
            headers: Vec::new(),
            auth: AuthSeen::Accepted,
            body: Vec::new(),
            fault: None,
        }
    }

    fn ids(log: &RequestLog) -> Vec<String> {
        log.iter().map(|r| r.request_id.clone()).collect()
    }

    #[test]
    fn keeps_the_newest_and_counts_everything() {
        let mut log = RequestLog::new(2);
        for n in 1..=5 {
            log.push(seen(n));
        }
        assert_eq!(ids(&log), ["req-0004", "req-0005"]);
        assert_eq!((log.received(), log.dropped()), (5, 3));
        log.clear();
        assert_eq!((log.received(), log.dropped()), (0, 0));
        log.push(seen(6));
        assert_eq!(ids(&log), ["req-0006"]);
    }

    #[test]
    fn sensitive_headers_are_never_kept() {
        let mut log = RequestLog::new(1);
        let mut request = seen(1);
        request.headers = [
            "x-session-token",
            "x-auth-token",
            "cookie",
            "authorization",
            "proxy-authorization",
            "x-api-key",
            "user-agent",
        ]
        .iter()
        .map(|name| ((*name).to_owned(), "SECRET-XYZ".to_owned()))
        .collect();
        log.push(request);
        let kept = log
            .iter()
            .next()
            .map(|r| r.headers.clone())
            .unwrap_or_default();
        let redacted: Vec<&str> = kept
            .iter()
            .filter(|(_, v)| v == REDACTED)
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(redacted.len(), 6, "{kept:?}");
        assert_eq!(kept[6], ("user-agent".to_owned(), "SECRET-XYZ".to_owned()));
    }

    #[test]
    fn a_zero_capacity_log_only_counts() {
        let mut log = RequestLog::new(0);
        log.push(seen(1));
        log.push(seen(2));
        assert!(ids(&log).is_empty());
        assert_eq!((log.received(), log.dropped()), (2, 2));
    }
}
