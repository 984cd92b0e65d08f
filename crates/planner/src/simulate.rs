//! A model of AWS for the planner's own tests and for executor tests: applies a plan's steps
//! to a [`LiveState`] the way AWS would, without I/O. Applying a plan and planning again must
//! give an empty plan.

use std::collections::BTreeMap;

use crate::live::{
    KeyManager, KeyState, LiveAlias, LiveBackupPlan, LiveCopyAction, LiveKey, LiveLifecycle,
    LiveLock, LiveRule, LiveSelection, LiveState, LiveVault,
};
use crate::model::{
    BackupPlanDocument, LifecycleDocument, Operation, Outputs, Plan, Ref, Step, outputs,
};

/// Applies every step of `plan` (deletions only when `allow_delete`) to `live`.
pub fn play(plan: &Plan, live: &mut LiveState, allow_delete: bool) -> Outputs {
    let mut outputs = Outputs::new();
    for step in &plan.steps {
        if step.needs_allow_delete && !allow_delete {
            continue;
        }
        let produced = play_step(step, live, &outputs);
        outputs.insert(step.id.clone(), produced);
    }
    outputs
}

fn lifecycle(document: &LifecycleDocument) -> LiveLifecycle {
    LiveLifecycle {
        move_to_cold_storage_after_days: document.move_to_cold_storage_after_days,
        delete_after_days: document.delete_after_days,
    }
}

fn live_rules(document: &BackupPlanDocument) -> Vec<LiveRule> {
    document
        .rules
        .iter()
        .map(|r| LiveRule {
            name: r.name.clone(),
            target_vault_name: r.target_vault_name.clone(),
            schedule: Some(r.schedule.clone()),
            schedule_timezone: r.schedule_timezone.clone(),
            start_window_minutes: r.start_window_minutes,
            completion_window_minutes: r.completion_window_minutes,
            lifecycle: lifecycle(&r.lifecycle),
            copy_actions: r
                .copy_actions
                .iter()
                .map(|c| LiveCopyAction {
                    destination_vault_arn: c.destination_vault_arn.clone(),
                    lifecycle: lifecycle(&c.lifecycle),
                })
                .collect(),
            continuous_backup: r.continuous_backup,
            recovery_point_tags: r.recovery_point_tags.clone(),
        })
        .collect()
}

/// Changes the key of `region` that `id` (a key ARN or key ID) names.
fn on_key(region: &mut crate::live::LiveRegion, id: &str, change: impl FnMut(&mut LiveKey)) {
    region
        .keys
        .iter_mut()
        .filter(|k| k.arn == id || k.key_id == id)
        .for_each(change);
}

/// Applies one step; returns its outputs.
pub fn play_step(step: &Step, live: &mut LiveState, outputs: &Outputs) -> BTreeMap<String, String> {
    let account = step.account.clone();
    let region_name = step.region.clone();
    let region = live.region_mut(&account, &region_name);
    let resolve = |r: &Ref| r.resolve(outputs).unwrap_or_default();
    let mut produced = BTreeMap::new();
    match &step.operation {
        Operation::CreateKey {
            description,
            policy,
            tags,
        } => {
            let key_id = format!("key-{:04}", region.keys.len() + 1);
            let arn = format!("arn:aws:kms:{region_name}:{account}:key/{key_id}");
            region.keys.push(LiveKey {
                key_id: key_id.clone(),
                arn: arn.clone(),
                description: description.clone(),
                key_state: KeyState::Enabled,
                key_manager: KeyManager::Customer,
                rotation_enabled: false,
                rotation_period_days: None,
                policy: Some(policy.clone()),
                tags: tags.clone(),
                creation_date: None,
            });
            produced.insert(outputs::KEY_ID.to_string(), key_id);
            produced.insert(outputs::ARN.to_string(), arn);
        }
        Operation::PutKeyPolicy { key, policy } => {
            on_key(region, &resolve(key), |k| k.policy = Some(policy.clone()));
        }
        Operation::UpdateKeyDescription { key, description } => {
            on_key(region, &resolve(key), |k| {
                k.description = description.clone()
            });
        }
        Operation::EnableKeyRotation { key, period_days } => {
            on_key(region, &resolve(key), |k| {
                k.rotation_enabled = true;
                k.rotation_period_days = Some(*period_days);
            });
        }
        Operation::DisableKeyRotation { key } => {
            on_key(region, &resolve(key), |k| k.rotation_enabled = false);
        }
        Operation::CancelKeyDeletion { key } => {
            on_key(region, &resolve(key), |k| k.key_state = KeyState::Disabled);
        }
        Operation::EnableKey { key } => {
            on_key(region, &resolve(key), |k| k.key_state = KeyState::Enabled);
        }
        Operation::TagKey { key, tags } => {
            on_key(region, &resolve(key), |k| k.tags.extend(tags.clone()));
        }
        Operation::UntagKey { key, tag_keys } => {
            on_key(region, &resolve(key), |k| {
                tag_keys.iter().for_each(|t| {
                    k.tags.remove(t);
                })
            });
        }
        Operation::ScheduleKeyDeletion { key, .. } => {
            on_key(region, &resolve(key), |k| {
                k.key_state = KeyState::PendingDeletion
            });
        }
        Operation::CreateAlias { alias_name, key } | Operation::UpdateAlias { alias_name, key } => {
            let target = resolve(key);
            region.aliases.retain(|a| a.name != *alias_name);
            region.aliases.push(LiveAlias {
                name: alias_name.clone(),
                target_key_id: Some(target),
            });
        }
        Operation::DeleteAlias { alias_name } => region.aliases.retain(|a| a.name != *alias_name),
        Operation::CreateBackupVault {
            vault_name,
            encryption_key_arn,
            tags,
            ..
        } => {
            let arn = format!("arn:aws:backup:{region_name}:{account}:backup-vault:{vault_name}");
            if !region.vaults.iter().any(|v| v.name == *vault_name) {
                region.vaults.push(LiveVault {
                    name: vault_name.clone(),
                    arn: arn.clone(),
                    encryption_key_arn: encryption_key_arn.as_ref().map(resolve),
                    tags: tags.clone(),
                    ..LiveVault::default()
                });
            }
            produced.insert(outputs::ARN.to_string(), arn);
        }
        Operation::DeleteBackupVault { vault_name } => {
            region.vaults.retain(|v| v.name != *vault_name)
        }
        Operation::PutBackupVaultAccessPolicy { vault_name, policy } => {
            region
                .vaults
                .iter_mut()
                .filter(|v| v.name == *vault_name)
                .for_each(|v| v.access_policy = Some(policy.clone()));
        }
        Operation::DeleteBackupVaultAccessPolicy { vault_name } => {
            region
                .vaults
                .iter_mut()
                .filter(|v| v.name == *vault_name)
                .for_each(|v| v.access_policy = None);
        }
        Operation::PutBackupVaultLockConfiguration {
            vault_name,
            min_retention_days,
            max_retention_days,
            changeable_for_days,
        } => {
            region
                .vaults
                .iter_mut()
                .filter(|v| v.name == *vault_name)
                .for_each(|v| {
                    v.lock = Some(LiveLock {
                        min_retention_days: *min_retention_days,
                        max_retention_days: *max_retention_days,
                        lock_date: changeable_for_days.map(|d| format!("+{d} days")),
                        immutable: false,
                    });
                });
        }
        Operation::CreateBackupPlan { plan, tags, .. } => {
            let plan_id = format!("plan-{:04}", region.backup_plans.len() + 1);
            let arn = format!("arn:aws:backup:{region_name}:{account}:backup-plan:{plan_id}");
            region.backup_plans.push(LiveBackupPlan {
                plan_id: plan_id.clone(),
                arn: arn.clone(),
                name: plan.name.clone(),
                version_id: "v1".into(),
                rules: live_rules(plan),
                tags: tags.clone(),
                selections: Vec::new(),
            });
            produced.insert(outputs::PLAN_ID.to_string(), plan_id);
            produced.insert(outputs::ARN.to_string(), arn);
        }
        Operation::UpdateBackupPlan { plan_id, plan } => {
            let id = resolve(plan_id);
            region
                .backup_plans
                .iter_mut()
                .filter(|p| p.plan_id == id)
                .for_each(|p| {
                    p.name = plan.name.clone();
                    p.rules = live_rules(plan);
                });
        }
        Operation::DeleteBackupPlan { plan_id } => {
            let id = resolve(plan_id);
            region.backup_plans.retain(|p| p.plan_id != id);
        }
        Operation::CreateBackupSelection {
            plan_id, selection, ..
        } => {
            let id = resolve(plan_id);
            if let Some(plan) = region.backup_plans.iter_mut().find(|p| p.plan_id == id) {
                let next = plan
                    .selections
                    .iter()
                    .filter_map(|s| s.selection_id.strip_prefix("sel-")?.parse::<u32>().ok())
                    .max()
                    .unwrap_or(0)
                    + 1;
                let selection_id = format!("sel-{next:04}");
                plan.selections.push(LiveSelection {
                    selection_id,
                    name: selection.name.clone(),
                    role_arn: selection.role_arn.clone(),
                    resources: selection.resources.clone(),
                    not_resources: selection.not_resources.clone(),
                    tags: selection.tags.clone(),
                    conditions: None,
                });
            }
        }
        Operation::DeleteBackupSelection {
            plan_id,
            selection_id,
        } => {
            let id = resolve(plan_id);
            region
                .backup_plans
                .iter_mut()
                .filter(|p| p.plan_id == id)
                .for_each(|p| p.selections.retain(|s| s.selection_id != *selection_id));
        }
        Operation::TagResource { resource_arn, tags } => {
            let arn = resolve(resource_arn);
            region
                .vaults
                .iter_mut()
                .filter(|v| v.arn == arn)
                .for_each(|v| v.tags.extend(tags.clone()));
            region
                .backup_plans
                .iter_mut()
                .filter(|p| p.arn == arn)
                .for_each(|p| p.tags.extend(tags.clone()));
        }
        Operation::UntagResource {
            resource_arn,
            tag_keys,
        } => {
            let arn = resolve(resource_arn);
            for tags in region
                .vaults
                .iter_mut()
                .filter(|v| v.arn == arn)
                .map(|v| &mut v.tags)
                .chain(
                    region
                        .backup_plans
                        .iter_mut()
                        .filter(|p| p.arn == arn)
                        .map(|p| &mut p.tags),
                )
            {
                tag_keys.iter().for_each(|t| {
                    tags.remove(t);
                });
            }
        }
        Operation::UpdateGlobalSettings {
            cross_account_backup,
        } => region.cross_account_backup = Some(*cross_account_backup),
    }
    produced
}

/// AWS as it will be once Coffer applied its plan for `topology` to `live`.
pub fn after_plan(topology: &coffer_spec::Topology, live: &LiveState) -> LiveState {
    let planned = crate::plan(topology, live);
    let mut after = live.clone();
    play(&planned, &mut after, false);
    after
}
