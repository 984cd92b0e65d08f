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
mod expand;
pub mod format;
mod load;
mod read;
pub mod reference;
mod resolve;
pub mod sets;
pub mod topology;
pub mod yaml;

pub use diag::{Diagnostic, Diagnostics, Severity};
pub use load::{Loaded, Positions, load_str, load_str_members, load_str_with};
pub use read::{ReadError, ReadProblem, STDIN_NAME, load_file, load_file_with, load_reader_with};
pub use resolve::GENERATED_SID_PREFIX;
pub use topology::*;
pub use yaml::{Limits, Pos};

/// The JSON Schema of the topology file, pretty-printed with a trailing newline.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(format::TopologyFile);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
