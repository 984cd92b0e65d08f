//! Backup plans and their selections as AWS Backup keeps them.

use super::{Aws, Produced};
use crate::live::{LiveBackupPlan, LiveRule, LiveSelection};
use crate::model::{BackupPlanDocument, Ref, SelectionDocument, Tags, outputs};

/// `CreateBackupPlan`: its ID and ARN.
pub(super) fn create(aws: &mut Aws<'_>, plan: &BackupPlanDocument, tags: &Tags) -> Produced {
    let plan_id = format!("plan-{:04}", aws.region.backup_plans.len() + 1);
    let arn = aws.arn("backup", &format!("backup-plan:{plan_id}"));
    aws.region.backup_plans.push(LiveBackupPlan {
        plan_id: plan_id.clone(),
        arn: arn.clone(),
        name: plan.name.clone(),
        version_id: "v1".into(),
        rules: plan.rules.iter().map(LiveRule::from).collect(),
        tags: tags.clone(),
        selections: Vec::new(),
    });
    Produced::from([
        (outputs::PLAN_ID.to_string(), plan_id),
        (outputs::ARN.to_string(), arn),
    ])
}

/// Changes the backup plan `plan_id` names.
fn on_plan(aws: &mut Aws<'_>, plan_id: &Ref, change: impl FnMut(&mut LiveBackupPlan)) {
    let id = aws.resolve(plan_id);
    aws.region
        .backup_plans
        .iter_mut()
        .filter(|p| p.plan_id == id)
        .for_each(change);
}

pub(super) fn update(aws: &mut Aws<'_>, plan_id: &Ref, plan: &BackupPlanDocument) {
    on_plan(aws, plan_id, |p| {
        p.name = plan.name.clone();
        p.rules = plan.rules.iter().map(LiveRule::from).collect();
    });
}

pub(super) fn delete(aws: &mut Aws<'_>, plan_id: &Ref) {
    let id = aws.resolve(plan_id);
    aws.region.backup_plans.retain(|p| p.plan_id != id);
}

/// `CreateBackupSelection`: the next free selection ID of the backup plan.
pub(super) fn create_selection(aws: &mut Aws<'_>, plan_id: &Ref, selection: &SelectionDocument) {
    let id = aws.resolve(plan_id);
    let Some(plan) = aws.region.backup_plans.iter_mut().find(|p| p.plan_id == id) else {
        return;
    };
    let next = plan
        .selections
        .iter()
        .filter_map(|s| s.selection_id.strip_prefix("sel-")?.parse::<u32>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    plan.selections.push(LiveSelection {
        selection_id: format!("sel-{next:04}"),
        name: selection.name.clone(),
        role_arn: selection.role_arn.clone(),
        resources: selection.resources.clone(),
        not_resources: selection.not_resources.clone(),
        tags: selection.tags.clone(),
        conditions: None,
    });
}

pub(super) fn delete_selection(aws: &mut Aws<'_>, plan_id: &Ref, selection_id: &str) {
    on_plan(aws, plan_id, |p| {
        p.selections.retain(|s| s.selection_id != selection_id)
    });
}
