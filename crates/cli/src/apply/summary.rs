//! The summary of an apply, and what it says when there is nothing to do.

use std::process::ExitCode;

use anstream::eprintln;
use coffer_apply::{Prepared, Report};
use coffer_planner::Plan;
use coffer_planner::render::plural;

use crate::context::EXIT_FAILED;

/// Says that the plan makes no call: there are no changes, or only deletions that wait for
/// `--allow-delete`.
pub fn nothing_to_apply(prepared: &Prepared) -> ExitCode {
    let deletions = prepared.deletions();
    if deletions > 0 {
        crate::outln!(
            "Nothing to apply; {} for --allow-delete.",
            plural(deletions, "deletion waits", "deletions wait")
        );
    } else {
        crate::outln!("No changes to apply.");
    }
    ExitCode::SUCCESS
}

/// Prints what the run did (stdout when it succeeded, stderr otherwise), with what to do next;
/// the exit status follows.
pub fn summarize(plan: &Plan, report: &Report) -> ExitCode {
    if report.interrupted {
        eprintln!(
            "interrupted: the apply stopped after {} of {}; the calls in flight finished.",
            report.succeeded.len(),
            plural(plan.steps.len(), "call", "calls")
        );
        for step in &report.succeeded {
            eprintln!("  done:        {step}");
        }
        unfinished(report);
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
    unfinished(report);
    eprintln!(
        "  help: fix the cause and run `coffer apply` again: every step is idempotent, and the next run continues where this one stopped"
    );
    ExitCode::from(EXIT_FAILED)
}

/// Lists the steps that failed and those not started (stderr).
fn unfinished(report: &Report) {
    for (step, error) in &report.failed {
        eprintln!("  failed:      {step}: {}", error.message);
    }
    for step in &report.not_started {
        eprintln!("  not started: {step}");
    }
}
