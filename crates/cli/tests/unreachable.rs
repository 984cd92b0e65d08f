//! A wrong `--endpoint-url` (nothing listening there) fails at once with "cannot reach the AWS
//! endpoint URL (connection refused)", said once, instead of blaming each account's role
//! after a minute of retries. Port 9 (discard) on the loopback address has no listener here.
//! The timeout only guards against a hang; how fast it fails is not asserted.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;

const NOWHERE: &str = "http://127.0.0.1:9";

/// `coffer ARGS` with test credentials, no profile, and the endpoint `endpoint` in
/// `AWS_ENDPOINT_URL` (or none).
fn coffer_with(args: &[&str], endpoint: Option<&str>) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coffer"));
    command
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("COFFER_ROLE");
    if let Some(endpoint) = endpoint {
        command.env("AWS_ENDPOINT_URL", endpoint);
    }
    let output = command
        .args(args)
        .timeout(Duration::from_secs(300))
        .output()
        .expect("coffer runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn coffer(args: &[&str]) -> (Option<i32>, String) {
    coffer_with(args, None)
}

const REFUSED: &str = "cannot reach the AWS endpoint http://127.0.0.1:9 (connection refused)";

#[test]
fn plan_with_nothing_at_the_endpoint_says_so_once() {
    let (code, stderr) = coffer(&[
        "plan",
        "-f",
        "examples/seed/topology.yaml",
        "--endpoint-url",
        NOWHERE,
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: {REFUSED}\n")),
        "{stderr}"
    );
    assert_eq!(stderr.matches(REFUSED).count(), 1, "{stderr}");
    assert!(!stderr.contains("trust policy"), "{stderr}");
    assert!(!stderr.contains("AssumeRoleFailed"), "{stderr}");
    assert!(stderr.contains("help: check `--endpoint-url`"), "{stderr}");
}

#[test]
fn the_environment_variable_endpoint_is_named_too() {
    let (code, stderr) = coffer_with(
        &["drift", "-f", "examples/seed/topology.yaml"],
        Some(NOWHERE),
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(REFUSED), "{stderr}");
}

#[test]
fn apply_and_drill_name_the_endpoint_instead_of_the_role() {
    for args in [
        &["apply", "--auto-approve"][..],
        &["drill", "--poll-seconds", "0.1"][..],
    ] {
        let mut all = args.to_vec();
        all.extend([
            "-f",
            "examples/seed/topology.yaml",
            "--endpoint-url",
            NOWHERE,
        ]);
        let (code, stderr) = coffer(&all);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(REFUSED), "{args:?}: {stderr}");
        assert!(!stderr.contains("trust policy"), "{args:?}: {stderr}");
        assert!(
            stderr.contains("help: check `--endpoint-url`"),
            "{args:?}: {stderr}"
        );
    }
}
