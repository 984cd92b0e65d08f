//! What `coffer` says when the topology cannot be read, or should not be: a missing file, a
//! directory, something that is not YAML text, a file over the limits; and `-f -`, which
//! reads the topology from standard input and calls it `<stdin>`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn coffer(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coffer"));
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("COFFER_MAX_FILE_BYTES")
        .env_remove("COFFER_MAX_YAML_VALUES")
        .env_remove("COFFER_MAX_YAML_DEPTH")
        .timeout(Duration::from_secs(120));
    cmd
}

/// Runs `coffer ARGS` in `dir`; returns (exit code, stdout, stderr).
fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let output = cmd.output().expect("coffer runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// No Rust or parser names, no panic, no OS error numbers.
fn plain(stderr: &str) {
    for word in [
        "os error",
        "panicked",
        "struct ",
        "budget",
        "Nodes {",
        "Is a directory",
        "No such file",
        "stream did not contain",
    ] {
        assert!(!stderr.contains(word), "{word:?} in:\n{stderr}");
    }
}

#[test]
fn a_missing_file_is_not_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    for command in ["validate", "plan"] {
        let (code, stdout, stderr) = run(coffer(dir.path()).args([command, "-f", "missing.yaml"]));
        assert_eq!(code, Some(1), "{stderr}");
        assert!(
            stderr.starts_with("missing.yaml: error: file not found (looked in "),
            "{stderr}"
        );
        assert!(stderr.contains("help: check the path"), "{stderr}");
        assert!(stderr.contains("`-f -`"), "{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        plain(&stderr);
    }
}

#[test]
fn a_directory_is_not_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("somedir")).expect("mkdir");
    let (code, _, stderr) = run(coffer(dir.path()).args(["validate", "-f", "somedir"]));
    assert_eq!(code, Some(1));
    assert!(
        stderr.starts_with("somedir: error: is a directory, not a file\n"),
        "{stderr}"
    );
    plain(&stderr);

    // With a topology inside, the help names it.
    std::fs::copy(
        root().join("examples/seed/topology.yaml"),
        dir.path().join("somedir/topology.yaml"),
    )
    .expect("copy");
    let (_, _, stderr) = run(coffer(dir.path()).args(["validate", "-f", "somedir"]));
    assert!(
        stderr.contains("help: pass the topology file itself: `-f somedir/topology.yaml`"),
        "{stderr}"
    );
}

#[test]
fn a_file_that_is_not_yaml_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("coffer.png"),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    )
    .expect("write");
    let (code, _, stderr) = run(coffer(dir.path()).args(["validate", "-f", "coffer.png"]));
    assert_eq!(code, Some(1));
    assert!(
        stderr.starts_with("coffer.png: error: not a YAML file: it holds binary data"),
        "{stderr}"
    );
    plain(&stderr);
}

#[test]
fn a_file_over_the_size_limit_names_the_limit_and_the_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let topology = root().join("examples/seed/topology.yaml");
    let (code, _, stderr) = run(coffer(dir.path())
        .env("COFFER_MAX_FILE_BYTES", "1024")
        .arg("validate")
        .arg("-f")
        .arg(&topology));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("error[E001]: the file is ")
            && stderr.contains("Coffer reads topology files of at most 1 KiB (1024 bytes)"),
        "{stderr}"
    );
    assert!(stderr.contains("split the topology"), "{stderr}");
    assert!(stderr.contains("COFFER_MAX_FILE_BYTES="), "{stderr}");
    assert!(!stderr.contains("syntax"), "{stderr}");
    plain(&stderr);

    // A value that is not a number is refused by name.
    let (code, _, stderr) = run(coffer(dir.path())
        .env("COFFER_MAX_YAML_VALUES", "lots")
        .arg("validate")
        .arg("-f")
        .arg(&topology));
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("COFFER_MAX_YAML_VALUES must be a positive whole number, found `lots`"),
        "{stderr}"
    );
}

#[test]
fn a_file_with_too_many_values_names_the_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, stderr) = run(coffer(&root()).env("COFFER_MAX_YAML_VALUES", "40").args([
        "validate",
        "-f",
        "examples/seed/topology.yaml",
    ]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("more than 40 YAML values"), "{stderr}");
    assert!(
        stderr.contains("raise the limit: COFFER_MAX_YAML_VALUES=80"),
        "{stderr}"
    );
    assert!(!stderr.contains("fix the YAML syntax"), "{stderr}");
    plain(&stderr);
    drop(dir);
}

#[test]
fn dash_reads_the_topology_from_standard_input() {
    let seed = std::fs::read(root().join("examples/seed/topology.yaml")).expect("seed");
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) = run(coffer(dir.path())
        .args(["validate", "-f", "-"])
        .write_stdin(seed.clone()));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.starts_with("<stdin>: valid topology `seed`"),
        "{stdout}"
    );

    let broken = String::from_utf8(seed)
        .expect("UTF-8")
        .replace("name: seed", "name: [seed]");
    let (code, _, stderr) = run(coffer(dir.path())
        .args(["validate", "-f", "-"])
        .write_stdin(broken.clone()));
    assert_eq!(code, Some(1));
    assert!(
        stderr.lines().any(|line| line.starts_with("<stdin>:")
            && line.ends_with(":7: error[E003]: in `name`: expected text, found a list")),
        "{stderr}"
    );
    assert!(stderr.contains("<stdin>: 1 error"), "{stderr}");

    // Commands that go on to AWS read it the same way, and stop at the errors.
    let (code, _, stderr) = run(coffer(dir.path())
        .args(["plan", "-f", "-", "--endpoint-url", "http://127.0.0.1:9"])
        .write_stdin(broken));
    assert_eq!(code, Some(1));
    assert!(stderr.contains(":7: error[E003]: in `name`"), "{stderr}");
    assert!(stderr.starts_with("<stdin>:"), "{stderr}");
    assert!(stderr.contains("`coffer validate -f -`"), "{stderr}");
}
