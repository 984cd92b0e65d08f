//! Backup plans and their selections. A backup plan is found by its name; it is created, or
//! updated (its rules as one document) and tagged. Its selections cannot change in place: a
//! changed one is created anew, then the old one deleted. A backup plan that left the file is
//! deleted after its selections.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use coffer_spec::diag::plural;
use coffer_spec::{BackupPlan, Rule, Selection};

use super::digest::{creator_request_id, sha256_hex};
use super::ownership::{Claim, logical_id, owned_name};
use super::{LiveAt, Planner};
use crate::live::{LiveBackupPlan, LiveSelection};
use crate::model::*;

/// A backup plan as Coffer compares it (a change's `before` and `after`).
#[derive(Serialize)]
struct ComparedPlan<'a> {
    name: &'a str,
    rules: BTreeMap<&'a str, ComparedRule<'a>>,
    tags: &'a Tags,
}

/// A rule as Coffer compares it. Fields the file leaves to AWS's defaults are left out on
/// both sides; `Some(None)`: the file sets the field, AWS has none.
#[derive(Serialize)]
struct ComparedRule<'a> {
    vault: &'a str,
    schedule: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule_timezone: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_window_minutes: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completion_window_minutes: Option<Option<i64>>,
    lifecycle: &'a LifecycleDocument,
    /// By destination vault ARN.
    copy_to: BTreeMap<&'a str, ComparedCopy<'a>>,
    continuous_backup: bool,
    recovery_point_tags: &'a Tags,
}

#[derive(Serialize)]
struct ComparedCopy<'a> {
    lifecycle: &'a LifecycleDocument,
}

/// A selection as Coffer compares it: its lists sorted; the conditions a live one has (Coffer
/// writes none).
#[derive(Serialize)]
struct ComparedSelection<'a> {
    role: &'a str,
    resources: Vec<&'a String>,
    not_resources: Vec<&'a String>,
    tags: &'a Tags,
    #[serde(skip_serializing_if = "Option::is_none")]
    conditions: Option<&'a Value>,
}

impl<'a> ComparedRule<'a> {
    /// `rule` as compared with the file's rule of the same name, `desired` (`None`: the file
    /// has none, so only the fields the rule sets are compared).
    fn new(rule: &'a RuleDocument, desired: Option<&RuleDocument>) -> Self {
        ComparedRule {
            vault: &rule.target_vault_name,
            schedule: &rule.schedule,
            schedule_timezone: compared_field(
                desired.map(|d| d.schedule_timezone.is_some()),
                rule.schedule_timezone.as_deref(),
            ),
            start_window_minutes: compared_field(
                desired.map(|d| d.start_window_minutes.is_some()),
                rule.start_window_minutes,
            ),
            completion_window_minutes: compared_field(
                desired.map(|d| d.completion_window_minutes.is_some()),
                rule.completion_window_minutes,
            ),
            lifecycle: &rule.lifecycle,
            copy_to: rule
                .copy_actions
                .iter()
                .map(|c| {
                    let copy = ComparedCopy {
                        lifecycle: &c.lifecycle,
                    };
                    (c.destination_vault_arn.as_str(), copy)
                })
                .collect(),
            continuous_backup: rule.continuous_backup,
            recovery_point_tags: &rule.recovery_point_tags,
        }
    }
}

/// A field the file may leave to AWS's default: compared when the file's rule sets it
/// (`set`), or, without a rule in the file, when `value` is set.
fn compared_field<T>(set: Option<bool>, value: Option<T>) -> Option<Option<T>> {
    set.unwrap_or(value.is_some()).then_some(value)
}

/// `rules` as compared with the file's `desired` ones, by name.
fn compared_rules<'r>(
    rules: &'r [RuleDocument],
    desired: &[RuleDocument],
) -> BTreeMap<&'r str, ComparedRule<'r>> {
    rules
        .iter()
        .map(|r| {
            let wanted = desired.iter().rev().find(|d| d.name == r.name);
            (r.name.as_str(), ComparedRule::new(r, wanted))
        })
        .collect()
}

impl<'a> ComparedSelection<'a> {
    fn compared(
        role: &'a str,
        resources: &'a [String],
        not_resources: &'a [String],
        tags: &'a Tags,
        conditions: Option<&'a Value>,
    ) -> Value {
        let sorted = |list: &'a [String]| {
            let mut list: Vec<&String> = list.iter().collect();
            list.sort();
            list
        };
        json!(ComparedSelection {
            role,
            resources: sorted(resources),
            not_resources: sorted(not_resources),
            tags,
            conditions,
        })
    }

    fn desired(selection: &'a Selection) -> Value {
        Self::compared(
            &selection.role_arn,
            &selection.resources,
            &selection.not_resources,
            &selection.tags,
            None,
        )
    }

    fn live(selection: &'a LiveSelection) -> Value {
        Self::compared(
            &selection.role_arn,
            &selection.resources,
            &selection.not_resources,
            &selection.tags,
            selection.conditions.as_ref(),
        )
    }
}

impl<'a> Planner<'a> {
    /// A rule as `CreateBackupPlan` takes it: vaults by name and copy destinations by ARN.
    fn rule_document(&self, rule: &Rule) -> RuleDocument {
        let vaults = &self.topology.vaults;
        RuleDocument {
            name: rule.name.clone(),
            target_vault_name: vaults
                .get(&rule.vault)
                .map_or_else(String::new, |v| v.vault_name.clone()),
            schedule: rule.schedule.clone(),
            schedule_timezone: rule.schedule_timezone.clone(),
            start_window_minutes: rule.start_window_minutes,
            completion_window_minutes: rule.completion_window_minutes,
            lifecycle: LifecycleDocument::from(&rule.lifecycle),
            copy_actions: rule
                .copy_to
                .iter()
                .filter_map(|c| {
                    Some(CopyActionDocument {
                        destination_vault_arn: self.topology.vault_arn(vaults.get(&c.vault)?),
                        lifecycle: LifecycleDocument::from(&c.lifecycle),
                    })
                })
                .collect(),
            continuous_backup: rule.continuous_backup,
            recovery_point_tags: rule.recovery_point_tags.clone(),
        }
    }

    pub(super) fn backup_plan(&mut self, plan: &BackupPlan) {
        let account_id = self.account_id(&plan.account);
        let logical_id = logical_id(ResourceKind::BackupPlan, plan.name.as_str());
        let address = ResourceKind::BackupPlan.at(plan.name.to_string());
        let live = self
            .live
            .region(&account_id, &plan.region)
            .and_then(|r| r.backup_plans.iter().find(|p| p.name == plan.plan_name))
            .cloned();
        let document = BackupPlanDocument {
            name: plan.plan_name.clone(),
            rules: plan.rules.iter().map(|r| self.rule_document(r)).collect(),
        };
        let desired_tags = self.desired_tags(&plan.tags, &logical_id);
        let after = json!(ComparedPlan {
            name: &document.name,
            rules: compared_rules(&document.rules, &document.rules),
            tags: &desired_tags,
        });
        let before = live.as_ref().map(|lp| {
            let live_rules: Vec<RuleDocument> = lp.rules.iter().map(RuleDocument::from).collect();
            json!(ComparedPlan {
                name: &lp.name,
                rules: compared_rules(&live_rules, &document.rules),
                tags: &lp.tags,
            })
        });
        let mut change = self.change(
            address.clone(),
            &plan.account,
            &plan.region,
            before,
            Some(after),
        );
        change.aws_name = Some(plan.plan_name.clone());
        change.arn = live.as_ref().map(|lp| lp.arn.clone());
        if let Some(lp) = &live {
            self.claim(
                &mut change,
                &Claim {
                    what: "backup plan",
                    setting: "backup_plans",
                    logical: plan.name.as_str(),
                    logical_id: &logical_id,
                    name: &lp.name,
                    arn: &lp.arn,
                    tags: &lp.tags,
                    adopt: plan.adopt,
                    account_id: &account_id,
                    region: &plan.region,
                    rename: "set another `name`",
                },
            );
        }
        let depends_on = self.wait_for_vaults(plan, &mut change);

        let mut plan_steps: Vec<String> = Vec::new();
        let blocked = change.has(Flag::Blocked);
        let plan_id = match &live {
            Some(lp) => Ref::Value(lp.plan_id.clone()),
            None => Ref::output(&format!("{address}:create"), outputs::PLAN_ID),
        };
        if !blocked {
            match &live {
                None => {
                    let step_id = format!("{address}:create");
                    let crid = creator_request_id(&self.topology.name, &step_id, &json!(document));
                    plan_steps.push(self.add_step(
                        step_id,
                        &change,
                        Operation::CreateBackupPlan {
                            plan: document,
                            tags: desired_tags,
                            creator_request_id: crid,
                        },
                        depends_on,
                    ));
                }
                Some(lp) => {
                    if change.field_changed("rules") || change.field_changed("name") {
                        plan_steps.push(self.add_step(
                            format!("{address}:update"),
                            &change,
                            Operation::UpdateBackupPlan {
                                plan_id: plan_id.clone(),
                                plan: document,
                            },
                            depends_on.clone(),
                        ));
                    }
                    self.backup_tag_steps(&change, &lp.arn, &lp.tags, &desired_tags, depends_on);
                }
            }
        }
        self.changes.push(change);
        let kept = live.as_ref().filter(|_| !blocked);
        self.selections(plan, live.as_ref(), kept, &plan_id, &plan_steps, blocked);
    }

    /// The steps a backup plan waits for (the organization's setting, and its vaults'), and
    /// blocks its change while one of its vaults is blocked.
    fn wait_for_vaults(&self, plan: &BackupPlan, change: &mut Change) -> Vec<String> {
        let mut depends_on: Vec<String> = self.global_setting_steps.clone();
        for rule in &plan.rules {
            for vault in std::iter::once(&rule.vault).chain(rule.copy_to.iter().map(|c| &c.vault)) {
                if let Some(handle) = self.vaults.get(vault) {
                    depends_on.extend(handle.steps.iter().cloned());
                    Self::wait_for_blocked(
                        change,
                        handle.blocked,
                        &ResourceKind::Vault.at(vault.to_string()),
                    );
                }
            }
        }
        depends_on.sort();
        depends_on.dedup();
        depends_on
    }

    /// The file's selections of `plan`, and the deletion of those the live backup plan has
    /// that the file no longer names, when Coffer owns (or adopts) it: `kept`.
    fn selections(
        &mut self,
        plan: &BackupPlan,
        live: Option<&LiveBackupPlan>,
        kept: Option<&LiveBackupPlan>,
        plan_id: &Ref,
        plan_steps: &[String],
        plan_blocked: bool,
    ) {
        let live_selections: &[LiveSelection] = live.map_or(&[], |lp| &lp.selections);
        for selection in &plan.selections {
            let same_name: Vec<&LiveSelection> = live_selections
                .iter()
                .filter(|s| s.name == selection.name)
                .collect();
            self.selection(
                plan,
                selection,
                &same_name,
                plan_id,
                plan_steps,
                plan_blocked,
            );
        }
        let desired_names: BTreeSet<&str> =
            plan.selections.iter().map(|s| s.name.as_str()).collect();
        if let Some(lp) = kept {
            for stray in live_selections
                .iter()
                .filter(|s| !desired_names.contains(s.name.as_str()))
            {
                let at = (plan.account.clone(), plan.region.clone());
                let (change, _) = self.delete_selection(&at, plan.name.as_str(), lp, stray);
                self.changes.push(change);
            }
        }
    }

    fn selection(
        &mut self,
        plan: &BackupPlan,
        selection: &Selection,
        same_name: &[&LiveSelection],
        plan_id: &Ref,
        plan_steps: &[String],
        plan_blocked: bool,
    ) {
        let address = ResourceKind::Selection.at(format!("{}.{}", plan.name, selection.name));
        let after = ComparedSelection::desired(selection);
        let matching = same_name
            .iter()
            .find(|s| ComparedSelection::live(s) == after);
        let others: Vec<&&LiveSelection> =
            same_name.iter().filter(|s| Some(*s) != matching).collect();
        let before = matching
            .or_else(|| others.first().copied())
            .map(|s| ComparedSelection::live(s));
        let mut change = self.change(
            address.clone(),
            &plan.account,
            &plan.region,
            before,
            Some(after.clone()),
        );
        change.aws_name = Some(selection.name.clone());
        if matching.is_some() && !others.is_empty() {
            change.action = Action::Replace;
            change.reasons.push(format!(
                "{} named `{}` from an interrupted apply {} deleted",
                plural(others.len(), "stray selection", "stray selections"),
                selection.name,
                if others.len() == 1 { "is" } else { "are" }
            ));
        } else if change.action == Action::Update {
            change.action = Action::Replace;
            change.reasons.push("backup selections cannot change in place: Coffer creates the new selection, then deletes the old one".into());
        }
        Self::wait_for_blocked(
            &mut change,
            plan_blocked,
            &ResourceKind::BackupPlan.at(plan.name.to_string()),
        );
        if !change.has(Flag::Blocked) && change.action != Action::NoOp {
            let mut after_create: Vec<String> = Vec::new();
            if matching.is_none() {
                let content_hash = sha256_hex(after.to_string().as_bytes());
                let step_id = format!("{address}:create.{}", &content_hash[..12]);
                let crid = creator_request_id(&self.topology.name, &step_id, &after);
                let document = SelectionDocument {
                    name: selection.name.clone(),
                    role_arn: selection.role_arn.clone(),
                    resources: selection.resources.clone(),
                    not_resources: selection.not_resources.clone(),
                    tags: selection.tags.clone(),
                };
                after_create.push(self.add_step(
                    step_id,
                    &change,
                    Operation::CreateBackupSelection {
                        plan_id: plan_id.clone(),
                        selection: document,
                        creator_request_id: crid,
                    },
                    plan_steps.to_vec(),
                ));
            }
            for old in others {
                self.delete_selection_step(&change, plan_id, old, after_create.clone());
            }
        }
        self.changes.push(change);
    }

    /// The deletion of a selection the file no longer names, and its step.
    fn delete_selection(
        &mut self,
        (account, region): &(coffer_spec::AccountName, String),
        plan_name: &str,
        plan: &LiveBackupPlan,
        selection: &LiveSelection,
    ) -> (Change, String) {
        let address = ResourceKind::Selection.at(format!("{plan_name}.{}", selection.name));
        let mut change = self.change(
            address,
            account,
            region,
            Some(ComparedSelection::live(selection)),
            None,
        );
        change.aws_name = Some(selection.name.clone());
        change.flags.push(Flag::NeedsAllowDelete);
        change
            .reasons
            .push("owned by this topology but no longer in the file".into());
        let plan_id = Ref::Value(plan.plan_id.clone());
        let step = self.delete_selection_step(&change, &plan_id, selection, vec![]);
        (change, step)
    }

    fn delete_selection_step(
        &mut self,
        change: &Change,
        plan_id: &Ref,
        selection: &LiveSelection,
        depends_on: Vec<String>,
    ) -> String {
        self.add_step(
            format!("{}:delete.{}", change.address, selection.selection_id),
            change,
            Operation::DeleteBackupSelection {
                plan_id: plan_id.clone(),
                selection_id: selection.selection_id.clone(),
            },
            depends_on,
        )
    }

    /// Backup plans this topology owns that left the file: deleted after their selections
    /// (which have no change of their own: they go with their backup plan).
    pub(super) fn departed_backup_plans(&mut self, regions: &[LiveAt<'a>]) {
        for at in regions {
            for plan in self.left_the_file(&at.state.backup_plans) {
                let name = owned_name(&plan.tags, ResourceKind::BackupPlan, &plan.name);
                let selection_steps: Vec<String> = plan
                    .selections
                    .iter()
                    .map(|selection| {
                        let at = (at.account.clone(), at.region.clone());
                        self.delete_selection(&at, &name, plan, selection).1
                    })
                    .collect();
                let address = ResourceKind::BackupPlan.at(name.to_string());
                let reason = match plan.selections.len() {
                    0 => "owned by this topology but no longer in the file".to_string(),
                    n => format!(
                        "owned by this topology but no longer in the file; its {} deleted first",
                        plural(n, "selection is", "selections are")
                    ),
                };
                let change = self.deletion(
                    address.clone(),
                    at,
                    (&plan.name, &plan.arn),
                    Self::departed_state(&plan.name, &plan.tags),
                    &reason,
                );
                let step = self.add_step(
                    format!("{address}:delete"),
                    &change,
                    Operation::DeleteBackupPlan {
                        plan_id: Ref::Value(plan.plan_id.clone()),
                    },
                    selection_steps,
                );
                self.deleted_plans
                    .entry((at.account_id.clone(), at.region.clone()))
                    .or_default()
                    .push(step);
                self.changes.push(change);
            }
        }
    }
}
