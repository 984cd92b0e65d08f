//! What the commands share: the options that name the topology and how to reach AWS, loading
//! the topology with its diagnostics, the runtime and sessions for AWS calls, reading the live
//! state, and writing files.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

use anstream::eprint;
use anstyle::{AnsiColor, Style};
use coffer_aws::Sessions;
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
                    paint(&format!(
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

/// The options of every command that reads a topology and AWS: `-f FILE` and how to reach
/// AWS.
#[derive(Debug, clap::Args)]
pub struct Online {
    #[command(flatten)]
    pub topology: TopologyArg,
    #[command(flatten)]
    pub connection: Connection,
}

/// How to reach AWS.
#[derive(Debug, Clone, clap::Args)]
pub struct Connection {
    /// Send every AWS call to this endpoint (a local emulator). Also read from AWS_ENDPOINT_URL.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// How many AWS calls may be in flight at once, all accounts together; one account has
    /// at most 8 in flight and each of its services at most 4 (AWS's request quotas are per
    /// account).
    #[arg(long, default_value_t = coffer_aws::read::limits::GLOBAL as u16, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Assume this role (a name, optionally with a path) in every account instead of the
    /// topology's, e.g. a read-only role for plan and drift (`coffer iam-policy --mode plan`).
    #[arg(long, value_name = "NAME", env = "COFFER_ROLE")]
    pub role: Option<String>,
    /// How many seconds an AWS call waits for the first byte of its answer before the attempt
    /// fails; a failed attempt is retried like any transient failure.
    #[arg(long, default_value_t = coffer_aws::DEFAULT_READ_TIMEOUT.as_secs() as u32, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub read_timeout: u32,
    /// The sessions this run has connected so far (see [`connect`]).
    #[arg(skip)]
    pub sessions: SessionCache,
}

/// The sessions of a run, kept so that connecting again (after reading the members of the
/// account sets, say) assumes no role twice and lists the organization once.
#[derive(Clone, Debug, Default)]
pub struct SessionCache(std::sync::Arc<std::sync::Mutex<Option<Sessions>>>);

impl SessionCache {
    fn get(&self) -> Option<Sessions> {
        self.0.lock().ok()?.clone()
    }

    fn keep(&self, sessions: &Sessions) {
        if let Ok(mut kept) = self.0.lock() {
            *kept = Some(sessions.clone());
        }
    }
}

impl Connection {
    pub fn concurrency(&self) -> usize {
        usize::from(self.concurrency)
    }

    pub fn options(&self) -> coffer_aws::ConnectOptions {
        coffer_aws::ConnectOptions {
            endpoint_url: self.endpoint_url.clone(),
            role_name: self.role.clone(),
            read_timeout: Some(std::time::Duration::from_secs(u64::from(self.read_timeout))),
            ..Default::default()
        }
    }
}

/// Exit status 1: the command failed (bad input or an error while running).
pub const EXIT_FAILED: u8 = 1;

/// Prints the diagnostics of `loaded` (read from `arg`) and, when it does not load, how many
/// errors stop it; gives `loaded` back.
pub fn report_loaded(
    arg: &TopologyArg,
    loaded: coffer_spec::Loaded,
) -> Option<coffer_spec::Loaded> {
    let shown = arg.shown();
    eprint!("{}", paint(&loaded.render(&shown)));
    if loaded.topology.is_none() {
        eprint!(
            "{shown}: {}; fix them and run again (`coffer validate -f {}` checks the file alone)\n",
            coffer_spec::diag::plural(loaded.diagnostics.errors().count(), "error", "errors"),
            if arg.is_stdin() { "-" } else { shown.as_str() }
        );
    }
    Some(loaded)
}

/// The runtime for the AWS calls: one per process, so the sessions (and their clients'
/// connections) of one step of a command serve the next.
fn runtime() -> Option<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    let built = RUNTIME.get_or_init(|| {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.enable_all().build().map_err(|e| e.to_string())
    });
    match built {
        Ok(rt) => Some(rt),
        Err(err) => {
            eprint!("error: cannot start the async runtime: {err}\n");
            None
        }
    }
}

/// Runs `work` to completion on the [`runtime`]; `None` when the runtime cannot start.
pub fn block_on<T>(work: impl Future<Output = T>) -> Option<T> {
    Some(runtime()?.block_on(work))
}

/// The sessions for every account of `topology`, reached as `connection` says; an account
/// this run has connected to already keeps its session (its role is assumed once).
pub async fn connect(topology: &Topology, connection: &Connection) -> Sessions {
    let earlier = connection.sessions.get();
    let options = connection.options();
    let sessions = Sessions::connect_reusing(topology, &options, earlier.as_ref()).await;
    connection.sessions.keep(&sessions);
    sessions
}

/// Connects to every account of `topology` and runs `work` with the sessions, on a new
/// runtime. `None` when the runtime cannot start.
pub fn with_sessions<T>(
    topology: &Topology,
    connection: &Connection,
    work: impl AsyncFnOnce(&Sessions) -> T,
) -> Option<T> {
    block_on(async { work(&connect(topology, connection).await).await })
}

/// Loads the topology (with the members of its account sets), connects to its accounts and
/// runs `work` on a new runtime: how every command that calls AWS starts. Exit status 1 when the topology does not load or the runtime
/// cannot start.
pub fn online(
    arg: &TopologyArg,
    connection: &Connection,
    work: impl AsyncFnOnce(&Topology, &Diagnostics, &Sessions) -> ExitCode,
) -> ExitCode {
    let Some(fleet) = crate::fleet::Fleet::load_from(arg, connection, None) else {
        return ExitCode::from(EXIT_FAILED);
    };
    with_sessions(&fleet.topology, connection, async |sessions| {
        work(&fleet.topology, &fleet.diagnostics, sessions).await
    })
    .unwrap_or(ExitCode::from(EXIT_FAILED))
}

/// Reads the live state of everything the topology scopes; prints failures. `None` on errors.
pub fn read_live(topology: &Topology, connection: &Connection) -> Option<LiveState> {
    let result = with_sessions(topology, connection, async |sessions| {
        coffer_aws::read(topology, sessions, connection.concurrency()).await
    })?;
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

/// Reads a live state written by `coffer plan --live-out`; prints why it cannot. `None` on
/// errors.
pub fn read_live_file(path: &Path) -> Option<LiveState> {
    let read = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str::<LiveState>(&text).map_err(|e| e.to_string()));
    match read {
        Ok(live) => Some(live),
        Err(err) => {
            eprint!(
                "error: cannot read the live state {}: {err}\n  help: pass a file written by `coffer plan --live-out`\n",
                path.display()
            );
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

/// `word` as one shell word for a command line to copy: as it is when that is safe, else in
/// single quotes.
pub fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
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

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn hint_paths_are_one_shell_word() {
        assert_eq!(shell_word("path/to/topology.yaml"), "path/to/topology.yaml");
        assert_eq!(shell_word("my plans/p.json"), "'my plans/p.json'");
        assert_eq!(shell_word("it's.yaml"), "'it'\\''s.yaml'");
    }
}
