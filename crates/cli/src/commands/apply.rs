use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anstream::eprintln;
use coffer_apply::{Cancel, Event, FaultInjector, Options, Report, preflight};
use coffer_aws::SdkExecutor;
use coffer_aws::lock::{ApplyLock, Claim, LockError, LockSite};
use coffer_planner::render::plural;
use coffer_planner::{Action, Plan, render};
use coffer_spec::{Diagnostics, Topology};

use super::progress::{ApplyProgress, ProgressArgs};
use super::{Connection, EXIT_FAILED, TopologyArg, load_topology, runtime};

/// Environment variable for crash tests: stop the run after this many AWS-changing calls, as
/// if the process had been killed.
pub const STOP_AFTER_ENV: &str = "COFFER_TEST_STOP_AFTER_CALLS";

/// Exit status after a second interrupt, which exits at once (128 + SIGINT, as shells report).
pub const EXIT_INTERRUPTED_AT_ONCE: u8 = 130;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub topology: TopologyArg,
    #[command(flatten)]
    pub connection: Connection,
    /// A plan saved by `coffer plan --out`. Without it, Coffer plans now and asks before applying.
    #[arg(value_name = "PLAN.json")]
    pub plan: Option<PathBuf>,
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
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
    /// How long to wait for another apply of the same topology to finish, in seconds.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub lock_timeout: u64,
    #[command(flatten)]
    pub progress: ProgressArgs,
}

fn refuse(message: &str, help: &str) -> ExitCode {
    eprintln!("error: {message}\n  help: {help}");
    ExitCode::from(EXIT_FAILED)
}

pub fn run(args: &Args) -> ExitCode {
    let Some((topology, diagnostics)) = load_topology(&args.topology) else {
        return ExitCode::from(EXIT_FAILED);
    };
    let saved = match &args.plan {
        None => None,
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<Plan>(&t).map_err(|e| e.to_string()))
        {
            Ok(plan) if plan.format_version != coffer_planner::FORMAT_VERSION => {
                return refuse(
                    &format!(
                        "{} has plan format {}, this Coffer reads {}",
                        path.display(),
                        plan.format_version,
                        coffer_planner::FORMAT_VERSION
                    ),
                    "make the plan again with this version of Coffer",
                );
            }
            Ok(plan) => Some(plan),
            Err(err) => {
                return refuse(
                    &format!("cannot read the plan file {}: {err}", path.display()),
                    "pass a file written by `coffer plan --out`",
                );
            }
        },
    };
    let unknown: Vec<&String> = args
        .ignore_checks
        .iter()
        .filter(|id| coffer_planner::checks::find(id).is_none())
        .collect();
    if !unknown.is_empty() {
        let names: Vec<String> = unknown.iter().map(|id| format!("`{id}`")).collect();
        return refuse(
            &format!(
                "--ignore-check names no check of the catalog: {}",
                names.join(", ")
            ),
            "use the IDs `coffer check` prints (CB001 to CB030; `coffer check --list` lists them)",
        );
    }
    let Some(rt) = runtime() else {
        return ExitCode::from(EXIT_FAILED);
    };
    rt.block_on(apply(args, &topology, &diagnostics, saved))
}

async fn apply(
    args: &Args,
    topology: &Topology,
    diagnostics: &Diagnostics,
    saved: Option<Plan>,
) -> ExitCode {
    let interrupts = Interrupts::listen(&args.topology.file);
    let options = args.connection.options();
    let sessions = coffer_aws::Sessions::connect(topology, &options).await;
    let wait = Duration::from_secs(args.lock_timeout);
    let on_wait = |_: &LockSite, claim: &Claim, waited: Duration| {
        say_waiting(&args.progress, claim, waited, wait);
    };
    let lock = match ApplyLock::acquire_until(
        topology,
        &sessions,
        wait,
        &interrupts.cancel,
        &on_wait,
    )
    .await
    {
        Ok(lock) => lock,
        Err(LockError::Interrupted) => return interrupted_before_changes(),
        Err(err) => {
            let message = err.to_string();
            let help = super::unreachable_help(&message).unwrap_or_else(|| {
                format!(
                    "applies of one topology run one at a time; `coffer unlock -f {}` shows who holds the lock",
                    args.topology.file.display()
                )
            });
            return refuse(&message, &help);
        }
    };
    let site = lock.site();
    interrupts.holding(Some(format!(
        "vault `{}` in account {}, {}",
        site.vault, site.account.id, site.region
    )));
    let renewal = lock.keep_alive();
    let code = apply_locked(args, topology, diagnostics, saved, &sessions, &interrupts).await;
    renewal.abort();
    if let Err(err) = lock.release().await {
        eprintln!(
            "warning: could not release the apply lock: {err}\n  help: the next apply breaks it once it expires, or free it now with `coffer unlock -f {} --force`",
            args.topology.file.display()
        );
    }
    interrupts.holding(None);
    code
}

/// Says whom a waiting apply waits for (stderr; a JSON line with `--progress json`).
fn say_waiting(progress: &ProgressArgs, claim: &Claim, waited: Duration, wait: Duration) {
    if progress.quiet {
        return;
    }
    if progress.progress == super::progress::Mode::Json {
        let line = serde_json::json!({
            "event": "lock_waiting",
            "holder": claim.holder,
            "claim": claim.owner,
            "since": claim.since_timestamp(),
            "expires": claim.expires_timestamp(),
            "waited_seconds": waited.as_secs(),
            "timeout_seconds": wait.as_secs(),
            "at": super::progress::rfc3339(std::time::SystemTime::now()),
        });
        eprintln!("{line}");
        return;
    }
    eprintln!(
        "waiting for the apply lock: held by {}, since {}, until {}; waited {}s of {}s (--lock-timeout)",
        claim.who(),
        claim.since_text(),
        claim.expires_text(),
        waited.as_secs(),
        wait.as_secs()
    );
}

fn interrupted_before_changes() -> ExitCode {
    eprintln!("interrupted: nothing was changed; rerun `coffer apply` to start again");
    ExitCode::from(EXIT_FAILED)
}

async fn apply_locked(
    args: &Args,
    topology: &Topology,
    diagnostics: &Diagnostics,
    saved: Option<Plan>,
    sessions: &coffer_aws::Sessions,
    interrupts: &Interrupts,
) -> ExitCode {
    // Reading changes nothing: an interrupt stops it at once.
    let read = tokio::select! {
        read = coffer_aws::read(topology, sessions, args.connection.concurrency()) => read,
        () = interrupts.cancel.cancelled() => return interrupted_before_changes(),
    };
    let live = match read {
        Ok(live) => live,
        Err(errors) => {
            return refuse(
                &errors.to_string(),
                "Coffer needs read access in every account of the topology",
            );
        }
    };
    let fresh = coffer_planner::plan_checked(topology, diagnostics, &live);
    let blockers: Vec<String> = fresh
        .blockers()
        .filter(|f| !args.ignore_checks.contains(&f.check))
        .map(|f| format!("    {f}"))
        .collect();
    let plan = match saved {
        Some(saved) => {
            if let Err(err) = coffer_apply::check_saved(&saved, &fresh) {
                let help = match err {
                    coffer_apply::SavedPlanError::Edited => {
                        "make the plan again with this Coffer: `coffer plan --out PLAN.json`"
                    }
                    _ => "review and apply a new plan: `coffer plan --out PLAN.json`",
                };
                return refuse(&err.to_string(), help);
            }
            fresh
        }
        None => {
            crate::out!("{}", render::text(&fresh, true));
            fresh
        }
    };
    if !blockers.is_empty() {
        return refuse(
            &format!(
                "checks predict that the copy chain would fail:\n{}",
                blockers.join("\n")
            ),
            "fix the topology or AWS as each finding says; to apply anyway, name each check with --ignore-check ID",
        );
    }
    let apply_options = Options {
        concurrency: args.connection.concurrency().clamp(1, 16),
        allow_delete: args.allow_delete,
        confirm_irreversible: args.confirm_irreversible,
        allow_weaken: args.allow_weaken,
        ..Options::default()
    };
    let refusals = preflight(&plan, &apply_options);
    if !refusals.is_empty() {
        let listed: Vec<String> = refusals.iter().map(|r| format!("    {r}")).collect();
        return refuse(
            &format!("this plan cannot be applied:\n{}", listed.join("\n")),
            "resolve the blocked changes, or confirm irreversible ones with --confirm-irreversible",
        );
    }
    let runnable = plan
        .steps
        .iter()
        .filter(|s| !s.needs_allow_delete || args.allow_delete)
        .count();
    if runnable == 0 {
        let skipped = plan
            .changes
            .iter()
            .filter(|c| c.action == Action::Delete)
            .count();
        if skipped > 0 {
            crate::outln!(
                "Nothing to apply; {} for --allow-delete.",
                plural(skipped, "deletion waits", "deletions wait")
            );
        } else {
            crate::outln!("No changes to apply.");
        }
        return ExitCode::SUCCESS;
    }
    if !args.auto_approve && args.plan.is_none() {
        if !std::io::stdin().is_terminal() {
            return refuse(
                "refusing to apply without confirmation: standard input is not a terminal",
                "review the plan above and pass --auto-approve, or save it with `coffer plan --out` and apply the file",
            );
        }
        let calls = if runnable == 1 {
            "this call".to_string()
        } else {
            format!("these {runnable} calls")
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
            () = interrupts.cancel.cancelled() => return interrupted_before_changes(),
        };
        if answer.is_none_or(|a| a.trim() != "yes") {
            crate::outln!("Apply cancelled; nothing was changed.");
            return ExitCode::from(EXIT_FAILED);
        }
    }
    if interrupts.cancel.is_cancelled() {
        return interrupted_before_changes();
    }

    let report = run_steps(&plan, sessions, &apply_options, &args.progress, interrupts).await;
    summarize(&plan, &report)
}

async fn run_steps(
    plan: &Plan,
    sessions: &coffer_aws::Sessions,
    options: &Options,
    progress: &ProgressArgs,
    interrupts: &Interrupts,
) -> Report {
    let total = plan
        .steps
        .iter()
        .filter(|s| !s.needs_allow_delete || options.allow_delete)
        .count() as u64;
    let progress = ApplyProgress::new(progress, total);
    let on_event = |event: Event| {
        interrupts.track(&event);
        progress.event(&event);
    };
    let cancel = &interrupts.cancel;
    let executor = SdkExecutor {
        sessions: sessions.clone(),
    };
    let report = match std::env::var(STOP_AFTER_ENV)
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        Some(limit) => {
            let mut injector = FaultInjector::new(executor);
            injector.stop_after = Some(limit);
            let mut report =
                coffer_apply::execute_until(plan, &injector, options, cancel, &on_event).await;
            // A process killed right after its last call never reports success either.
            if report.ok() && injector.calls() >= limit {
                report.failed.push((
                    STOP_AFTER_ENV.to_string(),
                    coffer_apply::StepError::fatal(format!(
                        "stopped by fault injection after {}",
                        plural(limit, "call", "calls")
                    )),
                ));
            }
            report
        }
        None => coffer_apply::execute_until(plan, &executor, options, cancel, &on_event).await,
    };
    progress.finish(&report);
    report
}

fn summarize(plan: &Plan, report: &Report) -> ExitCode {
    if report.interrupted {
        eprintln!(
            "interrupted: the apply stopped after {} of {}; the calls in flight finished.",
            report.succeeded.len(),
            plural(plan.steps.len(), "call", "calls")
        );
        for step in &report.succeeded {
            eprintln!("  done:        {step}");
        }
        for (step, error) in &report.failed {
            eprintln!("  failed:      {step}: {}", error.message);
        }
        for step in &report.not_started {
            eprintln!("  not started: {step}");
        }
        eprintln!(
            "interrupted: rerun `coffer apply` to continue (every step is idempotent: the next run continues where this one stopped)"
        );
        return ExitCode::from(EXIT_FAILED);
    }
    if report.ok() {
        crate::outln!(
            "Apply complete: {} made, {} skipped.",
            plural(report.succeeded.len(), "call", "calls"),
            report.skipped.len()
        );
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "error: apply failed after {} of {}.",
        report.succeeded.len(),
        plural(plan.steps.len(), "call", "calls")
    );
    for (step, error) in &report.failed {
        eprintln!("  failed:      {step}: {}", error.message);
    }
    for step in &report.not_started {
        eprintln!("  not started: {step}");
    }
    eprintln!(
        "  help: fix the cause and run `coffer apply` again: every step is idempotent, and the next run continues where this one stopped"
    );
    ExitCode::from(EXIT_FAILED)
}

/// Interrupts during an apply (SIGINT, SIGTERM; Ctrl-C elsewhere than Unix). The first cancels
/// the run: no new step starts, the calls in flight finish, the report is printed, the lock is
/// released and the apply exits 1. The second exits at once with status 130, naming the steps
/// in flight (which may be half-done) and the lock left behind.
struct Interrupts {
    cancel: Cancel,
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
    fn listen(file: &Path) -> Interrupts {
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

    fn holding(&self, lock: Option<String>) {
        self.state().lock = lock;
    }

    fn track(&self, event: &Event) {
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
