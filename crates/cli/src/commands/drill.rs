//! `coffer drill`: back up, copy to every destination, restore there, verify, clean up; and
//! when it fails, the checks that predict the failure.

use std::process::ExitCode;
use std::time::Duration;

use anstream::eprintln;
use coffer_aws::drill::DrillOptions;

use crate::context::{EXIT_FAILED, Online, online};
use crate::drill;
use crate::progress::ProgressArgs;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub online: Online,
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
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS", value_parser = drill::poll_seconds)]
    pub poll_seconds: f64,
    /// How long a copy that AWS refuses for lack of access is started again, in seconds, while
    /// a change made by `coffer apply` may not have propagated yet (0 turns it off).
    #[arg(long, default_value_t = 300, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub propagation_window: u64,
    #[command(flatten)]
    pub progress: ProgressArgs,
}

pub fn run(args: &Args) -> ExitCode {
    let options = DrillOptions {
        plan: args.plan.clone(),
        resource: args.resource.clone(),
        keep: args.keep,
        poll_interval: Duration::from_secs_f64(args.poll_seconds),
        propagation_window: Duration::from_secs(args.propagation_window),
        ..DrillOptions::default()
    };
    online(
        &args.online.topology,
        &args.online.connection,
        async |topology, diagnostics, sessions| {
            let report = match drill::run(topology, diagnostics, sessions, &options, args).await {
                Ok(report) => report,
                Err(err) => {
                    let help = drill::help(&err, args.create_service_role);
                    eprintln!("error: the drill could not start: {err}\n  help: {help}");
                    return ExitCode::from(EXIT_FAILED);
                }
            };
            match args.format {
                Format::Json => crate::out!(
                    "{}\n",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                ),
                Format::Text => crate::out!("{}", drill::text(&report)),
            }
            if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FAILED)
            }
        },
    )
}
