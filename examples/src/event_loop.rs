//! Many operations at once on one thread, with no async runtime: leap0-core's
//! machines driven by a `mio` poll loop over non-blocking sockets and a timer
//! heap. What `examples/examples/event_loop.rs` runs.
//!
//! The loop, in order, on every wake-up:
//!
//! 1. Read the time once ([`SystemClock`]; the machines never read a clock).
//! 2. Pop the timer heap up to now. A machine's `WaitUntil` deadline that has
//!    come makes it ready; an exchange's deadline (sent at + the attempt's
//!    timeout) that has come ends that exchange, and the machine is told with
//!    `handle_transport_error` (a timeout, or a connect failure if it never
//!    connected), so the machine's retry rules decide what happens next.
//! 3. Poll every ready machine until it asks for something: `Send` opens a
//!    socket and queues the request's bytes, `WaitUntil` goes on the heap,
//!    `Done` stores the result.
//! 4. Sleep in `mio::Poll::poll` until a socket is ready or the earliest timer
//!    is due, then move bytes: write what is queued, read what arrived, and
//!    once an answer is complete (parsed with `httparse`) hand it to its
//!    machine with `handle_response`, and make the machine ready.
//!
//! Heap entries are never removed early: an entry whose machine has moved on
//! (its answer came first) is recognised as stale when popped, and skipped.

mod wire;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io::{self, ErrorKind, Read, Write};
use std::time::Duration;

use leap0_clock::SystemClock;
use leap0_core::CallMachine;
use leap0_core::machine::{Action, Attempt, WaitReason};
use leap0_core::transport::{DEFAULT_MAX_BODY_BYTES, Response, TransportError, TransportErrorKind};
use leap0_core::{Call, CallOutput, Config, Error, Timestamp};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

/// What a run did: every call's result, and how the run went.
#[derive(Debug)]
#[non_exhaustive]
pub struct Report {
    /// One result per call, in the order the calls were given.
    pub results: Vec<Result<CallOutput, Error>>,
    /// Requests written in full to a socket.
    pub requests_sent: u64,
    /// Attempts that were retries (attempt number 2 or more).
    pub retries: u64,
    /// Exchanges ended by their per-attempt timeout.
    pub timeouts: u64,
    /// How many different backoffs (waits before a retry) the machines chose:
    /// each machine draws its jitter from its own stream, so a shared 503
    /// does not send them back in lockstep.
    pub distinct_backoffs: usize,
    /// Most machines started and not yet finished at one time.
    pub peak_machines: usize,
    /// Most exchanges (open sockets) in flight at one time.
    pub peak_connections: usize,
    /// From the first poll to the last result.
    pub wall: Duration,
}

/// Runs every call at once, on this thread, to completion.
///
/// Each call becomes the machine the clients run for it
/// ([`Call::machine`]), so retries, waiting and pagination behave exactly as
/// they do in `SnapshotsClient`. Requests go where their URI says (the
/// config's base URL), which must be `http://` to an IP address: this loop
/// does no TLS and no name resolution. Answer bodies are capped at
/// [`DEFAULT_MAX_BODY_BYTES`].
///
/// The `Err` case is the loop's own failure (the OS refused a poller); a
/// call's failure is in its result.
pub fn run(config: &Config, calls: Vec<Call>) -> io::Result<Report> {
    let clock = SystemClock::new();
    let mut engine = Engine {
        poll: Poll::new()?,
        clock,
        slots: calls
            .into_iter()
            .map(|call| Slot {
                machine: call.machine(config),
                state: State::Ready,
                result: None,
            })
            .collect(),
        exchanges: HashMap::new(),
        timers: BinaryHeap::new(),
        ready: VecDeque::new(),
        next_token: 0,
        live: 0,
        stats: Stats::default(),
    };
    engine.live = engine.slots.len();
    engine.stats.peak_machines = engine.live;
    engine.ready.extend(0..engine.slots.len());
    let start = clock.now();
    engine.run()?;
    let wall = clock.now().saturating_duration_since(start);
    let Engine { slots, stats, .. } = engine;
    let results = slots
        .into_iter()
        .map(|slot| {
            slot.result
                .unwrap_or(Err(Error::Misuse("the event loop ended before this call")))
        })
        .collect();
    Ok(Report {
        results,
        requests_sent: stats.requests_sent,
        retries: stats.retries,
        timeouts: stats.timeouts,
        distinct_backoffs: stats.backoffs.len(),
        peak_machines: stats.peak_machines,
        peak_connections: stats.peak_connections,
        wall,
    })
}

/// One call's machine and where it stands.
struct Slot {
    machine: CallMachine,
    state: State,
    result: Option<Result<CallOutput, Error>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// To be polled.
    Ready,
    /// Polled; it asked to be polled again at this time.
    Waiting(Timestamp),
    /// Its request is on the wire, on the exchange with this token.
    Sending(Token),
    /// Finished; its result is stored.
    Done,
}

#[derive(Debug, Default)]
struct Stats {
    requests_sent: u64,
    retries: u64,
    timeouts: u64,
    /// The waits that came before a retry.
    backoffs: std::collections::HashSet<Duration>,
    peak_machines: usize,
    peak_connections: usize,
}

struct Engine {
    poll: Poll,
    clock: SystemClock,
    slots: Vec<Slot>,
    /// Open sockets, by the token they are registered under. Tokens are never
    /// reused, so an event for a socket already closed finds nothing here.
    exchanges: HashMap<Token, Exchange>,
    /// Deadlines, earliest first: machines' `WaitUntil`s and exchanges' timeouts,
    /// each with the index of the machine concerned.
    timers: BinaryHeap<Reverse<(Timestamp, usize)>>,
    ready: VecDeque<usize>,
    next_token: usize,
    /// Machines not yet done.
    live: usize,
    stats: Stats,
}

impl Engine {
    fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            let now = self.clock.now();
            self.fire_timers(now);
            while let Some(id) = self.ready.pop_front() {
                self.drive(id, now);
            }
            if self.live == 0 {
                return Ok(());
            }
            // Every live machine is waiting or sending, and both put a deadline
            // on the heap, so an empty heap here would be a bug of this loop.
            let Some(Reverse((next, _))) = self.timers.peek() else {
                return Err(io::Error::other(
                    "machines are neither waiting nor sending: the loop would hang",
                ));
            };
            let timeout = next.saturating_duration_since(self.clock.now());
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let now = self.clock.now();
            for event in events.iter() {
                self.on_ready(event.token(), now);
            }
        }
    }

    /// Acts on every deadline that has come.
    fn fire_timers(&mut self, now: Timestamp) {
        while let Some(&Reverse((at, id))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            match self.slots[id].state {
                State::Waiting(until) if until <= now => {
                    self.slots[id].state = State::Ready;
                    self.ready.push_back(id);
                }
                State::Sending(token) => {
                    let expired = self
                        .exchanges
                        .get(&token)
                        .is_some_and(|exchange| exchange.deadline <= now);
                    if expired && let Some(exchange) = self.close(token) {
                        self.stats.timeouts += 1;
                        self.answer(id, now, Err(exchange.timed_out()));
                    }
                }
                // Stale: the machine has moved on since this entry was pushed.
                _ => {}
            }
        }
    }

    /// Polls machine `id` until it sends, waits or finishes.
    fn drive(&mut self, id: usize, now: Timestamp) {
        loop {
            match self.slots[id].machine.poll(now) {
                Action::Send(attempt) => match self.start(id, attempt, now) {
                    Ok(token) => {
                        self.slots[id].state = State::Sending(token);
                        return;
                    }
                    // Refused before anything left (say, a bad address): the
                    // machine hears it at once and decides again.
                    Err(error) => self.slots[id].machine.handle_transport_error(now, error),
                },
                Action::WaitUntil(at) => {
                    // Even a deadline already past goes through the heap: the
                    // next turn fires it, so a machine can never spin here.
                    self.slots[id].state = State::Waiting(at);
                    // The machine says why it waits: only retries' waits count.
                    let reason = self.slots[id].machine.wait_reason();
                    if matches!(reason, Some(WaitReason::Backoff | WaitReason::RetryAfter)) {
                        self.stats
                            .backoffs
                            .insert(at.saturating_duration_since(now));
                    }
                    self.timers.push(Reverse((at, id)));
                    return;
                }
                // Only while an answer is outstanding, which `drive` never sees.
                Action::Awaiting => return,
                Action::Done(result) => {
                    let slot = &mut self.slots[id];
                    slot.state = State::Done;
                    slot.result = Some(result);
                    self.live -= 1;
                    return;
                }
            }
        }
    }

    /// Opens a socket for `attempt` and queues its bytes.
    fn start(
        &mut self,
        id: usize,
        attempt: Attempt,
        now: Timestamp,
    ) -> Result<Token, TransportError> {
        let addr = wire::target(&attempt.request)?;
        let out = wire::encode(&attempt.request);
        let mut stream = TcpStream::connect(addr)
            .map_err(|e| TransportError::connect(format!("connect to {addr}: {e}")))?;
        let token = Token(self.next_token);
        self.next_token += 1;
        self.poll
            .registry()
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| TransportError::connect(format!("register the socket: {e}")))?;
        let deadline = now + attempt.timeout;
        self.exchanges.insert(
            token,
            Exchange {
                machine: id,
                stream,
                out,
                written: 0,
                input: Vec::new(),
                connected: false,
                closed: false,
                deadline,
                timeout: attempt.timeout,
            },
        );
        self.timers.push(Reverse((deadline, id)));
        if attempt.number > 1 {
            self.stats.retries += 1;
        }
        self.stats.peak_connections = self.stats.peak_connections.max(self.exchanges.len());
        Ok(token)
    }

    /// Moves the bytes of the exchange `token` and, once it is over, hands the
    /// outcome to its machine.
    fn on_ready(&mut self, token: Token, now: Timestamp) {
        let Some(exchange) = self.exchanges.get_mut(&token) else {
            return; // an event for a socket closed earlier in this batch
        };
        let was_written = exchange.is_written();
        let outcome = exchange.advance();
        if !was_written && exchange.is_written() {
            self.stats.requests_sent += 1;
        }
        if let Some(outcome) = outcome
            && let Some(exchange) = self.close(token)
        {
            self.answer(exchange.machine, now, outcome);
        }
    }

    /// Hands an exchange's outcome to machine `id`, and makes it ready.
    fn answer(&mut self, id: usize, now: Timestamp, outcome: Result<Response, TransportError>) {
        let machine = &mut self.slots[id].machine;
        match outcome {
            Ok(response) => machine.handle_response(now, response),
            Err(error) => machine.handle_transport_error(now, error),
        }
        self.slots[id].state = State::Ready;
        self.ready.push_back(id);
    }

    /// Removes an exchange and closes its socket.
    fn close(&mut self, token: Token) -> Option<Exchange> {
        let mut exchange = self.exchanges.remove(&token)?;
        // Closing the socket would unregister it too; a failure here changes nothing.
        let _ = self.poll.registry().deregister(&mut exchange.stream);
        Some(exchange)
    }
}

/// One request on its own connection.
struct Exchange {
    machine: usize,
    stream: TcpStream,
    /// The request's bytes, and how many are written.
    out: Vec<u8>,
    written: usize,
    /// What has arrived of the answer.
    input: Vec<u8>,
    connected: bool,
    /// The server has closed its side.
    closed: bool,
    deadline: Timestamp,
    timeout: Duration,
}

impl Exchange {
    fn is_written(&self) -> bool {
        self.written == self.out.len()
    }

    /// Writes and reads what the socket allows now; `Some` once the exchange is
    /// over. Spurious wake-ups are harmless: every step stops at `WouldBlock`.
    fn advance(&mut self) -> Option<Result<Response, TransportError>> {
        if !self.connected {
            // A non-blocking connect is over when the socket has an error or a peer.
            match self.stream.take_error() {
                Ok(None) => {}
                Ok(Some(e)) | Err(e) => {
                    return Some(Err(TransportError::connect(format!("connect: {e}"))));
                }
            }
            match self.stream.peer_addr() {
                Ok(_) => self.connected = true,
                Err(e) if e.kind() == ErrorKind::NotConnected => return None,
                Err(e) => return Some(Err(TransportError::connect(format!("connect: {e}")))),
            }
        }
        while !self.is_written() {
            match self.stream.write(&self.out[self.written..]) {
                Ok(0) => return Some(Err(self.broken("the connection took no more bytes"))),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // The server may already have answered (and closed): read first.
                Err(e) => return Some(self.finish_after(self.broken(format!("write: {e}")))),
            }
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.closed = true;
                    break;
                }
                Ok(n) => self.input.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Some(self.finish_after(self.broken(format!("read: {e}")))),
            }
        }
        match wire::parse(&self.input, self.closed, DEFAULT_MAX_BODY_BYTES) {
            Ok(Some(response)) => Some(Ok(response)),
            Ok(None) => None,
            Err(error) => Some(Err(error)),
        }
    }

    /// The answer, if what arrived before `error` is a complete one; else `error`.
    fn finish_after(&self, error: TransportError) -> Result<Response, TransportError> {
        match wire::parse(&self.input, false, DEFAULT_MAX_BODY_BYTES) {
            Ok(Some(response)) => Ok(response),
            _ => Err(error),
        }
    }

    /// The connection broke; the request may have left if any byte of it did.
    fn broken(&self, message: impl Into<String>) -> TransportError {
        TransportError::new(TransportErrorKind::Reset, self.written > 0, message)
    }

    /// What the machine is told when the attempt's time is up.
    fn timed_out(&self) -> TransportError {
        let after = format!("{} ms", self.timeout.as_millis());
        if !self.connected {
            TransportError::connect(format!("no connection within {after}"))
        } else if self.written == 0 {
            TransportError::new(
                TransportErrorKind::Timeout,
                false,
                format!("nothing could be sent within {after}"),
            )
        } else {
            TransportError::timeout(format!("no complete answer within {after}"))
        }
    }
}
