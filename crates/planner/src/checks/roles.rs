//! The service roles backup selections pass to AWS Backup.

use coffer_spec::checks as id;

use super::{Context, finding};
use crate::live::{LiveState, RoleStatus};

impl Context<'_> {
    /// CB031: every selection's role, as read from IAM (`LiveAccount::roles`; not read, or
    /// not readable: no finding), exists and trusts AWS Backup.
    pub(super) fn service_roles(&mut self, state: &LiveState) {
        let topology = self.topology;
        for plan in topology.backup_plans.values() {
            let account_id = self.account_id(&plan.account);
            let Some(roles) = state.accounts.get(&account_id).map(|a| &a.roles) else {
                continue;
            };
            for selection in &plan.selections {
                let Some(role) = roles.get(&selection.role_arn) else {
                    continue;
                };
                let why = match role.status {
                    // Not read (access denied): nothing is known, nothing is reported.
                    RoleStatus::TrustsBackup | RoleStatus::Unreadable => continue,
                    RoleStatus::Missing => "it does not exist",
                    RoleStatus::NotTrusted => "its trust policy does not let AWS Backup assume it",
                };
                let mut found = finding(
                    id::SERVICE_ROLE_TRUSTS_BACKUP,
                    self.selection_target(plan, &selection.name),
                    format!(
                        "AWS Backup cannot assume role {} of selection `{}` in account `{}` ({account_id}): {}",
                        selection.role_arn,
                        selection.name,
                        plan.account,
                        role.detail.as_deref().unwrap_or(why)
                    ),
                );
                // The role's own fix names it (the `aws iam` commands that create it).
                if let Some(fix) = &role.fix {
                    found.fix.clone_from(fix);
                }
                self.findings.push(found);
            }
        }
    }
}
