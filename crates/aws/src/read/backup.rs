//! AWS Backup: the region's vaults (with their access policies and locks) and backup plans
//! (with their rules and selections) that Coffer owns or the file names.

use std::collections::BTreeSet;

use aws_sdk_backup::primitives::DateTime;
use aws_sdk_backup::types::{
    BackupPlansListMember, BackupRule, BackupSelection, BackupVaultListMember, ConditionParameter,
    Conditions, Lifecycle,
};
use coffer_planner::live::{
    LiveBackupPlan, LiveCopyAction, LiveLifecycle, LiveLock, LiveRule, LiveSelection, LiveVault,
    Tags,
};
use serde_json::Value;

use super::{RegionReader, Wanted, all_or_errors, each, rfc3339};
use crate::error::AwsError;

impl RegionReader {
    /// The tags of a listed resource when Coffer owns it or the file wants its `name`; `None`
    /// for any other (its details are not read).
    async fn owned_or_wanted(
        &self,
        arn: &str,
        name: &str,
        wanted: &BTreeSet<String>,
    ) -> Result<Option<Tags>, AwsError> {
        let backup = &self.clients.backup;
        let pages = backup.list_tags().resource_arn(arn).into_paginator();
        let pages = self
            .sent("backup:ListTags", pages.send().try_collect())
            .await?;
        let tags: Tags = pages
            .iter()
            .flat_map(|page| page.tags().into_iter().flatten())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok((self.ours(&tags) || wanted.contains(name)).then_some(tags))
    }

    pub(super) async fn vaults(&self, wanted: &Wanted) -> Result<Vec<LiveVault>, Vec<AwsError>> {
        let list = self.clients.backup.list_backup_vaults().into_paginator();
        let listed = self
            .sent("backup:ListBackupVaults", list.items().send().try_collect())
            .await
            .map_err(|e| vec![e])?;
        let now = DateTime::from(std::time::SystemTime::now());
        let (mut vaults, errors) =
            each(listed, |member| self.vault(member, &wanted.vaults, now)).await;
        vaults.sort_by(|a, b| a.name.cmp(&b.name));
        all_or_errors(vaults, errors)
    }

    async fn vault(
        &self,
        member: BackupVaultListMember,
        wanted: &BTreeSet<String>,
        now: DateTime,
    ) -> Result<Option<LiveVault>, AwsError> {
        let name = member.backup_vault_name().unwrap_or_default().to_string();
        let arn = member.backup_vault_arn().unwrap_or_default().to_string();
        let Some(tags) = self.owned_or_wanted(&arn, &name, wanted).await? else {
            return Ok(None);
        };
        let access_policy = self.vault_access_policy(&name).await?;
        let lock = member.locked().unwrap_or(false).then(|| LiveLock {
            min_retention_days: member.min_retention_days(),
            max_retention_days: member.max_retention_days(),
            lock_date: member.lock_date().map(rfc3339),
            immutable: member.lock_date().is_some_and(|d| d.secs() <= now.secs()),
        });
        let recovery_points = u64::try_from(member.number_of_recovery_points()).unwrap_or(0);
        let recovery_point_keys = if recovery_points > 0 {
            self.recovery_point_keys(&name).await?
        } else {
            Vec::new()
        };
        Ok(Some(LiveVault {
            name,
            arn,
            encryption_key_arn: member.encryption_key_arn().map(str::to_string),
            tags,
            recovery_points,
            recovery_point_keys,
            access_policy,
            lock,
        }))
    }

    /// The vault's access policy; `None` when it has none.
    async fn vault_access_policy(&self, vault_name: &str) -> Result<Option<Value>, AwsError> {
        let request = self.clients.backup.get_backup_vault_access_policy();
        let request = request.backup_vault_name(vault_name).send();
        let absent = ["ResourceNotFoundException"];
        let call = "backup:GetBackupVaultAccessPolicy";
        let found = self.found(call, request, &absent).await?;
        Ok(found.and_then(|out| out.policy().and_then(|p| serde_json::from_str(p).ok())))
    }

    /// The keys that encrypt the recovery points of a vault (a recovery point of an RDS
    /// database keeps the database's key, whatever the vault's key).
    async fn recovery_point_keys(&self, vault_name: &str) -> Result<Vec<String>, AwsError> {
        let request = self.clients.backup.list_recovery_points_by_backup_vault();
        let pages = request
            .backup_vault_name(vault_name)
            .into_paginator()
            .send();
        let call = "backup:ListRecoveryPointsByBackupVault";
        let pages = self.sent(call, pages.try_collect()).await?;
        let keys: BTreeSet<String> = pages
            .iter()
            .flat_map(|page| page.recovery_points())
            .filter_map(|p| p.encryption_key_arn().map(str::to_string))
            .collect();
        Ok(keys.into_iter().collect())
    }

    pub(super) async fn backup_plans(
        &self,
        wanted: &Wanted,
    ) -> Result<Vec<LiveBackupPlan>, Vec<AwsError>> {
        let list = self.clients.backup.list_backup_plans().into_paginator();
        let listed = self
            .sent("backup:ListBackupPlans", list.items().send().try_collect())
            .await
            .map_err(|e| vec![e])?;
        let (mut plans, errors) = each(listed, |member| {
            self.backup_plan(member, &wanted.backup_plans)
        })
        .await;
        plans.sort_by(|a, b| a.name.cmp(&b.name).then(a.plan_id.cmp(&b.plan_id)));
        all_or_errors(plans, errors)
    }

    async fn backup_plan(
        &self,
        member: BackupPlansListMember,
        wanted: &BTreeSet<String>,
    ) -> Result<Option<LiveBackupPlan>, AwsError> {
        let name = member.backup_plan_name().unwrap_or_default().to_string();
        let arn = member.backup_plan_arn().unwrap_or_default().to_string();
        let plan_id = member.backup_plan_id().unwrap_or_default().to_string();
        let Some(tags) = self.owned_or_wanted(&arn, &name, wanted).await? else {
            return Ok(None);
        };
        let request = self.clients.backup.get_backup_plan();
        let request = request.backup_plan_id(&plan_id).send();
        let plan = self.sent("backup:GetBackupPlan", request).await?;
        let rules = plan
            .backup_plan()
            .map(|p| p.rules().iter().map(live_rule).collect())
            .unwrap_or_default();
        let selections = self.selections(&plan_id).await?;
        Ok(Some(LiveBackupPlan {
            plan_id,
            arn,
            name,
            version_id: plan.version_id().unwrap_or_default().to_string(),
            rules,
            tags,
            selections,
        }))
    }

    async fn selections(&self, plan_id: &str) -> Result<Vec<LiveSelection>, AwsError> {
        let request = self.clients.backup.list_backup_selections();
        let items = request
            .backup_plan_id(plan_id)
            .into_paginator()
            .items()
            .send();
        let call = "backup:ListBackupSelections";
        let listed = self.sent(call, items.try_collect()).await?;
        let ids = listed.iter().filter_map(|m| m.selection_id());
        let (mut selections, errors) = each(ids, |id| self.selection(plan_id, id)).await;
        if let Some(first) = errors.into_iter().next() {
            return Err(first);
        }
        selections.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then(a.selection_id.cmp(&b.selection_id))
        });
        Ok(selections)
    }

    async fn selection(
        &self,
        plan_id: &str,
        selection_id: &str,
    ) -> Result<Option<LiveSelection>, AwsError> {
        let request = self.clients.backup.get_backup_selection();
        let request = request.backup_plan_id(plan_id).selection_id(selection_id);
        let out = self
            .sent("backup:GetBackupSelection", request.send())
            .await?;
        Ok(Some(live_selection(selection_id, out.backup_selection())))
    }
}

/// A selection as AWS holds it.
pub(crate) fn live_selection(
    selection_id: &str,
    selection: Option<&BackupSelection>,
) -> LiveSelection {
    let Some(selection) = selection else {
        return LiveSelection {
            selection_id: selection_id.to_string(),
            ..LiveSelection::default()
        };
    };
    LiveSelection {
        selection_id: selection_id.to_string(),
        name: selection.selection_name().to_string(),
        role_arn: selection.iam_role_arn().to_string(),
        resources: selection.resources().to_vec(),
        not_resources: selection.not_resources().to_vec(),
        tags: selection
            .list_of_tags()
            .iter()
            .map(|c| {
                (
                    c.condition_key().to_string(),
                    c.condition_value().to_string(),
                )
            })
            .collect(),
        conditions: selection.conditions().and_then(conditions_json),
    }
}

/// A selection's `Conditions` as JSON, `None` when it has none.
fn conditions_json(conditions: &Conditions) -> Option<Value> {
    let list = |items: &[ConditionParameter]| -> Vec<Value> {
        items
            .iter()
            .map(|c| serde_json::json!({"key": c.condition_key(), "value": c.condition_value()}))
            .collect()
    };
    let all = [
        ("StringEquals", list(conditions.string_equals())),
        ("StringNotEquals", list(conditions.string_not_equals())),
        ("StringLike", list(conditions.string_like())),
        ("StringNotLike", list(conditions.string_not_like())),
    ];
    let present: serde_json::Map<String, Value> = all
        .into_iter()
        .filter(|(_, items)| !items.is_empty())
        .map(|(name, items)| (name.to_string(), Value::Array(items)))
        .collect();
    (!present.is_empty()).then_some(Value::Object(present))
}

fn live_lifecycle(lifecycle: Option<&Lifecycle>) -> LiveLifecycle {
    LiveLifecycle {
        move_to_cold_storage_after_days: lifecycle
            .and_then(|l| l.move_to_cold_storage_after_days()),
        delete_after_days: lifecycle.and_then(|l| l.delete_after_days()),
    }
}

/// A backup plan's rule as AWS holds it.
pub(crate) fn live_rule(rule: &BackupRule) -> LiveRule {
    LiveRule {
        name: rule.rule_name().to_string(),
        target_vault_name: rule.target_backup_vault_name().to_string(),
        schedule: rule.schedule_expression().map(str::to_string),
        schedule_timezone: rule.schedule_expression_timezone().map(str::to_string),
        start_window_minutes: rule.start_window_minutes(),
        completion_window_minutes: rule.completion_window_minutes(),
        lifecycle: live_lifecycle(rule.lifecycle()),
        copy_actions: rule
            .copy_actions()
            .iter()
            .map(|c| LiveCopyAction {
                destination_vault_arn: c.destination_backup_vault_arn().to_string(),
                lifecycle: live_lifecycle(c.lifecycle()),
            })
            .collect(),
        continuous_backup: rule.enable_continuous_backup().unwrap_or(false),
        recovery_point_tags: rule
            .recovery_point_tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    }
}
