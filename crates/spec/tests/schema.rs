//! The committed JSON Schema is current, and every example validates against it with an
//! independent JSON Schema validator as well as with Coffer's own loader.

mod common;

use std::path::PathBuf;

use common::workspace_root;

fn examples() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![workspace_root().join("examples")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("examples/ is readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "topology.yaml") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn committed_schema_is_current() {
    let path = workspace_root().join("schemas/topology.schema.json");
    let committed = std::fs::read_to_string(&path).expect("schemas/topology.schema.json exists");
    assert!(
        committed == coffer_spec::json_schema(),
        "schemas/topology.schema.json is stale: run `just schema` (cargo run -p coffer -- schema > schemas/topology.schema.json)"
    );
}

#[test]
fn every_example_is_valid_for_coffer_and_for_the_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(&coffer_spec::json_schema()).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let examples = examples();
    assert!(
        examples.len() >= 2,
        "expected at least two examples, found {examples:?}"
    );
    for path in examples {
        let text = std::fs::read_to_string(&path).expect("example readable");
        let loaded = coffer_spec::load_str(&text);
        assert!(
            loaded.topology.is_some() && loaded.diagnostics.is_empty(),
            "{} does not validate cleanly:\n{}",
            path.display(),
            loaded.render(&path.display().to_string())
        );
        let node = coffer_spec::yaml::parse(&text).expect("example parses");
        let instance: serde_json::Value =
            coffer_spec::yaml::from_node(&node).expect("example converts to JSON");
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn the_schema_rejects_what_the_loader_rejects_for_shape() {
    let schema: serde_json::Value =
        serde_json::from_str(&coffer_spec::json_schema()).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let bad = serde_json::json!({
        "version": 1,
        "name": "x",
        "accounts": {"a": {"id": "111122223333", "rol": "typo"}},
    });
    assert!(
        !validator.is_valid(&bad),
        "unknown fields must be rejected by the schema"
    );
    let missing = serde_json::json!({"version": 1, "accounts": {}});
    assert!(
        !validator.is_valid(&missing),
        "`name` is required by the schema"
    );
}
