//! Coffer's topology file: the format (serde types), loading with line and column,
//! validation against AWS's rules, the resolved [`Topology`] the planner consumes, and the
//! JSON Schema editors use.
//!
//! ```
//! let loaded = coffer_spec::load_str("version: 1\nname: demo\naccounts:\n  a: {id: \"111122223333\"}\n");
//! assert!(loaded.topology.is_some(), "{}", loaded.render("topology.yaml"));
//! ```

pub mod aws;
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
pub use yaml::Pos;

/// The result of loading a topology file: the topology when there are no errors, and every
/// diagnostic (errors and warnings) sorted by position.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub source: String,
    pub topology: Option<Topology>,
    pub diagnostics: Diagnostics,
}

impl Loaded {
    /// Every diagnostic, rendered as `FILE:LINE:COL: error[CODE]: message` blocks.
    pub fn render(&self, file: &str) -> String {
        self.diagnostics.render(file, &self.source)
    }
}

/// Loads a topology from text.
pub fn load_str(text: &str) -> Loaded {
    let mut diagnostics = Diagnostics::default();
    let topology = load::load_shape(text, &mut diagnostics).and_then(|(file, positions)| {
        let shape_ok = !diagnostics.has_errors();
        let topology = resolve::resolve(&file, &positions, &mut diagnostics);
        topology.filter(|_| shape_ok)
    });
    diagnostics.sort();
    Loaded {
        source: text.to_string(),
        topology,
        diagnostics,
    }
}

/// The file could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot read topology file {path}")]
pub struct ReadError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

/// Loads a topology file.
pub fn load_file(path: &Path) -> Result<Loaded, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReadError {
        path: path.display().to_string(),
        source,
    })?;
    Ok(load_str(&text))
}

/// The JSON Schema of the topology file, pretty-printed with a trailing newline.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(format::TopologyFile);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// A stable digest of the resolved topology (what the plan was computed from).
pub fn digest(topology: &Topology) -> String {
    let canonical = serde_json::to_string(topology).unwrap_or_default();
    // FNV-1a, 64 bits, twice with different offsets: stable across platforms and releases.
    let fnv = |offset: u64| {
        canonical.bytes().fold(offset, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    format!(
        "{:016x}{:016x}",
        fnv(0xcbf2_9ce4_8422_2325),
        fnv(0x8422_2325_cbf2_9ce4)
    )
}
