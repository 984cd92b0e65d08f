//! What `coffer drill` does around the drill of the `aws` crate: its progress, the service
//! roles it may create, the checks that predict a failure, the help for a drill that cannot
//! start, and the report as text.

use anstream::eprintln;
use coffer_aws::Sessions;
use coffer_aws::drill::{DrillError, DrillOptions, DrillReport};
use coffer_planner::checks;
use coffer_planner::prediction::{DrillFailure, predicted_by};
use coffer_spec::{Diagnostics, Topology};

use crate::commands::drill::Args;
use crate::progress::DrillProgress;

/// The `--poll-seconds` of a drill: 0.05 to 3600 seconds.
pub fn poll_seconds(text: &str) -> Result<f64, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if (0.05..=3600.0).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(format!("{seconds} is outside 0.05 to 3600 seconds"))
    }
}

/// Runs the drill with `sessions`, showing its progress, after creating the missing service
/// roles when asked to; when it fails, fills in the checks that predict the failure.
pub async fn run(
    topology: &Topology,
    diagnostics: &Diagnostics,
    sessions: &Sessions,
    options: &DrillOptions,
    args: &Args,
) -> Result<DrillReport, DrillError> {
    let progress = DrillProgress::new(&args.progress);
    if args.create_service_role {
        create_service_roles(topology, sessions, options).await?;
    }
    let on_event = |event| progress.event(&event);
    let report = coffer_aws::drill::run(topology, sessions, options, &on_event).await;
    progress.finish();
    let mut report = report?;
    if !report.ok {
        // Which checks predict the failure, on AWS as it is now.
        let concurrency = args.online.connection.concurrency();
        if let Ok(live) = coffer_aws::read(topology, sessions, concurrency).await {
            let findings = checks::evaluate(topology, diagnostics, Some(&live));
            let failure = DrillFailure {
                plan: &report.plan,
                resource: &report.resource,
                failed_copy_to: report.failed_copy_destination().map(|v| v.name.as_str()),
            };
            report.predicted_by = predicted_by(&findings, &failure);
        }
    }
    Ok(report)
}

/// Creates the missing `service-default` roles of the accounts of the drill, saying so on
/// stderr (`--create-service-role`).
async fn create_service_roles(
    topology: &Topology,
    sessions: &Sessions,
    options: &DrillOptions,
) -> Result<(), DrillError> {
    let created =
        coffer_aws::service_roles::create_missing_service_roles(topology, sessions, options)
            .await?;
    if created.is_empty() {
        eprintln!("Every account of the drill has the service role: nothing to create.");
    }
    for line in created {
        eprintln!("Service role: {line}.");
    }
    Ok(())
}

/// What to do about a drill that could not start.
pub fn help(err: &DrillError, create_service_role: bool) -> String {
    if matches!(err, DrillError::ServiceRoles(_)) {
        if create_service_role {
            "fix each role as shown: --create-service-role creates only a missing `service-default` role (docs/operations.md, \"The roles AWS Backup assumes\")".to_string()
        } else {
            "fix each role as shown, or run `coffer drill --create-service-role` to create the missing `service-default` roles (docs/operations.md, \"The roles AWS Backup assumes\")".to_string()
        }
    } else {
        crate::context::unreachable_help(&err.to_string()).unwrap_or_else(|| {
            "check the plan and resource names, and that `coffer apply` has run".to_string()
        })
    }
}

/// The report as text.
pub fn text(report: &DrillReport) -> String {
    let mut out = format!(
        "Restore drill of `{}`: plan {}, resource {}\n\n",
        report.topology, report.plan, report.resource
    );
    for stage in &report.stages {
        out.push_str(&format!(
            "  {} {:<40} {:>8.1}s  {}\n",
            if stage.ok { "ok  " } else { "FAIL" },
            stage.name,
            stage.seconds,
            stage.detail
        ));
    }
    out.push('\n');
    if !report.left_to_expire.is_empty() {
        out.push_str(
            "Left to expire: the drill did not delete these recovery points; AWS Backup deletes each when its retention ends.\n",
        );
        for left in &report.left_to_expire {
            out.push_str(&format!("  {}\n", coffer_aws::drill::describe_left(left)));
        }
        out.push('\n');
    }
    match report.rpo_seen_seconds {
        Some(age) => out.push_str(&format!(
            "RPO seen: the newest recovery point before the drill was {age} s old\n"
        )),
        None => {
            out.push_str("RPO seen: no recovery point of the resource existed before the drill\n")
        }
    }
    if let Some(rto) = report.rto_seen_seconds {
        out.push_str(&format!("RTO seen: the restore took {rto:.1} s\n"));
    }
    if report.ok {
        out.push_str("Drill passed: the backup was copied and restored with the destination account's key.\n");
    } else {
        out.push_str(&format!(
            "Drill FAILED: {}\n",
            report.failure.as_deref().unwrap_or("unknown")
        ));
        if report.predicted_by.is_empty() {
            out.push_str("No check of the catalog predicted this failure.\n");
        } else {
            out.push_str("Predicted by:\n");
            for prediction in &report.predicted_by {
                out.push_str(&format!("  {prediction}\n"));
            }
        }
    }
    out
}
