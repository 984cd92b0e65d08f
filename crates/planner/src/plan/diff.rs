//! The one field diff: what differs between a change's `before` and `after`.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::model::FieldChange;

/// Field-level differences between two states: objects are compared key by key, anything
/// else (lists, scalars, policies) as a whole.
pub fn diff_fields(before: Option<&Value>, after: Option<&Value>) -> Vec<FieldChange> {
    let mut out = Vec::new();
    diff_into("", before, after, &mut out);
    out
}

fn diff_into(
    path: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    out: &mut Vec<FieldChange>,
) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else if key.contains('.') || key.contains(':') {
            format!("{path}[\"{key}\"]")
        } else {
            format!("{path}.{key}")
        }
    };
    // An unset field and a `null` one are the same (and the same once written as JSON).
    let before = before.filter(|v| !v.is_null());
    let after = after.filter(|v| !v.is_null());
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) if !path.ends_with("policy") => {
            let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            for key in keys {
                diff_into(&join(key), b.get(key), a.get(key), out);
            }
        }
        (b, a) if b == a => {}
        (b, a) => out.push(FieldChange {
            path: path.to_string(),
            before: b.cloned(),
            after: a.cloned(),
        }),
    }
}
