//! The `coffer` binary: commands, output formats and exit codes. Logic lives in the
//! library crates; this crate parses arguments, calls them and prints.

mod apply;
mod commands;
mod context;
mod drill;
mod fleet;
mod logging;
mod progress;
mod sarif;

/// A large fleet's plan makes millions of small allocations; mimalloc keeps their cost flat
/// as the heap grows (docs/decisions.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Writes to standard output; a closed pipe (`coffer plan | head`) ends the output quietly
/// instead of panicking. Colours are dropped when stdout is not a terminal or `NO_COLOR` is set.
pub fn write_out(text: &str) {
    use std::io::Write;
    let mut stdout = anstream::stdout();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Writes to standard output through `write` (JSON, which has no colours to drop), buffered;
/// a closed pipe ends the output quietly.
pub fn write_out_with(write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) {
    use std::io::Write;
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    if write(&mut stdout).is_ok() {
        let _ = stdout.flush();
    }
}

#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::write_out(&format!($($arg)*)) };
}

#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => { $crate::write_out(&format!("{}\n", format!($($arg)*))) };
}

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Coffer keeps an AWS cross-account backup topology in one YAML file and makes AWS match it.
#[derive(Debug, Parser)]
#[command(name = "coffer", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log to stderr: -v info, -vv debug (every AWS call with account, Region, operation,
    /// duration and retries), -vvv trace. COFFER_LOG (a level or filter directives) wins.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a topology file: its shape, its references and AWS's rules. Touches no AWS account.
    Validate(commands::validate::Args),
    /// Read every account the topology names and show what would change to make AWS match it.
    Plan(commands::plan::Args),
    /// Make AWS match the topology: plan and confirm, or apply a saved plan.
    Apply(commands::apply::Args),
    /// Show who holds the topology's apply lock, since when and until when; break it with --force.
    Unlock(commands::unlock::Args),
    /// Run the checks catalog: will every copy edge work? Static, or against AWS with --live.
    Check(commands::check::Args),
    /// Compare AWS with the topology without proposing changes; rates security-relevant drift.
    Drift(commands::drift::Args),
    /// Prove the setup works: back up, copy to every destination, restore there, verify, clean up.
    Drill(commands::drill::Args),
    /// Draw the topology: accounts, regions, keys, vaults, plans and copy edges (Mermaid or DOT).
    Graph(commands::graph::Args),
    /// Print the least-privilege IAM policy the role in each account needs.
    IamPolicy(commands::iam_policy::Args),
    /// Print the JSON Schema of the topology file format (or, with --markdown, its reference).
    Schema(commands::schema::Args),
    /// Print shell completions: `coffer completions bash > /etc/bash_completion.d/coffer`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command: `coffer man --dir DIR`
    /// writes `coffer.1` and `coffer-<command>.1` (the pages `coffer.1` refers to).
    Man {
        /// Write every page into this directory (created if missing) instead of printing
        /// `coffer.1` alone.
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
}

/// `coffer man`: the top page on stdout, or every page into `dir`.
fn man(dir: Option<&std::path::Path>) -> ExitCode {
    // `coffer help` is not a page: `coffer help X` shows X's `--help`.
    let command = Cli::command().disable_help_subcommand(true);
    let result = match dir {
        None => {
            let mut buffer = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut buffer)
                .map(|()| write_out(&String::from_utf8_lossy(&buffer)))
        }
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(command, dir))
            .map(|()| {
                let pages = 1 + Cli::command()
                    .get_subcommands()
                    .filter(|s| !s.is_hide_set() && s.get_name() != "help")
                    .count();
                eprintln!(
                    "Wrote {pages} man pages (coffer.1, coffer-<command>.1) to {}",
                    dir.display()
                );
            }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let place = dir.map_or(String::new(), |d| format!(" to {}", d.display()));
            eprintln!("error: cannot write the man pages{place}: {err}");
            ExitCode::from(context::EXIT_FAILED)
        }
    }
}

fn main() -> ExitCode {
    // Usage errors exit 1 like every other failure: 2 means "changes", "findings" or "drift".
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(context::EXIT_FAILED)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    logging::init(cli.verbose);
    match cli.command {
        Command::Validate(args) => commands::validate::run(&args),
        Command::Plan(args) => commands::plan::run(&args),
        Command::Apply(args) => commands::apply::run(&args),
        Command::Unlock(args) => commands::unlock::run(&args),
        Command::Check(args) => commands::check::run(&args),
        Command::Drill(args) => commands::drill::run(&args),
        Command::Drift(args) => commands::drift::run(&args),
        Command::Graph(args) => commands::graph::run(&args),
        Command::IamPolicy(args) => commands::iam_policy::run(&args),
        Command::Schema(args) => commands::schema::run(&args),
        Command::Completions { shell } => {
            let mut buffer = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "coffer", &mut buffer);
            write_out(&String::from_utf8_lossy(&buffer));
            ExitCode::SUCCESS
        }
        Command::Man { dir } => man(dir.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
