pub mod apply;
pub mod check;
pub mod drift;
pub mod drill;
pub mod graph;
pub mod iam_policy;
pub mod plan;
pub mod schema;
pub mod validate;

use std::io::Write;
use std::path::{Path, PathBuf};

use anstream::eprint;
use coffer_planner::LiveState;
use coffer_spec::{Diagnostics, Topology};

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

/// How `plan`, `check` and `drift` print their report.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// For a terminal.
    Text,
    /// For a pull request comment or an issue.
    Markdown,
    /// Versioned JSON, for other tools.
    Json,
}

/// How to reach AWS.
#[derive(Debug, Clone, clap::Args)]
pub struct Connection {
    /// Send every AWS call to this endpoint (a local emulator). Also read from AWS_ENDPOINT_URL.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// How many AWS calls may be in flight at once.
    #[arg(long, default_value_t = 16, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Assume this role (a name, optionally with a path) in every account instead of the
    /// topology's, e.g. a read-only role for plan and drift (`coffer iam-policy --mode plan`).
    #[arg(long, value_name = "NAME", env = "COFFER_ROLE")]
    pub role: Option<String>,
}

impl Connection {
    pub fn concurrency(&self) -> usize {
        usize::from(self.concurrency)
    }

    pub fn options(&self) -> coffer_aws::ConnectOptions {
        coffer_aws::ConnectOptions {
            endpoint_url: self.endpoint_url.clone(),
            role_name: self.role.clone(),
            ..Default::default()
        }
    }
}

/// Exit status 1: the command failed (bad input or an error while running).
pub const EXIT_FAILED: u8 = 1;

/// Loads and validates the topology, printing every diagnostic to stderr. `None` on errors
/// that stop it from loading; errors that are catalog checks let it load (they come back as
/// findings).
pub fn load_topology(arg: &TopologyArg) -> Option<(Topology, Diagnostics)> {
    let shown = arg.file.display().to_string();
    let loaded = match coffer_spec::load_file(&arg.file) {
        Ok(loaded) => loaded,
        Err(err) => {
            eprint!(
                "{shown}: error: {err}: {}\n  help: pass the topology with `-f FILE`\n",
                err.source
            );
            return None;
        }
    };
    eprint!("{}", validate::paint(&loaded.render(&shown)));
    if loaded.topology.is_none() {
        eprint!(
            "{shown}: {} errors; fix them and run again (`coffer validate -f {shown}` checks the file alone)\n",
            loaded.diagnostics.errors().count()
        );
    }
    let topology = loaded.topology?;
    Some((topology, loaded.diagnostics))
}

/// A runtime for the AWS calls.
pub fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(err) => {
            eprint!("error: cannot start the async runtime: {err}\n");
            None
        }
    }
}

/// Reads the live state of everything the topology scopes; prints failures. `None` on errors.
pub fn read_live(topology: &Topology, connection: &Connection) -> Option<LiveState> {
    let rt = runtime()?;
    let options = connection.options();
    let result = rt.block_on(async {
        let sessions = coffer_aws::Sessions::connect(topology, &options).await;
        coffer_aws::read(topology, &sessions, connection.concurrency()).await
    });
    match result {
        Ok(live) => Some(live),
        Err(errors) => {
            eprint!(
                "error: {errors}\n  help: Coffer needs read access in every account of the topology; see `docs/operations.md`\n"
            );
            None
        }
    }
}

/// Writes `data` to `path` through a temporary file and a rename, so a reader never sees a
/// half-written file.
pub fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(data)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}
