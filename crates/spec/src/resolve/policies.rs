//! What key policies and vault access policies share: the raw statements a file adds to a
//! generated policy, and the break-glass principals exempt from a guard.

use std::collections::BTreeMap;

use super::Resolver;
use crate::aws_limits;
use crate::codes;
use crate::topology::Statement;
use crate::yaml::{Located, Pos};

/// Prefix of the `Sid`s of the statements Coffer generates; raw statements may not use it.
pub const GENERATED_SID_PREFIX: &str = "Coffer";

/// The elements a policy statement may have.
const STATEMENT_ELEMENTS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

impl Resolver<'_> {
    /// The raw statements of a key policy or (`vault_policy`) a vault access policy, each
    /// problem reported at its statement.
    pub(super) fn statements(
        &mut self,
        statements: &[Located<Statement>],
        vault_policy: bool,
    ) -> Vec<Statement> {
        let mut seen: BTreeMap<String, Pos> = BTreeMap::new();
        let mut out = Vec::new();
        for statement in statements {
            let pos = statement.pos;
            for problem in statement_problems(statement, &mut seen) {
                self.error(
                    codes::STATEMENT,
                    pos,
                    format!("policy statement: {problem}"),
                    "write statements as in an IAM policy document: Sid, Effect, Principal, Action, Resource, Condition".into(),
                );
            }
            if vault_policy {
                let actions = strings(statement.get("Action"));
                if let Some(wild) = actions.iter().find(|a| a.contains('*')) {
                    self.error(
                        codes::POLICY_WILDCARD_ACTION,
                        pos,
                        format!("vault access policies cannot use wildcard actions (`{wild}`)"),
                        "AWS Backup rejects the policy; list the actions, e.g. `backup:DeleteRecoveryPoint`".into(),
                    );
                }
            }
            out.push(statement.value.clone());
        }
        out
    }

    /// A principal exempt from a guard: an IAM role or user of the guarded resource's own
    /// account (`owner_id`, when known), spelled out in full. A wildcard or another account
    /// would exempt far more than one break-glass principal.
    pub(super) fn exempt_principal(
        &mut self,
        principal: &Located<String>,
        owner_id: Option<&str>,
        what: &str,
    ) {
        let problem = match aws_limits::principal_arn(principal) {
            Err(reason) => Some(reason),
            Ok(_) if principal.contains(['*', '?']) => Some(format!(
                "`{}` has a wildcard, which would exempt every principal it matches from the guard",
                principal.value
            )),
            Ok(arn) if !(arn.resource.starts_with("role/") || arn.resource.starts_with("user/")) => {
                Some(format!(
                    "`{}` is not an IAM role or user; only a role or user can be exempt from the guard",
                    principal.value
                ))
            }
            Ok(arn) => owner_id.filter(|id| *id != arn.account).map(|id| {
                format!(
                    "`{}` is in account {}, but {what} is in account {id}; only its own account's principals can be exempt",
                    principal.value, arn.account
                )
            }),
        };
        if let Some(reason) = problem {
            self.error(
                codes::PRINCIPAL,
                principal.pos,
                reason,
                format!(
                    "name one IAM role or user of account {} in full, e.g. `arn:aws:iam::{}:role/BreakGlass`",
                    owner_id.unwrap_or("<account>"),
                    owner_id.unwrap_or("111122223333")
                ),
            );
        }
    }
}

/// What is wrong with one raw statement; `seen` holds the `Sid`s of the statements before it.
fn statement_problems(
    statement: &Located<Statement>,
    seen: &mut BTreeMap<String, Pos>,
) -> Vec<String> {
    let mut problems = Vec::new();
    match statement.get("Sid").and_then(|s| s.as_str()) {
        None => problems.push("it needs a `Sid` so Coffer can tell it apart from the statements it generates".to_string()),
        Some(sid) if sid.starts_with(GENERATED_SID_PREFIX) => problems.push(format!(
            "`Sid` `{sid}` starts with `{GENERATED_SID_PREFIX}`, which is reserved for generated statements"
        )),
        Some(sid) => {
            if let Some(first) = seen.insert(sid.to_string(), statement.pos) {
                problems.push(format!("`Sid` `{sid}` is also used at {first}"));
            }
        }
    }
    match statement.get("Effect").and_then(|e| e.as_str()) {
        Some("Allow" | "Deny") => {}
        _ => problems.push("`Effect` must be `Allow` or `Deny`".to_string()),
    }
    if !statement.contains_key("Action") && !statement.contains_key("NotAction") {
        problems.push("it needs `Action` (or `NotAction`)".to_string());
    }
    if !statement.contains_key("Principal") && !statement.contains_key("NotPrincipal") {
        problems.push("it needs `Principal` (or `NotPrincipal`)".to_string());
    }
    for key in statement.keys() {
        if !STATEMENT_ELEMENTS.contains(&key.as_str()) {
            problems.push(format!("`{key}` is not a policy statement element"));
        }
    }
    problems
}

/// A statement element written as one string or a list of strings, as strings.
fn strings(value: Option<&serde_json::Value>) -> Vec<String> {
    match value {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}
