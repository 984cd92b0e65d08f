//! `coffer plan`: read every account the topology names and show what would change to make
//! AWS match it; save the plan for `coffer apply`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anstream::eprintln;
use coffer_planner::render;

use crate::context::{EXIT_FAILED, Format, Online, read_live_file, shell_word, write_atomically};
use crate::fleet::Fleet;

/// Exit status of `--detailed-exitcode` when the plan has changes.
pub const EXIT_CHANGES: u8 = 2;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub online: Online,
    /// How to print the plan.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Also write the plan as JSON to this file, for `coffer apply PLAN.json`.
    #[arg(long, value_name = "PLAN.json")]
    pub out: Option<PathBuf>,
    /// Plan against this live state (written by `--live-out`) instead of reading AWS.
    #[arg(long, value_name = "LIVE.json", conflicts_with = "live_out")]
    pub live_in: Option<PathBuf>,
    /// Also write the live state Coffer read, as JSON (for bug reports and offline tests).
    #[arg(long, value_name = "LIVE.json")]
    pub live_out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on errors.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

pub fn run(args: &Args) -> ExitCode {
    let saved = match &args.live_in {
        Some(path) => match read_live_file(path) {
            Some(live) => Some(live),
            None => return ExitCode::from(EXIT_FAILED),
        },
        None => None,
    };
    let Some(fleet) = Fleet::load(&args.online, saved.as_ref()) else {
        return ExitCode::from(EXIT_FAILED);
    };
    let Some(live) = saved.or_else(|| fleet.read_live(&args.online.connection)) else {
        return ExitCode::from(EXIT_FAILED);
    };
    if let Some(path) = &args.live_out {
        let text = serde_json::to_string_pretty(&live).unwrap_or_default();
        if let Err(err) = write_atomically(path, text.as_bytes()) {
            eprintln!(
                "error: cannot write the live state to {}: {err}",
                path.display()
            );
            return ExitCode::from(EXIT_FAILED);
        }
    }
    let plan = coffer_planner::plan_checked(&fleet.topology, &fleet.diagnostics, &live);
    match args.format {
        Format::Text => crate::out!("{}", render::text(&plan, true)),
        Format::Markdown => crate::out!("{}", render::markdown(&plan)),
        Format::Json => crate::write_out_with(|out| render::write_json(&plan, out)),
    }
    let _ = std::io::stdout().flush();
    if let Some(out) = &args.out {
        if let Err(err) = write_atomically(out, render::json(&plan).as_bytes()) {
            eprintln!(
                "error: cannot write the plan to {}: {err}\n  help: check that the directory exists and is writable",
                out.display()
            );
            return ExitCode::from(EXIT_FAILED);
        }
        eprintln!(
            "Saved the plan to {}; apply it with `coffer apply -f {} {}`.",
            out.display(),
            shell_word(&args.online.topology.file.display().to_string()),
            shell_word(&out.display().to_string())
        );
    }
    let code = if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(EXIT_CHANGES)
    } else {
        ExitCode::SUCCESS
    };
    // The exit frees the plan, the live state and the topology at once; freeing them one
    // allocation at a time was a tenth of the CPU of a large fleet's plan (docs/performance.md).
    std::mem::forget((plan, live, fleet));
    code
}
