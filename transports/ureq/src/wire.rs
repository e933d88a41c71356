//! Knowing whether any byte of the request reached a connection.
//!
//! ureq runs a whole exchange on the calling thread, so a thread-local flag is enough:
//! [`start_exchange`] clears it, and [`TrackedTransport`] sets it the first time ureq
//! asks it to write outside of connection setup. Writes made while a connector is
//! still running (a proxy's `CONNECT`, which goes through a nested run of the
//! connector chain) do not count: the API request has not left yet.
//!
//! TLS handshake traffic never reaches [`TrackedTransport`], which wraps the finished
//! (already encrypted) connection.

use std::cell::Cell;

use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, DefaultConnector, NextTimeout, Transport,
};

thread_local! {
    /// How many connector calls are running on this thread (proxy setup nests them).
    static CONNECTING: Cell<u32> = const { Cell::new(0) };
    /// Whether the current exchange has written request bytes to a connection.
    static WRITTEN: Cell<bool> = const { Cell::new(false) };
}

/// Marks the start of an exchange on this thread: nothing has been written yet.
pub(crate) fn start_exchange() {
    WRITTEN.with(|w| w.set(false));
    CONNECTING.with(|c| c.set(0));
}

/// Whether the current exchange has handed request bytes to a connection.
pub(crate) fn request_written() -> bool {
    WRITTEN.with(Cell::get)
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

/// A connection that notes when the request is written to it.
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
