use std::io::Write;
use std::process::ExitCode;

use anstream::eprint;
use coffer_spec::diag::plural;

use crate::context::{EXIT_FAILED, TopologyArg, paint};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub topology: TopologyArg,
    /// `text`: diagnostics on stderr, a summary on stdout. `sarif`: the diagnostics as a
    /// SARIF 2.1.0 log on stdout (for code scanning), and still as text on stderr.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// How `validate` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For a terminal.
    Text,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

pub fn run(args: &Args) -> ExitCode {
    let shown = args.topology.shown();
    let Some(loaded) = args.topology.read() else {
        return ExitCode::from(EXIT_FAILED);
    };
    eprint!("{}", paint(&loaded.render(&shown)));
    let _ = std::io::stderr().flush();
    let errors = plural(loaded.diagnostics.errors().count(), "error", "errors");
    let warnings = plural(loaded.diagnostics.warnings().count(), "warning", "warnings");
    let valid = loaded.topology.is_some() && loaded.diagnostics.errors().count() == 0;
    if args.format == Format::Sarif {
        let log = crate::sarif::diagnostics_log(&shown, &loaded.diagnostics.0);
        crate::out!(
            "{}\n",
            serde_json::to_string_pretty(&log).unwrap_or_default()
        );
        return if valid {
            eprint!("{shown}: valid topology ({warnings})\n");
            ExitCode::SUCCESS
        } else {
            eprint!("{shown}: {errors}, {warnings}\n");
            ExitCode::from(EXIT_FAILED)
        };
    }
    match &loaded.topology {
        Some(topology) if valid => {
            crate::outln!(
                "{shown}: valid topology `{}`: {}, {}, {}, {} ({warnings})",
                topology.name,
                plural(topology.accounts.len(), "account", "accounts"),
                plural(topology.keys.len(), "key", "keys"),
                plural(topology.vaults.len(), "vault", "vaults"),
                plural(topology.backup_plans.len(), "backup plan", "backup plans"),
            );
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{shown}: {errors}, {warnings}\n");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
