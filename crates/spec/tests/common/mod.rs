//! What the spec's tests share: the workspace's files, and one diagnostic picked out of a load
//! with what it says.

// Each test crate uses a part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use coffer_spec::{Diagnostic, Loaded};

/// The root of the workspace (where `examples/`, `schemas/` and `docs/` are).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The only diagnostic of `loaded` with `code`; fails, showing them all, unless there is
/// exactly one.
#[track_caller]
pub fn only(loaded: &Loaded, code: &str) -> Diagnostic {
    let found: Vec<&Diagnostic> = loaded
        .diagnostics
        .0
        .iter()
        .filter(|d| d.code == code)
        .collect();
    assert_eq!(found.len(), 1, "{}", loaded.render("topology.yaml"));
    found[0].clone()
}

/// The only error of `loaded`; fails, showing every diagnostic, unless there is exactly one.
#[track_caller]
pub fn only_error(loaded: &Loaded) -> Diagnostic {
    let errors: Vec<&Diagnostic> = loaded.diagnostics.errors().collect();
    assert_eq!(errors.len(), 1, "{}", loaded.render("topology.yaml"));
    errors[0].clone()
}

/// Asserts that the message of `diagnostic` has each of `message` and its help each of
/// `help`.
#[track_caller]
pub fn says(diagnostic: &Diagnostic, message: &[&str], help: &[&str]) {
    for part in message {
        assert!(
            diagnostic.message.contains(part),
            "message without {part:?}: {diagnostic:?}"
        );
    }
    for part in help {
        assert!(
            diagnostic.help.contains(part),
            "help without {part:?}: {diagnostic:?}"
        );
    }
}
