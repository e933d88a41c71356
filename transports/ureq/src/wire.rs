//! What happens on the connection: knowing whether any byte of the request left,
//! and keeping credentials out of ureq's wire log.
//!
//! ureq runs a whole exchange on the calling thread, so thread-local state is
//! enough. [`start_exchange`] resets it.
//!
//! **Sent or not.** [`TrackedTransport`] notes the first write outside of
//! connection setup. Writes made while a connector is still running (a proxy's
//! `CONNECT`, which goes through a nested run of the connector chain) do not
//! count: the API request has not left yet. TLS handshake traffic never reaches
//! it: it wraps the finished (already encrypting) connection.
//!
//! **No key in the log.** ureq's protocol layer logs every request head it
//! writes, byte by byte, at `trace` level, whatever logger the program installs.
//! So the head ureq writes never holds a credential: [`hide_secrets`] swaps each
//! sensitive header value for a placeholder of the same length, and
//! [`TrackedTransport`] puts the real value back into the output buffer at the
//! moment it is handed to the connection, after the log was written.

use std::cell::{Cell, RefCell};

use http::{HeaderMap, HeaderValue};
use leap0_core::transport::is_sensitive_entry;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, DefaultConnector, NextTimeout, Transport,
};

/// What placeholders are made of.
const PLACEHOLDER: &[u8] = b"leap0redacted";

/// A header value hidden from ureq: the exact line its placeholder makes in
/// the request head, and the real value to put back.
struct Hidden {
    line: Vec<u8>,
    value_at: usize,
    real: Vec<u8>,
}

thread_local! {
    /// How many connector calls are running on this thread (proxy setup nests them).
    static CONNECTING: Cell<u32> = const { Cell::new(0) };
    /// Whether the current exchange has written request bytes to a connection.
    static WRITTEN: Cell<bool> = const { Cell::new(false) };
    /// Values still to put back into the request head.
    static HIDDEN: RefCell<Vec<Hidden>> = const { RefCell::new(Vec::new()) };
}

/// Marks the start of an exchange on this thread: nothing written, nothing hidden.
pub(crate) fn start_exchange() {
    WRITTEN.with(|w| w.set(false));
    CONNECTING.with(|c| c.set(0));
    HIDDEN.with(|h| h.borrow_mut().clear());
}

/// Whether the current exchange has handed request bytes to a connection.
pub(crate) fn request_written() -> bool {
    WRITTEN.with(Cell::get)
}

/// Replaces every sensitive header value in `headers` with a placeholder of the
/// same length, remembered for [`TrackedTransport`] to swap back on the way
/// out. Returns the real values (for scrubbing error messages).
pub(crate) fn hide_secrets(headers: &mut HeaderMap) -> Vec<HeaderValue> {
    let mut real_values = Vec::new();
    HIDDEN.with(|hidden| {
        let mut hidden = hidden.borrow_mut();
        for (name, value) in headers.iter_mut() {
            if !is_sensitive_entry(name, value) {
                continue;
            }
            let real = value.as_bytes().to_vec();
            let placeholder: Vec<u8> = PLACEHOLDER
                .iter()
                .copied()
                .cycle()
                .take(real.len())
                .collect();
            let Ok(mut swapped) = HeaderValue::from_bytes(&placeholder) else {
                continue;
            };
            swapped.set_sensitive(true);
            let mut line = Vec::with_capacity(name.as_str().len() + real.len() + 6);
            line.extend_from_slice(b"\r\n");
            line.extend_from_slice(name.as_str().as_bytes());
            line.extend_from_slice(b": ");
            let value_at = line.len();
            line.extend_from_slice(&placeholder);
            line.extend_from_slice(b"\r\n");
            hidden.push(Hidden {
                line,
                value_at,
                real,
            });
            real_values.push(std::mem::replace(value, swapped));
        }
    });
    real_values
}

/// Puts hidden values back into `output` (bytes about to be sent).
fn restore_secrets(output: &mut [u8]) {
    HIDDEN.with(|hidden| {
        let mut hidden = hidden.borrow_mut();
        hidden.retain(|h| {
            // The line starts at one of the head's few `\r`s.
            let Some(at) = memchr::memchr_iter(b'\r', output)
                .find(|&at| output.get(at..at + h.line.len()) == Some(h.line.as_slice()))
            else {
                return true;
            };
            let start = at + h.value_at;
            if let Some(target) = output.get_mut(start..start + h.real.len()) {
                target.copy_from_slice(&h.real);
                return false;
            }
            true
        });
    });
}

/// ureq's default connector chain (proxy, TCP, rustls), with its connections wrapped
/// in [`TrackedTransport`].
#[derive(Debug, Default)]
pub(crate) struct TrackingConnector {
    inner: DefaultConnector,
}

impl Connector<()> for TrackingConnector {
    type Out = TrackedTransport;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        CONNECTING.with(|c| c.set(c.get().saturating_add(1)));
        let connected = self.inner.connect(details, chained);
        CONNECTING.with(|c| c.set(c.get().saturating_sub(1)));
        Ok(connected?.map(|inner| TrackedTransport { inner }))
    }
}

/// A connection that notes when the request is written to it, and puts hidden
/// credentials back into it.
#[derive(Debug)]
pub(crate) struct TrackedTransport {
    inner: Box<dyn Transport>,
}

impl Transport for TrackedTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if CONNECTING.with(Cell::get) == 0 {
            WRITTEN.with(|w| w.set(true));
            if HIDDEN.with(|h| !h.borrow().is_empty()) {
                let output = self.inner.buffers().output();
                let end = amount.min(output.len());
                restore_secrets(&mut output[..end]);
            }
        }
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hidden_values_come_back_only_in_their_own_line() {
        start_exchange();
        let mut headers = HeaderMap::new();
        let mut key = HeaderValue::from_static("Bearer sk-secret-123");
        key.set_sensitive(true);
        headers.insert("authorization", key);
        headers.insert("x-other", HeaderValue::from_static("visible"));
        let real = hide_secrets(&mut headers);
        assert_eq!(real.len(), 1);
        let shown = headers["authorization"].as_bytes().to_vec();
        assert_eq!(shown.len(), "Bearer sk-secret-123".len());
        assert!(!String::from_utf8_lossy(&shown).contains("sk-secret"));

        let mut head = b"GET / HTTP/1.1\r\nauthorization: ".to_vec();
        head.extend_from_slice(&shown);
        head.extend_from_slice(b"\r\nx-other: visible\r\n\r\n");
        restore_secrets(&mut head);
        assert_eq!(
            String::from_utf8_lossy(&head),
            "GET / HTTP/1.1\r\nauthorization: Bearer sk-secret-123\r\nx-other: visible\r\n\r\n"
        );
        HIDDEN.with(|h| assert!(h.borrow().is_empty(), "restored once, then forgotten"));
    }
}
