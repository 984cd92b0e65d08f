//! Interrupts during an apply: the first lets the run stop cleanly, the second exits at once.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anstream::eprintln;
use coffer_apply::{Cancel, Event};

/// Exit status after a second interrupt, which exits at once (128 + SIGINT, as shells report).
pub const EXIT_INTERRUPTED_AT_ONCE: u8 = 130;

/// Interrupts during an apply (SIGINT, SIGTERM; Ctrl-C elsewhere than Unix). The first cancels
/// the run: no new step starts, the calls in flight finish, the report is printed, the lock is
/// released and the apply exits 1. The second exits at once with status 130, naming the steps
/// in flight (which may be half-done) and the lock left behind.
pub struct Interrupts {
    /// Cancelled by the first interrupt.
    pub cancel: Cancel,
    state: Arc<Mutex<InterruptState>>,
}

struct InterruptState {
    received: u32,
    /// Steps started and not finished yet.
    in_flight: BTreeSet<String>,
    /// The lock held, named for the message of an immediate exit.
    lock: Option<String>,
    file: String,
}

impl Interrupts {
    /// Starts listening; from now on an interrupt no longer kills the process by itself.
    pub fn listen(file: &Path) -> Interrupts {
        let interrupts = Interrupts {
            cancel: Cancel::new(),
            state: Arc::new(Mutex::new(InterruptState {
                received: 0,
                in_flight: BTreeSet::new(),
                lock: None,
                file: file.display().to_string(),
            })),
        };
        let (cancel, state) = (interrupts.cancel.clone(), interrupts.state.clone());
        if let Err(err) = spawn_listener(move |name| on_interrupt(name, &cancel, &state)) {
            eprintln!(
                "warning: cannot catch interrupts ({err}): an interrupt stops the apply at once"
            );
        }
        interrupts
    }

    fn state(&self) -> std::sync::MutexGuard<'_, InterruptState> {
        lock_state(&self.state)
    }

    /// Names the lock held (for the message of an immediate exit), or none.
    pub fn holding(&self, lock: Option<String>) {
        self.state().lock = lock;
    }

    /// Follows the steps in flight.
    pub fn track(&self, event: &Event) {
        let mut state = self.state();
        match event {
            Event::Started { step, .. } => {
                state.in_flight.insert(step.clone());
            }
            Event::Succeeded { step } | Event::Failed { step, .. } => {
                state.in_flight.remove(step);
            }
            Event::Retrying { .. } | Event::Skipped { .. } => {}
        }
    }
}

fn lock_state(state: &Mutex<InterruptState>) -> std::sync::MutexGuard<'_, InterruptState> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn on_interrupt(name: &str, cancel: &Cancel, state: &Mutex<InterruptState>) {
    let mut state = lock_state(state);
    state.received += 1;
    if state.received == 1 {
        cancel.cancel();
        let waiting = if state.in_flight.is_empty() {
            String::new()
        } else {
            let steps: Vec<&str> = state.in_flight.iter().map(String::as_str).collect();
            format!(" ({})", steps.join(", "))
        };
        eprintln!(
            "\n{name} received: starting no new step; letting the calls in flight finish{waiting}, then releasing the lock. Interrupt again to exit at once."
        );
        return;
    }
    eprintln!("\n{name} received again: exiting at once.");
    if state.in_flight.is_empty() {
        eprintln!("  no step was in flight: nothing is half-done");
    }
    for step in &state.in_flight {
        eprintln!("  may be half-done: {step}");
    }
    if let Some(lock) = &state.lock {
        eprintln!(
            "  the apply lock was not released ({lock}): once no apply of this topology runs, free it with `coffer unlock -f {} --force`; otherwise the next apply waits until it expires",
            state.file
        );
    }
    eprintln!(
        "interrupted: rerun `coffer apply` to continue (every step is idempotent: a half-done step is completed)"
    );
    std::process::exit(i32::from(EXIT_INTERRUPTED_AT_ONCE));
}

/// Calls `on_interrupt` with the signal's name for every SIGINT and SIGTERM.
#[cfg(unix)]
fn spawn_listener(on_interrupt: impl Fn(&str) + Send + 'static) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        loop {
            let name = tokio::select! {
                Some(()) = interrupt.recv() => "SIGINT",
                Some(()) = terminate.recv() => "SIGTERM",
                else => return,
            };
            on_interrupt(name);
        }
    });
    Ok(())
}

/// Calls `on_interrupt` for every Ctrl-C.
#[cfg(not(unix))]
fn spawn_listener(on_interrupt: impl Fn(&str) + Send + 'static) -> std::io::Result<()> {
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            on_interrupt("Ctrl-C");
        }
    });
    Ok(())
}
