//! Command-line behaviour that needs no AWS: exit codes, generated artefacts.

use std::path::Path;

use assert_cmd::Command;

fn coffer() -> Command {
    let mut command = Command::cargo_bin("coffer").expect("binary built");
    command.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    command.env("NO_COLOR", "1");
    command
}

#[test]
fn usage_errors_exit_1_not_2() {
    let output = coffer()
        .args(["plan", "--no-such-flag"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--no-such-flag"));
    let help = coffer().arg("--help").output().expect("runs");
    assert_eq!(help.status.code(), Some(0));
}

#[test]
fn unknown_ignore_check_ids_are_refused_before_any_aws_call() {
    let output = coffer()
        .args([
            "apply",
            "-f",
            "examples/seed/topology.yaml",
            "--ignore-check",
            "CB999",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`CB999`"), "{stderr}");
}

#[test]
fn completions_man_page_and_iam_policy() {
    let bash = coffer()
        .args(["completions", "bash"])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&bash.stdout).contains("coffer"));
    let man = coffer().arg("man").output().expect("runs");
    assert!(String::from_utf8_lossy(&man.stdout).contains(".TH coffer 1"));
    let policy = coffer()
        .args(["iam-policy", "--mode", "apply"])
        .output()
        .expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&policy.stdout).expect("JSON");
    let actions = json["Statement"][0]["Action"].as_array().expect("actions");
    assert!(actions.iter().any(|a| a == "kms:CreateKey"));
}

#[test]
fn check_list_is_the_committed_catalog() {
    let output = coffer().args(["check", "--list"]).output().expect("runs");
    let committed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/checks.md"))
            .expect("docs/checks.md");
    assert_eq!(String::from_utf8_lossy(&output.stdout), committed);
}

#[test]
fn static_check_of_a_broken_variant_exits_2_with_the_blocker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed/topology.yaml"),
    )
    .expect("seed");
    let broken = seed.replace("      organization: true\n", "");
    assert_ne!(broken, seed);
    let file = dir.path().join("topology.yaml");
    std::fs::write(&file, broken).expect("write");
    let output = coffer()
        .args(["check", "-f"])
        .arg(&file)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(
        json["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["check"] == "CB005" && f["severity"] == "blocker")
    );
    let graph = coffer()
        .args(["graph", "-f"])
        .arg(&file)
        .output()
        .expect("runs");
    assert!(
        String::from_utf8_lossy(&graph.stdout).contains("linkStyle"),
        "the broken copy edge is red"
    );
}

#[test]
fn plan_against_a_saved_live_state_needs_no_aws() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("live.json");
    std::fs::write(&empty, "{}").expect("write");
    let output = coffer()
        .args([
            "plan",
            "-f",
            "examples/seed/topology.yaml",
            "--detailed-exitcode",
            "--format",
            "json",
            "--live-in",
        ])
        .arg(&empty)
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(plan["summary"]["create"], 11);

    std::fs::write(&empty, "not json").expect("write");
    let broken = coffer()
        .args(["plan", "-f", "examples/seed/topology.yaml", "--live-in"])
        .arg(&empty)
        .output()
        .expect("runs");
    assert_eq!(broken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&broken.stderr).contains("cannot read the live state"));
}

#[test]
fn the_saved_plan_hint_names_the_topology_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = dir.path().join("live.json");
    std::fs::write(&live, "{}").expect("write");
    let saved = dir.path().join("plan.json");
    let output = coffer()
        .args(["plan", "-f", "examples/seed/topology.yaml", "--live-in"])
        .arg(&live)
        .arg("--out")
        .arg(&saved)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let hint = format!(
        "apply it with `coffer apply -f examples/seed/topology.yaml {}`.",
        saved.display()
    );
    assert!(stderr.contains(&hint), "{stderr}");
}

#[test]
fn destroy_paths_of_the_seed_are_break_glass_only_and_fail_without_the_guard() {
    let seed = coffer()
        .args([
            "check",
            "-f",
            "examples/seed/topology.yaml",
            "--destroy-paths",
        ])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&seed.stdout);
    assert_eq!(seed.status.code(), Some(0), "{text}");
    for row in [
        "delete a recovery point: break-glass only (arn:aws:iam::666777888999:role/BreakGlass)",
        "shorten a recovery point's retention: break-glass only",
        "replace or delete the vault policy: break-glass arn:aws:iam::666777888999:role/BreakGlass; Coffer's role arn:aws:iam::666777888999:role/CofferDeployRole",
        "schedule the key's deletion",
    ] {
        assert!(text.contains(row), "missing {row:?} in:\n{text}");
    }
    assert!(!text.contains("any administrator"), "{text}");

    let dir = tempfile::tempdir().expect("temp dir");
    let seed_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed/topology.yaml"),
    )
    .expect("seed");
    let unguarded = dir.path().join("unguarded.yaml");
    std::fs::write(
        &unguarded,
        seed_text.replace(
            "deny_recovery_point_deletion: true",
            "deny_recovery_point_deletion: false",
        ),
    )
    .expect("write");
    let output = coffer()
        .args(["check", "-f"])
        .arg(&unguarded)
        .args(["--destroy-paths", "--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let delete = &json["vaults"][0]["paths"][0];
    assert_eq!(delete["calls"][0], "backup:DeleteRecoveryPoint");
    assert_eq!(delete["violation"], true);
    assert!(
        delete["who"]
            .as_array()
            .expect("who")
            .iter()
            .any(|w| w == "any administrator of account backup (666777888999)")
    );

    // Accepting the paths for the vault keeps the report but not the failure.
    let accepted = dir.path().join("accepted.yaml");
    std::fs::write(
        &accepted,
        seed_text
            .replace(
                "deny_recovery_point_deletion: true",
                "deny_recovery_point_deletion: false",
            )
            .replace(
                "    name: central\n",
                "    name: central\n    accept_destroy_paths: true\n",
            ),
    )
    .expect("write");
    let output = coffer()
        .args(["check", "-f"])
        .arg(&accepted)
        .arg("--destroy-paths")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("!!"));
}
