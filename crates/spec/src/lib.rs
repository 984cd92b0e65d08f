//! Coffer's topology file: the format (serde types), loading with line and column,
//! validation against AWS's rules, the resolved [`Topology`] the planner consumes, and the
//! JSON Schema editors use.
//!
//! ```
//! let loaded = coffer_spec::load_str("version: 1\nname: demo\naccounts:\n  a: {id: \"111122223333\"}\n");
//! assert!(loaded.topology.is_some(), "{}", loaded.render("topology.yaml"));
//! ```

pub mod aws_limits;
pub mod checks;
pub mod codes;
pub mod diag;
pub mod format;
mod load;
pub mod reference;
mod resolve;
pub mod topology;
pub mod yaml;

use std::path::Path;

pub use diag::{Diagnostic, Diagnostics, Severity};
pub use resolve::GENERATED_SID_PREFIX;
pub use topology::*;
pub use yaml::{Limits, Pos};

/// The result of loading a topology file: the topology when there are no errors, and every
/// diagnostic (errors and warnings) sorted by position.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub source: String,
    pub topology: Option<Topology>,
    pub diagnostics: Diagnostics,
    /// Where the file wrote its sections and logical names (empty when it is not YAML).
    pub positions: Positions,
}

impl Loaded {
    /// Every diagnostic, rendered as `FILE:LINE:COL: error[CODE]: message` blocks.
    pub fn render(&self, file: &str) -> String {
        self.diagnostics.render(file, &self.source)
    }
}

/// Where the file wrote each top-level section and the logical name of each entry: what
/// points a report about a resource (`vaults.central`) at its line.
///
/// ```
/// let loaded = coffer_spec::load_str("version: 1\nname: demo\naccounts:\n  a: {id: \"111122223333\"}\n");
/// assert_eq!(loaded.positions.lookup("accounts.a"), Some(coffer_spec::Pos::new(4, 3)));
/// assert_eq!(loaded.positions.lookup("accounts"), Some(coffer_spec::Pos::new(3, 1)));
/// assert_eq!(loaded.positions.lookup("vaults.a"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Positions(std::collections::BTreeMap<(String, String), Pos>);

impl Positions {
    /// The position of logical name `name` in `section` (`accounts`, `keys`, `vaults` or
    /// `backup_plans`), when the file has it.
    pub fn entry(&self, section: &str, name: &str) -> Option<Pos> {
        self.0
            .get(&(section.to_string(), name.to_string()))
            .copied()
    }

    /// The position of a top-level section's key (`organization`), when the file has it.
    pub fn section(&self, section: &str) -> Option<Pos> {
        self.entry(load::TOP_LEVEL, section)
    }

    /// `vaults.<name>`, `keys.<name>`, `backup_plans.<name>`, `accounts.<name>`, or a bare
    /// section name.
    pub fn lookup(&self, path: &str) -> Option<Pos> {
        match path.split_once('.') {
            Some((section, name)) => self.entry(section, name),
            None => self.section(path),
        }
    }
}

impl From<&load::KeyPositions> for Positions {
    fn from(positions: &load::KeyPositions) -> Positions {
        Positions(
            positions
                .iter()
                .map(|((section, name), pos)| ((section.to_string(), name.clone()), *pos))
                .collect(),
        )
    }
}

/// Loads a topology from text.
pub fn load_str(text: &str) -> Loaded {
    load_str_with(text, &Limits::default())
}

/// Loads a topology from text, refusing files beyond `limits`.
pub fn load_str_with(text: &str, limits: &Limits) -> Loaded {
    if text.len() > limits.max_bytes {
        return too_large(Some(text.len() as u64), limits);
    }
    let mut diagnostics = Diagnostics::default();
    let mut positions = Positions::default();
    let topology = load::load_shape(text, limits, &mut diagnostics).and_then(|(file, keys)| {
        positions = Positions::from(&keys);
        let shape_ok = !diagnostics.has_errors();
        let topology = resolve::resolve(&file, &keys, &mut diagnostics);
        topology.filter(|_| shape_ok)
    });
    diagnostics.sort();
    Loaded {
        source: text.to_string(),
        topology,
        diagnostics,
        positions,
    }
}

/// What `-f -` (standard input) is called in messages.
pub const STDIN_NAME: &str = "<stdin>";

/// The file could not be read at all, or is not text.
#[derive(Debug)]
pub struct ReadError {
    /// The path as given (or [`STDIN_NAME`]).
    pub path: String,
    pub problem: ReadProblem,
}

/// Why a topology file could not be read.
#[derive(Debug)]
pub enum ReadProblem {
    NotFound {
        /// The folder a relative path was looked up in.
        looked_in: Option<String>,
    },
    IsADirectory {
        /// `<dir>/topology.yaml`, when that file exists.
        topology_inside: Option<String>,
    },
    PermissionDenied,
    /// Not UTF-8 text; `utf16` when it starts with a UTF-16 byte order mark.
    NotUtf8 {
        line: usize,
        col: usize,
        byte: u8,
        utf16: bool,
    },
    /// A NUL byte: binary data, not text.
    Binary {
        line: usize,
        col: usize,
    },
    Io(std::io::Error),
}

impl ReadError {
    fn io(path: &str, err: std::io::Error, file: &Path) -> ReadError {
        let problem = match err.kind() {
            std::io::ErrorKind::NotFound => ReadProblem::NotFound {
                looked_in: file
                    .is_relative()
                    .then(|| std::env::current_dir().ok())
                    .flatten()
                    .map(|dir| dir.display().to_string()),
            },
            std::io::ErrorKind::IsADirectory => ReadProblem::IsADirectory {
                topology_inside: None,
            },
            std::io::ErrorKind::PermissionDenied => ReadProblem::PermissionDenied,
            _ => ReadProblem::Io(err),
        };
        ReadError {
            path: path.to_string(),
            problem,
        }
    }

    /// What went wrong, in a sentence that does not repeat the path (callers print it first,
    /// as in `FILE: error: MESSAGE`).
    pub fn message(&self) -> String {
        match &self.problem {
            ReadProblem::NotFound {
                looked_in: Some(dir),
            } => format!("file not found (looked in {dir})"),
            ReadProblem::NotFound { looked_in: None } => "file not found".to_string(),
            ReadProblem::IsADirectory { .. } => "is a directory, not a file".to_string(),
            ReadProblem::PermissionDenied => "cannot read the file: permission denied".to_string(),
            ReadProblem::NotUtf8 { utf16: true, .. } => {
                "not a YAML file Coffer reads: it is UTF-16 text".to_string()
            }
            ReadProblem::NotUtf8 {
                line, col, byte, ..
            } => format!(
                "not a YAML file: it is not UTF-8 text (the byte 0x{byte:02x} at line {line}, column {col})"
            ),
            ReadProblem::Binary { line, col } => format!(
                "not a YAML file: it holds binary data (a zero byte at line {line}, column {col})"
            ),
            ReadProblem::Io(err) => format!("cannot read the file: {err}"),
        }
    }

    /// What to do about it.
    pub fn help(&self) -> String {
        match &self.problem {
            ReadProblem::NotFound { .. } => {
                "check the path; pass the topology with `-f FILE`, or `-f -` to read it from standard input".to_string()
            }
            ReadProblem::IsADirectory {
                topology_inside: Some(file),
            } => format!("pass the topology file itself: `-f {file}`"),
            ReadProblem::IsADirectory {
                topology_inside: None,
            } => "pass the topology file itself with `-f FILE`".to_string(),
            ReadProblem::PermissionDenied => {
                "check the file's permissions, or pass it on standard input with `-f -`"
                    .to_string()
            }
            ReadProblem::NotUtf8 { utf16: true, .. } => {
                "save the file as UTF-8 (most editors offer it under \"encoding\")".to_string()
            }
            ReadProblem::NotUtf8 { .. } => {
                "a topology file is YAML text in UTF-8: check the path, or save the file as UTF-8"
                    .to_string()
            }
            ReadProblem::Binary { .. } => {
                "a topology file is YAML text: check that `-f` names the topology".to_string()
            }
            ReadProblem::Io(_) => "check the path and try again".to_string(),
        }
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message())
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            ReadProblem::Io(err) => Some(err),
            _ => None,
        }
    }
}

/// Loads a topology file.
pub fn load_file(path: &Path) -> Result<Loaded, ReadError> {
    load_file_with(path, &Limits::default())
}

/// Loads a topology file, refusing files beyond `limits` before reading them.
pub fn load_file_with(path: &Path, limits: &Limits) -> Result<Loaded, ReadError> {
    let shown = path.display().to_string();
    let metadata = std::fs::metadata(path).map_err(|err| ReadError::io(&shown, err, path))?;
    if metadata.is_dir() {
        let inside = path.join("topology.yaml");
        return Err(ReadError {
            path: shown,
            problem: ReadProblem::IsADirectory {
                topology_inside: inside.is_file().then(|| inside.display().to_string()),
            },
        });
    }
    if metadata.is_file() && metadata.len() > limits.max_bytes as u64 {
        return Ok(too_large(Some(metadata.len()), limits));
    }
    let file = std::fs::File::open(path).map_err(|err| ReadError::io(&shown, err, path))?;
    load_reader_with(file, &shown, limits).map_err(|mut err| {
        if let ReadProblem::Io(io) = err.problem {
            err = ReadError::io(&shown, io, path);
        }
        err
    })
}

/// Loads a topology from a reader (standard input for `-f -`) named `name` in messages,
/// reading no more than `limits` allow.
pub fn load_reader_with(
    reader: impl std::io::Read,
    name: &str,
    limits: &Limits,
) -> Result<Loaded, ReadError> {
    use std::io::Read;
    let mut bytes = Vec::new();
    reader
        .take(limits.max_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| ReadError {
            path: name.to_string(),
            problem: ReadProblem::Io(err),
        })?;
    if bytes.len() > limits.max_bytes {
        return Ok(too_large(None, limits));
    }
    let text = decode(bytes).map_err(|problem| ReadError {
        path: name.to_string(),
        problem,
    })?;
    Ok(load_str_with(&text, limits))
}

/// The bytes as text, or why they are not YAML text.
fn decode(bytes: Vec<u8>) -> Result<String, ReadProblem> {
    let at = |offset: usize, bytes: &[u8]| {
        let before = &bytes[..offset];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let col = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        (line, col)
    };
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(ReadProblem::NotUtf8 {
            line: 1,
            col: 1,
            byte: bytes[0],
            utf16: true,
        });
    }
    if let Some(zero) = bytes.iter().position(|b| *b == 0) {
        let (line, col) = at(zero, &bytes);
        return Err(ReadProblem::Binary { line, col });
    }
    let bytes = match bytes.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    String::from_utf8(bytes).map_err(|err| {
        let offset = err.utf8_error().valid_up_to();
        let bytes = err.into_bytes();
        let (line, col) = at(offset, &bytes);
        ReadProblem::NotUtf8 {
            line,
            col,
            byte: bytes[offset],
            utf16: false,
        }
    })
}

/// The one error of a file over [`Limits::max_bytes`]; `size` when it is known.
fn too_large(size: Option<u64>, limits: &Limits) -> Loaded {
    let max = limits.max_bytes as u64;
    let what = match size {
        Some(size) => format!("the file is {}", yaml::bytes_exact(size)),
        None => format!("the input is larger than {}", yaml::human_bytes(max)),
    };
    // A limit that reads this file, in whole MiB, and at least twice the current one.
    const MIB: u64 = 1024 * 1024;
    let raised = size
        .map_or(0, |size| size.div_ceil(MIB) * MIB)
        .max(max.saturating_mul(2));
    let diagnostic = Diagnostic::error(
        codes::SYNTAX,
        Pos::new(1, 1),
        format!(
            "{what}; Coffer reads topology files of at most {}",
            yaml::bytes_exact(max)
        ),
    )
    .help(format!(
        "split the topology into several files (for example one per group of source accounts, each planned and applied on its own), or raise the limit: {}={}",
        Limits::ENV_BYTES,
        raised
    ));
    Loaded {
        source: String::new(),
        topology: None,
        diagnostics: Diagnostics(vec![diagnostic]),
        positions: Positions::default(),
    }
}

/// The JSON Schema of the topology file, pretty-printed with a trailing newline.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(format::TopologyFile);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
