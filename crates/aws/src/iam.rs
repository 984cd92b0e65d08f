//! The least-privilege IAM policy the role Coffer assumes in each account needs, derived from
//! the calls this crate makes. A test reads this crate's source and fails when a call is made
//! that the table below does not cover.

use serde_json::{Value, json};

/// What the role is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// `plan`, `drift`, `check --live`, `graph --live`: read only.
    Plan,
    /// `apply`: read plus the changes.
    Apply,
    /// `drill`: read plus backup, copy, restore and clean-up jobs.
    Drill,
}

/// One SDK call: the client, the SDK method, and the IAM actions it needs.
pub struct Call {
    pub client: &'static str,
    pub method: &'static str,
    pub actions: &'static [&'static str],
    pub mode: Mode,
}

macro_rules! calls {
    ($($client:literal $method:literal => [$($action:literal),*] $mode:ident;)*) => {
        /// Every call the `aws` crate makes.
        pub const CALLS: &[Call] = &[$(Call { client: $client, method: $method, actions: &[$($action),*], mode: Mode::$mode }),*];
    };
}

calls! {
    "sts" "get_caller_identity" => [] Plan;
    "organizations()" "describe_organization" => ["organizations:DescribeOrganization"] Plan;
    "kms" "list_aliases" => ["kms:ListAliases"] Plan;
    "kms" "list_keys" => ["kms:ListKeys"] Plan;
    "kms" "list_resource_tags" => ["kms:ListResourceTags"] Plan;
    "kms" "describe_key" => ["kms:DescribeKey"] Plan;
    "kms" "get_key_policy" => ["kms:GetKeyPolicy"] Plan;
    "kms" "get_key_rotation_status" => ["kms:GetKeyRotationStatus"] Plan;
    "backup" "list_backup_vaults" => ["backup:ListBackupVaults"] Plan;
    "backup" "describe_backup_vault" => ["backup:DescribeBackupVault"] Plan;
    "backup" "list_tags" => ["backup:ListTags"] Plan;
    "backup" "get_backup_vault_access_policy" => ["backup:GetBackupVaultAccessPolicy"] Plan;
    "backup" "list_backup_plans" => ["backup:ListBackupPlans"] Plan;
    "backup" "get_backup_plan" => ["backup:GetBackupPlan"] Plan;
    "backup" "list_backup_selections" => ["backup:ListBackupSelections"] Plan;
    "backup" "get_backup_selection" => ["backup:GetBackupSelection"] Plan;
    "backup" "describe_global_settings" => ["backup:DescribeGlobalSettings"] Plan;
    "backup" "list_recovery_points_by_backup_vault" => ["backup:ListRecoveryPointsByBackupVault"] Plan;
    "rds" "describe_db_instances" => ["rds:DescribeDBInstances"] Plan;
    "rds" "describe_db_clusters" => ["rds:DescribeDBClusters"] Plan;
    "iam()" "get_role" => ["iam:GetRole"] Plan;
    "kms" "create_key" => ["kms:CreateKey", "kms:TagResource"] Apply;
    "kms" "put_key_policy" => ["kms:PutKeyPolicy"] Apply;
    "kms" "update_key_description" => ["kms:UpdateKeyDescription"] Apply;
    "kms" "enable_key_rotation" => ["kms:EnableKeyRotation"] Apply;
    "kms" "disable_key_rotation" => ["kms:DisableKeyRotation"] Apply;
    "kms" "cancel_key_deletion" => ["kms:CancelKeyDeletion"] Apply;
    "kms" "enable_key" => ["kms:EnableKey"] Apply;
    "kms" "tag_resource" => ["kms:TagResource"] Apply;
    "kms" "untag_resource" => ["kms:UntagResource"] Apply;
    "kms" "schedule_key_deletion" => ["kms:ScheduleKeyDeletion"] Apply;
    "kms" "create_alias" => ["kms:CreateAlias"] Apply;
    "kms" "update_alias" => ["kms:UpdateAlias"] Apply;
    "kms" "delete_alias" => ["kms:DeleteAlias"] Apply;
    "backup" "create_backup_vault" => ["backup:CreateBackupVault", "backup:TagResource", "backup-storage:MountCapsule", "kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant", "kms:Decrypt", "kms:GenerateDataKey"] Apply;
    "backup" "delete_backup_vault" => ["backup:DeleteBackupVault"] Apply;
    "backup" "put_backup_vault_access_policy" => ["backup:PutBackupVaultAccessPolicy"] Apply;
    "backup" "delete_backup_vault_access_policy" => ["backup:DeleteBackupVaultAccessPolicy"] Apply;
    "backup" "put_backup_vault_lock_configuration" => ["backup:PutBackupVaultLockConfiguration"] Apply;
    "backup" "create_backup_plan" => ["backup:CreateBackupPlan", "backup:TagResource"] Apply;
    "backup" "update_backup_plan" => ["backup:UpdateBackupPlan"] Apply;
    "backup" "delete_backup_plan" => ["backup:DeleteBackupPlan"] Apply;
    "backup" "create_backup_selection" => ["backup:CreateBackupSelection", "iam:PassRole"] Apply;
    "backup" "delete_backup_selection" => ["backup:DeleteBackupSelection"] Apply;
    "backup" "tag_resource" => ["backup:TagResource"] Apply;
    "backup" "untag_resource" => ["backup:UntagResource"] Apply;
    "backup" "update_global_settings" => ["backup:UpdateGlobalSettings", "organizations:DescribeOrganization"] Apply;
    "backup" "start_backup_job" => ["backup:StartBackupJob", "backup:TagResource", "iam:PassRole"] Drill;
    "backup" "describe_backup_job" => ["backup:DescribeBackupJob"] Drill;
    "backup" "start_copy_job" => ["backup:StartCopyJob", "backup:CopyFromBackupVault", "iam:PassRole"] Drill;
    "backup" "describe_copy_job" => ["backup:DescribeCopyJob"] Drill;
    "backup" "start_restore_job" => ["backup:StartRestoreJob", "iam:PassRole"] Drill;
    "backup" "describe_restore_job" => ["backup:DescribeRestoreJob"] Drill;
    "backup" "delete_recovery_point" => ["backup:DeleteRecoveryPoint"] Drill;
    "rds" "delete_db_instance" => ["rds:DeleteDBInstance"] Drill;
    "iam()" "create_role" => ["iam:CreateRole"] Drill;
    "iam()" "attach_role_policy" => ["iam:AttachRolePolicy"] Drill;
}

/// The actions a mode needs (a mode includes the read-only ones), sorted.
pub fn actions(mode: Mode) -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = CALLS
        .iter()
        .filter(|c| c.mode == Mode::Plan || c.mode == mode)
        .flat_map(|c| c.actions.iter().copied())
        .collect();
    actions.sort();
    actions.dedup();
    actions
}

/// The role `coffer drill --create-service-role` may create (and attach AWS Backup's managed
/// policies to): `service-default`'s, in any account.
const SERVICE_DEFAULT_ROLES: &str = "arn:aws:iam::*:role/service-role/AWSBackupDefaultServiceRole";

/// The identity policy for the role Coffer assumes in each account. `iam:PassRole` is limited
/// to roles passed to AWS Backup, role creation to `service-default`'s role.
pub fn policy(mode: Mode) -> Value {
    let all = actions(mode);
    let (pass, rest): (Vec<&str>, Vec<&str>) = all.into_iter().partition(|a| *a == "iam:PassRole");
    let (create, rest): (Vec<&str>, Vec<&str>) = rest
        .into_iter()
        .partition(|a| matches!(*a, "iam:CreateRole" | "iam:AttachRolePolicy"));
    let mut statements = vec![json!({
        "Sid": match mode { Mode::Plan => "CofferRead", Mode::Apply => "CofferReadAndApply", Mode::Drill => "CofferReadAndDrill" },
        "Effect": "Allow",
        "Action": rest,
        "Resource": "*",
    })];
    if !pass.is_empty() {
        statements.push(json!({
            "Sid": "CofferPassBackupRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": "*",
            "Condition": {"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}},
        }));
    }
    if !create.is_empty() {
        statements.push(json!({
            "Sid": "CofferCreateBackupServiceRole",
            "Effect": "Allow",
            "Action": create,
            "Resource": SERVICE_DEFAULT_ROLES,
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}
