use std::process::ExitCode;

use coffer_planner::checks::Severity;
use coffer_planner::drift;

use crate::context::{EXIT_FAILED, Format, Online};
use crate::fleet::Fleet;

/// Exit status when drift at or above `--fail-on` stands.
pub const EXIT_DRIFT: u8 = 2;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub online: Online,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Exit 2 only for drift of this severity or worse: info, warning, error or blocker.
    #[arg(long, default_value = "info", value_name = "SEVERITY")]
    pub fail_on: Severity,
}

pub fn run(args: &Args) -> ExitCode {
    let Some(fleet) = Fleet::load(&args.online, None) else {
        return ExitCode::from(EXIT_FAILED);
    };
    let Some(live) = fleet.read_live(&args.online.connection) else {
        return ExitCode::from(EXIT_FAILED);
    };
    let report = drift::report(&coffer_planner::plan(&fleet.topology, &live));
    match args.format {
        Format::Text => crate::out!("{}", drift::text(&report)),
        Format::Markdown => crate::out!("{}", drift::markdown(&report)),
        Format::Json => crate::out!(
            "{}\n",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
    }
    match report.worst() {
        Some(worst) if worst >= args.fail_on => ExitCode::from(EXIT_DRIFT),
        _ => ExitCode::SUCCESS,
    }
}
