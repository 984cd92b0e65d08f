//! The `coffer` binary: commands, output formats and exit codes. Logic lives in the
//! library crates; this crate parses arguments, calls them and prints.

mod commands;

/// Writes to standard output; a closed pipe (`coffer plan | head`) ends the output quietly
/// instead of panicking. Colours are dropped when stdout is not a terminal or `NO_COLOR` is set.
pub fn write_out(text: &str) {
    use std::io::Write;
    let mut stdout = anstream::stdout();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
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
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a topology file: its shape, its references and AWS's rules. Touches no AWS account.
    Validate(commands::validate::Args),
    /// Read every account the topology names and show what would change to make AWS match it.
    Plan(commands::plan::Args),
    /// Make AWS match the topology: plan and confirm, or apply a saved plan.
    Apply(commands::apply::Args),
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
    /// Print the man page (roff): `coffer man > coffer.1`.
    Man,
}

fn main() -> ExitCode {
    // Usage errors exit 1 like every other failure: 2 means "changes", "findings" or "drift".
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(commands::EXIT_FAILED)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Validate(args) => commands::validate::run(&args),
        Command::Plan(args) => commands::plan::run(&args),
        Command::Apply(args) => commands::apply::run(&args),
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
        Command::Man => {
            let mut buffer = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut buffer) {
                Ok(()) => {
                    write_out(&String::from_utf8_lossy(&buffer));
                    ExitCode::SUCCESS
                }
                Err(err) => {
                    eprintln!("error: cannot render the man page: {err}");
                    ExitCode::from(commands::EXIT_FAILED)
                }
            }
        }
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
