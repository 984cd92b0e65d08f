//! What `coffer apply` does around the library's run: interrupts, the apply lock, asking for
//! confirmation, progress, and the summary of what was done.

mod interrupts;
pub mod lock;
mod summary;
#[cfg(feature = "test-hooks")]
mod test_hooks;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anstream::eprintln;
use coffer_apply::{CannotApply, Event, Options, Prepared, Report, Request};
use coffer_aws::lock::LockGuard;
use coffer_aws::{SdkExecutor, Sessions};
use coffer_planner::LiveState;
use coffer_spec::Topology;

use crate::context::{Connection, EXIT_FAILED};
use crate::progress::{ApplyProgress, ProgressArgs};

pub use interrupts::Interrupts;
pub use summary::{nothing_to_apply, summarize};

/// What an apply may do beyond the plain changes of its plan.
#[derive(Debug, clap::Args)]
pub struct Allow {
    /// Also delete owned resources that are no longer in the file.
    #[arg(long)]
    pub allow_delete: bool,
    /// Confirm changes that cannot be undone (a compliance-mode vault lock).
    #[arg(long)]
    pub confirm_irreversible: bool,
    /// Accept changes that weaken protection (a guard removed, an exempt principal added, a
    /// copy-in allow widened, a lock shortened).
    #[arg(long)]
    pub allow_weaken: bool,
    /// Apply although check ID (a blocker of the checks catalog) fails; repeat for each.
    #[arg(long = "ignore-check", value_name = "ID")]
    pub ignore_checks: Vec<String>,
}

impl Allow {
    /// The request to apply the plan saved at `saved` (if any), `concurrency` steps at once (at
    /// most 16).
    pub fn request(
        &self,
        saved: Option<&Path>,
        concurrency: usize,
    ) -> Result<Request, CannotApply> {
        let options = Options {
            concurrency: concurrency.clamp(1, 16),
            allow_delete: self.allow_delete,
            confirm_irreversible: self.confirm_irreversible,
            allow_weaken: self.allow_weaken,
            ..Options::default()
        };
        Request::new(saved, &self.ignore_checks, options)
    }
}

/// Prints why the apply does not start, and what to do about it.
pub fn refuse(message: &str, help: &str) -> ExitCode {
    eprintln!("error: {message}\n  help: {help}");
    ExitCode::from(EXIT_FAILED)
}

/// Prints why the apply does not start ([`CannotApply`]), and what to do about it.
pub fn cannot_apply(err: &CannotApply) -> ExitCode {
    refuse(&err.to_string(), err.help())
}

/// Says that an interrupt stopped the apply before it changed anything.
pub fn interrupted_before_changes() -> ExitCode {
    eprintln!("interrupted: nothing was changed; rerun `coffer apply` to start again");
    ExitCode::from(EXIT_FAILED)
}

/// Reads the live state of everything the topology scopes; an interrupt stops it at once, as
/// reading changes nothing. `Err` with the exit status when it fails or is interrupted.
pub async fn read(
    topology: &Topology,
    sessions: &Sessions,
    connection: &Connection,
    interrupts: &Interrupts,
) -> Result<LiveState, ExitCode> {
    let read = tokio::select! {
        read = coffer_aws::read(topology, sessions, connection.concurrency()) => read,
        () = interrupts.cancel.cancelled() => return Err(interrupted_before_changes()),
    };
    read.map_err(|errors| {
        let help = "Coffer needs read access in every account of the topology";
        refuse(&errors.to_string(), help)
    })
}

/// Asks on the terminal whether to make `calls` calls. `Err` with the exit status unless the
/// answer is `yes`: standard input is not a terminal, the answer is another, or an interrupt
/// came first.
pub async fn confirm(calls: usize, interrupts: &Interrupts) -> Result<(), ExitCode> {
    if !std::io::stdin().is_terminal() {
        return Err(refuse(
            "refusing to apply without confirmation: standard input is not a terminal",
            "review the plan above and pass --auto-approve, or save it with `coffer plan --out` and apply the file",
        ));
    }
    let calls = if calls == 1 {
        "this call".to_string()
    } else {
        format!("these {calls} calls")
    };
    crate::out!("\nApply {calls}? Only `yes` is accepted: ");
    let _ = std::io::stdout().flush();
    // Read on a thread of its own, so that an interrupt ends the wait (and releases the lock).
    let (send, answer) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut answer = String::new();
        let read = std::io::stdin().read_line(&mut answer).is_ok();
        let _ = send.send(read.then_some(answer));
    });
    let answer = tokio::select! {
        answer = answer => answer.ok().flatten(),
        () = interrupts.cancel.cancelled() => return Err(interrupted_before_changes()),
    };
    if answer.is_none_or(|a| a.trim() != "yes") {
        crate::outln!("Apply cancelled; nothing was changed.");
        return Err(ExitCode::from(EXIT_FAILED));
    }
    Ok(())
}

/// Runs the prepared plan holding the apply lock `held`: reads the lock again first, and says
/// after the summary when the lock was lost during the run. `Err` with the exit status when
/// the lock is no longer held before the first step.
pub async fn run_held(
    prepared: &Prepared,
    sessions: &Sessions,
    progress: &ProgressArgs,
    interrupts: &Interrupts,
    held: &lock::Held<'_>,
) -> Result<ExitCode, ExitCode> {
    held.verify().await?;
    let report = run(prepared, sessions, (progress, &held.guard), interrupts).await;
    let code = summarize(&prepared.plan, &report);
    held.say_if_lost();
    Ok(code)
}

/// Runs the prepared plan with the SDK, showing progress, until the first interrupt or until
/// the apply lock is lost (`guard`).
pub async fn run(
    prepared: &Prepared,
    sessions: &Sessions,
    (progress, guard): (&ProgressArgs, &LockGuard),
    interrupts: &Interrupts,
) -> Report {
    let progress = ApplyProgress::new(progress, prepared.calls() as u64);
    let on_event = |event: Event| {
        interrupts.track(&event);
        progress.event(&event);
    };
    let executor = lock::Guarded {
        inner: SdkExecutor {
            sessions: sessions.clone(),
        },
        guard: guard.clone(),
    };
    let cancel = &interrupts.cancel;
    #[cfg(feature = "test-hooks")]
    let report = test_hooks::execute(prepared, executor, cancel, &on_event).await;
    #[cfg(not(feature = "test-hooks"))]
    let report = prepared.execute(&executor, cancel, &on_event).await;
    progress.finish(&report);
    report
}
