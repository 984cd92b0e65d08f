use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the reference of the file format as Markdown (`docs/topology.md`) instead.
    #[arg(long)]
    pub markdown: bool,
}

pub fn run(args: &Args) -> ExitCode {
    if args.markdown {
        crate::out!("{}", coffer_spec::reference::topology_reference_markdown());
    } else {
        crate::out!("{}", coffer_spec::json_schema());
    }
    ExitCode::SUCCESS
}
