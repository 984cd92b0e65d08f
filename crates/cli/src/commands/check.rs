use std::process::ExitCode;

use coffer_planner::checks::{self, Finding, Severity};
use coffer_planner::{destroy, render};
use serde::Serialize;

use super::{Connection, EXIT_FAILED, TopologyArg, load_reported, read_live};

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
    /// `sarif`: a SARIF 2.1.0 log on stdout for code scanning, each finding located at the
    /// line of the entry it is about (not with --destroy-paths).
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

/// How `check` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For a terminal.
    Text,
    /// For a pull request comment or an issue.
    Markdown,
    /// Versioned JSON, for other tools.
    Json,
    /// SARIF 2.1.0, for code scanning (GitHub annotates the topology file).
    Sarif,
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
    if args.destroy_paths && args.format == Format::Sarif {
        anstream::eprint!(
            "error: --destroy-paths has no SARIF report: use --format text, markdown or json\n"
        );
        return ExitCode::from(EXIT_FAILED);
    }
    let Some(loaded) = load_reported(&args.topology) else {
        return ExitCode::from(EXIT_FAILED);
    };
    let shown = args.topology.file.display().to_string();
    let Some(topology) = loaded.topology else {
        if args.format == Format::Sarif {
            // The file's errors are what code scanning should show.
            let log = crate::sarif::diagnostics_log(&shown, &loaded.diagnostics.0);
            crate::out!(
                "{}\n",
                serde_json::to_string_pretty(&log).unwrap_or_default()
            );
        }
        return ExitCode::from(EXIT_FAILED);
    };
    let diagnostics = loaded.diagnostics;
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
        Format::Sarif => {
            let log = crate::sarif::findings_log(&shown, &loaded.positions, &findings);
            crate::out!(
                "{}\n",
                serde_json::to_string_pretty(&log).unwrap_or_default()
            );
        }
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
            crate::out!(
                "### Coffer checks: {} ({mode})\n\n",
                render::md_code(&topology.name)
            );
            if findings.is_empty() {
                crate::out!("No findings.\n");
            } else {
                crate::out!(
                    "| severity | check | subject | AWS resource | finding | fix |\n|---|---|---|---|---|---|\n"
                );
                for f in &findings {
                    crate::out!(
                        "| {} | {} | {} | {} | {} | {} |\n",
                        f.severity,
                        f.check,
                        render::md_cell(&render::md_code(&f.subject)),
                        render::md_cell(&render::md_aws_resource(
                            f.aws_name.as_deref(),
                            f.arn.as_deref()
                        )),
                        render::md_cell(&render::md_text(&f.message)),
                        render::md_cell(&render::md_text(&f.fix))
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
                    f.subject_text(),
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
        Format::Json | Format::Sarif => crate::out!(
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
