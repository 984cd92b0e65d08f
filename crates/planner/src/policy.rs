//! The policies Coffer generates: key policies and vault access policies, with their guards.
//! Their canonical form and evaluation are `coffer_policy`'s.

use serde::Serialize;
use serde_json::{Value, json};

use coffer_spec::{AccessPolicy, Key, Topology};

/// Actions that let an account use a key for cryptography (the KMS console's "other AWS
/// accounts" key users).
pub const KEY_USE_ACTIONS: &[&str] = &[
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
];

/// Grant actions, limited to grants for AWS resources (how AWS Backup and RDS use a key).
pub const KEY_GRANT_ACTIONS: &[&str] = &["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"];

/// Management actions for key administrators (no cryptographic use).
pub const KEY_ADMIN_ACTIONS: &[&str] = &[
    "kms:CancelKeyDeletion",
    "kms:Create*",
    "kms:Delete*",
    "kms:Describe*",
    "kms:Disable*",
    "kms:Enable*",
    "kms:Get*",
    "kms:List*",
    "kms:Put*",
    "kms:Revoke*",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:Update*",
];

/// What the deletion guard denies to everyone but the break-glass principals: the calls that
/// destroy recovery points (Coffer's own role never needs them).
pub const DELETION_GUARD_ACTIONS: &[&str] = &[
    "backup:DeleteBackupVault",
    "backup:DeleteRecoveryPoint",
    "backup:UpdateRecoveryPointLifecycle",
];

/// What the deletion guard denies to everyone but Coffer's role and the break-glass
/// principals: the calls that would lift the guard or the lock.
pub const GUARD_CHANGE_ACTIONS: &[&str] = &[
    "backup:DeleteBackupVaultAccessPolicy",
    "backup:DeleteBackupVaultLockConfiguration",
    "backup:PutBackupVaultAccessPolicy",
    "backup:PutBackupVaultLockConfiguration",
];

/// What the key guard denies to everyone but Coffer's role and the break-glass principals:
/// the calls that make every recovery point encrypted with the key unreadable, or that would
/// lift the guard.
pub const KEY_GUARD_ACTIONS: &[&str] = &[
    "kms:DisableKey",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
];

/// Sids of the generated guard statements.
pub const SID_DELETION_GUARD: &str = "CofferDenyRecoveryPointDeletion";
pub const SID_GUARD_CHANGES: &str = "CofferDenyGuardChanges";
pub const SID_KEY_GUARD: &str = "CofferKeyGuard";
pub const SID_KEY_GUARD_FOREIGN_GRANTS: &str = "CofferKeyGuardForeignGrants";
pub const SID_KEY_GUARD_GRANTS_FOR_SERVICES: &str = "CofferKeyGuardGrantsOnlyForAwsServices";

/// A statement of a generated policy; on every resource, as key and vault policies write it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Statement<'a> {
    sid: &'a str,
    effect: Effect,
    principal: Value,
    action: Value,
    resource: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    condition: Option<Value>,
}

#[derive(Serialize)]
enum Effect {
    Allow,
    Deny,
}

impl<'a> Statement<'a> {
    fn new(sid: &'a str, effect: Effect, principal: Value, action: Value) -> Self {
        Statement {
            sid,
            effect,
            principal,
            action,
            resource: "*",
            condition: None,
        }
    }

    fn allow(sid: &'a str, principal: Value, action: Value) -> Self {
        Self::new(sid, Effect::Allow, principal, action)
    }

    /// Denied to everyone.
    fn deny(sid: &'a str, action: Value) -> Self {
        Self::new(sid, Effect::Deny, json!("*"), action)
    }

    fn when(self, condition: Value) -> Self {
        Statement {
            condition: Some(condition),
            ..self
        }
    }

    fn json(self) -> Value {
        json!(self)
    }
}

/// A Deny of `actions` for everyone except `exempt` (no exemption when it is empty).
fn deny_except(sid: &str, actions: &[&str], exempt: &[String]) -> Value {
    let statement = Statement::deny(sid, strings(actions));
    if exempt.is_empty() {
        return statement.json();
    }
    statement
        .when(json!({"ArnNotLike": {"aws:PrincipalArn": exempt}}))
        .json()
}

fn root_arn(account_id: &str) -> String {
    format!("arn:aws:iam::{account_id}:root")
}

fn strings(values: &[&str]) -> Value {
    Value::Array(values.iter().map(|v| json!(v)).collect())
}

/// The key policy Coffer writes for `key`: the owning account's root (so IAM policies in
/// the account keep working and the key stays manageable), the admins, the accounts in
/// `usable_by` with cryptographic use and grants for AWS resources, then the file's own
/// statements.
pub fn key_policy(topology: &Topology, key: &Key) -> Value {
    key_policy_guarded(topology, key, topology.key_guard(key).as_deref())
}

/// [`key_policy`] with the key's guard already known (`Topology::key_guards`, built once for
/// every key).
pub fn key_policy_guarded(topology: &Topology, key: &Key, guard: Option<&[String]>) -> Value {
    let owner = topology.account_id(&key.account);
    let mut statements = vec![
        Statement::allow(
            "CofferAccountRoot",
            json!({"AWS": root_arn(owner)}),
            json!("kms:*"),
        )
        .json(),
    ];
    if !key.admins.is_empty() {
        statements.push(
            Statement::allow(
                "CofferKeyAdmins",
                json!({"AWS": key.admins}),
                strings(KEY_ADMIN_ACTIONS),
            )
            .json(),
        );
    }
    let users: Vec<String> = key
        .usable_by
        .iter()
        .map(|a| root_arn(topology.account_id(a)))
        .collect();
    if !users.is_empty() {
        let principal = json!({"AWS": users});
        statements.push(
            Statement::allow("CofferKeyUse", principal.clone(), strings(KEY_USE_ACTIONS)).json(),
        );
        statements.push(
            Statement::allow(
                "CofferKeyGrantsForAwsResources",
                principal,
                strings(KEY_GRANT_ACTIONS),
            )
            .when(json!({"Bool": {"kms:GrantIsForAWSResource": "true"}}))
            .json(),
        );
    }
    if let Some(exempt) = guard {
        statements.extend(key_guard(owner, &users_ids(topology, key), exempt));
    }
    statements.extend(key.statements.iter().cloned().map(Value::Object));
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn users_ids(topology: &Topology, key: &Key) -> Vec<String> {
    key.usable_by
        .iter()
        .map(|a| topology.account_id(a).to_string())
        .collect()
}

/// The key guard: disabling the key, scheduling its deletion and replacing its policy only for
/// the `exempt` principals (Coffer's role first); grants from other accounts only for the
/// `usable_by` accounts, and only for AWS resources (how AWS Backup and RDS use the key for
/// copies and restores). Coffer's role keeps `kms:PutKeyPolicy`, so the policy passes KMS's
/// lockout check.
fn key_guard(owner: &str, users: &[String], exempt: &[String]) -> Vec<Value> {
    let mut allowed_accounts = vec![owner.to_string()];
    allowed_accounts.extend(users.iter().cloned());
    vec![
        deny_except(SID_KEY_GUARD, KEY_GUARD_ACTIONS, exempt),
        Statement::deny(SID_KEY_GUARD_FOREIGN_GRANTS, json!("kms:CreateGrant"))
            .when(json!({"StringNotEquals": {"kms:CallerAccount": allowed_accounts}}))
            .json(),
        Statement::deny(SID_KEY_GUARD_GRANTS_FOR_SERVICES, json!("kms:CreateGrant"))
            .when(json!({
                "StringNotEquals": {"kms:CallerAccount": owner},
                "BoolIfExists": {"kms:GrantIsForAWSResource": "false"},
            }))
            .json(),
    ]
}

/// The vault access policy Coffer writes: copies in from the listed accounts, the
/// organization and the organization paths; the deletion guard (recovery points and the vault
/// only for the break-glass principals; the policy and the lock also for the role Coffer
/// applies with, `coffer_role_arn`); then the file's own statements. `None` when the policy would have no statement.
pub fn vault_policy(policy: &AccessPolicy, coffer_role_arn: &str) -> Option<Value> {
    let copy_in =
        |sid, principal| Statement::allow(sid, principal, json!("backup:CopyIntoBackupVault"));
    let mut statements = Vec::new();
    if !policy.allow_copy_from.is_empty() {
        let principals: Vec<String> = policy
            .allow_copy_from
            .iter()
            .map(|id| root_arn(id))
            .collect();
        statements.push(copy_in("CofferCopyFromAccounts", json!({"AWS": principals})).json());
    }
    if let Some(org) = &policy.organization_id {
        statements.push(
            copy_in("CofferCopyFromOrganization", json!("*"))
                .when(json!({"StringEquals": {"aws:PrincipalOrgID": org}}))
                .json(),
        );
    }
    if !policy.org_paths.is_empty() {
        statements.push(
            copy_in("CofferCopyFromOrganizationPaths", json!("*"))
                .when(
                    json!({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": policy.org_paths}}),
                )
                .json(),
        );
    }
    if policy.deny_recovery_point_deletion {
        statements.push(deny_except(
            SID_DELETION_GUARD,
            DELETION_GUARD_ACTIONS,
            &policy.break_glass_principals,
        ));
        let mut exempt = vec![coffer_role_arn.to_string()];
        exempt.extend(
            policy
                .break_glass_principals
                .iter()
                .filter(|p| *p != coffer_role_arn)
                .cloned(),
        );
        statements.push(deny_except(
            SID_GUARD_CHANGES,
            GUARD_CHANGE_ACTIONS,
            &exempt,
        ));
    }
    statements.extend(policy.statements.iter().cloned().map(Value::Object));
    if statements.is_empty() {
        None
    } else {
        Some(json!({"Version": "2012-10-17", "Statement": statements}))
    }
}

pub use coffer_policy::{canonical, orphaned_principals};
