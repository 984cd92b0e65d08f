use std::process::ExitCode;

use coffer_planner::graph;

use crate::context::{EXIT_FAILED, Online, read_live};
use crate::fleet::load_reported;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Mermaid,
    Dot,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub online: Online,
    #[arg(long, value_enum, default_value = "mermaid")]
    pub format: Format,
    /// Mark broken copy edges from the live checks (AWS read now, as it will be after apply);
    /// without it, from the topology alone.
    #[arg(long)]
    pub live: bool,
}

pub fn run(args: &Args) -> ExitCode {
    let loaded = load_reported(&args.online, args.live);
    let Some((Some(topology), diagnostics)) = loaded.map(|l| (l.topology, l.diagnostics)) else {
        return ExitCode::from(EXIT_FAILED);
    };
    let findings = if args.live {
        let Some(live) = read_live(&topology, &args.online.connection) else {
            return ExitCode::from(EXIT_FAILED);
        };
        coffer_planner::plan_checked(&topology, &diagnostics, &live).findings
    } else {
        // AWS as the file describes it: the plan from empty accounts, simulated.
        coffer_planner::plan_checked(
            &topology,
            &diagnostics,
            &coffer_planner::LiveState::default(),
        )
        .findings
    };
    let built = graph::build(&topology, &findings);
    match args.format {
        Format::Mermaid => crate::out!("{}", graph::mermaid(&topology, &built)),
        Format::Dot => crate::out!("{}", graph::dot(&topology, &built)),
    }
    ExitCode::SUCCESS
}
