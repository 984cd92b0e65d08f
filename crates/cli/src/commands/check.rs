use std::process::ExitCode;

use coffer_planner::checks::{self, Severity};
use coffer_planner::findings::{self, CheckReport, DestroyPaths};

use crate::context::{EXIT_FAILED, Online, read_live};
use crate::fleet::load_reported;

/// Exit status when findings at or above `--fail-on` stand.
pub const EXIT_FINDINGS: u8 = 2;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub online: Online,
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
    let Some(loaded) = load_reported(&args.online, args.live) else {
        return ExitCode::from(EXIT_FAILED);
    };
    let shown = args.online.topology.file.display().to_string();
    let diagnostics = &loaded.diagnostics;
    let Some(topology) = &loaded.topology else {
        if args.format == Format::Sarif {
            // The file's errors are what code scanning should show.
            let log = crate::sarif::diagnostics_log(&shown, &diagnostics.0);
            crate::out!("{log:#}\n");
        }
        return ExitCode::from(EXIT_FAILED);
    };
    let connection = &args.online.connection;
    let live = match args.live.then(|| read_live(topology, connection)) {
        Some(None) => return ExitCode::from(EXIT_FAILED),
        live => live.flatten(),
    };
    let live = live.as_ref();
    let report: Box<dyn CheckReport> = match args.destroy_paths {
        true => Box::new(DestroyPaths::new(topology, live, args.as_is)),
        false => Box::new(findings::check(topology, diagnostics, live, args.as_is)),
    };
    let text = match args.format {
        Format::Text => report.text(),
        Format::Markdown => report.markdown(),
        Format::Json => report.json(),
        Format::Sarif => {
            let log = crate::sarif::findings_log(&shown, &loaded.positions, report.findings());
            format!("{log:#}\n")
        }
    };
    crate::out!("{text}");
    let fails = report.fails(args.fail_on);
    ExitCode::from(if fails { EXIT_FINDINGS } else { 0 })
}
