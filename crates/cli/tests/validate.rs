//! `coffer validate` and `coffer schema` as a user runs them: exit codes, the
//! `FILE:LINE:COL: error[CODE]: ` lines editors jump to, colours, and the schema file.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The workspace root, where `examples/` and `schemas/` live.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `coffer` with a colour-neutral environment (tests may run in a terminal or in CI).
fn coffer(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coffer"));
    cmd.current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE");
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every `topology.yaml` under `dir`, relative to the workspace root.
fn topologies(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            topologies(&path, out);
        } else if path.file_name().is_some_and(|name| name == "topology.yaml") {
            out.push(path);
        }
    }
}

#[test]
fn seed_example_validates() {
    let assert = coffer(&root())
        .args(["validate", "-f", "examples/seed/topology.yaml"])
        .assert()
        .code(0);
    let output = assert.get_output();
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("examples/seed/topology.yaml: valid topology `seed`"),
        "{stdout}"
    );
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("error["), "{stderr}");
}

#[test]
fn every_example_validates() {
    let root = root();
    let mut files = Vec::new();
    topologies(&root.join("examples"), &mut files);
    assert!(files.len() >= 2, "examples found: {files:?}");
    for file in files {
        let relative = file.strip_prefix(&root).expect("under the root");
        let output = coffer(&root)
            .arg("validate")
            .arg("-f")
            .arg(relative)
            .output()
            .expect("coffer runs");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}:\n{}{}",
            relative.display(),
            text(&output.stdout),
            text(&output.stderr)
        );
    }
}

/// Three errors in three different entries.
const BROKEN: &str = r#"version: 1
name: demo
defaults:
  region: eu-west-1
accounts:
  source: {id: "1111"}
  backup: {id: "222222222222"}
keys:
  backup-vault:
    account: backup
    alias: alias/aws/backup
vaults:
  central:
    account: backup
    name: central
    key: backup-vaul
"#;

fn broken_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("topology.yaml"), BROKEN).expect("write");
    dir
}

#[test]
fn broken_file_reports_every_error_with_position_and_help() {
    let dir = broken_dir();
    let assert = coffer(dir.path())
        .env("NO_COLOR", "1")
        .args(["validate", "-f", "topology.yaml"])
        .assert()
        .code(1);
    let output = assert.get_output();
    let stderr = text(&output.stderr);
    for line in [
        "topology.yaml:6:16: error[E104]: ",
        "topology.yaml:11:12: error[E111]: ",
        "topology.yaml:16:10: error[E101]: ",
    ] {
        assert!(
            stderr.lines().any(|l| l.starts_with(line)),
            "no line starting with {line:?} in:\n{stderr}"
        );
    }
    assert_eq!(
        stderr.lines().filter(|l| l.contains(": error[")).count(),
        3,
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("  help: ")).count(),
        3,
        "{stderr}"
    );
    assert!(
        stderr.contains("  help: did you mean `backup-vault`?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("topology.yaml: 3 errors, 0 warnings"),
        "{stderr}"
    );
    assert!(text(&output.stdout).is_empty(), "{}", text(&output.stdout));
}

#[test]
fn no_color_turns_colours_off() {
    let dir = broken_dir();
    // Forced colours show that the output is coloured at all...
    let forced = coffer(dir.path())
        .env("CLICOLOR_FORCE", "1")
        .args(["validate", "-f", "topology.yaml"])
        .output()
        .expect("coffer runs");
    assert!(
        text(&forced.stderr).contains('\u{1b}'),
        "{}",
        text(&forced.stderr)
    );
    // ...and NO_COLOR wins even then.
    let plain = coffer(dir.path())
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .args(["validate", "-f", "topology.yaml"])
        .assert()
        .code(1);
    let output = plain.get_output();
    let stderr = text(&output.stderr);
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(!text(&output.stdout).contains('\u{1b}'));
    assert!(
        stderr.contains("topology.yaml:6:16: error[E104]: "),
        "{stderr}"
    );
}

#[test]
fn missing_file_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let assert = coffer(dir.path())
        .env("NO_COLOR", "1")
        .args(["validate", "-f", "does-not-exist.yaml"])
        .assert()
        .code(1);
    let output = assert.get_output();
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("does-not-exist.yaml: error: "),
        "{stderr}"
    );
    assert!(stderr.contains("help: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(text(&output.stdout).is_empty());
}

#[test]
fn schema_prints_the_committed_schema() {
    let expected = std::fs::read_to_string(root().join("schemas/topology.schema.json"))
        .expect("schemas/topology.schema.json");
    let assert = coffer(&root()).arg("schema").assert().code(0);
    let stdout = text(&assert.get_output().stdout);
    assert!(
        stdout == expected,
        "`coffer schema` differs from schemas/topology.schema.json"
    );
    let parsed: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert!(parsed.is_object());
}
