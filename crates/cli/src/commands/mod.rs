pub mod apply;
pub mod check;
pub mod drift;
pub mod drill;
pub mod graph;
pub mod iam_policy;
pub mod plan;
pub mod progress;
pub mod schema;
pub mod unlock;
pub mod validate;

use std::io::Write;
use std::path::{Path, PathBuf};

use anstream::eprint;
use coffer_planner::LiveState;
use coffer_spec::{Diagnostics, Topology};

/// The `-f FILE` option every command that reads a topology takes.
#[derive(Debug, clap::Args)]
pub struct TopologyArg {
    /// The topology file; `-` reads it from standard input.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        default_value = "topology.yaml"
    )]
    pub file: PathBuf,
}

impl TopologyArg {
    /// Whether the topology comes from standard input (`-f -`).
    pub fn is_stdin(&self) -> bool {
        self.file.as_os_str() == "-"
    }

    /// The name messages give the topology: the path as given, or `<stdin>`.
    pub fn shown(&self) -> String {
        if self.is_stdin() {
            coffer_spec::STDIN_NAME.to_string()
        } else {
            self.file.display().to_string()
        }
    }

    /// Reads and checks the topology (the file, or standard input for `-f -`) within the
    /// limits the environment sets (`COFFER_MAX_FILE_BYTES`, ...). A file that cannot be read
    /// at all is reported on stderr and gives `None`.
    pub fn read(&self) -> Option<coffer_spec::Loaded> {
        let shown = self.shown();
        let limits = match coffer_spec::Limits::from_env() {
            Ok(limits) => limits,
            Err(problem) => {
                eprint!(
                    "error: {problem}
  help: unset it to use the default limit
"
                );
                return None;
            }
        };
        let result = if self.is_stdin() {
            coffer_spec::load_reader_with(std::io::stdin().lock(), &shown, &limits)
        } else {
            coffer_spec::load_file_with(&self.file, &limits)
        };
        match result {
            Ok(loaded) => Some(loaded),
            Err(err) => {
                eprint!(
                    "{}",
                    validate::paint(&format!(
                        "{shown}: error: {}\n  help: {}\n",
                        err.message(),
                        err.help()
                    ))
                );
                None
            }
        }
    }
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
    let loaded = load_reported(arg)?;
    let topology = loaded.topology?;
    Some((topology, loaded.diagnostics))
}

/// Like [`load_topology`], but returns what was loaded even when the topology has errors
/// (its `topology` is then `None`), with the positions of its entries. `None` when the file
/// cannot be read.
pub fn load_reported(arg: &TopologyArg) -> Option<coffer_spec::Loaded> {
    let shown = arg.shown();
    let loaded = arg.read()?;
    eprint!("{}", validate::paint(&loaded.render(&shown)));
    if loaded.topology.is_none() {
        eprint!(
            "{shown}: {}; fix them and run again (`coffer validate -f {}` checks the file alone)\n",
            coffer_spec::diag::plural(loaded.diagnostics.errors().count(), "error", "errors"),
            if arg.is_stdin() { "-" } else { shown.as_str() }
        );
    }
    Some(loaded)
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
            let message = errors.to_string();
            let help = unreachable_help(&message).unwrap_or_else(|| {
                "Coffer needs read access in every account of the topology; see `docs/operations.md`".to_string()
            });
            eprint!("error: {message}\n  help: {help}\n");
            None
        }
    }
}

/// The help for an error that says no AWS endpoint answered (see
/// `coffer_aws::error::UNREACHABLE`); `None` for every other error.
pub fn unreachable_help(message: &str) -> Option<String> {
    if message.contains("cannot reach the AWS endpoint") {
        Some("check `--endpoint-url` (or AWS_ENDPOINT_URL): is the emulator or proxy running at that address?".to_string())
    } else if message.contains("cannot reach AWS (") {
        Some("check the network connection and the proxy settings; `--endpoint-url` sends the calls elsewhere".to_string())
    } else {
        None
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
