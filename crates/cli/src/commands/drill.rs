use std::process::ExitCode;
use std::time::Duration;

use anstream::eprintln;
use coffer_aws::drill::{DrillOptions, DrillReport};
use coffer_planner::checks::{self, Severity};

use super::progress::{DrillProgress, ProgressArgs};
use super::{Connection, EXIT_FAILED, TopologyArg, load_topology, runtime};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub topology: TopologyArg,
    #[command(flatten)]
    pub connection: Connection,
    /// The backup plan to drill (its logical or AWS name); the one plan with a copy action when unset.
    #[arg(long, value_name = "NAME")]
    pub plan: Option<String>,
    /// The resource to back up; the plan's first RDS instance when unset.
    #[arg(long, value_name = "ARN")]
    pub resource: Option<String>,
    /// Keep the drill's restored databases and its source recovery point (every recovery
    /// point the drill makes expires with the shortest retention its vault's lock allows).
    #[arg(long)]
    pub keep: bool,
    /// Before the drill, create `service-role/AWSBackupDefaultServiceRole` (trusted by AWS
    /// Backup, with the managed policies AWSBackupServiceRolePolicyForBackup and
    /// AWSBackupServiceRolePolicyForRestores) in each account of the drill that lacks it, and
    /// say so on stderr. The drill passes that role to AWS Backup (`service-default`), and only
    /// the AWS Backup console creates it. No other role is ever created or changed.
    #[arg(long)]
    pub create_service_role: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Seconds between job status polls (0.05 to 3600).
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS", value_parser = poll_seconds)]
    pub poll_seconds: f64,
    #[command(flatten)]
    pub progress: ProgressArgs,
}

fn poll_seconds(text: &str) -> Result<f64, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if (0.05..=3600.0).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(format!("{seconds} is outside 0.05 to 3600 seconds"))
    }
}

pub fn run(args: &Args) -> ExitCode {
    let Some((topology, diagnostics)) = load_topology(&args.topology) else {
        return ExitCode::from(EXIT_FAILED);
    };
    let Some(rt) = runtime() else {
        return ExitCode::from(EXIT_FAILED);
    };
    let options = DrillOptions {
        plan: args.plan.clone(),
        resource: args.resource.clone(),
        keep: args.keep,
        poll_interval: Duration::from_secs_f64(args.poll_seconds),
        ..DrillOptions::default()
    };
    let connect = args.connection.options();
    let progress = DrillProgress::new(&args.progress);
    let on_event = |event: coffer_aws::drill::DrillEvent| progress.event(&event);
    let result = rt.block_on(async {
        let sessions = coffer_aws::Sessions::connect(&topology, &connect).await;
        if args.create_service_role {
            let created = coffer_aws::service_roles::create_missing_service_roles(
                &topology, &sessions, &options,
            )
            .await?;
            if created.is_empty() {
                eprintln!("Every account of the drill has the service role: nothing to create.");
            }
            for line in created {
                eprintln!("Service role: {line}.");
            }
        }
        let report = coffer_aws::drill::run(&topology, &sessions, &options, &on_event).await;
        progress.finish();
        let mut report = report?;
        if !report.ok {
            // Which checks predict the failure, on AWS as it is now.
            if let Ok(live) =
                coffer_aws::read(&topology, &sessions, args.connection.concurrency()).await
            {
                let findings = checks::evaluate(&topology, &diagnostics, Some(&live));
                // Findings about what failed: the drilled resource, its plan, or the vault of
                // the failing stage (`copy to vault.<name>`).
                let failed_vault = report
                    .stages
                    .iter()
                    .find(|s| !s.ok)
                    .and_then(|s| s.name.strip_prefix("copy to "))
                    .map(str::to_string);
                let plan = format!("backup_plan.{} ", report.plan);
                let relevant = |subject: &str| {
                    subject.contains(&report.resource)
                        || subject.starts_with(&plan)
                        || failed_vault
                            .as_ref()
                            .is_some_and(|v| subject.contains(v.as_str()))
                };
                report.predicted_by = findings
                    .iter()
                    .filter(|f| f.severity >= Severity::Error && relevant(&f.subject))
                    .map(|f| format!("{} {}: {}", f.check, f.subject_text(), f.message))
                    .collect();
            }
        }
        Ok::<DrillReport, coffer_aws::drill::DrillError>(report)
    });
    let report = match result {
        Ok(report) => report,
        Err(err) => {
            let help = if matches!(err, coffer_aws::drill::DrillError::ServiceRoles(_)) {
                if args.create_service_role {
                    "fix each role as shown: --create-service-role creates only a missing `service-default` role (docs/operations.md, \"The roles AWS Backup assumes\")".to_string()
                } else {
                    "fix each role as shown, or run `coffer drill --create-service-role` to create the missing `service-default` roles (docs/operations.md, \"The roles AWS Backup assumes\")".to_string()
                }
            } else {
                super::unreachable_help(&err.to_string()).unwrap_or_else(|| {
                    "check the plan and resource names, and that `coffer apply` has run".to_string()
                })
            };
            eprintln!("error: the drill could not start: {err}\n  help: {help}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    match args.format {
        Format::Json => crate::out!(
            "{}\n",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
        Format::Text => crate::out!("{}", text(&report)),
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

fn text(report: &DrillReport) -> String {
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
