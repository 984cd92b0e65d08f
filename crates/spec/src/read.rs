//! Reading a topology file or standard input: what makes a file unreadable, said in a
//! sentence and with what to do about it.

use std::path::Path;

use crate::load::{Loaded, load_str_with, too_large};
use crate::yaml::Limits;

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
