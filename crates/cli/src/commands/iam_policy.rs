use std::process::ExitCode;

use coffer_aws::iam::{self, Mode};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ModeArg {
    /// Read only: plan, drift, check --live, graph --live.
    Plan,
    /// Read and change: apply.
    Apply,
    /// Read and run backup, copy and restore jobs: drill.
    Drill,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value = "plan")]
    pub mode: ModeArg,
}

pub fn run(args: &Args) -> ExitCode {
    let mode = match args.mode {
        ModeArg::Plan => Mode::Plan,
        ModeArg::Apply => Mode::Apply,
        ModeArg::Drill => Mode::Drill,
    };
    crate::outln!(
        "{}",
        serde_json::to_string_pretty(&iam::policy(mode)).unwrap_or_default()
    );
    ExitCode::SUCCESS
}
