//! [`Cancel`]: cancelling calls from outside the drive loop.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use crate::error::Leftover;

/// A handle that cancels the calls of a client it is given to
/// ([`SnapshotsClient::with_cancel`](crate::SnapshotsClient::with_cancel)), from
/// another thread, a signal handler or a UI, and then says what they left.
///
/// A call that sees it cancelled ends with [`Error::Cancelled`](crate::Error::Cancelled)
/// at its next step: a blocking call after its request in flight returns (a
/// transport cannot be interrupted) or within 50 ms of a wait; an async call at
/// once. An async call's future dropped mid-call reports the same way:
/// [`leftovers`](Self::leftovers) then holds what it may have left.
///
/// ```
/// use leap0_core::machine::Cancel;
///
/// let cancel = Cancel::new();
/// assert!(!cancel.is_cancelled());
/// cancel.cancel();
/// assert!(cancel.is_cancelled());
/// assert_eq!(cancel.leftovers(), None); // no call has run with it yet
/// ```
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    cancelled: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
    leftovers: Mutex<Option<Vec<Leftover>>>,
}

impl Cancel {
    /// A handle not cancelled yet.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Cancels every call run with this handle, now and later.
    pub fn cancel(&self) {
        self.shared.cancelled.store(true, Ordering::SeqCst);
        let wakers = std::mem::take(
            &mut *self
                .shared
                .wakers
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.shared.cancelled.load(Ordering::SeqCst)
    }

    /// What the last call run with this handle that was cancelled (or whose
    /// future was dropped before it finished) may have left on the server;
    /// `None` while no such call has ended.
    pub fn leftovers(&self) -> Option<Vec<Leftover>> {
        self.shared
            .leftovers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn record(&self, leftovers: Vec<Leftover>) {
        *self
            .shared
            .leftovers
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(leftovers);
    }

    /// Ready once cancelled.
    fn poll_cancelled(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_cancelled() {
            return Poll::Ready(());
        }
        let mut wakers = self
            .shared
            .wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        drop(wakers);
        // Cancelled between the check and the registration: do not miss it.
        if self.is_cancelled() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// `future`'s output, or `None` if `cancel` fires first.
pub(crate) async fn unless_cancelled<F: Future>(
    future: F,
    cancel: Option<&Cancel>,
) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        match cancel {
            Some(cancel) if cancel.poll_cancelled(cx).is_ready() => Poll::Ready(None),
            _ => Poll::Pending,
        }
    })
    .await
}
