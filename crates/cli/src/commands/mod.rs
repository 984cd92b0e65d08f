pub mod schema;
pub mod validate;

use std::path::PathBuf;

/// The `-f FILE` option every command that reads a topology takes.
#[derive(Debug, clap::Args)]
pub struct TopologyArg {
    /// The topology file.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        default_value = "topology.yaml"
    )]
    pub file: PathBuf,
}

/// Exit status 1: the command failed (bad input or an error while running).
pub const EXIT_FAILED: u8 = 1;
