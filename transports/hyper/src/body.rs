//! The request body, which tells when a connection takes the request.
//!
//! hyper's connection asks a request's body whether it is empty the moment it
//! takes the request to write it, and not before. That moment is what a
//! timeout needs to know: before it, the request cannot have left (safe to
//! retry, even a POST); after it, its bytes may have been written. Asking the
//! body costs one shared flag per call, a fraction of what hyper-util's
//! `capture_connection` costs (a watch channel per request).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use http_body_util::Full;
use hyper::body::{Body, Bytes, Frame, SizeHint};

/// A request body that marks, once a connection has begun writing it, that
/// the request may have left.
pub(crate) struct TrackedBody {
    inner: Full<Bytes>,
    taken: Arc<AtomicBool>,
}

/// Whether a connection has taken the request.
pub(crate) struct Taken(Arc<AtomicBool>);

impl Taken {
    pub(crate) fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

impl TrackedBody {
    /// `bytes` as a body, and the flag that says whether a connection took it.
    pub(crate) fn new(bytes: Vec<u8>) -> (TrackedBody, Taken) {
        let taken = Arc::new(AtomicBool::new(false));
        let body = TrackedBody {
            inner: Full::new(Bytes::from(bytes)),
            taken: Arc::clone(&taken),
        };
        (body, Taken(taken))
    }

    fn mark(&self) {
        self.taken.store(true, Ordering::Release);
    }
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.mark();
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.mark();
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.mark();
        self.inner.size_hint()
    }
}
