//! Plans for the seed topology against live states: snapshots of the rendered plans, and
//! the exact set of changes for each kind of difference. One module per kind of resource, as
//! in the planner; here what concerns several kinds.

mod common;

#[path = "plan/backup_plans.rs"]
mod backup_plans;
#[path = "plan/cross_account.rs"]
mod cross_account;
#[path = "plan/keys.rs"]
mod keys;
#[path = "plan/vaults.rs"]
mod vaults;

use coffer_planner::live::LiveState;
use coffer_planner::{Action, ResourceKind, plan, render};
use common::*;
use serde_json::json;

/// Asserts the snapshot `name` (`snapshots/plan__<name>.snap`, whichever module asks).
fn snapshot(name: &str, text: String) {
    insta::assert_snapshot!(name, text);
}

#[test]
fn create_from_empty() {
    let t = topology(SEED);
    let p = plan(&t, &LiveState::default());
    // Every resource is created; the organization's switch is a setting, off until turned on.
    for change in &p.changes {
        let expected = if change.address.kind == ResourceKind::CrossAccountBackup {
            Action::Update
        } else {
            Action::Create
        };
        assert_eq!(change.action, expected, "{}", change.address);
    }
    snapshot("create_from_empty_text", render::text(&p, false));
    snapshot("create_from_empty_markdown", render::markdown(&p));
    snapshot("create_from_empty_json", render::json(&p));
}

#[test]
fn converged_state_plans_nothing() {
    let (t, live) = seed_converged();
    let p = plan(&t, &live);
    assert_eq!(changed(&p), Vec::<String>::new());
    assert!(p.steps.is_empty());
    snapshot("no_op_text", render::text(&p, false));
}

#[test]
fn the_plan_is_deterministic() {
    let t = topology(SEED);
    let a = render::json(&plan(&t, &LiveState::default()));
    let b = render::json(&plan(&t, &LiveState::default()));
    assert_eq!(a, b);
}

#[test]
fn tags_description_and_lock_updates() {
    let (t, mut live) = seed_converged();
    let backup = seed_region(&mut live, BACKUP);
    backup.keys[0].description = "changed by hand".into();
    backup.keys[0].tags.insert("extra".into(), "x".into());
    let central = central(&mut live);
    central.tags.insert("team".into(), "someone-else".into());
    central.lock.as_mut().expect("lock").max_retention_days = Some(500);
    let p = plan(&t, &live);
    assert_eq!(
        changed(&p),
        vec![
            "update key.backup-vault",
            "update vault.central",
            "update vault_lock.central"
        ]
    );
    assert_eq!(
        calls(&p),
        vec![
            "UpdateKeyDescription",
            "UntagResource (KMS)",
            "TagResource (Backup)",
            "PutBackupVaultLockConfiguration"
        ]
    );
    snapshot("tags_description_lock_text", render::text(&p, false));
}

#[test]
fn policies_equal_by_meaning_are_no_change() {
    let (t, mut live) = seed_converged();
    for region in live
        .accounts
        .values_mut()
        .flat_map(|a| a.regions.values_mut())
    {
        for key in &mut region.keys {
            let policy = key.policy.as_mut().expect("policy");
            let statements = policy["Statement"].as_array_mut().expect("statements");
            statements.reverse();
            for statement in statements.iter_mut() {
                // account root ARN → bare account ID, list → single value
                if let Some(aws) = statement["Principal"]["AWS"].as_array().cloned()
                    && aws.len() == 1
                {
                    let only = aws[0]
                        .as_str()
                        .expect("string")
                        .replace("arn:aws:iam::", "")
                        .replace(":root", "");
                    statement["Principal"]["AWS"] = json!(only);
                }
            }
        }
        for vault in &mut region.vaults {
            if let Some(policy) = vault.access_policy.as_mut() {
                policy["Statement"]
                    .as_array_mut()
                    .expect("statements")
                    .reverse();
                policy["Id"] = json!("written-by-console");
            }
        }
    }
    assert_eq!(changed(&plan(&t, &live)), Vec::<String>::new());
}
