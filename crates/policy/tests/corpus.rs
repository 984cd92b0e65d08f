//! Runs every case of the shared policy corpus (`tests/policy-corpus/*.json`, also run by the
//! emulator's evaluator) through the engine.

use std::path::PathBuf;

use coffer_policy::{Decision, Request, access, evaluate};
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/policy-corpus")
}

fn request(value: &Value) -> Request {
    let field = |name: &str| {
        value[name]
            .as_str()
            .unwrap_or_else(|| panic!("request.{name} must be a string in {value}"))
            .to_string()
    };
    let mut request = Request::new(
        field("principal"),
        field("action"),
        field("resource"),
        field("resource_account"),
    );
    if let Some(Value::Object(context)) = value.get("context") {
        for (key, values) in context {
            let values: Vec<String> = match values {
                Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect(),
                Value::String(s) => vec![s.clone()],
                other => vec![other.to_string()],
            };
            request = request.with(key, values);
        }
    }
    request
}

#[test]
fn the_engine_agrees_with_every_corpus_case() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("the corpus folder exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut count = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable corpus file");
        let topic: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", file.display()));
        for case in topic["cases"].as_array().expect("cases is a list") {
            count += 1;
            let name = case["name"].as_str().unwrap_or("?");
            let request = request(&case["request"]);
            let expected: Decision = serde_json::from_value(case["decision"].clone())
                .unwrap_or_else(|e| panic!("{name}: bad decision: {e}"));
            let decision = evaluate(&case["policy"], &request);
            if decision != expected {
                failures.push(format!(
                    "{} / {name}: decision {decision:?}, expected {expected:?}",
                    file.display()
                ));
            }
            let expected_access = case["access"].as_str() == Some("allowed");
            if access(Some(&case["policy"]), &request) != expected_access {
                failures.push(format!(
                    "{} / {name}: access {}, expected {}",
                    file.display(),
                    !expected_access,
                    expected_access
                ));
            }
        }
    }
    assert!(
        count >= 60,
        "the corpus has {count} cases; it needs at least 60"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
