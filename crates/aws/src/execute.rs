//! The SDK-backed executor: one plan step, one (or a few) AWS calls, every one idempotent.
//!
//! - Backup creates carry the plan's `CreatorRequestId`, so a rerun gets back what an
//!   interrupted run created.
//! - A key is created with its ownership tags, and before creating one the executor looks for
//!   a key that already carries them (a run that died between `CreateKey` and `CreateAlias`).
//! - "Already exists" for something Coffer owns counts as done; "not found" on a delete
//!   counts as done.
//! - After writing a key policy, the executor reads it back until it matches.
//! - Changes AWS has not propagated yet answer errors that are retried (`propagation.rs`): a
//!   vault name still held by the vault this apply just deleted is waited for, never adopted.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_backup::types::{
    BackupPlanInput, BackupRuleInput, BackupSelection, Condition, ConditionType, CopyAction,
    Lifecycle,
};
use coffer_apply::{Executor, StepError};
use coffer_planner::model::{BackupPlanDocument, LifecycleDocument, SelectionDocument};
use coffer_planner::{Operation, Outputs, Ref, Step, TAG_ID, TAG_TOPOLOGY, outputs, policy};

use crate::error::{AwsError, Call};
use crate::propagation;
use crate::session::{RegionClients, Sessions};

pub struct SdkExecutor {
    pub sessions: Sessions,
}

fn step_error(error: AwsError) -> StepError {
    // Throttling and transient errors, and AWS's eventual consistency right after a principal,
    // key or vault was created or deleted.
    let retryable = error.retryable || propagation::retryable(&error);
    StepError {
        message: error.to_string(),
        code: error.code.clone(),
        request_id: error.request_id.clone(),
        retryable,
    }
}

fn sdk<E, R>(call: Call, error: aws_sdk_kms::error::SdkError<E, R>) -> StepError
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    step_error(call.sdk_error(error))
}

/// A delete whose target is already gone (AWS answers `code`) counts as done.
fn gone_is_done<T>(
    result: Result<T, AwsError>,
    code: &str,
) -> Result<BTreeMap<String, String>, StepError> {
    match result {
        Ok(_) => Ok(BTreeMap::new()),
        Err(error) if code_is(&error, code) => Ok(BTreeMap::new()),
        Err(error) => Err(step_error(error)),
    }
}

fn code_is(error: &AwsError, code: &str) -> bool {
    error.code.as_deref() == Some(code)
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

fn plan_input(document: &BackupPlanDocument) -> Result<BackupPlanInput, StepError> {
    let build = |e: aws_sdk_backup::error::BuildError| {
        StepError::fatal(format!("cannot build the backup plan request: {e}"))
    };
    let mut rules = Vec::new();
    for rule in &document.rules {
        let mut copies = Vec::new();
        for copy in &rule.copy_actions {
            copies.push(
                CopyAction::builder()
                    .destination_backup_vault_arn(&copy.destination_vault_arn)
                    .set_lifecycle(lifecycle(&copy.lifecycle))
                    .build()
                    .map_err(build)?,
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
                .map_err(build)?,
        );
    }
    BackupPlanInput::builder()
        .backup_plan_name(&document.name)
        .set_rules(Some(rules))
        .build()
        .map_err(build)
}

fn selection_input(document: &SelectionDocument) -> Result<BackupSelection, StepError> {
    let build = |e: aws_sdk_backup::error::BuildError| {
        StepError::fatal(format!("cannot build the backup selection request: {e}"))
    };
    let mut tags = Vec::new();
    for (key, value) in &document.tags {
        tags.push(
            Condition::builder()
                .condition_type(ConditionType::Stringequals)
                .condition_key(key)
                .condition_value(value)
                .build()
                .map_err(build)?,
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

fn resolve(reference: &Ref, outputs: &Outputs) -> Result<String, StepError> {
    reference.resolve(outputs).ok_or_else(|| {
        StepError::fatal(format!(
            "no value for {reference:?}: the step that produces it did not run"
        ))
    })
}

fn one(key: &str, value: impl Into<String>) -> BTreeMap<String, String> {
    BTreeMap::from([(key.to_string(), value.into())])
}

impl Executor for SdkExecutor {
    async fn execute(
        &self,
        step: &Step,
        outputs: &Outputs,
    ) -> Result<BTreeMap<String, String>, StepError> {
        let session = self.sessions.account(&step.account).ok_or_else(|| {
            StepError::fatal(format!("account {} is not in the topology", step.account))
        })?;
        let clients = session.region(&step.region).await;
        let call = |name: &str| session.call(&step.region, name);
        let result = run(&clients, &step.operation, outputs, &call).await;
        if let Err(error) = &result {
            propagation::log_retryable(&step.id, error);
        }
        result
    }
}

async fn run(
    clients: &RegionClients,
    operation: &Operation,
    earlier: &Outputs,
    call: &(dyn Fn(&str) -> Call + Sync),
) -> Result<BTreeMap<String, String>, StepError> {
    let kms = &clients.kms;
    let backup = &clients.backup;
    let none = BTreeMap::new;
    match operation {
        Operation::CreateKey {
            description,
            policy,
            tags,
        } => {
            if let Some((key_id, arn)) = find_tagged_key(clients, tags, call).await? {
                return Ok(BTreeMap::from([
                    (outputs::KEY_ID.to_string(), key_id),
                    (outputs::ARN.to_string(), arn),
                ]));
            }
            let kms_tags = tags
                .iter()
                .map(|(k, v)| {
                    aws_sdk_kms::types::Tag::builder()
                        .tag_key(k)
                        .tag_value(v)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StepError::fatal(format!("cannot build key tags: {e}")))?;
            let out = kms
                .create_key()
                .description(description)
                .policy(policy.to_string())
                .set_tags(Some(kms_tags))
                .send()
                .await
                .map_err(|e| sdk(call("kms:CreateKey"), e))?;
            let metadata = out
                .key_metadata()
                .ok_or_else(|| StepError::fatal("CreateKey returned no key"))?;
            Ok(BTreeMap::from([
                (outputs::KEY_ID.to_string(), metadata.key_id().to_string()),
                (
                    outputs::ARN.to_string(),
                    metadata.arn().unwrap_or_default().to_string(),
                ),
            ]))
        }
        Operation::PutKeyPolicy {
            key,
            policy: document,
        } => {
            let key = resolve(key, earlier)?;
            kms.put_key_policy()
                .key_id(&key)
                .policy_name("default")
                .policy(document.to_string())
                .send()
                .await
                .map_err(|e| sdk(call("kms:PutKeyPolicy"), e))?;
            let wanted = policy::canonical(document);
            for _ in 0..10 {
                let read = kms
                    .get_key_policy()
                    .key_id(&key)
                    .policy_name("default")
                    .send()
                    .await
                    .map_err(|e| sdk(call("kms:GetKeyPolicy"), e))?;
                let current = read
                    .policy()
                    .and_then(|p| serde_json::from_str(p).ok())
                    .map(|p| policy::canonical(&p));
                if current.as_ref() == Some(&wanted) {
                    return Ok(none());
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(StepError {
                retryable: true,
                ..StepError::fatal(format!(
                    "the key policy of {key} did not read back as written"
                ))
            })
        }
        Operation::UpdateKeyDescription { key, description } => {
            kms.update_key_description()
                .key_id(resolve(key, earlier)?)
                .description(description)
                .send()
                .await
                .map_err(|e| sdk(call("kms:UpdateKeyDescription"), e))?;
            Ok(none())
        }
        Operation::EnableKeyRotation { key, period_days } => {
            let period = i32::try_from(*period_days).unwrap_or(365);
            kms.enable_key_rotation()
                .key_id(resolve(key, earlier)?)
                .rotation_period_in_days(period)
                .send()
                .await
                .map_err(|e| sdk(call("kms:EnableKeyRotation"), e))?;
            Ok(none())
        }
        Operation::DisableKeyRotation { key } => {
            kms.disable_key_rotation()
                .key_id(resolve(key, earlier)?)
                .send()
                .await
                .map_err(|e| sdk(call("kms:DisableKeyRotation"), e))?;
            Ok(none())
        }
        Operation::CancelKeyDeletion { key } => {
            kms.cancel_key_deletion()
                .key_id(resolve(key, earlier)?)
                .send()
                .await
                .map_err(|e| sdk(call("kms:CancelKeyDeletion"), e))?;
            Ok(none())
        }
        Operation::EnableKey { key } => {
            kms.enable_key()
                .key_id(resolve(key, earlier)?)
                .send()
                .await
                .map_err(|e| sdk(call("kms:EnableKey"), e))?;
            Ok(none())
        }
        Operation::TagKey { key, tags } => {
            let kms_tags = tags
                .iter()
                .map(|(k, v)| {
                    aws_sdk_kms::types::Tag::builder()
                        .tag_key(k)
                        .tag_value(v)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StepError::fatal(format!("cannot build key tags: {e}")))?;
            kms.tag_resource()
                .key_id(resolve(key, earlier)?)
                .set_tags(Some(kms_tags))
                .send()
                .await
                .map_err(|e| sdk(call("kms:TagResource"), e))?;
            Ok(none())
        }
        Operation::UntagKey { key, tag_keys } => {
            kms.untag_resource()
                .key_id(resolve(key, earlier)?)
                .set_tag_keys(Some(tag_keys.clone()))
                .send()
                .await
                .map_err(|e| sdk(call("kms:UntagResource"), e))?;
            Ok(none())
        }
        Operation::ScheduleKeyDeletion {
            key,
            pending_window_days,
        } => {
            let window = i32::try_from(*pending_window_days).unwrap_or(30);
            match kms
                .schedule_key_deletion()
                .key_id(resolve(key, earlier)?)
                .pending_window_in_days(window)
                .send()
                .await
            {
                Ok(_) => Ok(none()),
                Err(e) => {
                    let error = call("kms:ScheduleKeyDeletion").sdk_error(e);
                    // Already pending deletion counts as done.
                    if code_is(&error, "KMSInvalidStateException")
                        && error.message.contains("pending deletion")
                    {
                        Ok(none())
                    } else {
                        Err(step_error(error))
                    }
                }
            }
        }
        Operation::CreateAlias { alias_name, key } => {
            let key = resolve(key, earlier)?;
            match kms
                .create_alias()
                .alias_name(alias_name)
                .target_key_id(&key)
                .send()
                .await
            {
                Ok(_) => Ok(none()),
                Err(e) => {
                    let error = call("kms:CreateAlias").sdk_error(e);
                    if !code_is(&error, "AlreadyExistsException") {
                        return Err(step_error(error));
                    }
                    match alias_target(clients, alias_name, call).await? {
                        Some(target) if target == key || key.ends_with(&format!("/{target}")) => {
                            Ok(none())
                        }
                        other => Err(StepError::fatal(format!(
                            "{error}; the alias points to key {}, not to {key}: run `coffer plan` again",
                            other.unwrap_or_else(|| "(unknown)".into())
                        ))),
                    }
                }
            }
        }
        Operation::UpdateAlias { alias_name, key } => {
            kms.update_alias()
                .alias_name(alias_name)
                .target_key_id(resolve(key, earlier)?)
                .send()
                .await
                .map_err(|e| sdk(call("kms:UpdateAlias"), e))?;
            Ok(none())
        }
        Operation::DeleteAlias { alias_name } => gone_is_done(
            kms.delete_alias()
                .alias_name(alias_name)
                .send()
                .await
                .map_err(|e| call("kms:DeleteAlias").sdk_error(e)),
            "NotFoundException",
        ),
        Operation::CreateBackupVault {
            vault_name,
            encryption_key_arn,
            tags,
            creator_request_id,
        } => {
            let key = encryption_key_arn
                .as_ref()
                .map(|k| resolve(k, earlier))
                .transpose()?;
            match backup
                .create_backup_vault()
                .backup_vault_name(vault_name)
                .set_encryption_key_arn(key)
                .set_backup_vault_tags(Some(tags.clone().into_iter().collect()))
                .creator_request_id(creator_request_id)
                .send()
                .await
            {
                Ok(out) => Ok(one(
                    outputs::ARN,
                    out.backup_vault_arn().unwrap_or_default(),
                )),
                Err(e) => {
                    let error = call("backup:CreateBackupVault").sdk_error(e);
                    if !code_is(&error, "AlreadyExistsException") {
                        return Err(step_error(error));
                    }
                    // The vault this apply replaces: AWS has not finished deleting it.
                    if propagation::deleted_vault_name(&error.account_id, &error.region, vault_name)
                    {
                        return Err(propagation::vault_still_being_deleted(&error, vault_name));
                    }
                    let described = match backup
                        .describe_backup_vault()
                        .backup_vault_name(vault_name)
                        .send()
                        .await
                    {
                        Ok(described) => described,
                        Err(e) => {
                            let missing = call("backup:DescribeBackupVault").sdk_error(e);
                            // Taken, yet not there: a deletion AWS has not finished propagating.
                            if code_is(&missing, "ResourceNotFoundException") {
                                return Err(propagation::vault_still_being_deleted(
                                    &error, vault_name,
                                ));
                            }
                            return Err(step_error(missing));
                        }
                    };
                    let arn = described.backup_vault_arn().unwrap_or_default().to_string();
                    let live_tags = backup
                        .list_tags()
                        .resource_arn(&arn)
                        .send()
                        .await
                        .map_err(|e| sdk(call("backup:ListTags"), e))?;
                    let owned = live_tags.tags().is_some_and(|t| {
                        t.get(TAG_ID) == tags.get(TAG_ID)
                            && t.get(TAG_TOPOLOGY) == tags.get(TAG_TOPOLOGY)
                    });
                    if owned {
                        Ok(one(outputs::ARN, arn))
                    } else {
                        Err(step_error(error))
                    }
                }
            }
        }
        Operation::DeleteBackupVault { vault_name } => {
            let deleting = call("backup:DeleteBackupVault");
            let deleted = backup
                .delete_backup_vault()
                .backup_vault_name(vault_name)
                .send()
                .await;
            if deleted.is_ok() {
                // A create of the same name may follow (a replacement): see CreateBackupVault.
                propagation::vault_deleted(deleting.account_id(), deleting.region(), vault_name);
            }
            gone_is_done(
                deleted.map_err(|e| deleting.sdk_error(e)),
                "ResourceNotFoundException",
            )
        }
        Operation::PutBackupVaultAccessPolicy { vault_name, policy } => {
            backup
                .put_backup_vault_access_policy()
                .backup_vault_name(vault_name)
                .policy(policy.to_string())
                .send()
                .await
                .map_err(|e| sdk(call("backup:PutBackupVaultAccessPolicy"), e))?;
            Ok(none())
        }
        Operation::DeleteBackupVaultAccessPolicy { vault_name } => gone_is_done(
            backup
                .delete_backup_vault_access_policy()
                .backup_vault_name(vault_name)
                .send()
                .await
                .map_err(|e| call("backup:DeleteBackupVaultAccessPolicy").sdk_error(e)),
            "ResourceNotFoundException",
        ),
        Operation::PutBackupVaultLockConfiguration {
            vault_name,
            min_retention_days,
            max_retention_days,
            changeable_for_days,
        } => {
            backup
                .put_backup_vault_lock_configuration()
                .backup_vault_name(vault_name)
                .set_min_retention_days(*min_retention_days)
                .set_max_retention_days(*max_retention_days)
                .set_changeable_for_days(*changeable_for_days)
                .send()
                .await
                .map_err(|e| sdk(call("backup:PutBackupVaultLockConfiguration"), e))?;
            Ok(none())
        }
        Operation::CreateBackupPlan {
            plan,
            tags,
            creator_request_id,
        } => {
            let out = backup
                .create_backup_plan()
                .backup_plan(plan_input(plan)?)
                .set_backup_plan_tags(Some(tags.clone().into_iter().collect()))
                .creator_request_id(creator_request_id)
                .send()
                .await
                .map_err(|e| sdk(call("backup:CreateBackupPlan"), e))?;
            Ok(BTreeMap::from([
                (
                    outputs::PLAN_ID.to_string(),
                    out.backup_plan_id().unwrap_or_default().to_string(),
                ),
                (
                    outputs::ARN.to_string(),
                    out.backup_plan_arn().unwrap_or_default().to_string(),
                ),
            ]))
        }
        Operation::UpdateBackupPlan { plan_id, plan } => {
            backup
                .update_backup_plan()
                .backup_plan_id(resolve(plan_id, earlier)?)
                .backup_plan(plan_input(plan)?)
                .send()
                .await
                .map_err(|e| sdk(call("backup:UpdateBackupPlan"), e))?;
            Ok(none())
        }
        Operation::DeleteBackupPlan { plan_id } => gone_is_done(
            backup
                .delete_backup_plan()
                .backup_plan_id(resolve(plan_id, earlier)?)
                .send()
                .await
                .map_err(|e| call("backup:DeleteBackupPlan").sdk_error(e)),
            "ResourceNotFoundException",
        ),
        Operation::CreateBackupSelection {
            plan_id,
            selection,
            creator_request_id,
        } => {
            backup
                .create_backup_selection()
                .backup_plan_id(resolve(plan_id, earlier)?)
                .backup_selection(selection_input(selection)?)
                .creator_request_id(creator_request_id)
                .send()
                .await
                .map_err(|e| sdk(call("backup:CreateBackupSelection"), e))?;
            Ok(none())
        }
        Operation::DeleteBackupSelection {
            plan_id,
            selection_id,
        } => gone_is_done(
            backup
                .delete_backup_selection()
                .backup_plan_id(resolve(plan_id, earlier)?)
                .selection_id(selection_id)
                .send()
                .await
                .map_err(|e| call("backup:DeleteBackupSelection").sdk_error(e)),
            "ResourceNotFoundException",
        ),
        Operation::TagResource { resource_arn, tags } => {
            backup
                .tag_resource()
                .resource_arn(resolve(resource_arn, earlier)?)
                .set_tags(Some(tags.clone().into_iter().collect()))
                .send()
                .await
                .map_err(|e| sdk(call("backup:TagResource"), e))?;
            Ok(none())
        }
        Operation::UntagResource {
            resource_arn,
            tag_keys,
        } => {
            backup
                .untag_resource()
                .resource_arn(resolve(resource_arn, earlier)?)
                .set_tag_key_list(Some(tag_keys.clone()))
                .send()
                .await
                .map_err(|e| sdk(call("backup:UntagResource"), e))?;
            Ok(none())
        }
        Operation::UpdateGlobalSettings {
            cross_account_backup,
        } => {
            backup
                .update_global_settings()
                .global_settings(
                    "isCrossAccountBackupEnabled",
                    cross_account_backup.to_string(),
                )
                .send()
                .await
                .map_err(|e| sdk(call("backup:UpdateGlobalSettings"), e))?;
            Ok(none())
        }
    }
}

/// A key (not pending deletion) that already carries these ownership tags.
async fn find_tagged_key(
    clients: &RegionClients,
    tags: &coffer_planner::model::Tags,
    call: &(dyn Fn(&str) -> Call + Sync),
) -> Result<Option<(String, String)>, StepError> {
    let (Some(topology), Some(id)) = (tags.get(TAG_TOPOLOGY), tags.get(TAG_ID)) else {
        return Ok(None);
    };
    let kms = &clients.kms;
    let pages = kms
        .list_keys()
        .into_paginator()
        .send()
        .collect::<Vec<_>>()
        .await;
    for page in pages {
        let page = page.map_err(|e| step_error(call("kms:ListKeys").sdk_error(e)))?;
        for entry in page.keys() {
            let Some(key_id) = entry.key_id() else {
                continue;
            };
            let listed = match kms.list_resource_tags().key_id(key_id).send().await {
                Ok(listed) => listed,
                Err(e) => {
                    // A key Coffer may not read is not one it created; any other failure must
                    // not be taken for "no such key", or a retry would create a duplicate.
                    let error = call("kms:ListResourceTags").sdk_error(e);
                    if error.code.as_deref() == Some("AccessDeniedException") {
                        continue;
                    }
                    return Err(step_error(error));
                }
            };
            let has = |k: &str, v: &str| {
                listed
                    .tags()
                    .iter()
                    .any(|t| t.tag_key() == k && t.tag_value() == v)
            };
            if has(TAG_TOPOLOGY, topology) && has(TAG_ID, id) {
                let described = kms
                    .describe_key()
                    .key_id(key_id)
                    .send()
                    .await
                    .map_err(|e| step_error(call("kms:DescribeKey").sdk_error(e)))?;
                let Some(metadata) = described.key_metadata() else {
                    continue;
                };
                if metadata
                    .key_state()
                    .is_some_and(|s| s.as_str() == "PendingDeletion")
                {
                    continue;
                }
                return Ok(Some((
                    metadata.key_id().to_string(),
                    metadata.arn().unwrap_or_default().to_string(),
                )));
            }
        }
    }
    Ok(None)
}

async fn alias_target(
    clients: &RegionClients,
    alias_name: &str,
    call: &(dyn Fn(&str) -> Call + Sync),
) -> Result<Option<String>, StepError> {
    let aliases = clients
        .kms
        .list_aliases()
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    for alias in aliases {
        let alias = alias.map_err(|e| step_error(call("kms:ListAliases").sdk_error(e)))?;
        if alias.alias_name() == Some(alias_name) {
            return Ok(alias.target_key_id().map(str::to_string));
        }
    }
    Ok(None)
}
