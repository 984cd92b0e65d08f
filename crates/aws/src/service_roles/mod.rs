//! The IAM roles AWS Backup assumes for Coffer's work: each backup selection's `IamRoleArn`
//! (`service-default` is `service-role/AWSBackupDefaultServiceRole` of the plan's account),
//! and the roles the drill passes to its backup, copy and restore jobs.
//!
//! AWS Backup refuses a role it cannot assume, one that does not exist or whose trust policy
//! does not let `backup.amazonaws.com` call `sts:AssumeRole`, with
//! `InvalidParameterValueException: IAM Role <arn> cannot be assumed by AWS Backup`
//! (docs/aws-behaviour.md §5.2, §5.4, §10). `AWSBackupDefaultServiceRole` is created only by the
//! AWS Backup console, so on an account set up through the API it is missing. This module
//! reads each role with `iam:GetRole`, decides from its trust policy (with Coffer's policy
//! engine) whether AWS Backup can assume it, says how to fix it, and can create the
//! service-default role (`coffer drill --create-service-role`).

mod create;
mod fix;
mod inspect;
mod trust;
mod uses;

use coffer_spec::{BackupPlan, Topology};

pub use create::{create_missing_service_roles, create_service_default_role};
pub use fix::{create_commands, fix};
pub use inspect::{inspect, read_selection_roles};
pub use trust::{backup_trust_policy, decode_policy, judge, trust};
pub use uses::{RoleProblem, RoleUse, drill_message, drill_uses, preflight, problems};

/// The service principal that assumes the roles.
pub const BACKUP_SERVICE: &str = "backup.amazonaws.com";
/// The AWS managed policies of `AWSBackupDefaultServiceRole`.
pub const BACKUP_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup";
pub const RESTORE_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores";

/// The ARN of `service-default`'s role in `account_id`.
pub fn service_default_role(account_id: &str) -> String {
    format!(
        "arn:aws:iam::{account_id}:role/{}",
        coffer_spec::aws_limits::SERVICE_DEFAULT_ROLE
    )
}

/// The role the drill's backup and copy jobs of `plan` pass to AWS Backup: its first
/// selection's, else `service-default`'s in the plan's account.
pub fn job_role(topology: &Topology, plan: &BackupPlan) -> String {
    plan.selections.first().map_or_else(
        || service_default_role(topology.account_id(&plan.account)),
        |s| s.role_arn.clone(),
    )
}

/// The role the drill's restore in `account_id` passes to AWS Backup.
pub fn restore_role(account_id: &str) -> String {
    service_default_role(account_id)
}

/// The name and path of a role ARN: `arn:aws:iam::1:role/service-role/X` is
/// (`X`, `/service-role/`). `None` for anything but a role ARN.
pub fn name_and_path(role_arn: &str) -> Option<(&str, String)> {
    let (_, resource) = role_arn.split_once(":role/")?;
    let (path, name) = match resource.rsplit_once('/') {
        Some((path, name)) => (format!("/{path}/"), name),
        None => ("/".to_string(), resource),
    };
    (!name.is_empty()).then_some((name, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `service-default`'s role in the backup account of the seed topology.
    pub(super) const ROLE: &str =
        "arn:aws:iam::666777888999:role/service-role/AWSBackupDefaultServiceRole";
    pub(super) const ACCOUNT: &str = "666777888999";

    #[test]
    fn names_and_paths_of_role_arns() {
        assert_eq!(
            name_and_path(ROLE),
            Some(("AWSBackupDefaultServiceRole", "/service-role/".to_string()))
        );
        assert_eq!(
            name_and_path("arn:aws:iam::1:role/Plain"),
            Some(("Plain", "/".to_string()))
        );
        assert_eq!(
            name_and_path("arn:aws:iam::1:role/a/b/C"),
            Some(("C", "/a/b/".to_string()))
        );
        assert_eq!(name_and_path("arn:aws:iam::1:user/Plain"), None);
        assert_eq!(service_default_role(ACCOUNT), ROLE);
    }
}
