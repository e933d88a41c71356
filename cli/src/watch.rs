//! Watching a call as it runs: a progress line on a terminal while it waits
//! for a sandbox, and, on Ctrl-C, a word about what it left running.
//!
//! [`Watched`] wraps the call's machine: after every step it reads the
//! machine's [`progress`](Machine::progress) (the sandbox, the last state
//! seen, the wait's start and deadline) into the shared [`Watch`]. The progress
//! bar draws from it, and the Ctrl-C handler prints from it.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use leap0_core::Timestamp;
use leap0_core::error::Leftover;
use leap0_core::machine::{Action, Machine, WaitProgress};
use leap0_core::transport::{Response, Secrets, TransportError};

use std::io::Write as _;

use crate::output::{Failure, shown};

/// What is known about a sandbox the call started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Started {
    pub(crate) sandbox_id: String,
    /// The last state seen (`None`: no status read has answered yet).
    pub(crate) state: Option<String>,
}

/// What the call is doing, shared with the progress line and the Ctrl-C handler.
pub(crate) struct Watch {
    label: String,
    started: Mutex<Option<Started>>,
    /// What the call would leave on the server if it stopped now, as its
    /// machine says ([`Machine::leftovers`]).
    leftovers: Mutex<Vec<Leftover>>,
    /// Whether to draw a progress line while waiting.
    show: bool,
    /// The progress line, drawn once a wait begins: quick calls draw nothing.
    bar: OnceLock<ProgressBar>,
}

impl Watch {
    /// A watch for a call doing `label`; `show`: draw a progress line while
    /// waiting (only on a terminal, never with `--json` or logs).
    pub(crate) fn new(label: &str, show: bool) -> Arc<Watch> {
        Arc::new(Watch {
            label: label.to_owned(),
            started: Mutex::new(None),
            leftovers: Mutex::new(Vec::new()),
            show,
            bar: OnceLock::new(),
        })
    }

    fn bar(&self) -> &ProgressBar {
        self.bar.get_or_init(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        })
    }

    /// The sandbox the call started, if any.
    pub(crate) fn started(&self) -> Option<Started> {
        self.started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Clears the progress line, so the next line starts clean.
    pub(crate) fn clear(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }

    fn update(&self, progress: Option<WaitProgress<'_>>, now: Timestamp) {
        let Some(progress) = progress else {
            return;
        };
        let state = progress.state.map(|s| s.as_str());
        *self.started.lock().unwrap_or_else(PoisonError::into_inner) = Some(Started {
            sandbox_id: progress.sandbox_id.to_owned(),
            state: state.map(str::to_owned),
        });
        if self.show {
            let waited = progress
                .started
                .map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
            let limit = match (progress.started, progress.deadline) {
                (Some(s), Some(d)) => format!(" of {}", human(d.saturating_duration_since(s))),
                _ => String::new(),
            };
            let state =
                state.map_or_else(|| "not read yet".to_owned(), |s| format!("is {}", shown(s)));
            self.bar().set_message(format!(
                "{}: sandbox {} {state}, waited {}{limit} for {}",
                self.label,
                shown(progress.sandbox_id),
                human(waited),
                progress.target
            ));
        }
    }

    fn leftovers(&self) -> Vec<Leftover> {
        self.leftovers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// What to print when interrupted: what the call's machine says it leaves
    /// behind (the sandbox it started and how to remove it, what a request
    /// with no answer yet may have made), or just that the call was interrupted.
    pub(crate) fn interrupted_message(&self, secrets: &Secrets) -> String {
        let started = self.started();
        let text = match (self.leftovers().first(), started) {
            (Some(Leftover::Sandbox { id }), started) => format!(
                "interrupted: sandbox {} ({}) was started and keeps running (and costing); delete it with:\n  leap0 sandboxes delete {}",
                shown(id),
                shown(
                    started
                        .and_then(|s| s.state)
                        .as_deref()
                        .unwrap_or("state not read yet")
                ),
                shown(id)
            ),
            (Some(Leftover::UnknownSandbox { .. }), _) => format!(
                "interrupted while {}; if the request reached the server, a sandbox may have been started",
                self.label
            ),
            (
                Some(Leftover::Snapshot {
                    name: Some(name), ..
                }),
                _,
            ) => format!(
                "interrupted while {}; if the request reached the server, snapshot {} may have been created; look for it with:\n  leap0 snapshots list --query {}",
                self.label,
                shown(name),
                shown(name)
            ),
            (Some(Leftover::Snapshot { name: None, .. }), _) => format!(
                "interrupted while {}; if the request reached the server, a snapshot may have been created",
                self.label
            ),
            (Some(_), _) => format!(
                "interrupted while {}; something may have been left",
                self.label
            ),
            (None, Some(Started { sandbox_id, state })) => format!(
                "interrupted while waiting for sandbox {} ({})",
                shown(&sandbox_id),
                state.map_or_else(
                    || "no status read had answered yet".to_owned(),
                    |s| format!("last seen {}", shown(&s))
                )
            ),
            (None, None) => format!("interrupted while {}", self.label),
        };
        secrets.scrub(&text).into_owned()
    }
}

/// The watch of the call running now, for the Ctrl-C handler, which runs on
/// its own thread.
#[derive(Clone, Default)]
pub(crate) struct Current(Arc<Mutex<Option<Watching>>>);

/// A running call's watch, and the secrets to keep out of what it prints.
type Watching = (Arc<Watch>, Secrets);

impl Current {
    /// The call now running is watched by `watch`; `secrets` are scrubbed from
    /// what an interruption prints.
    pub(crate) fn set(&self, watch: Arc<Watch>, secrets: Secrets) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some((watch, secrets));
    }

    /// No call is running any more.
    pub(crate) fn clear(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Clears the progress line and says what the interrupted call leaves behind.
    pub(crate) fn interrupted(&self) -> String {
        let current = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match &*current {
            Some((watch, secrets)) => {
                watch.clear();
                watch.interrupted_message(secrets)
            }
            None => "interrupted".to_owned(),
        }
    }
}

/// On Ctrl-C, says what the running call leaves behind and exits with 130.
pub(crate) fn on_interrupt(current: Current) -> Result<(), Failure> {
    ctrlc::set_handler(move || {
        let message = current.interrupted();
        let _ = writeln!(std::io::stderr(), "{message}");
        std::process::exit(130);
    })
    .map_err(|e| Failure::other("signal", format!("could not watch for Ctrl-C: {e}")))
}

/// A duration to the second (to the millisecond below a second), as people write it.
pub(crate) fn human(duration: Duration) -> String {
    leap0_core::text::human_to_seconds(duration).to_string()
}

/// A machine whose progress is reported to a [`Watch`] after every step.
pub(crate) struct Watched<M> {
    inner: M,
    watch: Arc<Watch>,
    now: Timestamp,
}

impl<M: Machine> Watched<M> {
    pub(crate) fn new(inner: M, watch: Arc<Watch>) -> Self {
        Watched {
            inner,
            watch,
            now: Timestamp::ZERO,
        }
    }

    fn report(&self) {
        self.watch.update(self.inner.progress(), self.now);
        *self
            .watch
            .leftovers
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = self.inner.leftovers();
    }
}

impl<M: Machine> Machine for Watched<M> {
    type Output = M::Output;

    fn poll(&mut self, now: Timestamp) -> Action<M::Output> {
        self.now = now;
        let action = self.inner.poll(now);
        self.report();
        action
    }

    fn handle_response(&mut self, now: Timestamp, response: Response) {
        self.now = now;
        self.inner.handle_response(now, response);
        self.report();
    }

    fn handle_transport_error(&mut self, now: Timestamp, error: TransportError) {
        self.now = now;
        self.inner.handle_transport_error(now, error);
        self.report();
    }

    fn progress(&self) -> Option<WaitProgress<'_>> {
        self.inner.progress()
    }

    fn wait_reason(&self) -> Option<leap0_core::machine::WaitReason> {
        self.inner.wait_reason()
    }

    fn operation(&self) -> Option<leap0_core::Operation> {
        self.inner.operation()
    }

    fn leftovers(&self) -> Vec<Leftover> {
        self.inner.leftovers()
    }

    fn cancel(&mut self, now: Timestamp) -> leap0_core::Error {
        self.inner.cancel(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interruption_says_what_the_machine_leaves_behind() {
        let watch = Watch::new("snapshotting sandbox sb-1", false);
        let say = |leftovers: Vec<Leftover>| {
            *watch
                .leftovers
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = leftovers;
            watch.interrupted_message(&Secrets::new())
        };
        assert_eq!(say(vec![]), "interrupted while snapshotting sandbox sb-1");
        assert_eq!(
            say(vec![Leftover::Snapshot {
                sandbox_id: "sb-1".to_owned(),
                name: Some("nightly".to_owned()),
            }]),
            "interrupted while snapshotting sandbox sb-1; if the request reached the server, \
             snapshot nightly may have been created; look for it with:\n  leap0 snapshots list --query nightly"
        );
        assert!(
            say(vec![Leftover::Sandbox {
                id: "sb-9".to_owned()
            }])
            .ends_with("delete it with:\n  leap0 sandboxes delete sb-9")
        );
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human(Duration::from_millis(299_700)), "4m 59s");
        assert_eq!(human(Duration::from_millis(250)), "250ms");
    }
}
