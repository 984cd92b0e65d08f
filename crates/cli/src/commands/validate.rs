use std::io::Write;
use std::process::ExitCode;

use anstream::eprint;
use anstyle::{AnsiColor, Style};

use super::{EXIT_FAILED, TopologyArg};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub topology: TopologyArg,
}

pub fn run(args: &Args) -> ExitCode {
    let path = &args.topology.file;
    let shown = path.display().to_string();
    let loaded = match coffer_spec::load_file(path) {
        Ok(loaded) => loaded,
        Err(err) => {
            eprint!(
                "{shown}: error: {err}: {}\n  help: pass the topology with `-f FILE`\n",
                err.source
            );
            return ExitCode::from(EXIT_FAILED);
        }
    };
    eprint!("{}", paint(&loaded.render(&shown)));
    let _ = std::io::stderr().flush();
    let errors = loaded.diagnostics.errors().count();
    let warnings = loaded.diagnostics.warnings().count();
    match &loaded.topology {
        Some(topology) if errors == 0 => {
            crate::outln!(
                "{shown}: valid topology `{}`: {} accounts, {} keys, {} vaults, {} backup plans ({warnings} warnings)",
                topology.name,
                topology.accounts.len(),
                topology.keys.len(),
                topology.vaults.len(),
                topology.plans.len(),
            );
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{shown}: {errors} errors, {warnings} warnings\n");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Colours the severity words of rendered diagnostics. `anstream` drops the colours when
/// stderr is not a terminal or `NO_COLOR` is set.
pub fn paint(rendered: &str) -> String {
    let error = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
    let warning = Style::new().fg_color(Some(AnsiColor::Yellow.into())).bold();
    let help = Style::new().fg_color(Some(AnsiColor::Cyan.into())).bold();
    rendered
        .replace(": error[", &format!(": {error}error{error:#}["))
        .replace(": warning[", &format!(": {warning}warning{warning:#}["))
        .replace("  help:", &format!("  {help}help{help:#}:"))
}
