//! Steps: adding them to the plan, the tag and untag steps every taggable kind shares, and
//! their order.

use std::collections::BTreeSet;

use super::Planner;
use crate::model::{Change, Flag, Operation, Step, Tags};

impl Planner<'_> {
    /// Adds a step of `change`; returns its ID.
    pub(super) fn add_step(
        &mut self,
        id: String,
        change: &Change,
        operation: Operation,
        depends_on: Vec<String>,
    ) -> String {
        self.steps.push(Step {
            id: id.clone(),
            address: change.address.clone(),
            account: change.account.clone(),
            region: change.region.clone(),
            operation,
            depends_on,
            needs_allow_delete: change.has(Flag::NeedsAllowDelete),
            irreversible: change.has(Flag::Irreversible),
        });
        id
    }

    /// Steps that make `live` tags equal `desired` (tags under `aws:` are AWS's own).
    pub(super) fn tag_steps(
        &mut self,
        change: &Change,
        live: &Tags,
        desired: &Tags,
        depends_on: Vec<String>,
        tag: impl FnOnce(Tags) -> Operation,
        untag: impl FnOnce(Vec<String>) -> Operation,
    ) {
        let to_set: Tags = desired
            .iter()
            .filter(|(k, v)| live.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let to_remove: Vec<String> = live
            .keys()
            .filter(|k| !desired.contains_key(*k) && !k.starts_with("aws:"))
            .cloned()
            .collect();
        if !to_set.is_empty() {
            self.add_step(
                format!("{}:tag", change.address),
                change,
                tag(to_set),
                depends_on.clone(),
            );
        }
        if !to_remove.is_empty() {
            self.add_step(
                format!("{}:untag", change.address),
                change,
                untag(to_remove),
                depends_on,
            );
        }
    }

    /// The tag and untag steps of a Backup resource (a vault or a backup plan), by its ARN.
    pub(super) fn backup_tag_steps(
        &mut self,
        change: &Change,
        arn: &str,
        live: &Tags,
        desired: &Tags,
        depends_on: Vec<String>,
    ) {
        let arn = crate::model::Ref::Value(arn.to_string());
        let arn2 = arn.clone();
        self.tag_steps(
            change,
            live,
            desired,
            depends_on,
            |tags| Operation::TagResource {
                resource_arn: arn,
                tags,
            },
            |tag_keys| Operation::UntagResource {
                resource_arn: arn2,
                tag_keys,
            },
        );
    }
}

/// Orders steps so each comes after its dependencies, keeping the original order where it is
/// free (a stable topological sort). Dependencies on steps that are not in the plan (because
/// nothing needs doing there) are dropped.
pub(super) fn order_steps(steps: Vec<Step>) -> Vec<Step> {
    let ids: BTreeSet<String> = steps.iter().map(|s| s.id.clone()).collect();
    let mut pending: Vec<Step> = steps
        .into_iter()
        .map(|mut s| {
            s.depends_on.retain(|d| ids.contains(d) && *d != s.id);
            s.depends_on.sort();
            s.depends_on.dedup();
            s
        })
        .collect();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut ordered = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|s| s.depends_on.iter().all(|d| done.contains(d)));
        match ready {
            Some(idx) => {
                let step = pending.remove(idx);
                done.insert(step.id.clone());
                ordered.push(step);
            }
            None => {
                // A cycle cannot come out of the planner; keep the rest in order rather than lose it.
                ordered.append(&mut pending);
            }
        }
    }
    ordered
}
