//! The response body type: whole bodies, cheaply streamed filler, and truncation.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame, SizeHint};
use tokio::sync::Notify;

/// Size of one filler chunk.
const CHUNK: usize = 64 * 1024;

/// The filler every oversize body is cut from: one static buffer, never copied.
static FILL: [u8; CHUNK] = [b'x'; CHUNK];

/// What an oversize body starts with, so that it looks like the start of a JSON object.
const FILLER_PREFIX: &[u8] = b"{\"message\":\"";

/// A response body.
#[derive(Debug)]
pub(crate) enum EmuBody {
    /// A body sent in one frame (`None` once sent, or for an empty body).
    Full(Option<Bytes>),
    /// `prefix` then `remaining` filler bytes, produced chunk by chunk.
    Filler {
        prefix: Option<Bytes>,
        remaining: u64,
        /// Whether the length is announced (`Content-Length`) or left to chunked encoding.
        announce_length: bool,
    },
    /// Sends `data` under a `Content-Length` of `declared` (larger), then asks the connection
    /// to be closed through `kill`.
    Truncated {
        data: Option<Bytes>,
        declared: u64,
        kill: Arc<Notify>,
    },
}

impl EmuBody {
    /// An empty body.
    pub(crate) fn empty() -> Self {
        Self::Full(None)
    }

    /// A whole body.
    pub(crate) fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        if bytes.is_empty() {
            Self::Full(None)
        } else {
            Self::Full(Some(bytes))
        }
    }

    /// A body of exactly `total` bytes that starts like a JSON object and never ends it.
    pub(crate) fn filler(total: u64, announce_length: bool) -> Self {
        let prefix_len = FILLER_PREFIX
            .len()
            .min(usize::try_from(total).unwrap_or(usize::MAX));
        let prefix = FILLER_PREFIX.get(..prefix_len).unwrap_or_default();
        Self::Filler {
            prefix: (!prefix.is_empty()).then(|| Bytes::from_static(prefix)),
            remaining: total - prefix_len as u64,
            announce_length,
        }
    }

    /// Bytes of `data`, announced as `data.len() + missing`.
    pub(crate) fn truncated(data: &'static [u8], missing: u64, kill: Arc<Notify>) -> Self {
        Self::Truncated {
            data: Some(Bytes::from_static(data)),
            declared: data.len() as u64 + missing,
            kill,
        }
    }
}

impl Body for EmuBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Self::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Self::Filler {
                prefix, remaining, ..
            } => {
                if let Some(prefix) = prefix.take() {
                    return Poll::Ready(Some(Ok(Frame::data(prefix))));
                }
                if *remaining == 0 {
                    return Poll::Ready(None);
                }
                let n = usize::try_from(*remaining).map_or(CHUNK, |r| r.min(CHUNK));
                *remaining -= n as u64;
                let chunk = FILL.get(..n).unwrap_or_default();
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(chunk)))))
            }
            Self::Truncated { data, kill, .. } => match data.take() {
                Some(bytes) => Poll::Ready(Some(Ok(Frame::data(bytes)))),
                None => {
                    // Everything sent is flushed while this stays pending; the connection
                    // task then drops the connection, leaving the body short.
                    kill.notify_one();
                    Poll::Pending
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Full(bytes) => bytes.is_none(),
            Self::Filler {
                prefix, remaining, ..
            } => prefix.is_none() && *remaining == 0,
            Self::Truncated { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Self::Filler {
                prefix,
                remaining,
                announce_length,
            } => {
                if *announce_length {
                    let prefix_len = prefix.as_ref().map_or(0, |p| p.len() as u64);
                    SizeHint::with_exact(prefix_len + *remaining)
                } else {
                    SizeHint::default()
                }
            }
            Self::Truncated { declared, .. } => SizeHint::with_exact(*declared),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn filler_has_the_exact_length() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for total in [0_u64, 5, 12, 13, CHUNK as u64 + 7, 3 * CHUNK as u64] {
            let body = EmuBody::filler(total, true);
            assert_eq!(body.size_hint().exact(), Some(total));
            let bytes = rt.block_on(body.collect()).unwrap().to_bytes();
            assert_eq!(bytes.len() as u64, total);
            let expected_prefix = &FILLER_PREFIX[..FILLER_PREFIX.len().min(bytes.len())];
            assert!(bytes.starts_with(expected_prefix));
            assert!(EmuBody::filler(total, false).size_hint().exact().is_none() || total == 0);
        }
    }
}
