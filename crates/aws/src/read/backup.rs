//! AWS Backup: the region's vaults (with their access policies and locks) and backup plans
//! (with their rules and selections) that Coffer owns or the file names.
//!
//! Ownership comes from the Tagging API's listing ([`super::tagged`]); only a listed vault or
//! plan the file wants by name that the listing does not name has its tags read
//! (`backup:ListTags`). Vaults are listed (`backup:ListBackupVaults`: the listing carries the
//! lock, key and recovery point count a vault's details need). Backup plans are read from the
//! owned set directly, and `backup:ListBackupPlans` is asked only when a plan the file wants
//! is not among them (a new plan, one to adopt, or one the eventually consistent listing has
//! not caught up with): a wanted plan is never taken as absent without the authoritative list.

use std::collections::{BTreeMap, BTreeSet};

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

use super::tagged::Tagged;
use super::{RegionReader, Wanted, all_or_errors, each, rfc3339};
use crate::error::AwsError;

impl RegionReader {
    /// The tags of a listed resource when Coffer owns it (`owned`, the Tagging API's listing)
    /// or the file wants its `name` (its tags read then); `None` for any other (its details
    /// are not read).
    async fn owned_or_wanted(
        &self,
        arn: &str,
        name: &str,
        wanted: &BTreeSet<String>,
        owned: &BTreeMap<String, Tags>,
    ) -> Result<Option<Tags>, AwsError> {
        if let Some(tags) = owned.get(arn) {
            return Ok(Some(tags.clone()));
        }
        if !wanted.contains(name) {
            return Ok(None);
        }
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

    pub(super) async fn vaults(
        &self,
        wanted: &Wanted,
        owned: &BTreeMap<String, Tags>,
    ) -> Result<Vec<LiveVault>, Vec<AwsError>> {
        if owned.is_empty() && wanted.vaults.is_empty() {
            return Ok(Vec::new());
        }
        let list = self.clients.backup.list_backup_vaults().into_paginator();
        let listed = self
            .sent("backup:ListBackupVaults", list.items().send().try_collect())
            .await
            .map_err(|e| vec![e])?;
        let now = DateTime::from(std::time::SystemTime::now());
        let (mut vaults, errors) = each(listed, |member| {
            self.vault(member, &wanted.vaults, owned, now)
        })
        .await;
        vaults.sort_by(|a, b| a.name.cmp(&b.name));
        all_or_errors(vaults, errors)
    }

    async fn vault(
        &self,
        member: BackupVaultListMember,
        wanted: &BTreeSet<String>,
        owned: &BTreeMap<String, Tags>,
        now: DateTime,
    ) -> Result<Option<LiveVault>, AwsError> {
        let name = member.backup_vault_name().unwrap_or_default().to_string();
        let arn = member.backup_vault_arn().unwrap_or_default().to_string();
        let Some(tags) = self.owned_or_wanted(&arn, &name, wanted, owned).await? else {
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
        owned: &BTreeMap<String, Tags>,
    ) -> Result<Vec<LiveBackupPlan>, Vec<AwsError>> {
        let (mut plans, mut errors) = each(owned, |(arn, tags)| {
            self.backup_plan(Tagged::id(arn), arn, tags.clone())
        })
        .await;
        let found: BTreeSet<&str> = plans.iter().map(|p| p.name.as_str()).collect();
        if errors.is_empty()
            && !wanted
                .backup_plans
                .iter()
                .all(|n| found.contains(n.as_str()))
        {
            // A wanted plan not among the owned ones: only the full list can say it is absent.
            let read: BTreeSet<String> = plans.iter().map(|p| p.plan_id.clone()).collect();
            match self.listed_plans(wanted, owned, &read).await {
                Ok(more) => plans.extend(more),
                Err(e) => errors.extend(e),
            }
        }
        plans.sort_by(|a, b| a.name.cmp(&b.name).then(a.plan_id.cmp(&b.plan_id)));
        all_or_errors(plans, errors)
    }

    /// The listed backup plans (`backup:ListBackupPlans`) not in `read` that Coffer owns or
    /// whose name the file wants.
    async fn listed_plans(
        &self,
        wanted: &Wanted,
        owned: &BTreeMap<String, Tags>,
        read: &BTreeSet<String>,
    ) -> Result<Vec<LiveBackupPlan>, Vec<AwsError>> {
        let list = self.clients.backup.list_backup_plans().into_paginator();
        let listed = self
            .sent("backup:ListBackupPlans", list.items().send().try_collect())
            .await
            .map_err(|e| vec![e])?;
        let unread = listed
            .into_iter()
            .filter(|m| !m.backup_plan_id().is_some_and(|id| read.contains(id)));
        let (plans, errors) = each(unread, |member: BackupPlansListMember| async move {
            let name = member.backup_plan_name().unwrap_or_default();
            let arn = member.backup_plan_arn().unwrap_or_default();
            let plan_id = member.backup_plan_id().unwrap_or_default();
            let found = self.owned_or_wanted(arn, name, &wanted.backup_plans, owned);
            match found.await? {
                Some(tags) => self.backup_plan(plan_id, arn, tags).await,
                None => Ok(None),
            }
        })
        .await;
        all_or_errors(plans, errors)
    }

    /// A backup plan in full (`backup:GetBackupPlan`, its selections); `None` when it is
    /// deleted.
    async fn backup_plan(
        &self,
        plan_id: &str,
        arn: &str,
        tags: Tags,
    ) -> Result<Option<LiveBackupPlan>, AwsError> {
        let request = self.clients.backup.get_backup_plan();
        let request = request.backup_plan_id(plan_id).send();
        let absent = ["ResourceNotFoundException"];
        let Some(plan) = self.found("backup:GetBackupPlan", request, &absent).await? else {
            return Ok(None);
        };
        if plan.deletion_date().is_some() {
            return Ok(None);
        }
        let rules = plan
            .backup_plan()
            .map(|p| p.rules().iter().map(live_rule).collect())
            .unwrap_or_default();
        let selections = self.selections(plan_id).await?;
        Ok(Some(LiveBackupPlan {
            plan_id: plan_id.to_string(),
            arn: plan.backup_plan_arn().unwrap_or(arn).to_string(),
            name: plan
                .backup_plan()
                .map(|p| p.backup_plan_name().to_string())
                .unwrap_or_default(),
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
