//! A model of AWS for the planner's own tests and for executor tests: applies a plan's steps
//! to a [`LiveState`] the way AWS would, without I/O. Applying a plan and planning again must
//! give an empty plan.
//!
//! One module per kind of resource the calls act on; [`play_step`] names every call.

mod backup_plans;
mod keys;
mod vaults;

use std::collections::BTreeMap;

use crate::live::{LiveRegion, LiveState};
use crate::model::{Operation, Outputs, Plan, Ref, Step};

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

/// AWS as it will be once Coffer applied its plan for `topology` to `live`.
pub fn after_plan(topology: &coffer_spec::Topology, live: &LiveState) -> LiveState {
    let planned = crate::plan(topology, live);
    let mut after = live.clone();
    play(&planned, &mut after, false);
    after
}

/// The region a step runs in, and the outputs of the steps before it.
struct Aws<'s> {
    account: &'s str,
    region_name: &'s str,
    region: &'s mut LiveRegion,
    outputs: &'s Outputs,
}

impl Aws<'_> {
    /// A value a step names: known, or produced by an earlier step.
    fn resolve(&self, value: &Ref) -> String {
        value.resolve(self.outputs).unwrap_or_default()
    }

    /// The ARN of a resource of `service` in this account and region.
    fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:{resource}",
            self.region_name, self.account
        )
    }
}

/// What a call returns, by output name.
type Produced = BTreeMap<String, String>;

/// Applies one step; returns its outputs.
pub fn play_step(step: &Step, live: &mut LiveState, outputs: &Outputs) -> Produced {
    let mut aws = Aws {
        account: &step.account,
        region_name: &step.region,
        region: live.region_mut(&step.account, &step.region),
        outputs,
    };
    let aws = &mut aws;
    match &step.operation {
        Operation::CreateKey {
            description,
            policy,
            tags,
        } => return keys::create(aws, description, policy, tags),
        Operation::PutKeyPolicy { key, policy } => {
            keys::update(aws, key, |k| k.policy = Some(policy.clone()))
        }
        Operation::UpdateKeyDescription { key, description } => {
            keys::update(aws, key, |k| k.description = description.clone())
        }
        Operation::EnableKeyRotation { key, period_days } => keys::update(aws, key, |k| {
            k.rotation_enabled = true;
            k.rotation_period_days = Some(*period_days);
        }),
        Operation::DisableKeyRotation { key } => {
            keys::update(aws, key, |k| k.rotation_enabled = false)
        }
        Operation::CancelKeyDeletion { key } => keys::cancel_deletion(aws, key),
        Operation::EnableKey { key } => keys::enable(aws, key),
        Operation::TagKey { key, tags } => keys::update(aws, key, |k| tag(&mut k.tags, tags)),
        Operation::UntagKey { key, tag_keys } => {
            keys::update(aws, key, |k| untag(&mut k.tags, tag_keys))
        }
        Operation::ScheduleKeyDeletion { key, .. } => keys::schedule_deletion(aws, key),
        Operation::CreateAlias { alias_name, key } | Operation::UpdateAlias { alias_name, key } => {
            keys::put_alias(aws, alias_name, key)
        }
        Operation::DeleteAlias { alias_name } => keys::delete_alias(aws, alias_name),
        Operation::CreateBackupVault {
            vault_name,
            encryption_key_arn,
            tags,
            ..
        } => return vaults::create(aws, vault_name, encryption_key_arn.as_ref(), tags),
        Operation::DeleteBackupVault { vault_name } => vaults::delete(aws, vault_name),
        Operation::PutBackupVaultAccessPolicy { vault_name, policy } => {
            vaults::update(aws, vault_name, |v| v.access_policy = Some(policy.clone()))
        }
        Operation::DeleteBackupVaultAccessPolicy { vault_name } => {
            vaults::update(aws, vault_name, |v| v.access_policy = None)
        }
        Operation::PutBackupVaultLockConfiguration {
            vault_name,
            min_retention_days,
            max_retention_days,
            changeable_for_days,
        } => vaults::put_lock(
            aws,
            vault_name,
            *min_retention_days,
            *max_retention_days,
            *changeable_for_days,
        ),
        Operation::CreateBackupPlan { plan, tags, .. } => {
            return backup_plans::create(aws, plan, tags);
        }
        Operation::UpdateBackupPlan { plan_id, plan } => backup_plans::update(aws, plan_id, plan),
        Operation::DeleteBackupPlan { plan_id } => backup_plans::delete(aws, plan_id),
        Operation::CreateBackupSelection {
            plan_id, selection, ..
        } => backup_plans::create_selection(aws, plan_id, selection),
        Operation::DeleteBackupSelection {
            plan_id,
            selection_id,
        } => backup_plans::delete_selection(aws, plan_id, selection_id),
        Operation::TagResource { resource_arn, tags } => {
            backup_tags(aws, resource_arn, |t| tag(t, tags))
        }
        Operation::UntagResource {
            resource_arn,
            tag_keys,
        } => backup_tags(aws, resource_arn, |t| untag(t, tag_keys)),
        Operation::UpdateGlobalSettings {
            cross_account_backup,
        } => aws.region.cross_account_backup = Some(*cross_account_backup),
    }
    Produced::new()
}

fn tag(tags: &mut crate::model::Tags, added: &crate::model::Tags) {
    tags.extend(added.clone());
}

fn untag(tags: &mut crate::model::Tags, keys: &[String]) {
    for key in keys {
        tags.remove(key);
    }
}

/// Changes the tags of the Backup resource (vault or backup plan) `arn` names.
fn backup_tags(aws: &mut Aws<'_>, arn: &Ref, change: impl FnMut(&mut crate::model::Tags)) {
    let arn = aws.resolve(arn);
    let region = &mut *aws.region;
    let vaults = region
        .vaults
        .iter_mut()
        .filter(|v| v.arn == arn)
        .map(|v| &mut v.tags);
    let plans = region
        .backup_plans
        .iter_mut()
        .filter(|p| p.arn == arn)
        .map(|p| &mut p.tags);
    vaults.chain(plans).for_each(change);
}
