//! Questions asked of every policy, whatever it protects: the organizations its Allow
//! statements name, and the deleted principals it still names.

use serde_json::{Map, Value};

use coffer_policy::{statements, string_list};
use coffer_spec::checks as id;

use super::Context;
use super::target::Target;
use crate::policy;

fn effect(statement: &Map<String, Value>) -> &str {
    statement
        .get("Effect")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Organization IDs that `Allow` statements of `policy` name in a positive
/// `aws:PrincipalOrgID` condition and that are not `org` (a typo or another organization).
fn foreign_org_ids(policy: &Value, org: Option<&str>) -> Vec<String> {
    let mut found = Vec::new();
    for statement in statements(policy)
        .into_iter()
        .filter(|s| effect(s) == "Allow")
    {
        let Some(Value::Object(operators)) = statement.get("Condition") else {
            continue;
        };
        for (operator, keys) in operators {
            let lower = operator.to_ascii_lowercase();
            if lower.contains("not") || lower == "null" {
                continue;
            }
            for (key, values) in keys.as_object().into_iter().flatten() {
                if key.eq_ignore_ascii_case("aws:PrincipalOrgID") {
                    found.extend(
                        string_list(Some(values))
                            .into_iter()
                            .filter(|v| Some(v.as_str()) != org),
                    );
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

impl Context<'_> {
    /// `check_id` for each organization other than the topology's that `document` (`what`:
    /// "the policy", "the key policy") allows.
    pub(super) fn foreign_organizations(
        &mut self,
        check_id: &'static str,
        target: &Target,
        what: &str,
        document: &Value,
    ) {
        for other in foreign_org_ids(document, self.org) {
            self.push(
                check_id,
                target,
                format!(
                    "{what} allows organization {other}, which is not the topology's ({})",
                    self.org.unwrap_or("none declared")
                ),
            );
        }
    }

    /// CB010: principals AWS shows by unique ID because they were deleted.
    pub(super) fn orphaned_principals(&mut self, target: &Target, document: &Value) {
        let orphans = policy::orphaned_principals(document);
        if !orphans.is_empty() {
            self.push(
                id::NO_ORPHANED_PRINCIPALS,
                target,
                format!(
                    "the policy names deleted principals: {}",
                    orphans.join(", ")
                ),
            );
        }
    }
}
