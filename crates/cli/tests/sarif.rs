//! `coffer validate --format sarif` and `coffer check --format sarif`: the log validates
//! against the SARIF 2.1.0 JSON Schema (the OASIS schema, vendored in `tests/data/`), and
//! its results point at the right lines of the topology file.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const SCHEMA_SHA256: &str = "af47e7b67f24efe74076621fd3a5fbe7398add9e84fe820c971219a385895cea";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn seed() -> String {
    std::fs::read_to_string(root().join("examples/seed/topology.yaml")).expect("seed topology")
}

/// `text` with `from` (which must occur exactly once) replaced by `to`.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once");
    text.replacen(from, to, 1)
}

/// The 1-based line and column where `needle` (which must occur once) starts in `text`.
fn position(text: &str, needle: &str) -> (u64, u64) {
    assert_eq!(
        text.matches(needle).count(),
        1,
        "`{needle}` must occur once"
    );
    let at = text.find(needle).expect("found");
    let before = &text[..at];
    let line = before.matches('\n').count() as u64 + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() as u64 + 1;
    (line, col)
}

fn coffer(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coffer"));
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("COFFER_LOG")
        .env_remove("RUST_LOG");
    cmd
}

/// Writes `text` as `dir/sub/topology.yaml`.
fn topology(dir: &Path, text: &str) {
    std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
    std::fs::write(dir.join("sub/topology.yaml"), text).expect("write topology");
}

/// Runs `coffer ARGS -f sub/topology.yaml --format sarif` in `dir`; checks the exit code
/// and that stdout is a SARIF 2.1.0 log the schema accepts.
fn sarif(dir: &Path, args: &[&str], code: i32) -> Value {
    let output = coffer(dir)
        .args(args)
        .args(["-f", "sub/topology.yaml", "--format", "sarif"])
        .output()
        .expect("coffer runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(code),
        "coffer {args:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    let log: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("stdout is not JSON ({err}):\n{stdout}"));
    assert_schema_valid(&log);
    log
}

fn assert_schema_valid(log: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json");
    let mut schema: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("schema file")).expect("JSON");
    // This revision of the schema has a stray `]` in the pattern of the `language`
    // properties (`run`, `toolComponent`; fixed in the OASIS errata), which the draft-07
    // meta-schema's `format: regex` rejects when the schema compiles. The file stays as
    // vendored; the pattern is corrected here, in memory.
    for definition in ["run", "toolComponent"] {
        let language = &mut schema["definitions"][definition]["properties"]["language"]["pattern"];
        assert_eq!(*language, "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$");
        *language = Value::from("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
    }
    // Formats are checked too (`uri-reference` of the artifact URI among them).
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the SARIF log does not match the schema:\n{}\n{log:#}",
        errors.join("\n")
    );
}

/// (ruleId, level, uri, startLine, startColumn) of every result.
fn results(log: &Value) -> Vec<(String, String, String, u64, Option<u64>)> {
    log["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let physical = &r["locations"][0]["physicalLocation"];
            (
                r["ruleId"].as_str().expect("ruleId").to_string(),
                r["level"].as_str().expect("level").to_string(),
                physical["artifactLocation"]["uri"]
                    .as_str()
                    .expect("uri")
                    .to_string(),
                physical["region"]["startLine"].as_u64().expect("startLine"),
                physical["region"]["startColumn"].as_u64(),
            )
        })
        .collect()
}

fn rule_ids(log: &Value) -> Vec<String> {
    log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["id"].as_str().expect("rule id").to_string())
        .collect()
}

fn owned(
    items: &[(&str, &str, &str, (u64, u64))],
) -> Vec<(String, String, String, u64, Option<u64>)> {
    items
        .iter()
        .map(|(rule, level, uri, (line, col))| {
            (
                rule.to_string(),
                level.to_string(),
                uri.to_string(),
                *line,
                Some(*col),
            )
        })
        .collect()
}

fn sorted<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort();
    items
}

#[test]
fn the_vendored_schema_is_the_official_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json");
    let bytes = std::fs::read(path).expect("schema file");
    let schema: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(
        schema["title"],
        "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    );
    assert_eq!(
        sha256_hex(&bytes),
        SCHEMA_SHA256,
        "sarif-schema-2.1.0.json changed; see tests/data/README.md"
    );
}

#[test]
fn validate_reports_two_diagnostics_at_their_lines() {
    let seed = seed();
    let broken = edit(
        &seed,
        "alias: alias/coffer/backup-vault",
        "alias: coffer/backup-vault",
    );
    let broken = edit(&broken, "cron(0 5 ? * * *)", "every day at five");
    let dir = tempfile::tempdir().expect("tempdir");
    topology(dir.path(), &broken);

    let log = sarif(dir.path(), &["validate"], 1);
    assert_eq!(log["version"], "2.1.0");
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "one run");
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "coffer");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let rules = rule_ids(&log);
    let codes: Vec<String> = coffer_spec::codes::ALL
        .iter()
        .map(|(code, _)| code.to_string())
        .collect();
    assert_eq!(rules, codes, "every diagnostic code is a rule");
    let e110 = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["id"] == "E110")
        .expect("E110");
    assert_eq!(
        e110["shortDescription"]["text"],
        "A KMS alias that does not have the form AWS requires."
    );
    assert_eq!(e110["defaultConfiguration"]["level"], "error");
    let w101 = &log["runs"][0]["tool"]["driver"]["rules"]
        [rules.iter().position(|r| r == "W101").expect("W101")];
    assert_eq!(w101["defaultConfiguration"]["level"], "warning");

    let alias = position(&broken, "coffer/backup-vault\n");
    let schedule = position(&broken, "every day at five");
    assert_eq!(
        sorted(results(&log)),
        sorted(owned(&[
            ("E110", "error", "sub/topology.yaml", alias),
            ("E131", "error", "sub/topology.yaml", schedule),
        ])),
        "{log:#}"
    );
    for result in log["runs"][0]["results"].as_array().expect("results") {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index], result["ruleId"].as_str().expect("ruleId"));
    }
}

#[test]
fn validate_of_a_valid_file_is_an_empty_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    topology(dir.path(), &seed());
    let log = sarif(dir.path(), &["validate"], 0);
    assert_eq!(results(&log), vec![]);
}

#[test]
fn check_locates_file_findings_and_entry_findings() {
    let seed = seed();
    // A copy kept longer than the central vault's lock allows: a diagnostic that is a
    // catalog check, at the file position of the value.
    let broken = edit(&seed, "delete_after_days: 90", "delete_after_days: 500");
    // Rotation off: a finding about `keys.source-rds`, without a position of its own.
    let broken = edit(
        &broken,
        "    rotation:\n      enabled: true\n      period_days: 365\n",
        "    rotation:\n      enabled: false\n",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    topology(dir.path(), &broken);

    let log = sarif(dir.path(), &["check"], 2);
    let rules = rule_ids(&log);
    assert!(rules.iter().any(|r| r == "CB001"), "{rules:?}");
    assert!(
        rules.iter().all(|r| r.starts_with("CB")),
        "the catalog's check IDs: {rules:?}"
    );
    let driver_rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    for rule in driver_rules {
        assert!(rule["shortDescription"]["text"].is_string(), "{rule}");
        assert!(
            rule["help"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("Fix: "))
        );
        let level = rule["defaultConfiguration"]["level"]
            .as_str()
            .expect("level");
        assert!(["error", "warning", "note"].contains(&level), "{rule}");
    }

    let found = results(&log);
    assert_eq!(found.len(), 2, "two findings: {log:#}");
    let lock_value = position(&broken, "delete_after_days: 500");
    let key_name = position(&broken, "source-rds:\n");
    let lock_finding = found
        .iter()
        .find(|r| (r.3, r.4) == (lock_value.0, Some(lock_value.1)))
        .unwrap_or_else(|| panic!("a finding at the copy's lifecycle {lock_value:?}: {log:#}"));
    let rotation = found
        .iter()
        .find(|r| (r.3, r.4) == (key_name.0, Some(key_name.1)))
        .unwrap_or_else(|| panic!("a finding at `keys.source-rds` {key_name:?}: {log:#}"));
    assert_ne!(lock_finding.0, rotation.0);
    for result in &found {
        assert_eq!(result.2, "sub/topology.yaml");
        let rule = &driver_rules[rules.iter().position(|r| *r == result.0).expect("rule")];
        assert_eq!(
            rule["defaultConfiguration"]["level"].as_str(),
            Some(result.1.as_str()),
            "a finding's level is its check's"
        );
    }
    let logical = log["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["ruleId"] == rotation.0.as_str())
        .expect("rotation result")["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
        .clone();
    assert_eq!(logical, "keys.source-rds");
    let messages: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["message"]["text"].as_str().expect("message"))
        .collect();
    assert!(
        messages.iter().any(|m| m.starts_with("key.source-rds")
            && m.contains("rotation of key `source-rds` is off")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("the copy to `central` keeps recovery points 500 days")),
        "a finding at a file position needs no subject: {messages:?}"
    );
}

#[test]
fn check_of_a_file_that_does_not_load_reports_its_errors() {
    let broken = edit(&seed(), "cron(0 5 ? * * *)", "every day at five");
    let dir = tempfile::tempdir().expect("tempdir");
    topology(dir.path(), &broken);
    let log = sarif(dir.path(), &["check"], 1);
    let (line, col) = position(&broken, "every day at five");
    assert_eq!(
        results(&log),
        vec![(
            "E131".to_string(),
            "error".to_string(),
            "sub/topology.yaml".to_string(),
            line,
            Some(col)
        )],
        "{log:#}"
    );
}

#[test]
fn commands_without_sarif_refuse_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    topology(dir.path(), &seed());
    for args in [
        &["plan", "-f", "sub/topology.yaml", "--format", "sarif"][..],
        &["drift", "-f", "sub/topology.yaml", "--format", "sarif"][..],
        &[
            "check",
            "--destroy-paths",
            "-f",
            "sub/topology.yaml",
            "--format",
            "sarif",
        ][..],
    ] {
        let output = coffer(dir.path()).args(args).output().expect("coffer runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("sarif") || stderr.contains("SARIF"),
            "{stderr}"
        );
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
