//! Steps: adding them to the plan, the tag and untag steps every taggable kind shares, and
//! their order.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

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
    order_steps_counted(steps).0
}

/// [`order_steps`], with the work it did: every dependency looked at and every step taken from
/// or put into the set of ready steps. Linear in the steps and their dependencies (times the
/// logarithm of the ready set): each step waits for a count of its dependencies, and the
/// earliest ready step goes next.
fn order_steps_counted(steps: Vec<Step>) -> (Vec<Step>, usize) {
    let mut work = 0;
    let ids: BTreeSet<String> = steps.iter().map(|s| s.id.clone()).collect();
    let mut waiting = Vec::with_capacity(steps.len());
    // The steps that wait for each ID.
    let mut dependents: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut pending: Vec<Option<Step>> = Vec::with_capacity(steps.len());
    for (i, mut s) in steps.into_iter().enumerate() {
        work += s.depends_on.len();
        s.depends_on.retain(|d| ids.contains(d) && *d != s.id);
        s.depends_on.sort();
        s.depends_on.dedup();
        for d in &s.depends_on {
            dependents.entry(d.clone()).or_default().push(i);
        }
        waiting.push(s.depends_on.len());
        pending.push(Some(s));
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..pending.len())
        .filter(|&i| waiting[i] == 0)
        .map(Reverse)
        .collect();
    work += ready.len();
    let mut ordered = Vec::with_capacity(pending.len());
    while let Some(Reverse(i)) = ready.pop() {
        work += 1;
        let Some(step) = pending[i].take() else {
            continue;
        };
        // A second step with the same ID finds its dependents already released.
        for &j in dependents.remove(&step.id).iter().flatten() {
            work += 1;
            waiting[j] -= 1;
            if waiting[j] == 0 {
                ready.push(Reverse(j));
            }
        }
        ordered.push(step);
    }
    // A cycle cannot come out of the planner; keep the rest in order rather than lose it.
    ordered.extend(pending.into_iter().flatten());
    (ordered, work)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, Operation};

    fn step(id: usize, depends_on: Vec<usize>) -> Step {
        Step {
            id: format!("s{id}"),
            address: Address {
                kind: crate::model::ResourceKind::Selection,
                name: format!("p.s{id}"),
            },
            account: String::new(),
            region: String::new(),
            operation: Operation::DeleteBackupSelection {
                plan_id: crate::model::Ref::Value(String::new()),
                selection_id: String::new(),
            },
            depends_on: depends_on.into_iter().map(|d| format!("s{d}")).collect(),
            needs_allow_delete: false,
            irreversible: false,
        }
    }

    /// `n` steps, each waiting for the next one, and every tenth also for the last one: the
    /// order is the reverse of the list.
    fn chain(n: usize) -> Vec<Step> {
        (0..n)
            .map(|i| {
                let mut deps: Vec<usize> = (i + 1..n).take(1).collect();
                if i % 10 == 0 && i + 1 < n {
                    deps.push(n - 1);
                }
                step(i, deps)
            })
            .collect()
    }

    #[test]
    fn steps_follow_their_dependencies_and_keep_the_free_order() {
        let ordered = order_steps(vec![
            step(0, vec![2]),
            step(1, vec![]),
            step(2, vec![3, 9]),
            step(3, vec![]),
        ]);
        let ids: Vec<&str> = ordered.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["s1", "s3", "s2", "s0"]);
        assert_eq!(ordered[2].depends_on, ["s3"]);
        let cycle = order_steps(vec![step(0, vec![1]), step(1, vec![0]), step(2, vec![])]);
        let ids: Vec<&str> = cycle.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["s2", "s0", "s1"]);
    }

    /// The work grows with the steps, not with their square: eight times the steps may cost
    /// at most ten times the work (a scan of the pending steps for each one costs 64 times).
    #[test]
    fn ordering_work_grows_linearly_with_the_steps() {
        let (small, small_work) = order_steps_counted(chain(1_000));
        let (large, large_work) = order_steps_counted(chain(8_000));
        assert_eq!(small.first().map(|s| s.id.as_str()), Some("s999"));
        assert_eq!(large.last().map(|s| s.id.as_str()), Some("s0"));
        assert!(
            large_work <= 10 * small_work,
            "ordering 1,000 steps took {small_work} units of work, 8,000 took {large_work}"
        );
    }
}
