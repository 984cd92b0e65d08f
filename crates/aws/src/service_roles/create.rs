//! `coffer drill --create-service-role`: the service-default role created where the drill
//! needs it and it is missing.

use coffer_planner::live::RoleStatus;
use coffer_spec::Topology;

use super::trust::backup_trust_policy;
use super::uses::{RoleProblem, drill_uses, problems};
use super::{BACKUP_POLICY, BACKUP_SERVICE, RESTORE_POLICY, name_and_path, service_default_role};
use crate::drill::{DrillError, DrillOptions};
use crate::error::AwsError;
use crate::session::{AccountSession, Sessions};

/// `coffer drill --create-service-role`: creates `service-default`'s role (path
/// `/service-role/`, trusted by AWS Backup, with both managed policies) in each account of the
/// drill where it is missing; never any other role. Returns what it created.
pub async fn create_missing_service_roles(
    topology: &Topology,
    sessions: &Sessions,
    options: &DrillOptions,
) -> Result<Vec<String>, DrillError> {
    let (plan, rule, _) = crate::drill::pick(topology, options)?;
    let missing: Vec<RoleProblem> = problems(sessions, &drill_uses(topology, plan, rule))
        .await?
        .into_iter()
        .filter(|p| p.status.status == RoleStatus::Missing && p.role.is_service_default())
        .collect();
    let mut created = Vec::new();
    for problem in missing {
        let session = crate::drill::session(sessions, &problem.role.account.id)?;
        create_service_default_role(&session).await?;
        created.push(format!(
            "created role {} in account `{}` ({}), trusted by {BACKUP_SERVICE}, with {BACKUP_POLICY} and {RESTORE_POLICY}",
            problem.role.role_arn, problem.role.account.name, problem.role.account.id
        ));
    }
    Ok(created)
}

/// Creates `service-role/AWSBackupDefaultServiceRole` in `session`'s account, as the AWS
/// Backup console does (docs/aws-behaviour.md §5.4).
pub async fn create_service_default_role(session: &AccountSession) -> Result<(), AwsError> {
    let role_arn = service_default_role(&session.account.id);
    let Some((name, path)) = name_and_path(&role_arn) else {
        return Ok(());
    };
    let call = session.call("-", "iam:CreateRole");
    let created = session
        .iam()
        .create_role()
        .role_name(name)
        .path(&path)
        .assume_role_policy_document(backup_trust_policy().to_string())
        .description("The role AWS Backup assumes for backups and restores (created by coffer drill --create-service-role)")
        .send()
        .await;
    if let Err(e) = created {
        let error = call.sdk_error(e);
        // Created meanwhile (another run): attach the policies all the same.
        if error.code.as_deref() != Some("EntityAlreadyExists") {
            return Err(error);
        }
    }
    let call = session.call("-", "iam:AttachRolePolicy");
    for policy in [BACKUP_POLICY, RESTORE_POLICY] {
        session
            .iam()
            .attach_role_policy()
            .role_name(name)
            .policy_arn(policy)
            .send()
            .await
            .map_err(|e| call.sdk_error(e))?;
    }
    Ok(())
}
