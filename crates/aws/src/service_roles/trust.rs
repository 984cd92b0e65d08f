//! Whether AWS Backup can assume a role, from its trust policy, read with Coffer's policy
//! engine.

use coffer_planner::live::{LiveRole, RoleStatus};
use coffer_policy::{Decision, Request};
use serde_json::{Value, json};

use super::BACKUP_SERVICE;
use super::fix::fix;

/// The trust policy Coffer gives the roles it creates, and the fixes name.
pub fn backup_trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": BACKUP_SERVICE},
            "Action": "sts:AssumeRole",
        }],
    })
}

/// What the role's trust policy says about AWS Backup calling `sts:AssumeRole` on it: the
/// request is made by the service principal `backup.amazonaws.com`, on the role (a trust
/// policy has no `Resource` element: the role is the resource), with `aws:SourceAccount` the
/// role's account. An explicit Deny wins.
pub fn trust(document: &Value, role_arn: &str, account_id: &str) -> Decision {
    let mut policy = document.clone();
    let statements = match policy.get_mut("Statement") {
        Some(Value::Array(items)) => items.iter_mut().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => Vec::new(),
    };
    for statement in statements {
        if let Value::Object(fields) = statement
            && !fields.contains_key("Resource")
            && !fields.contains_key("NotResource")
        {
            fields.insert("Resource".into(), Value::String(role_arn.to_string()));
        }
    }
    let request = Request::new(BACKUP_SERVICE, "sts:AssumeRole", role_arn, account_id)
        .with("aws:SourceAccount", [account_id]);
    coffer_policy::evaluate(&policy, &request)
}

/// A trust policy as IAM returns it: URL-encoded JSON (RFC 3986). Plain JSON is accepted too.
pub fn decode_policy(text: &str) -> Option<Value> {
    if let Ok(value) = serde_json::from_str(text) {
        return Some(value);
    }
    let decoded: Vec<u8> = percent_encoding::percent_decode_str(text).collect();
    serde_json::from_slice(&decoded).ok()
}

/// The status of a role from its trust policy.
pub fn judge(document: Option<&str>, role_arn: &str, account_id: &str) -> LiveRole {
    let Some(policy) = document.and_then(decode_policy) else {
        return problem(
            RoleStatus::NotTrusted,
            "its trust policy could not be read as a JSON policy".into(),
            role_arn,
        );
    };
    match trust(&policy, role_arn, account_id) {
        Decision::Allow => LiveRole::default(),
        Decision::ExplicitDeny => problem(
            RoleStatus::NotTrusted,
            format!("its trust policy explicitly denies {BACKUP_SERVICE} sts:AssumeRole"),
            role_arn,
        ),
        Decision::ImplicitDeny => problem(
            RoleStatus::NotTrusted,
            format!("its trust policy does not allow {BACKUP_SERVICE} sts:AssumeRole"),
            role_arn,
        ),
    }
}

pub(super) fn problem(status: RoleStatus, detail: String, role_arn: &str) -> LiveRole {
    LiveRole {
        status,
        fix: Some(fix(role_arn, status, &detail)),
        detail: Some(detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service_roles::tests::{ACCOUNT, ROLE};

    fn policy(statements: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    #[test]
    fn trust_policies_backup_can_or_cannot_use() {
        let backup = json!({"Service": BACKUP_SERVICE});
        let cases = [
            (
                policy(
                    json!([{"Effect": "Allow", "Principal": backup, "Action": "sts:AssumeRole"}]),
                ),
                Decision::Allow,
            ),
            // A single statement object, a list of services, a wildcard action.
            (
                json!({"Statement": {"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com", BACKUP_SERVICE]}, "Action": ["sts:*"]}}),
                Decision::Allow,
            ),
            (
                policy(
                    json!([{"Effect": "Allow", "Principal": backup, "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}]),
                ),
                Decision::Allow,
            ),
            // Only an account, only another service, another action, another source account.
            (
                policy(
                    json!([{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "sts:AssumeRole"}]),
                ),
                Decision::ImplicitDeny,
            ),
            (
                policy(
                    json!([{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
                ),
                Decision::ImplicitDeny,
            ),
            (
                policy(
                    json!([{"Effect": "Allow", "Principal": backup, "Action": "sts:TagSession"}]),
                ),
                Decision::ImplicitDeny,
            ),
            (
                policy(
                    json!([{"Effect": "Allow", "Principal": backup, "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": "111222333444"}}}]),
                ),
                Decision::ImplicitDeny,
            ),
            // An explicit Deny wins.
            (
                policy(json!([
                    {"Effect": "Allow", "Principal": backup, "Action": "sts:AssumeRole"},
                    {"Effect": "Deny", "Principal": {"Service": [BACKUP_SERVICE]}, "Action": "sts:AssumeRole"},
                ])),
                Decision::ExplicitDeny,
            ),
            (json!({"Version": "2012-10-17"}), Decision::ImplicitDeny),
        ];
        for (document, expected) in cases {
            assert_eq!(trust(&document, ROLE, ACCOUNT), expected, "{document}");
        }
        assert_eq!(
            trust(&backup_trust_policy(), ROLE, ACCOUNT),
            Decision::Allow
        );
    }

    #[test]
    fn trust_policies_are_url_decoded() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22backup.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
        assert_eq!(decode_policy(encoded), Some(backup_trust_policy()));
        assert_eq!(
            decode_policy(&backup_trust_policy().to_string()),
            Some(backup_trust_policy())
        );
        assert_eq!(decode_policy("%7B%2"), None);
        assert_eq!(decode_policy("%ZZ"), None);
        assert_eq!(judge(Some(encoded), ROLE, ACCOUNT), LiveRole::default());
        let unreadable = judge(Some("not json"), ROLE, ACCOUNT);
        assert_eq!(unreadable.status, RoleStatus::NotTrusted);
    }
}
