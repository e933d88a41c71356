//! A spinner on stderr for operations that take more than a moment, shown only
//! when stderr is a terminal (never in pipes, logs or tests).

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Stops and clears itself when dropped.
pub(crate) struct Spinner {
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Spinner {
    /// Starts a spinner labelled `label`, drawn only after a short grace period.
    pub(crate) fn start(label: &str) -> Spinner {
        let done = Arc::new(AtomicBool::new(false));
        let thread = std::io::stderr().is_terminal().then(|| {
            let done = done.clone();
            let label = label.to_owned();
            std::thread::spawn(move || spin(&label, &done))
        });
        Spinner { done, thread }
    }
}

fn spin(label: &str, done: &AtomicBool) {
    const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
    let tick = Duration::from_millis(100);
    // Quick operations finish before anything is drawn.
    for _ in 0..3 {
        if done.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep(tick);
    }
    let mut frame = 0;
    let mut stderr = std::io::stderr();
    while !done.load(Ordering::Relaxed) {
        let _ = write!(stderr, "\r{} {label}", FRAMES[frame % FRAMES.len()]);
        let _ = stderr.flush();
        frame += 1;
        std::thread::sleep(tick);
    }
    let _ = write!(stderr, "\r\x1b[2K");
    let _ = stderr.flush();
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
