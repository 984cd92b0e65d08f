//! Plans for the seed topology against live states: snapshots of the rendered plans, and
//! the exact set of changes for each kind of difference.

mod common;

use coffer_planner::live::LiveState;
use coffer_planner::{Action, Flag, Operation, ResourceKind, plan, render};
use common::*;
use serde_json::json;

fn account<'a>(live: &'a mut LiveState, id: &str) -> &'a mut coffer_planner::live::LiveRegion {
    live.region_mut(id, "eu-west-1")
}

const SOURCE: &str = "111222333444";
const BACKUP: &str = "666777888999";
const MANAGEMENT: &str = "100200300400";

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
    insta::assert_snapshot!("create_from_empty_text", render::text(&p, false));
    insta::assert_snapshot!("create_from_empty_markdown", render::markdown(&p));
    insta::assert_snapshot!("create_from_empty_json", render::json(&p));
}

#[test]
fn converged_state_plans_nothing() {
    let (t, live) = seed_converged();
    let p = plan(&t, &live);
    assert_eq!(changed(&p), Vec::<String>::new());
    assert!(p.steps.is_empty());
    insta::assert_snapshot!("no_op_text", render::text(&p, false));
}

#[test]
fn the_plan_is_deterministic() {
    let t = topology(SEED);
    let a = render::json(&plan(&t, &LiveState::default()));
    let b = render::json(&plan(&t, &LiveState::default()));
    assert_eq!(a, b);
}

#[test]
fn rotation_turned_off_is_one_update() {
    let (t, mut live) = seed_converged();
    for key in &mut account(&mut live, SOURCE).keys {
        key.rotation_enabled = false;
    }
    let p = plan(&t, &live);
    assert_eq!(changed(&p), vec!["update key.source-rds"]);
    let change = p
        .changes
        .iter()
        .find(|c| c.address == "key.source-rds")
        .expect("change");
    assert_eq!(
        change
            .fields
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>(),
        vec!["rotation.enabled", "rotation.period_days"]
    );
    assert!(
        matches!(p.steps[..], [ref s] if matches!(s.operation, Operation::EnableKeyRotation { period_days: 365, .. }))
    );
    insta::assert_snapshot!("rotation_off_text", render::text(&p, false));
}

#[test]
fn a_statement_added_to_a_vault_policy_is_one_update_with_a_policy_diff() {
    let (t, mut live) = seed_converged();
    let vault = account(&mut live, BACKUP)
        .vaults
        .iter_mut()
        .find(|v| v.name == "central")
        .expect("central");
    let policy = vault.access_policy.as_mut().expect("policy");
    policy["Statement"].as_array_mut().expect("statements").push(json!({
        "Sid": "Intruder", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
        "Action": "backup:DeleteRecoveryPoint", "Resource": "*"
    }));
    let p = plan(&t, &live);
    assert_eq!(changed(&p), vec!["update vault_policy.central"]);
    insta::assert_snapshot!("vault_policy_statement_added_text", render::text(&p, false));
}

#[test]
fn a_copy_retention_change_names_the_field() {
    let (t, mut live) = seed_converged();
    let plan_live = account(&mut live, SOURCE)
        .backup_plans
        .iter_mut()
        .next()
        .expect("plan");
    plan_live.rules[0].copy_actions[0]
        .lifecycle
        .delete_after_days = Some(30);
    let p = plan(&t, &live);
    assert_eq!(changed(&p), vec!["update backup_plan.orders-daily"]);
    let change = p
        .changes
        .iter()
        .find(|c| c.action == Action::Update)
        .expect("update");
    assert_eq!(change.fields.len(), 1);
    assert_eq!(
        change.fields[0].path,
        "rules.daily.copy_to[\"arn:aws:backup:eu-west-1:666777888999:backup-vault:central\"].lifecycle.delete_after_days"
    );
    insta::assert_snapshot!("copy_retention_text", render::text(&p, false));
}

#[test]
fn cross_account_backup_turned_off_is_one_update() {
    let (t, mut live) = seed_converged();
    account(&mut live, MANAGEMENT).cross_account_backup = Some(false);
    let p = plan(&t, &live);
    assert_eq!(changed(&p), vec!["update cross_account_backup.eu-west-1"]);
    assert!(
        matches!(p.steps[..], [ref s] if s.operation == Operation::UpdateGlobalSettings { cross_account_backup: true })
    );
}

#[test]
fn tags_description_and_lock_updates() {
    let (t, mut live) = seed_converged();
    let backup = account(&mut live, BACKUP);
    backup.keys[0].description = "changed by hand".into();
    backup.keys[0].tags.insert("extra".into(), "x".into());
    let central = backup
        .vaults
        .iter_mut()
        .find(|v| v.name == "central")
        .expect("central");
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
    let calls: Vec<&str> = p.steps.iter().map(|s| s.operation.name()).collect();
    assert_eq!(
        calls,
        vec![
            "UpdateKeyDescription",
            "UntagResource (KMS)",
            "TagResource (Backup)",
            "PutBackupVaultLockConfiguration"
        ]
    );
    insta::assert_snapshot!("tags_description_lock_text", render::text(&p, false));
}

#[test]
fn a_pending_deletion_key_is_cancelled_then_enabled() {
    let (t, mut live) = seed_converged();
    account(&mut live, SOURCE).keys[0].key_state = "PendingDeletion".into();
    let p = plan(&t, &live);
    let calls: Vec<&str> = p.steps.iter().map(|s| s.operation.name()).collect();
    assert_eq!(calls, vec!["CancelKeyDeletion", "EnableKey"]);
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

#[test]
fn a_vault_key_change_is_a_replacement_blocked_by_recovery_points() {
    let (t, mut live) = seed_converged();
    let central = account(&mut live, BACKUP)
        .vaults
        .iter_mut()
        .find(|v| v.name == "central")
        .expect("central");
    central.encryption_key_arn = Some("arn:aws:kms:eu-west-1:666777888999:key/other".into());
    central.recovery_points = 12;
    let p = plan(&t, &live);
    let change = p
        .changes
        .iter()
        .find(|c| c.address == "vault.central")
        .expect("vault");
    assert_eq!(change.action, Action::Replace);
    assert!(change.has(Flag::Blocked));
    assert!(
        change
            .reasons
            .iter()
            .any(|r| r.contains("12 recovery points")),
        "{:?}",
        change.reasons
    );
    assert!(
        !p.steps.iter().any(|s| s.address == "vault.central"),
        "a blocked change has no steps"
    );
    insta::assert_snapshot!("replacement_blocked_text", render::text(&p, false));
}

#[test]
fn an_unowned_name_clash_is_blocked_unless_adopted() {
    // The vault exists exactly as the file wants it, but was made by hand: no ownership tags.
    let (t, mut live) = seed_converged();
    let central = account(&mut live, BACKUP)
        .vaults
        .iter_mut()
        .find(|v| v.name == "central")
        .expect("central");
    central.tags.clear();
    let p = plan(&t, &live);
    let change = p
        .changes
        .iter()
        .find(|c| c.address == "vault.central")
        .expect("vault");
    assert!(change.has(Flag::Blocked));
    assert!(
        change.reasons.iter().any(|r| r.contains("adopt: true")),
        "{:?}",
        change.reasons
    );
    assert!(
        p.steps.iter().all(|s| s.address.name != "central"),
        "nothing touches the unowned vault"
    );
    insta::assert_snapshot!("unowned_clash_text", render::text(&p, false));

    let adopted = topology(&SEED.replace(
        "    name: central\n",
        "    name: central\n    adopt: true\n",
    ));
    let p = plan(&adopted, &live);
    assert_eq!(changed(&p), vec!["update vault.central"]);
    let change = p
        .changes
        .iter()
        .find(|c| c.address == "vault.central")
        .expect("vault");
    assert!(!change.has(Flag::Blocked), "{:?}", change.reasons);
    let calls: Vec<(String, &str)> = p
        .steps
        .iter()
        .map(|s| (s.address.to_string(), s.operation.name()))
        .collect();
    assert_eq!(
        calls,
        vec![("vault.central".to_string(), "TagResource (Backup)")]
    );
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
    let change = p
        .changes
        .iter()
        .find(|c| c.action == Action::Delete)
        .expect("delete");
    assert!(change.has(Flag::NeedsAllowDelete));
    assert!(p.steps.iter().all(|s| s.needs_allow_delete));
    insta::assert_snapshot!("deletion_text", render::text(&p, false));
}

#[test]
fn a_vault_with_recovery_points_is_never_deleted() {
    let (_, mut live) = seed_converged();
    let without_source_vault = topology(
        &SEED
            .replace("  source:\n    account: source\n    name: orders-source\n    key: source-rds\n    access_policy:\n      # Restores can be copied back from the backup account.\n      allow_copy_from: [backup]\n", "")
            .replace("        vault: source\n", "        vault: other\n")
            .replace("vaults:\n", "vaults:\n  other:\n    account: source\n    name: other\n    key: source-rds\n"),
    );
    account(&mut live, SOURCE)
        .vaults
        .iter_mut()
        .find(|v| v.name == "orders-source")
        .expect("vault")
        .recovery_points = 3;
    let p = plan(&without_source_vault, &live);
    let change = p
        .changes
        .iter()
        .find(|c| c.address == "vault.source")
        .expect("deletion");
    assert_eq!(change.action, Action::Delete);
    assert!(change.has(Flag::Blocked), "{:?}", change.reasons);
    assert!(!p.steps.iter().any(|s| s.address == "vault.source"));
}

#[test]
fn a_crash_between_key_and_alias_adopts_the_tagged_key() {
    let t = topology(SEED);
    let mut live = LiveState::default();
    let first = plan(&t, &live);
    let create_key = first
        .steps
        .iter()
        .find(|s| s.id == "key.source-rds:create")
        .expect("create step");
    coffer_planner::simulate::play_step(create_key, &mut live, &Default::default());
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
    let key = &mut account(&mut live, SOURCE).keys[0];
    let policy = key.policy.as_mut().expect("policy");
    for statement in policy["Statement"].as_array_mut().expect("statements") {
        if statement["Sid"] == "CofferKeyUse" {
            statement["Principal"]["AWS"] = json!(["AROAEXAMPLEDELETED01"]);
        }
    }
    let p = plan(&t, &live);
    let change = p
        .changes
        .iter()
        .find(|c| c.address == "key.source-rds")
        .expect("key");
    assert!(
        change
            .reasons
            .iter()
            .any(|r| r.contains("AROAEXAMPLEDELETED01")),
        "{:?}",
        change.reasons
    );
}

#[test]
fn steps_that_use_a_key_wait_until_it_is_enabled_again() {
    let (t, mut live) = seed_converged();
    let source = account(&mut live, SOURCE);
    source.keys[0].key_state = "PendingDeletion".into();
    source.aliases.clear();
    let p = plan(&t, &live);
    let alias = p
        .steps
        .iter()
        .find(|s| s.id == "alias.source-rds:create")
        .expect("alias step");
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
    let vault = p
        .changes
        .iter()
        .find(|c| c.address == "vault.source")
        .expect("vault");
    assert_eq!(vault.action, Action::Replace);
    assert!(!vault.has(Flag::Blocked), "{:?}", vault.reasons);
    let deletion = p
        .changes
        .iter()
        .find(|c| c.address == "key.source-rds")
        .expect("old key");
    assert!(!deletion.has(Flag::Blocked), "{:?}", deletion.reasons);
    let schedule = p
        .steps
        .iter()
        .find(|s| s.id == "key.source-rds:schedule-deletion")
        .expect("deletion step");
    assert!(
        schedule
            .depends_on
            .contains(&"vault.source:delete".to_string()),
        "{:?}",
        schedule.depends_on
    );
}

#[test]
fn selections_of_a_plan_coffer_does_not_own_are_never_deleted() {
    let (t, mut live) = seed_converged();
    let plan_live = &mut account(&mut live, SOURCE).backup_plans[0];
    plan_live.tags.clear();
    let mut stray = plan_live.selections[0].clone();
    stray.name = "someone-elses".into();
    stray.selection_id = "sel-9999".into();
    plan_live.selections.push(stray);
    let p = plan(&t, &live);
    assert!(
        p.changes
            .iter()
            .find(|c| c.address == "backup_plan.orders-daily")
            .is_some_and(|c| c.has(Flag::Blocked))
    );
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
    account(&mut live, SOURCE).backup_plans[0].selections[0].conditions =
        Some(json!({"StringEquals": [{"key": "aws:ResourceTag/env", "value": "prod"}]}));
    let p = plan(&t, &live);
    assert_eq!(
        changed(&p),
        vec!["replace selection.orders-daily.orders-db"]
    );
    let calls: Vec<&str> = p.steps.iter().map(|s| s.operation.name()).collect();
    assert_eq!(
        calls,
        vec!["CreateBackupSelection", "DeleteBackupSelection"]
    );
}

#[test]
fn removing_the_guard_or_adding_an_exempt_principal_weakens_protection() {
    let (_, live) = seed_converged();
    let unguarded = topology(&SEED.replace(
        "deny_recovery_point_deletion: true",
        "deny_recovery_point_deletion: false",
    ));
    let p = plan(&unguarded, &live);
    let weakened: Vec<String> = p
        .changes
        .iter()
        .filter(|c| c.has(Flag::Weakens))
        .map(|c| c.address.to_string())
        .collect();
    assert_eq!(weakened, vec!["key.backup-vault", "vault_policy.central"]);
    assert_eq!(p.summary.weakens, 2);
    let vault_policy = p
        .changes
        .iter()
        .find(|c| c.address == "vault_policy.central")
        .expect("vault policy change");
    assert!(
        vault_policy
            .reasons
            .iter()
            .any(|r| r.contains("any administrator of account backup")
                && r.contains("`backup:DeleteRecoveryPoint`")),
        "{:?}",
        vault_policy.reasons
    );
    assert!(render::text(&p, false).contains("WEAKENS PROTECTION"));
    assert!(render::markdown(&p).contains("**weakens protection**"));

    let more_exempt = topology(&SEED.replace(
        "break_glass_principals: [arn:aws:iam::666777888999:role/BreakGlass]",
        "break_glass_principals: [arn:aws:iam::666777888999:role/BreakGlass, arn:aws:iam::666777888999:role/Operator]",
    ));
    let p = plan(&more_exempt, &live);
    let change = p
        .changes
        .iter()
        .find(|c| c.address == "vault_policy.central")
        .expect("vault policy change");
    assert!(change.has(Flag::Weakens), "{:?}", change.reasons);
    assert!(change.reasons.iter().any(|r| r.contains("role/Operator")));

    // Tightening is not a weakening: adding the guard back to the unguarded state.
    let unguarded_live = common::converge(&unguarded, &live);
    let (seed, _) = seed_converged();
    let p = plan(&seed, &unguarded_live);
    assert!(p.changes.iter().all(|c| !c.has(Flag::Weakens)));
    assert!(p.has_changes());
}

#[test]
fn a_shorter_minimum_retention_weakens_the_lock() {
    let (_, live) = seed_converged();
    let shorter = topology(&SEED.replace("min_retention_days: 7", "min_retention_days: 3"));
    let p = plan(&shorter, &live);
    let lock = p
        .changes
        .iter()
        .find(|c| c.address == "vault_lock.central")
        .expect("lock change");
    assert!(lock.has(Flag::Weakens), "{:?}", lock.reasons);
    let longer = topology(&SEED.replace("min_retention_days: 7", "min_retention_days: 14"));
    let p = plan(&longer, &live);
    assert!(p.changes.iter().all(|c| !c.has(Flag::Weakens)));
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
    account(&mut live, SOURCE).sources = vec![coffer_planner::live::LiveSource {
        arn: "arn:aws:rds:eu-west-1:111222333444:db:orders".into(),
        kind: "rds-instance".into(),
        exists: true,
        encrypted: true,
        kms_key_arn: Some(source_key.arn.clone()),
        ..Default::default()
    }];
    let deletion = |p: &coffer_planner::Plan| {
        p.changes
            .iter()
            .find(|c| c.address == "key.source-rds" && c.action == Action::Delete)
            .cloned()
            .expect("key deletion")
    };
    let p = plan(&without, &live);
    let change = deletion(&p);
    assert!(change.has(Flag::Blocked), "{:?}", change.reasons);
    assert!(change.reasons.iter().any(|r| r.contains("db:orders")));

    // Without the database, a recovery point encrypted with the key still blocks it.
    account(&mut live, SOURCE).sources.clear();
    let central = account(&mut live, BACKUP)
        .vaults
        .iter_mut()
        .find(|v| v.name == "central")
        .expect("central");
    central.recovery_points = 1;
    central.recovery_point_keys = vec![source_key.arn.clone()];
    let change = deletion(&plan(&without, &live));
    assert!(change.has(Flag::Blocked), "{:?}", change.reasons);
    assert!(change.reasons.iter().any(|r| r.contains("recovery points")));
}
