//! Reading a role with `iam:GetRole`: whether it exists where AWS Backup looks for it, and
//! whether its trust policy lets AWS Backup assume it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use coffer_planner::live::{LiveRole, RoleStatus};
use coffer_spec::Topology;
use futures::future::join_all;

use super::name_and_path;
use super::trust::{judge, problem};
use crate::error::AwsError;
use crate::read::Limits;
use crate::session::{AccountSession, Sessions};

/// Reads `role_arn` in `session`'s account with `iam:GetRole` and judges it. `iam:GetRole`
/// refused (access denied) is `Unreadable`, naming the permission; any other failure (the
/// endpoint, Coffer's own role, throttling) is the error.
pub async fn inspect(session: &AccountSession, role_arn: &str) -> Result<LiveRole, AwsError> {
    let account_id = session.account.id.as_str();
    let Some((name, _)) = name_and_path(role_arn) else {
        return Ok(problem(
            RoleStatus::Missing,
            "it is not an IAM role ARN".into(),
            role_arn,
        ));
    };
    if role_arn.split(':').nth(4) != Some(account_id) {
        return Ok(problem(
            RoleStatus::Missing,
            format!(
                "it is not a role of account {account_id}: AWS Backup only assumes roles of the job's own account"
            ),
            role_arn,
        ));
    }
    let call = session.call("-", "iam:GetRole");
    let status = match session.iam().get_role().role_name(name).send().await {
        Ok(out) => match out.role() {
            Some(role) if role.arn() == role_arn => {
                judge(role.assume_role_policy_document(), role_arn, account_id)
            }
            Some(role) => problem(
                RoleStatus::Missing,
                format!(
                    "a role named {name} exists with another path ({})",
                    role.arn()
                ),
                role_arn,
            ),
            None => problem(RoleStatus::Missing, "it does not exist".into(), role_arn),
        },
        Err(e) => {
            let error = call.sdk_error(e);
            match error.code.as_deref() {
                Some("NoSuchEntity") => {
                    problem(RoleStatus::Missing, "it does not exist".into(), role_arn)
                }
                // IAM's own refusal; a failure to assume Coffer's role names sts:AssumeRole.
                Some("AccessDenied" | "AccessDeniedException") if error.call == "iam:GetRole" => {
                    unreadable(&error, role_arn)
                }
                _ => return Err(error),
            }
        }
    };
    Ok(status)
}

pub(super) fn unreadable(error: &AwsError, role_arn: &str) -> LiveRole {
    let answer = match &error.code {
        Some(code) => format!("{code}: {}", error.message),
        None => error.message.clone(),
    };
    let detail = format!(
        "iam:GetRole was refused ({answer}): the role Coffer assumes ({}) needs iam:GetRole",
        error.role_arn
    );
    problem(RoleStatus::Unreadable, detail, role_arn)
}

/// The live state's roles: every selection's role, read in the plan's account (only accounts
/// in `usable`, whose role Coffer could assume), by account ID and role ARN. `limit` bounds
/// the calls in flight.
pub async fn read_selection_roles(
    topology: &Topology,
    sessions: &Sessions,
    usable: &BTreeSet<String>,
    limit: &Arc<Limits>,
) -> BTreeMap<String, BTreeMap<String, LiveRole>> {
    let wanted: BTreeSet<(String, String)> = topology
        .backup_plans
        .values()
        .flat_map(|plan| {
            let account_id = topology.account_id(&plan.account).to_string();
            plan.selections
                .iter()
                .map(move |s| (account_id.clone(), s.role_arn.clone()))
        })
        .filter(|(account_id, _)| usable.contains(account_id))
        .collect();
    let read = join_all(wanted.into_iter().filter_map(|(account_id, role_arn)| {
        let session = sessions.account(&account_id)?;
        let limit = limit.clone();
        Some(async move {
            let _permit = limit.permit(&account_id, "iam").await;
            // A role that could not be read is not checked (as the organization membership).
            let status = inspect(&session, &role_arn).await.unwrap_or_else(|error| {
                problem(
                    RoleStatus::Unreadable,
                    format!("iam:GetRole failed ({error})"),
                    &role_arn,
                )
            });
            if status.status == RoleStatus::Unreadable {
                let detail = status.detail.as_deref().unwrap_or_default();
                tracing::warn!(%role_arn, %account_id, %detail, "selection role not read");
            }
            (account_id, role_arn, status)
        })
    }))
    .await;
    let mut roles: BTreeMap<String, BTreeMap<String, LiveRole>> = BTreeMap::new();
    for (account_id, role_arn, status) in read {
        roles
            .entry(account_id)
            .or_default()
            .insert(role_arn, status);
    }
    roles
}
