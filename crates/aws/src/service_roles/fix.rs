//! How to fix a role AWS Backup cannot use: the commands that create it or let AWS Backup
//! assume it.

use coffer_planner::live::RoleStatus;
use serde_json::Value;

use super::trust::backup_trust_policy;
use super::{BACKUP_POLICY, BACKUP_SERVICE, RESTORE_POLICY, name_and_path, service_default_role};

fn shell_quoted(value: &Value) -> String {
    format!("'{value}'")
}

/// The commands that create `role_arn` as AWS Backup needs it.
pub fn create_commands(role_arn: &str) -> Vec<String> {
    let Some((name, path)) = name_and_path(role_arn) else {
        return Vec::new();
    };
    vec![
        format!(
            "aws iam create-role --role-name {name} --path {path} --assume-role-policy-document {}",
            shell_quoted(&backup_trust_policy())
        ),
        format!("aws iam attach-role-policy --role-name {name} --policy-arn {BACKUP_POLICY}"),
        format!("aws iam attach-role-policy --role-name {name} --policy-arn {RESTORE_POLICY}"),
    ]
}

/// How to fix a role AWS Backup cannot use, in one line (the finding's fix; the drill lists
/// the same commands one per line).
pub fn fix(role_arn: &str, status: RoleStatus, detail: &str) -> String {
    let account = role_arn.split(':').nth(4).unwrap_or_default();
    let name = name_and_path(role_arn).map_or(role_arn, |(name, _)| name);
    let is_default = role_arn == service_default_role(account);
    let commands = |commands: Vec<String>| {
        commands
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    match status {
        RoleStatus::TrustsBackup => String::new(),
        RoleStatus::Missing if is_default => format!(
            "create it with credentials for account {account}: {}; or let Coffer create it: `coffer drill --create-service-role`",
            commands(create_commands(role_arn))
        ),
        RoleStatus::Missing => format!(
            "create it with credentials for account {account}: {}; or use `role: service-default`",
            commands(create_commands(role_arn))
        ),
        RoleStatus::NotTrusted if detail.contains("explicitly denies") => format!(
            "remove the statement of its trust policy that denies {BACKUP_SERVICE} sts:AssumeRole (`aws iam get-role --role-name {name}` shows it; `aws iam update-assume-role-policy --role-name {name} --policy-document ...` replaces it)"
        ),
        RoleStatus::NotTrusted => format!(
            "let AWS Backup assume it: `aws iam update-assume-role-policy --role-name {name} --policy-document {}` (this replaces its trust policy: keep the statements it still needs)",
            shell_quoted(&backup_trust_policy())
        ),
        RoleStatus::Unreadable => format!(
            "allow Coffer's role iam:GetRole (`coffer iam-policy`), or check the role by hand: `aws iam get-role --role-name {name}` in account {account}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::drill::tests::seed;
    use crate::service_roles::inspect::unreadable;
    use crate::service_roles::judge;
    use crate::service_roles::tests::{ACCOUNT, ROLE};

    /// Whether `text` is set and contains `part`.
    fn says(text: Option<&String>, part: &str) -> bool {
        text.is_some_and(|text| text.contains(part))
    }

    fn policy(statements: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    #[test]
    fn statuses_say_why_and_how_to_fix() {
        let denied = judge(
            Some(
                &policy(json!([{"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}]))
                    .to_string(),
            ),
            ROLE,
            ACCOUNT,
        );
        assert_eq!(denied.status, RoleStatus::NotTrusted);
        assert!(
            says(denied.detail.as_ref(), "explicitly denies"),
            "{denied:?}"
        );
        assert!(
            says(denied.fix.as_ref(), "remove the statement"),
            "{denied:?}"
        );
        let missing = fix(ROLE, RoleStatus::Missing, "it does not exist");
        assert!(missing.contains("aws iam create-role --role-name AWSBackupDefaultServiceRole --path /service-role/ --assume-role-policy-document '{"), "{missing}");
        for part in [
            format!("--policy-arn {BACKUP_POLICY}"),
            format!("--policy-arn {RESTORE_POLICY}"),
            "coffer drill --create-service-role".to_string(),
        ] {
            assert!(missing.contains(&part), "{missing}");
        }
        // A custom role is never Coffer's to create.
        let custom = fix(
            "arn:aws:iam::666777888999:role/MyBackupRole",
            RoleStatus::Missing,
            "it does not exist",
        );
        assert!(!custom.contains("--create-service-role"), "{custom}");
        assert!(
            custom.contains("--role-name MyBackupRole --path / "),
            "{custom}"
        );
        let account = seed(&[])
            .accounts
            .values()
            .next()
            .expect("an account")
            .clone();
        let mut refused = crate::error::Call::new(&account, "-", "iam:GetRole")
            .message("User is not authorized to perform: iam:GetRole".into());
        refused.code = Some("AccessDenied".into());
        let unreadable = unreadable(&refused, ROLE);
        assert_eq!(unreadable.status, RoleStatus::Unreadable);
        assert!(
            says(unreadable.detail.as_ref(), "needs iam:GetRole"),
            "{unreadable:?}"
        );
    }
}
