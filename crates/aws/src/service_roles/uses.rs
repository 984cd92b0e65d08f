//! The roles the drill passes to AWS Backup, checked before it starts a job.

use coffer_planner::live::{LiveRole, RoleStatus};
use coffer_spec::{Account, BackupPlan, Rule, Topology};
use futures::future::join_all;

use super::fix::create_commands;
use super::inspect::inspect;
use super::{job_role, restore_role, service_default_role};
use crate::drill::DrillError;
use crate::session::Sessions;

/// A role Coffer passes to AWS Backup, and what for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleUse {
    pub account: Account,
    pub role_arn: String,
    /// `backup and copy jobs of plan orders-daily`, `restore in backup`, ...
    pub purposes: Vec<String>,
}

impl RoleUse {
    /// Whether it is `service-default`'s role of its account.
    pub fn is_service_default(&self) -> bool {
        self.role_arn == service_default_role(&self.account.id)
    }
}

/// A role AWS Backup cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleProblem {
    pub role: RoleUse,
    pub status: LiveRole,
}

impl RoleProblem {
    /// `role <arn> in account `backup` (666777888999), for the restore in backup: it does not
    /// exist`, then the fix's commands, one per line.
    pub fn describe(&self) -> String {
        let status = &self.status;
        let mut out = format!(
            "role {} in account `{}` ({}), for {}: {}\n",
            self.role.role_arn,
            self.role.account.name,
            self.role.account.id,
            self.role.purposes.join(" and "),
            status
                .detail
                .as_deref()
                .unwrap_or("AWS Backup cannot assume it")
        );
        match status.status {
            RoleStatus::Missing => {
                out.push_str(&format!(
                    "    fix: create it with credentials for account {}:\n",
                    self.role.account.id
                ));
                for command in create_commands(&self.role.role_arn) {
                    out.push_str(&format!("      {command}\n"));
                }
                if self.role.is_service_default() {
                    out.push_str(
                        "    or run `coffer drill --create-service-role` to let Coffer create it\n",
                    );
                }
            }
            _ => out.push_str(&format!(
                "    fix: {}\n",
                status.fix.as_deref().unwrap_or_default()
            )),
        }
        out
    }
}

/// The roles the drill of `plan`'s `rule` passes to AWS Backup: the job role (backup and
/// copy jobs, in the plan's account) and `service-default`'s role in each destination
/// account (restores).
pub fn drill_uses(topology: &Topology, plan: &BackupPlan, rule: &Rule) -> Vec<RoleUse> {
    let mut uses: Vec<RoleUse> = Vec::new();
    let mut add = |account: Option<&Account>, role_arn: String, purpose: String| {
        let Some(account) = account else { return };
        match uses
            .iter_mut()
            .find(|u| u.role_arn == role_arn && u.account.id == account.id)
        {
            Some(existing) => existing.purposes.push(purpose),
            None => uses.push(RoleUse {
                account: account.clone(),
                role_arn,
                purposes: vec![purpose],
            }),
        }
    };
    add(
        topology.account(&plan.account),
        job_role(topology, plan),
        format!("the backup and copy jobs of plan {}", plan.name),
    );
    for edge in crate::drill::copies(topology, rule) {
        let vault = edge.destination;
        add(
            topology.account(&vault.account),
            restore_role(topology.account_id(&vault.account)),
            format!("the restore in {}", vault.account),
        );
    }
    uses
}

/// Inspects every role of `uses`; the ones AWS Backup cannot use.
pub async fn problems(
    sessions: &Sessions,
    uses: &[RoleUse],
) -> Result<Vec<RoleProblem>, DrillError> {
    let inspected = join_all(uses.iter().map(|role| async move {
        let session = crate::drill::session(sessions, &role.account.id)?;
        let status = inspect(&session, &role.role_arn).await?;
        Ok::<_, DrillError>(RoleProblem {
            role: role.clone(),
            status,
        })
    }))
    .await;
    let mut found = Vec::new();
    for problem in inspected {
        let problem = problem?;
        if problem.status.status != RoleStatus::TrustsBackup {
            found.push(problem);
        }
    }
    Ok(found)
}

/// The drill's message when roles are not usable: which, where, why, and the fix.
pub fn drill_message(problems: &[RoleProblem]) -> String {
    let mut out = format!(
        "AWS Backup cannot assume {} the drill passes it, so no job was started:\n",
        coffer_spec::diag::plural(problems.len(), "role", "roles")
    );
    for problem in problems {
        out.push_str("  - ");
        out.push_str(&problem.describe());
    }
    out.trim_end().to_string()
}

/// Before the drill starts a job: every role it passes must be one AWS Backup can assume.
pub async fn preflight(
    topology: &Topology,
    sessions: &Sessions,
    plan: &BackupPlan,
    rule: &Rule,
) -> Result<(), DrillError> {
    let found = problems(sessions, &drill_uses(topology, plan, rule)).await?;
    if found.is_empty() {
        Ok(())
    } else {
        Err(DrillError::ServiceRoles(drill_message(&found)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::tests::seed;
    use crate::service_roles::tests::{ACCOUNT, ROLE};
    use crate::service_roles::trust::problem;

    #[test]
    fn the_drill_uses_the_job_role_and_a_restore_role_per_destination_account() {
        let topology = seed(&[]);
        let plan = topology.backup_plans.values().next().expect("plan");
        let rule = plan.rules.first().expect("rule");
        let uses = drill_uses(&topology, plan, rule);
        let summary: Vec<(&str, &str, Vec<String>)> = uses
            .iter()
            .map(|u| {
                (
                    u.account.id.as_str(),
                    u.role_arn.as_str(),
                    u.purposes.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "111222333444",
                    "arn:aws:iam::111222333444:role/service-role/AWSBackupDefaultServiceRole",
                    vec!["the backup and copy jobs of plan orders-daily".to_string()]
                ),
                (ACCOUNT, ROLE, vec!["the restore in backup".to_string()]),
            ]
        );
        let problem = RoleProblem {
            role: uses[1].clone(),
            status: problem(RoleStatus::Missing, "it does not exist".into(), ROLE),
        };
        let message = drill_message(std::slice::from_ref(&problem));
        assert!(
            message.starts_with("AWS Backup cannot assume 1 role the drill passes it, so no job was started:\n  - role arn:aws:iam::666777888999:role/service-role/AWSBackupDefaultServiceRole in account `backup` (666777888999), for the restore in backup: it does not exist\n"),
            "{message}"
        );
        assert!(
            message.contains("\n      aws iam create-role --role-name AWSBackupDefaultServiceRole"),
            "{message}"
        );
        assert!(
            message.ends_with("coffer drill --create-service-role` to let Coffer create it"),
            "{message}"
        );
    }
}
