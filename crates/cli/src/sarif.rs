//! SARIF 2.1.0 output (`--format sarif` of `validate` and `check`), for code scanning: one
//! run whose tool is `coffer`, its rules (the diagnostic codes or the checks catalog), and one
//! result per diagnostic or finding, located in the topology file.
//!
//! Locations: a diagnostic's own position; a finding's file position when it has one,
//! otherwise the line of the logical name of the entry it is about (`vaults.central`),
//! otherwise line 1.

use coffer_planner::checks::{self, Anchor, Finding, Severity as CheckSeverity};
use coffer_spec::{Diagnostic, Pos, Positions, Severity as DiagnosticSeverity, codes};
use serde_json::{Value, json};

/// The schema URI written into every log.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The SARIF log of `validate`: the diagnostic codes as rules, one result per diagnostic.
pub fn diagnostics_log(file: &str, diagnostics: &[Diagnostic]) -> Value {
    let rules: Vec<Value> = codes::ALL
        .iter()
        .map(|(code, description)| {
            let level = if code.starts_with('W') {
                "warning"
            } else {
                "error"
            };
            let description = description.trim();
            rule(
                code,
                description,
                description,
                json!({"text": format!("{description}\nSee docs/topology.md for the file format.")}),
                level,
            )
        })
        .collect();
    let results = diagnostics
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            if !d.help.is_empty() {
                text.push_str(&format!("\nhelp: {}", d.help));
            }
            let rule_index = codes::ALL.iter().position(|(code, _)| *code == d.code);
            let level = diagnostic_level(d.severity);
            let mut result = result(d.code, rule_index, level, text, location(file, d.pos));
            if let Some(check) = d.check {
                result["properties"] = json!({"check": check});
            }
            result
        })
        .collect();
    log(rules, results)
}

/// The SARIF log of `check`: the checks catalog as rules, one result per finding.
pub fn findings_log(file: &str, positions: &Positions, findings: &[Finding]) -> Value {
    let rules: Vec<Value> = checks::CATALOG
        .iter()
        .map(|check| {
            let help = json!({
                "text": format!("{}\n\nFix: {}\n\nSource: {}", check.rationale, check.fix, check.source),
                "markdown": format!("{}\n\n**Fix:** {}\n\n**Source:** <{}>", check.rationale, check.fix, check.source),
            });
            let mut rule = rule(
                check.id,
                check.title,
                check.rationale,
                help,
                check_level(check.severity),
            );
            rule["helpUri"] = json!(check.source);
            rule["properties"] = json!({
                "severity": check.severity.to_string(),
                "live": check.live,
                "tags": ["coffer", "backup", if check.live { "live" } else { "static" }],
            });
            rule
        })
        .collect();
    let results = findings
        .iter()
        .map(|f| {
            let anchor = f.anchor();
            // A file position says where already; other subjects say what.
            let text = match anchor {
                Some(Anchor::Position { .. }) => f.message.clone(),
                _ => format!("{}: {}", f.subject_text(), f.message),
            };
            let rule_index = checks::CATALOG.iter().position(|c| c.id == f.check);
            let location = finding_location(file, positions, anchor);
            let mut result = result(
                &f.check,
                rule_index,
                check_level(f.severity),
                text,
                location,
            );
            let mut properties = json!({"severity": f.severity.to_string(), "subject": f.subject});
            for (key, value) in [
                ("arn", &f.arn),
                ("account", &f.account),
                ("region", &f.region),
            ] {
                if let Some(value) = value {
                    properties[key] = json!(value);
                }
            }
            result["properties"] = properties;
            result
        })
        .collect();
    log(rules, results)
}

/// One run of tool `coffer` with `rules` and `results`.
fn log(rules: Vec<Value>, results: Vec<Value>) -> Value {
    let mut driver = json!({
        "name": "coffer",
        "version": env!("CARGO_PKG_VERSION"),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "rules": rules,
    });
    let repository = env!("CARGO_PKG_REPOSITORY");
    if !repository.is_empty() {
        driver["informationUri"] = json!(repository);
    }
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

/// A rule: `id`, its descriptions, help and default level.
fn rule(id: &str, short: &str, full: &str, help: Value, level: &str) -> Value {
    json!({
        "id": id,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": help,
        "defaultConfiguration": {"level": level},
    })
}

/// A result of rule `rule_id` (at `rule_index` among the rules, when it is one of them).
fn result(
    rule_id: &str,
    rule_index: Option<usize>,
    level: &str,
    text: String,
    location: Value,
) -> Value {
    let mut result = json!({
        "ruleId": rule_id,
        "level": level,
        "message": {"text": text},
        "locations": [location],
    });
    if let Some(index) = rule_index {
        result["ruleIndex"] = json!(index);
    }
    result
}

/// A finding's location: its file position, or the line of the entry it is about (also
/// named as a logical location), or line 1.
fn finding_location(file: &str, positions: &Positions, anchor: Option<Anchor>) -> Value {
    let pos = match &anchor {
        Some(Anchor::Position { line, col }) => Pos::new(*line, *col),
        Some(entry) => entry
            .path()
            .and_then(|path| positions.lookup(&path))
            .unwrap_or(Pos::FILE),
        None => Pos::FILE,
    };
    let mut location = location(file, pos);
    if let Some(path) = anchor.as_ref().and_then(Anchor::path) {
        location["logicalLocations"] = json!([{"fullyQualifiedName": path, "kind": "resource"}]);
    }
    location
}

fn diagnostic_level(severity: DiagnosticSeverity) -> &'static str {
    match severity {
        DiagnosticSeverity::Error => "error",
        DiagnosticSeverity::Warning => "warning",
    }
}

/// Blockers and errors are SARIF errors; warnings warnings; info notes.
pub fn check_level(severity: CheckSeverity) -> &'static str {
    match severity {
        CheckSeverity::Blocker | CheckSeverity::Error => "error",
        CheckSeverity::Warning => "warning",
        CheckSeverity::Info => "note",
    }
}

/// A physical location in `file`; `0:0` (the whole file) is line 1.
fn location(file: &str, pos: Pos) -> Value {
    let mut region = json!({"startLine": pos.line.max(1)});
    if pos.line >= 1 && pos.col >= 1 {
        region["startColumn"] = json!(pos.col);
    }
    json!({
        "physicalLocation": {
            "artifactLocation": {"uri": uri(file)},
            "region": region,
        }
    })
}

/// The file as a URI reference: a relative path stays relative (to where Coffer ran, the
/// repository root in CI) with `/` separators; an absolute path becomes a `file://` URI.
/// Characters a URI cannot hold are percent-encoded.
pub fn uri(file: &str) -> String {
    let path = file.replace('\\', "/");
    let path = path.trim_start_matches("./");
    let encoded: String = path
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if path.starts_with('/') {
        format!("file://{encoded}")
    } else if path.len() > 2
        && path.as_bytes()[0].is_ascii_alphabetic()
        && &path.as_bytes()[1..3] == b":/"
    {
        // A Windows drive path (`C:/topology.yaml`).
        format!("file:///{encoded}")
    } else if encoded.split('/').next().is_some_and(|s| s.contains(':')) {
        // A first segment with a colon would read as a scheme.
        format!("./{encoded}")
    } else {
        encoded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_of_paths() {
        assert_eq!(uri("topology.yaml"), "topology.yaml");
        assert_eq!(uri("./infra/topology.yaml"), "infra/topology.yaml");
        assert_eq!(uri("infra\\topology.yaml"), "infra/topology.yaml");
        // An absolute path (under the machine's temp dir) becomes a file URI, spaces encoded.
        let absolute = std::env::temp_dir().join("a b").join("t.yaml");
        let absolute = uri(&absolute.to_string_lossy());
        assert!(absolute.starts_with("file://"), "{absolute}");
        assert!(absolute.ends_with("/a%20b/t.yaml"), "{absolute}");
        assert_eq!(uri("C:/x/t.yaml"), "file:///C:/x/t.yaml");
        assert_eq!(uri("a:b.yaml"), "./a:b.yaml");
        assert_eq!(uri("dir/a:b.yaml"), "dir/a:b.yaml");
        assert_eq!(uri("100%.yaml"), "100%25.yaml");
    }

    #[test]
    fn whole_file_positions_are_line_one_without_a_column() {
        let value = location("t.yaml", Pos::FILE);
        assert_eq!(value["physicalLocation"]["region"], json!({"startLine": 1}));
        let value = location("t.yaml", Pos::new(7, 3));
        assert_eq!(
            value["physicalLocation"]["region"],
            json!({"startLine": 7, "startColumn": 3})
        );
    }
}
