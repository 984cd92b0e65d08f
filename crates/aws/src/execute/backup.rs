//! AWS Backup operations: vaults (with their access policies and locks), backup plans,
//! selections, tags and the global settings.

use std::collections::BTreeMap;

use aws_sdk_backup::error::BuildError;
use aws_sdk_backup::types::{
    BackupPlanInput, BackupRuleInput, BackupSelection, Condition, ConditionType, CopyAction,
    Lifecycle,
};
use coffer_apply::StepError;
use coffer_planner::model::{BackupPlanDocument, LifecycleDocument, SelectionDocument, Tags};
use coffer_planner::{Ref, TAG_ID, TAG_TOPOLOGY, outputs};
use serde_json::Value;

use super::{At, Outcome, code_is, one, readback, step_error};
use crate::error::AwsError;
use crate::propagation;

/// What AWS Backup answers for a resource that is not there.
const GONE: &str = "ResourceNotFoundException";

/// A vault that already exists counts as created when it is Coffer's (it carries the same
/// ownership tags), unless it is the vault this apply just deleted.
pub(super) async fn create_vault(
    at: &At<'_>,
    vault_name: &str,
    encryption_key_arn: Option<&Ref>,
    tags: &Tags,
    creator_request_id: &str,
) -> Outcome {
    let key = encryption_key_arn.map(|k| at.resolve(k)).transpose()?;
    let created = at
        .backup
        .create_backup_vault()
        .backup_vault_name(vault_name)
        .set_encryption_key_arn(key)
        .set_backup_vault_tags(Some(tags.clone().into_iter().collect()))
        .creator_request_id(creator_request_id)
        .send()
        .await;
    let error = match created {
        Ok(out) => {
            return Ok(one(
                outputs::ARN,
                out.backup_vault_arn().unwrap_or_default(),
            ));
        }
        Err(e) => at.call("backup:CreateBackupVault").step_error(e),
    };
    if !code_is(&error, "AlreadyExistsException") {
        return Err(step_error(error));
    }
    adopt_vault(at, vault_name, tags, error).await
}

/// The vault `vault_name` that `CreateBackupVault` found existing (`error`): its ARN when it
/// carries the ownership tags of `tags`.
async fn adopt_vault(at: &At<'_>, vault_name: &str, tags: &Tags, error: AwsError) -> Outcome {
    // The vault this apply replaces: AWS has not finished deleting it.
    if propagation::deleted_vault_name(&error.account_id, &error.region, vault_name) {
        return Err(propagation::vault_still_being_deleted(&error, vault_name));
    }
    let request = at
        .backup
        .describe_backup_vault()
        .backup_vault_name(vault_name);
    let described = match request.send().await {
        Ok(described) => described,
        Err(e) => {
            let missing = at.call("backup:DescribeBackupVault").step_error(e);
            // Taken, yet not there: a deletion AWS has not finished propagating.
            if code_is(&missing, GONE) {
                return Err(propagation::vault_still_being_deleted(&error, vault_name));
            }
            return Err(step_error(missing));
        }
    };
    let arn = described.backup_vault_arn().unwrap_or_default().to_string();
    let live_tags = at
        .backup
        .list_tags()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(|e| at.failed("backup:ListTags", e))?;
    let owned = live_tags.tags().is_some_and(|t| {
        t.get(TAG_ID) == tags.get(TAG_ID) && t.get(TAG_TOPOLOGY) == tags.get(TAG_TOPOLOGY)
    });
    if owned {
        Ok(one(outputs::ARN, arn))
    } else {
        Err(step_error(error))
    }
}

pub(super) async fn delete_vault(at: &At<'_>, vault_name: &str) -> Outcome {
    let request = at.backup.delete_backup_vault();
    let answer = request.backup_vault_name(vault_name).send().await;
    if answer.is_ok() {
        // A create of the same name may follow (a replacement): see `create_vault`.
        propagation::vault_deleted(&at.account.id, &at.clients.region, vault_name);
    }
    at.gone_is_done("backup:DeleteBackupVault", answer, GONE)
}

/// Writes the vault's access policy, then reads it back.
pub(super) async fn put_vault_access_policy(at: &At<'_>, name: &str, policy: &Value) -> Outcome {
    let request = at.backup.put_backup_vault_access_policy();
    let request = request.backup_vault_name(name).policy(policy.to_string());
    let done = at.done("backup:PutBackupVaultAccessPolicy", request.send().await)?;
    readback::vault_access_policy(at, name, policy).await?;
    Ok(done)
}

pub(super) async fn delete_vault_access_policy(at: &At<'_>, vault_name: &str) -> Outcome {
    let request = at.backup.delete_backup_vault_access_policy();
    let answer = request.backup_vault_name(vault_name).send().await;
    at.gone_is_done("backup:DeleteBackupVaultAccessPolicy", answer, GONE)
}

pub(super) async fn put_vault_lock(
    at: &At<'_>,
    vault_name: &str,
    min_retention_days: Option<i64>,
    max_retention_days: Option<i64>,
    changeable_for_days: Option<i64>,
) -> Outcome {
    let request = at.backup.put_backup_vault_lock_configuration();
    let answer = request
        .backup_vault_name(vault_name)
        .set_min_retention_days(min_retention_days)
        .set_max_retention_days(max_retention_days)
        .set_changeable_for_days(changeable_for_days)
        .send()
        .await;
    let done = at.done("backup:PutBackupVaultLockConfiguration", answer)?;
    readback::vault_lock(
        at,
        vault_name,
        min_retention_days,
        max_retention_days,
        changeable_for_days,
    )
    .await?;
    Ok(done)
}

/// Creates the plan, then reads it back: its ID and ARN are the outputs later steps use.
pub(super) async fn create_plan(
    at: &At<'_>,
    plan: &BackupPlanDocument,
    tags: &Tags,
    creator_request_id: &str,
) -> Outcome {
    let out = at
        .backup
        .create_backup_plan()
        .backup_plan(plan_input(plan)?)
        .set_backup_plan_tags(Some(tags.clone().into_iter().collect()))
        .creator_request_id(creator_request_id)
        .send()
        .await
        .map_err(|e| at.failed("backup:CreateBackupPlan", e))?;
    let output = |value: Option<&str>| value.unwrap_or_default().to_string();
    readback::backup_plan(at, &output(out.backup_plan_id()), plan).await?;
    Ok(BTreeMap::from([
        (outputs::PLAN_ID.to_string(), output(out.backup_plan_id())),
        (outputs::ARN.to_string(), output(out.backup_plan_arn())),
    ]))
}

/// Updates the plan, then reads it back.
pub(super) async fn update_plan(at: &At<'_>, plan_id: &Ref, plan: &BackupPlanDocument) -> Outcome {
    let plan_id = at.resolve(plan_id)?;
    let request = at.backup.update_backup_plan().backup_plan_id(&plan_id);
    let answer = request.backup_plan(plan_input(plan)?).send().await;
    let done = at.done("backup:UpdateBackupPlan", answer)?;
    readback::backup_plan(at, &plan_id, plan).await?;
    Ok(done)
}

pub(super) async fn delete_plan(at: &At<'_>, plan_id: &Ref) -> Outcome {
    let plan_id = at.resolve(plan_id)?;
    let request = at.backup.delete_backup_plan().backup_plan_id(plan_id);
    at.gone_is_done("backup:DeleteBackupPlan", request.send().await, GONE)
}

/// Creates the selection, then reads it back.
pub(super) async fn create_selection(
    at: &At<'_>,
    plan_id: &Ref,
    selection: &SelectionDocument,
    creator_request_id: &str,
) -> Outcome {
    let plan_id = at.resolve(plan_id)?;
    let request = at.backup.create_backup_selection().backup_plan_id(&plan_id);
    let out = request
        .backup_selection(selection_input(selection)?)
        .creator_request_id(creator_request_id)
        .send()
        .await
        .map_err(|e| at.failed("backup:CreateBackupSelection", e))?;
    let selection_id = out.selection_id().unwrap_or_default();
    readback::selection(at, &plan_id, selection_id, selection).await?;
    Ok(BTreeMap::new())
}

pub(super) async fn delete_selection(at: &At<'_>, plan_id: &Ref, selection_id: &str) -> Outcome {
    let plan_id = at.resolve(plan_id)?;
    let request = at.backup.delete_backup_selection().backup_plan_id(plan_id);
    let answer = request.selection_id(selection_id).send().await;
    at.gone_is_done("backup:DeleteBackupSelection", answer, GONE)
}

pub(super) async fn tag_resource(at: &At<'_>, resource_arn: &Ref, tags: &Tags) -> Outcome {
    let tags = tags.clone().into_iter().collect();
    let arn = at.resolve(resource_arn)?;
    let request = at.backup.tag_resource().resource_arn(arn);
    at.done(
        "backup:TagResource",
        request.set_tags(Some(tags)).send().await,
    )
}

pub(super) async fn untag_resource(at: &At<'_>, resource_arn: &Ref, keys: &[String]) -> Outcome {
    let arn = at.resolve(resource_arn)?;
    let request = at.backup.untag_resource().resource_arn(arn);
    let answer = request.set_tag_key_list(Some(keys.to_vec())).send().await;
    at.done("backup:UntagResource", answer)
}

pub(super) async fn update_global_settings(at: &At<'_>, cross_account_backup: bool) -> Outcome {
    let enabled = cross_account_backup.to_string();
    let request = at.backup.update_global_settings();
    let request = request.global_settings("isCrossAccountBackupEnabled", enabled);
    at.done("backup:UpdateGlobalSettings", request.send().await)
}

fn lifecycle(document: &LifecycleDocument) -> Option<Lifecycle> {
    if document.move_to_cold_storage_after_days.is_none() && document.delete_after_days.is_none() {
        return None;
    }
    Some(
        Lifecycle::builder()
            .set_move_to_cold_storage_after_days(document.move_to_cold_storage_after_days)
            .set_delete_after_days(document.delete_after_days)
            .build(),
    )
}

/// The error of a request AWS's SDK refuses to build.
fn unbuildable(what: &str) -> impl Fn(BuildError) -> StepError + '_ {
    move |e| StepError::fatal(format!("cannot build the {what} request: {e}"))
}

fn plan_input(document: &BackupPlanDocument) -> Result<BackupPlanInput, StepError> {
    let build = unbuildable("backup plan");
    let mut rules = Vec::new();
    for rule in &document.rules {
        let mut copies = Vec::new();
        for copy in &rule.copy_actions {
            copies.push(
                CopyAction::builder()
                    .destination_backup_vault_arn(&copy.destination_vault_arn)
                    .set_lifecycle(lifecycle(&copy.lifecycle))
                    .build()
                    .map_err(&build)?,
            );
        }
        rules.push(
            BackupRuleInput::builder()
                .rule_name(&rule.name)
                .target_backup_vault_name(&rule.target_vault_name)
                .schedule_expression(&rule.schedule)
                .set_schedule_expression_timezone(rule.schedule_timezone.clone())
                .set_start_window_minutes(rule.start_window_minutes)
                .set_completion_window_minutes(rule.completion_window_minutes)
                .set_lifecycle(lifecycle(&rule.lifecycle))
                .set_copy_actions(Some(copies))
                .enable_continuous_backup(rule.continuous_backup)
                .set_recovery_point_tags(
                    (!rule.recovery_point_tags.is_empty())
                        .then(|| rule.recovery_point_tags.clone().into_iter().collect()),
                )
                .build()
                .map_err(&build)?,
        );
    }
    BackupPlanInput::builder()
        .backup_plan_name(&document.name)
        .set_rules(Some(rules))
        .build()
        .map_err(build)
}

fn selection_input(document: &SelectionDocument) -> Result<BackupSelection, StepError> {
    let build = unbuildable("backup selection");
    let mut tags = Vec::new();
    for (key, value) in &document.tags {
        tags.push(
            Condition::builder()
                .condition_type(ConditionType::Stringequals)
                .condition_key(key)
                .condition_value(value)
                .build()
                .map_err(&build)?,
        );
    }
    BackupSelection::builder()
        .selection_name(&document.name)
        .iam_role_arn(&document.role_arn)
        .set_resources(Some(document.resources.clone()))
        .set_not_resources(
            (!document.not_resources.is_empty()).then(|| document.not_resources.clone()),
        )
        .set_list_of_tags(Some(tags))
        .build()
        .map_err(build)
}
