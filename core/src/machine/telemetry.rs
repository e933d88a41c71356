//! Telemetry from the machines themselves (the spans and events are listed
//! in the [module docs](super#telemetry)). Still pure: events carry the
//! `now` the driver passed in.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use crate::model::SandboxState;
use crate::operation::{Operation, Route};
use crate::time::Timestamp;
use crate::transport::TransportError;

/// Why a machine waits: what its [`Action::WaitUntil`](super::Action::WaitUntil)
/// deadline is for. See [`Machine::wait_reason`](super::Machine::wait_reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitReason {
    /// A computed backoff before retrying a failed attempt.
    Backoff,
    /// The delay the server's `Retry-After` asked for before retrying.
    RetryAfter,
    /// The interval between two status polls of a wait.
    Poll,
}

impl WaitReason {
    /// A stable snake_case name (`backoff`, `retry_after`, `poll`).
    pub fn name(self) -> &'static str {
        match self {
            WaitReason::Backoff => "backoff",
            WaitReason::RetryAfter => "retry_after",
            WaitReason::Poll => "poll",
        }
    }
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One call's telemetry: its span, shared by every machine the call is made
/// of. Without the `tracing` feature it is empty and every method does nothing.
#[derive(Clone, Debug)]
pub(crate) struct Telemetry {
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

/// What an attempt's outcome event needs to know about the attempt.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) struct Sent {
    pub(crate) route: &'static Route,
    pub(crate) number: u32,
    pub(crate) at: Timestamp,
}

impl Sent {
    /// `http.request.resend_count`: only for resends, as the convention says.
    #[cfg(feature = "tracing")]
    fn resends(self) -> Option<u32> {
        self.number.checked_sub(1).filter(|&n| n > 0)
    }
}

/// An event of one attempt, in the call's span: the fields every stage of an
/// attempt carries, then the stage's own fields and message.
#[cfg(feature = "tracing")]
macro_rules! attempt_event {
    ($telemetry:expr, $sent:expr, $($stage:tt)+) => {
        tracing::debug!(
            parent: &$telemetry.span,
            http.request.method = $sent.route.method.as_str(),
            url.template = $sent.route.template,
            http.request.resend_count = $sent.resends(),
            leap0.operation = $sent.route.name,
            $($stage)+
        )
    };
}

impl Telemetry {
    /// A new call of `operation`, its span a child of the current one.
    pub(crate) fn call(operation: Operation) -> Telemetry {
        #[cfg(not(feature = "tracing"))]
        let _ = operation;
        Telemetry {
            #[cfg(feature = "tracing")]
            span: tracing::debug_span!("leap0", leap0.operation = operation.name()),
        }
    }

    /// The call's span.
    #[cfg(feature = "tracing")]
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Runs `send` (which makes the transport's future) inside the call's
    /// span, and the future it makes too: a blocking transport does its work
    /// in `send`, an async one when polled, and both log inside the span.
    pub(crate) fn around<F: Future>(
        &self,
        send: impl FnOnce() -> F,
    ) -> impl Future<Output = F::Output> {
        #[cfg(feature = "tracing")]
        {
            let future = self.span.in_scope(send);
            tracing::Instrument::instrument(future, self.span.clone())
        }
        #[cfg(not(feature = "tracing"))]
        send()
    }

    /// An attempt is about to be sent.
    pub(crate) fn sending(&self, sent: Sent) {
        #[cfg(feature = "tracing")]
        attempt_event!(self, sent, "sending");
        #[cfg(not(feature = "tracing"))]
        let _ = sent;
    }

    /// An attempt was answered with `status`.
    pub(crate) fn answered(&self, sent: Sent, now: Timestamp, status: http::StatusCode) {
        #[cfg(feature = "tracing")]
        attempt_event!(
            self,
            sent,
            http.response.status_code = status.as_u16(),
            error.type = (status.as_u16() >= 400).then(|| status.as_str()),
            http.client.request.duration = seconds(now.saturating_duration_since(sent.at)),
            leap0.may_have_been_sent = true,
            "answered"
        );
        #[cfg(not(feature = "tracing"))]
        let _ = (sent, now, status);
    }

    /// An attempt got no answer.
    pub(crate) fn no_answer(&self, sent: Sent, now: Timestamp, error: &TransportError) {
        #[cfg(feature = "tracing")]
        attempt_event!(
            self,
            sent,
            error.type = error.kind.name(),
            http.client.request.duration = seconds(now.saturating_duration_since(sent.at)),
            leap0.may_have_been_sent = error.may_have_been_sent,
            "no answer"
        );
        #[cfg(not(feature = "tracing"))]
        let _ = (sent, now, error);
    }

    /// The machine decided to wait `delay` for `reason`.
    pub(crate) fn waiting(&self, reason: WaitReason, delay: Duration) {
        #[cfg(feature = "tracing")]
        tracing::debug!(
            parent: &self.span,
            leap0.wait.reason = reason.name(),
            leap0.wait.delay = seconds(delay),
            "waiting"
        );
        #[cfg(not(feature = "tracing"))]
        let _ = (reason, delay);
    }

    /// A status poll saw the sandbox in `state`.
    pub(crate) fn polled(&self, sandbox_id: &str, state: &SandboxState, target: &SandboxState) {
        #[cfg(feature = "tracing")]
        tracing::debug!(
            parent: &self.span,
            leap0.sandbox.id = sandbox_id,
            leap0.sandbox.state = state.as_str(),
            leap0.sandbox.target = target.as_str(),
            "polled"
        );
        #[cfg(not(feature = "tracing"))]
        let _ = (sandbox_id, state, target);
    }

    /// Page `page` brought `held` items; `collected` are kept so far.
    pub(crate) fn page(&self, page: u64, held: u64, collected: u64) {
        #[cfg(feature = "tracing")]
        tracing::debug!(
            parent: &self.span,
            leap0.page = page,
            leap0.page.items = held,
            leap0.items = collected,
            "page"
        );
        #[cfg(not(feature = "tracing"))]
        let _ = (page, held, collected);
    }
}

#[cfg(feature = "tracing")]
fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}
