use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anstream::eprintln;
use coffer_apply::{Event, FaultInjector, Options, Report, preflight};
use coffer_aws::SdkExecutor;
use coffer_aws::lock::ApplyLock;
use coffer_planner::{Action, Plan, render};
use coffer_spec::{Diagnostics, Topology};
use indicatif::{ProgressBar, ProgressStyle};

use super::{Connection, EXIT_FAILED, TopologyArg, load_topology, runtime};

/// Environment variable for crash tests: stop the run after this many AWS-changing calls, as
/// if the process had been killed.
pub const STOP_AFTER_ENV: &str = "COFFER_TEST_STOP_AFTER_CALLS";

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
    let options = args.connection.options();
    let sessions = coffer_aws::Sessions::connect(topology, &options).await;
    let lock = match ApplyLock::acquire(topology, &sessions, Duration::from_secs(args.lock_timeout))
        .await
    {
        Ok(lock) => lock,
        Err(err) => {
            return refuse(
                &err.to_string(),
                "applies of one topology run one at a time",
            );
        }
    };
    let renewal = lock.keep_alive();
    let code = apply_locked(args, topology, diagnostics, saved, &sessions).await;
    renewal.abort();
    if let Err(err) = lock.release().await {
        eprintln!(
            "warning: could not release the apply lock: {err}\n  help: the next apply breaks it once it expires"
        );
    }
    code
}

async fn apply_locked(
    args: &Args,
    topology: &Topology,
    diagnostics: &Diagnostics,
    saved: Option<Plan>,
    sessions: &coffer_aws::Sessions,
) -> ExitCode {
    let live = match coffer_aws::read(topology, sessions, args.connection.concurrency()).await {
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
            crate::outln!("Nothing to apply; {skipped} deletions wait for --allow-delete.");
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
        crate::out!("\nApply these {runnable} calls? Only `yes` is accepted: ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        if std::io::stdin().read_line(&mut answer).is_err() || answer.trim() != "yes" {
            crate::outln!("Apply cancelled; nothing was changed.");
            return ExitCode::from(EXIT_FAILED);
        }
    }

    let report = run_steps(&plan, sessions, &apply_options).await;
    summarize(&plan, &report)
}

async fn run_steps(plan: &Plan, sessions: &coffer_aws::Sessions, options: &Options) -> Report {
    let total = plan
        .steps
        .iter()
        .filter(|s| !s.needs_allow_delete || options.allow_delete)
        .count() as u64;
    let bar = ProgressBar::new(total);
    if std::io::stderr().is_terminal() {
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let terminal = std::io::stderr().is_terminal();
    let say = |line: String| {
        if terminal {
            bar.println(line);
        } else {
            eprintln!("{line}");
        }
    };
    let on_event = |event: Event| match event {
        Event::Started { step, call } => bar.set_message(format!("{step} ({call})")),
        Event::Succeeded { step } => {
            bar.inc(1);
            say(format!("  done     {step}"));
        }
        Event::Retrying {
            step,
            attempt,
            error,
            wait,
        } => say(format!(
            "  retry    {step} (attempt {attempt}, waiting {wait:?}): {error}"
        )),
        Event::Failed { step, error } => say(format!("  FAILED   {step}: {error}")),
        Event::Skipped { step, reason } => say(format!("  skipped  {step}: {reason}")),
    };
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
            let mut report = coffer_apply::execute(plan, &injector, options, &on_event).await;
            // A process killed right after its last call never reports success either.
            if report.ok() && injector.calls() >= limit {
                report.failed.push((
                    STOP_AFTER_ENV.to_string(),
                    coffer_apply::StepError::fatal(format!(
                        "stopped by fault injection after {limit} calls"
                    )),
                ));
            }
            report
        }
        None => coffer_apply::execute(plan, &executor, options, &on_event).await,
    };
    bar.finish_and_clear();
    report
}

fn summarize(plan: &Plan, report: &Report) -> ExitCode {
    if report.ok() {
        crate::outln!(
            "Apply complete: {} calls made, {} skipped.",
            report.succeeded.len(),
            report.skipped.len()
        );
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "error: apply failed after {} of {} calls.",
        report.succeeded.len(),
        plan.steps.len()
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
