//! `docs/topology.md` is the reference generated from the JSON Schema: the committed file is
//! current, it names every property of the schema, and its example is a valid topology.

mod common;

use std::collections::BTreeSet;

use serde_json::Value;

fn committed() -> String {
    let path = common::workspace_root().join("docs/topology.md");
    std::fs::read_to_string(&path).expect("docs/topology.md exists")
}

#[test]
fn committed_reference_is_current() {
    assert!(
        committed() == coffer_spec::reference::topology_reference_markdown(),
        "docs/topology.md is stale: run `just docs` (cargo run -q -p coffer -- schema --markdown > docs/topology.md)"
    );
}

/// Every property path of the schema, walked independently of the generator: `$ref`s and
/// `anyOf`s are followed, maps add `.<name>`, lists add `[]`. Records the `$defs` reached.
fn walk(
    schema: &Value,
    defs: &serde_json::Map<String, Value>,
    prefix: &str,
    paths: &mut Vec<String>,
    reached: &mut BTreeSet<String>,
) {
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let name = target.trim_start_matches("#/$defs/");
        reached.insert(name.to_string());
        let def = defs.get(name).expect("every $ref names a definition");
        walk(def, defs, prefix, paths, reached);
    }
    for option in schema
        .get("anyOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        walk(option, defs, prefix, paths, reached);
    }
    if let Some(entry) = schema.get("additionalProperties").filter(|a| a.is_object()) {
        walk(entry, defs, &format!("{prefix}.<name>"), paths, reached);
    }
    if let Some(items) = schema.get("items") {
        walk(items, defs, &format!("{prefix}[]"), paths, reached);
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            paths.push(path.clone());
            walk(property, defs, &path, paths, reached);
        }
    }
}

#[test]
fn every_property_of_the_schema_is_documented() {
    let schema: Value =
        serde_json::from_str(&coffer_spec::json_schema()).expect("the schema is JSON");
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .expect("the schema has $defs")
        .clone();
    let mut paths = Vec::new();
    let mut reached = BTreeSet::new();
    walk(&schema, &defs, "", &mut paths, &mut reached);
    assert!(
        paths.len() > 50,
        "the walk found only {} properties: {paths:?}",
        paths.len()
    );
    for nested in [
        "vaults.<name>.access_policy.allow_copy_from",
        "backup_plans.<name>.rules[].copy_to[].lifecycle.delete_after_days",
        "organization.cross_account_backup",
    ] {
        assert!(
            paths.iter().any(|p| p == nested),
            "the walk missed {nested}"
        );
    }

    let document = coffer_spec::reference::topology_reference_markdown();
    let missing: Vec<&String> = paths
        .iter()
        .filter(|path| !document.contains(&format!("\n- `{path}` (")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/topology.md has no entry for these properties of the schema: {missing:?}"
    );

    let unreached: Vec<&String> = defs.keys().filter(|d| !reached.contains(*d)).collect();
    assert!(
        unreached.is_empty(),
        "definitions no property leads to: {unreached:?}"
    );
    for (name, def) in &defs {
        // An object's description opens its section; an enum's values are listed instead.
        if let Some(description) = def
            .get("description")
            .and_then(Value::as_str)
            .filter(|_| def.get("properties").is_some())
        {
            let one_line = description.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                document.contains(&one_line),
                "the description of {name} is missing: {one_line}"
            );
        }
        for variant in def
            .get("oneOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let value = variant
                .get("const")
                .and_then(Value::as_str)
                .expect("enum variants are constants");
            assert!(
                document.contains(&format!("  - `{value}`")),
                "the value `{value}` of {name} is missing"
            );
        }
    }
}

#[test]
fn the_example_is_a_clean_topology() {
    let example = coffer_spec::reference::MINIMAL_EXAMPLE;
    let loaded = coffer_spec::load_str(example);
    assert!(
        loaded.topology.is_some() && loaded.diagnostics.is_empty(),
        "the example in docs/topology.md does not validate cleanly:\n{}",
        loaded.render("example.yaml")
    );
    assert!(
        coffer_spec::reference::topology_reference_markdown()
            .contains(&format!("```yaml\n{example}```")),
        "the example is in the document"
    );
}
