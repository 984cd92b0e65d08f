//! Keys and aliases: updates, a key pending deletion, adoption after a crash, and the
//! deletion of a key that left the file.

use coffer_planner::live::{LiveSource, LiveState};
use coffer_planner::{Action, Flag, Operation, Plan, plan, render, simulate};
use serde_json::json;

use super::snapshot;
use crate::common::*;

#[test]
fn rotation_turned_off_is_one_update() {
    let (t, mut live) = seed_converged();
    for key in &mut seed_region(&mut live, SOURCE).keys {
        key.rotation_enabled = false;
    }
    let p = plan(&t, &live);
    assert_eq!(changed(&p), vec!["update key.source-rds"]);
    assert_eq!(
        change(&p, "key.source-rds")
            .fields
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>(),
        vec!["rotation.enabled", "rotation.period_days"]
    );
    assert!(
        matches!(p.steps[..], [ref s] if matches!(s.operation, Operation::EnableKeyRotation { period_days: 365, .. }))
    );
    snapshot("rotation_off_text", render::text(&p, false));
}

#[test]
fn a_pending_deletion_key_is_cancelled_then_enabled() {
    let (t, mut live) = seed_converged();
    seed_region(&mut live, SOURCE).keys[0].key_state = "PendingDeletion".into();
    let p = plan(&t, &live);
    assert_eq!(calls(&p), vec!["CancelKeyDeletion", "EnableKey"]);
}

#[test]
fn a_crash_between_key_and_alias_adopts_the_tagged_key() {
    let t = topology(SEED);
    let mut live = LiveState::default();
    let first = plan(&t, &live);
    let create_key = step(&first, "key.source-rds:create");
    simulate::play_step(create_key, &mut live, &Default::default());
    let p = plan(&t, &live);
    assert!(
        !p.steps.iter().any(|s| s.id == "key.source-rds:create"),
        "the tagged key must be adopted, not created twice"
    );
    assert!(p.steps.iter().any(|s| s.id == "alias.source-rds:create"));
}

#[test]
fn orphaned_principals_are_reported() {
    let (t, mut live) = seed_converged();
    let key = &mut seed_region(&mut live, SOURCE).keys[0];
    let policy = key.policy.as_mut().expect("policy");
    for statement in policy["Statement"].as_array_mut().expect("statements") {
        if statement["Sid"] == "CofferKeyUse" {
            statement["Principal"]["AWS"] = json!(["AROAEXAMPLEDELETED01"]);
        }
    }
    let p = plan(&t, &live);
    let change = change(&p, "key.source-rds");
    assert_reason(change, "AROAEXAMPLEDELETED01");
}

#[test]
fn steps_that_use_a_key_wait_until_it_is_enabled_again() {
    let (t, mut live) = seed_converged();
    let source = seed_region(&mut live, SOURCE);
    source.keys[0].key_state = "PendingDeletion".into();
    source.aliases.clear();
    let p = plan(&t, &live);
    let alias = step(&p, "alias.source-rds:create");
    assert!(
        alias
            .depends_on
            .contains(&"key.source-rds:enable".to_string()),
        "{:?}",
        alias.depends_on
    );
}

#[test]
fn replacing_a_vault_lets_its_old_key_be_deleted_after_it() {
    let (_, live) = seed_converged();
    // The source vault moves to a new key; the old key leaves the file.
    let moved = SEED
        .replace("    name: orders-source\n    key: source-rds\n", "    name: orders-source\n    key: source-vault\n")
        .replace(
            "  backup-vault:\n",
            "  source-vault:\n    account: source\n    alias: alias/coffer/source-vault\n  backup-vault:\n",
        )
        .replace("  source-rds:\n    account: source\n    alias: alias/coffer/source-rds\n", "  unused:\n    account: source\n    alias: alias/coffer/unused\n");
    let t = topology(&moved);
    let p = plan(&t, &live);
    let vault = change(&p, "vault.source");
    assert_eq!(vault.action, Action::Replace);
    assert!(!vault.has(Flag::Blocked), "{:?}", vault.reasons);
    let deletion = change(&p, "key.source-rds");
    assert!(!deletion.has(Flag::Blocked), "{:?}", deletion.reasons);
    let schedule = step(&p, "key.source-rds:schedule-deletion");
    assert!(
        schedule
            .depends_on
            .contains(&"vault.source:delete".to_string()),
        "{:?}",
        schedule.depends_on
    );
}

#[test]
fn a_key_that_encrypts_a_source_or_recovery_points_is_never_deleted() {
    let (t, mut live) = seed_converged();
    let source_key = live
        .region(SOURCE, "eu-west-1")
        .and_then(|r| {
            r.keys
                .iter()
                .find(|k| k.tags.get("coffer:id").map(String::as_str) == Some("key/source-rds"))
        })
        .expect("source key")
        .clone();
    // The file forgets the source key; its vault and plan go too, but the database still uses it.
    let without = topology(
        &SEED
            .replace(
                "  source-rds:\n    account: source\n    alias: alias/coffer/source-rds\n    description: Encrypts the orders database and its backups; usable by the backup account\n    rotation:\n      enabled: true\n      period_days: 365\n    usable_by: [backup]\n",
                "",
            )
            .replace("    key: source-rds\n", ""),
    );
    assert_ne!(t, without);
    seed_region(&mut live, SOURCE).sources = vec![LiveSource {
        arn: "arn:aws:rds:eu-west-1:111222333444:db:orders".into(),
        kind: "rds-instance".into(),
        exists: true,
        encrypted: true,
        kms_key_arn: Some(source_key.arn.clone()),
        ..Default::default()
    }];
    let deletion = |p: &Plan| {
        p.changes
            .iter()
            .find(|c| c.address == "key.source-rds" && c.action == Action::Delete)
            .cloned()
            .expect("key deletion")
    };
    let p = plan(&without, &live);
    let change = deletion(&p);
    assert!(change.has(Flag::Blocked), "{:?}", change.reasons);
    assert_reason(&change, "db:orders");

    // Without the database, a recovery point encrypted with the key still blocks it.
    seed_region(&mut live, SOURCE).sources.clear();
    let central = central(&mut live);
    central.recovery_points = 1;
    central.recovery_point_keys = vec![source_key.arn.clone()];
    let change = deletion(&plan(&without, &live));
    assert!(change.has(Flag::Blocked), "{:?}", change.reasons);
    assert_reason(&change, "recovery points");
}
