//! The canonical form of a policy document.
//!
//! Two policies are equal when they mean the same: statement order, a single value versus a
//! one-element list, an account ID versus its root ARN, an empty `Sid`, the case of condition
//! keys, a JSON boolean versus its string, and `"*"` versus `{"AWS": "*"}` make no difference.
//! [`canonical`] maps every such spelling to one form, so equality is `==` and a difference is
//! a readable diff of pretty-printed JSON.

use serde_json::{Map, Value, json};

fn root_arn(account_id: &str) -> String {
    format!("arn:aws:iam::{account_id}:root")
}

/// The canonical form of a policy document (see the module docs). Never fails: parts it
/// does not understand are kept as they are.
pub fn canonical(policy: &Value) -> Value {
    let Value::Object(doc) = policy else {
        return policy.clone();
    };
    let mut out = Map::new();
    // IAM reads a policy without `Version` as 2008-10-17 (policy variables taken literally).
    out.insert(
        "Version".into(),
        doc.get("Version").cloned().unwrap_or(json!("2008-10-17")),
    );
    let statements = match doc.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(single) => vec![single.clone()],
        None => Vec::new(),
    };
    let mut canonical_statements: Vec<Value> = statements.iter().map(canonical_statement).collect();
    canonical_statements.sort_by_key(|s| s.to_string());
    canonical_statements.dedup();
    out.insert("Statement".into(), Value::Array(canonical_statements));
    Value::Object(out)
}

fn canonical_statement(statement: &Value) -> Value {
    let Value::Object(fields) = statement else {
        return statement.clone();
    };
    let mut out = Map::new();
    for (key, value) in fields {
        let value = match key.as_str() {
            "Sid" if value.as_str() == Some("") => continue,
            "Principal" | "NotPrincipal" => canonical_principal(value),
            "Action" | "NotAction" | "Resource" | "NotResource" => string_set(value),
            "Condition" => canonical_condition(value),
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}

fn scalar_string(value: &Value) -> Value {
    match value {
        Value::Bool(b) => json!(b.to_string()),
        Value::Number(n) => json!(n.to_string()),
        other => other.clone(),
    }
}

/// A value or list of values → a sorted, de-duplicated list of strings.
fn string_set(value: &Value) -> Value {
    let mut items: Vec<Value> = match value {
        Value::Array(items) => items.iter().map(scalar_string).collect(),
        other => vec![scalar_string(other)],
    };
    items.sort_by_key(|v| v.to_string());
    items.dedup();
    Value::Array(items)
}

fn canonical_principal(value: &Value) -> Value {
    match value {
        Value::String(s) if s == "*" => json!({"AWS": ["*"]}),
        Value::Object(kinds) => {
            let mut out = Map::new();
            for (kind, ids) in kinds {
                let normalised = match string_set(ids) {
                    Value::Array(items) if kind == "AWS" => {
                        let mut items: Vec<Value> = items
                            .into_iter()
                            .map(|item| match item.as_str() {
                                Some(id)
                                    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) =>
                                {
                                    json!(root_arn(id))
                                }
                                _ => item,
                            })
                            .collect();
                        items.sort_by_key(|v| v.to_string());
                        items.dedup();
                        Value::Array(items)
                    }
                    other => other,
                };
                out.insert(kind.clone(), normalised);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn canonical_condition(value: &Value) -> Value {
    let Value::Object(operators) = value else {
        return value.clone();
    };
    let mut out = Map::new();
    for (operator, keys) in operators {
        let Value::Object(keys) = keys else {
            out.insert(operator.clone(), keys.clone());
            continue;
        };
        let mut normalised = Map::new();
        for (key, values) in keys {
            normalised.insert(key.to_ascii_lowercase(), string_set(values));
        }
        out.insert(operator.clone(), Value::Object(normalised));
    }
    Value::Object(out)
}

/// Principals written as unique IDs (`AROA…`, `AIDA…`, ...): AWS shows these in place of an
/// ARN whose role or user was deleted. They are orphans, not a spelling difference.
pub fn orphaned_principals(policy: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect_orphans(policy, &mut found);
    found.sort();
    found.dedup();
    found
}

fn collect_orphans(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "Principal" || key == "NotPrincipal" {
                    principal_ids(inner, found);
                } else {
                    collect_orphans(inner, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_orphans(i, found)),
        _ => {}
    }
}

fn principal_ids(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(s) if is_unique_id(s) => found.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| principal_ids(i, found)),
        Value::Object(map) => map.values().for_each(|v| principal_ids(v, found)),
        _ => {}
    }
}

fn is_unique_id(s: &str) -> bool {
    const PREFIXES: &[&str] = &["AROA", "AIDA", "AGPA", "AIPA", "ANPA", "ANVA", "ASIA"];
    PREFIXES.iter().any(|p| s.starts_with(p))
        && s.len() >= 16
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_with_the_same_meaning_are_equal() {
        let a = json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "", "Effect": "Allow", "Principal": {"AWS": "111122223333"},
                 "Action": "kms:Decrypt", "Resource": "*"},
                {"Sid": "Two", "Effect": "Allow", "Principal": "*",
                 "Action": ["backup:CopyIntoBackupVault"], "Resource": "*",
                 "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc1234567"}}},
            ]
        });
        let b = json!({
            "Statement": [
                {"Sid": "Two", "Effect": "Allow", "Principal": {"AWS": ["*"]},
                 "Action": "backup:CopyIntoBackupVault", "Resource": ["*"],
                 "Condition": {"StringEquals": {"aws:principalorgid": ["o-abc1234567"]}}},
                {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111122223333:root"]},
                 "Action": ["kms:Decrypt", "kms:Decrypt"], "Resource": "*"},
            ],
            "Version": "2012-10-17"
        });
        assert_eq!(canonical(&a), canonical(&b));
    }

    #[test]
    fn a_policy_without_version_is_the_2008_language() {
        let statement =
            json!({"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"});
        let without = json!({"Statement": [statement]});
        let current = json!({"Version": "2012-10-17", "Statement": [statement]});
        let old = json!({"Version": "2008-10-17", "Statement": [statement]});
        assert_ne!(canonical(&without), canonical(&current));
        assert_eq!(canonical(&without), canonical(&old));
    }

    #[test]
    fn different_meanings_differ() {
        let a = json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "kms:Decrypt", "Resource": "*"}});
        let b = json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "111122223334"}, "Action": "kms:Decrypt", "Resource": "*"}});
        let c = json!({"Statement": {"Effect": "Deny", "Principal": {"AWS": "111122223333"}, "Action": "kms:Decrypt", "Resource": "*"}});
        assert_ne!(canonical(&a), canonical(&b));
        assert_ne!(canonical(&a), canonical(&c));
    }

    #[test]
    fn unique_id_principals_are_orphans() {
        let policy = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["AROAEXAMPLEID1234567", "arn:aws:iam::111122223333:root"]}, "Action": "kms:Decrypt", "Resource": "*"}]});
        assert_eq!(
            orphaned_principals(&policy),
            vec!["AROAEXAMPLEID1234567".to_string()]
        );
        assert!(orphaned_principals(&json!({"Statement": []})).is_empty());
    }
}
