use std::process::ExitCode;

use coffer_planner::checks::{self, Finding, Severity};
use coffer_planner::destroy;
use serde::Serialize;

use super::{Connection, EXIT_FAILED, Format, TopologyArg, load_topology, read_live};

/// Exit status when findings at or above `--fail-on` stand.
pub const EXIT_FINDINGS: u8 = 2;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub topology: TopologyArg,
    #[command(flatten)]
    pub connection: Connection,
    /// Also run the live checks: read AWS and check it as it will be after `coffer apply`.
    #[arg(long)]
    pub live: bool,
    /// With --live: check AWS as it is now, not as it will be after apply.
    #[arg(long, requires = "live")]
    pub as_is: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Exit 2 when a finding of this severity or worse stands: info, warning, error or blocker.
    #[arg(long, default_value = "blocker", value_name = "SEVERITY")]
    pub fail_on: Severity,
    /// Report who can destroy the copies (delete or shorten recovery points, replace the vault
    /// policy or lock, disable or delete the key) instead of the findings; exit 2 when anyone
    /// other than break-glass can destroy a copy, or anyone other than Coffer's role and
    /// break-glass can change what protects it, unless the vault sets `accept_destroy_paths`.
    #[arg(long)]
    pub destroy_paths: bool,
    /// Print the catalog (Markdown) and exit.
    #[arg(long, exclusive = true)]
    pub list: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    format_version: u32,
    topology: &'a str,
    mode: &'a str,
    findings: &'a [Finding],
}

pub fn run(args: &Args) -> ExitCode {
    if args.list {
        crate::out!("{}", checks::catalog_markdown());
        return ExitCode::SUCCESS;
    }
    let Some((topology, diagnostics)) = load_topology(&args.topology) else {
        return ExitCode::from(EXIT_FAILED);
    };
    if args.destroy_paths {
        return destroy_paths(args, &topology);
    }
    let (findings, mode) = if args.live {
        let Some(live) = read_live(&topology, &args.connection) else {
            return ExitCode::from(EXIT_FAILED);
        };
        if args.as_is {
            (
                checks::evaluate(&topology, &diagnostics, Some(&live)),
                "live-as-is",
            )
        } else {
            (
                coffer_planner::plan_checked(&topology, &diagnostics, &live).findings,
                "live-after-plan",
            )
        }
    } else {
        (checks::evaluate(&topology, &diagnostics, None), "static")
    };
    match args.format {
        Format::Json => {
            let report = Report {
                format_version: 1,
                topology: &topology.name,
                mode,
                findings: &findings,
            };
            crate::out!(
                "{}\n",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
        }
        Format::Markdown => {
            crate::out!("### Coffer checks: `{}` ({mode})\n\n", topology.name);
            if findings.is_empty() {
                crate::out!("No findings.\n");
            } else {
                crate::out!(
                    "| severity | check | subject | finding | fix |\n|---|---|---|---|---|\n"
                );
                for f in &findings {
                    crate::out!(
                        "| {} | {} | `{}` | {} | {} |\n",
                        f.severity,
                        f.check,
                        f.subject,
                        f.message,
                        f.fix
                    );
                }
            }
        }
        Format::Text => {
            if findings.is_empty() {
                crate::out!("No findings ({mode} checks of `{}`).\n", topology.name);
            }
            for f in &findings {
                crate::out!(
                    "{} {} {}: {}\n    {}\n    fix: {}\n",
                    f.severity,
                    f.check,
                    f.subject,
                    f.message,
                    f.title,
                    f.fix
                );
            }
        }
    }
    if findings.iter().any(|f| f.severity >= args.fail_on) {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    }
}

fn destroy_paths(args: &Args, topology: &coffer_spec::Topology) -> ExitCode {
    let (report, mode) = if args.live {
        let Some(live) = read_live(topology, &args.connection) else {
            return ExitCode::from(EXIT_FAILED);
        };
        let state = if args.as_is {
            live
        } else {
            coffer_planner::simulate::after_plan(topology, &live)
        };
        let mode = if args.as_is {
            "live-as-is"
        } else {
            "live-after-plan"
        };
        (destroy::report(topology, Some(&state)), mode)
    } else {
        (destroy::report(topology, None), "static")
    };
    match args.format {
        Format::Json => crate::out!(
            "{}\n",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
        Format::Markdown => crate::out!("{}", destroy::markdown(&report)),
        Format::Text => crate::out!(
            "Who can destroy the copies of `{}` ({mode}):\n\n{}",
            topology.name,
            destroy::text(&report)
        ),
    }
    if report.fails() {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    }
}
