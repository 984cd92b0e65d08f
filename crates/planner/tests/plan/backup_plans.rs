//! Backup plans and selections: a copy's retention changed by hand, a selection removed from
//! the file, the selections of a backup plan Coffer does not own, and conditions added by
//! hand.

use coffer_planner::{Action, Flag, Operation, plan, render};
use serde_json::json;

use super::snapshot;
use crate::common::*;

#[test]
fn a_copy_retention_change_names_the_field() {
    let (t, mut live) = seed_converged();
    let plan_live = seed_region(&mut live, SOURCE)
        .backup_plans
        .iter_mut()
        .next()
        .expect("plan");
    plan_live.rules[0].copy_actions[0]
        .lifecycle
        .delete_after_days = Some(30);
    let p = plan(&t, &live);
    assert_eq!(changed(&p), vec!["update backup_plan.orders-daily"]);
    let change = change(&p, "backup_plan.orders-daily");
    assert_eq!(change.action, Action::Update);
    assert_eq!(change.fields.len(), 1);
    assert_eq!(
        change.fields[0].path,
        "rules.daily.copy_to[\"arn:aws:backup:eu-west-1:666777888999:backup-vault:central\"].lifecycle.delete_after_days"
    );
    snapshot("copy_retention_text", render::text(&p, false));
}

#[test]
fn owned_resources_removed_from_the_file_are_deletions() {
    let (t, live) = seed_converged();
    let smaller = topology(&SEED.replace(
        "    selections:\n      - name: orders-db\n        role: service-default\n        resources:\n          - arn:aws:rds:eu-west-1:111222333444:db:orders\n",
        "",
    ));
    assert_ne!(t, smaller);
    let p = plan(&smaller, &live);
    assert_eq!(changed(&p), vec!["delete selection.orders-daily.orders-db"]);
    let change = change(&p, "selection.orders-daily.orders-db");
    assert_eq!(change.action, Action::Delete);
    assert!(change.has(Flag::NeedsAllowDelete));
    assert!(p.steps.iter().all(|s| s.needs_allow_delete));
    snapshot("deletion_text", render::text(&p, false));
}

#[test]
fn selections_of_a_plan_coffer_does_not_own_are_never_deleted() {
    let (t, mut live) = seed_converged();
    let plan_live = &mut seed_region(&mut live, SOURCE).backup_plans[0];
    plan_live.tags.clear();
    let mut stray = plan_live.selections[0].clone();
    stray.name = "someone-elses".into();
    stray.selection_id = "sel-9999".into();
    plan_live.selections.push(stray);
    let p = plan(&t, &live);
    assert!(change(&p, "backup_plan.orders-daily").has(Flag::Blocked));
    assert!(
        !p.changes
            .iter()
            .any(|c| c.address.name.contains("someone-elses")),
        "{}",
        render::text(&p, false)
    );
    assert!(
        !p.steps
            .iter()
            .any(|s| matches!(s.operation, Operation::DeleteBackupSelection { .. }))
    );
}

#[test]
fn a_selection_with_conditions_added_by_hand_is_replaced() {
    let (t, mut live) = seed_converged();
    seed_region(&mut live, SOURCE).backup_plans[0].selections[0].conditions =
        Some(json!({"StringEquals": [{"key": "aws:ResourceTag/env", "value": "prod"}]}));
    let p = plan(&t, &live);
    assert_eq!(
        changed(&p),
        vec!["replace selection.orders-daily.orders-db"]
    );
    assert_eq!(
        calls(&p),
        vec!["CreateBackupSelection", "DeleteBackupSelection"]
    );
}
