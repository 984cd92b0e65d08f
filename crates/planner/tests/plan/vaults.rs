//! Vaults, their policies and locks: a policy statement added by hand, a key change that
//! needs a replacement, a name taken by a vault Coffer does not own, deletions refused, and
//! changes that weaken protection.

use coffer_planner::{Action, Flag, plan, render};
use serde_json::json;

use super::snapshot;
use crate::common::*;

#[test]
fn a_statement_added_to_a_vault_policy_is_one_update_with_a_policy_diff() {
    let (t, mut live) = seed_converged();
    let policy = central(&mut live).access_policy.as_mut().expect("policy");
    policy["Statement"].as_array_mut().expect("statements").push(json!({
        "Sid": "Intruder", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
        "Action": "backup:DeleteRecoveryPoint", "Resource": "*"
    }));
    let p = plan(&t, &live);
    assert_eq!(changed(&p), vec!["update vault_policy.central"]);
    snapshot("vault_policy_statement_added_text", render::text(&p, false));
}

#[test]
fn a_vault_key_change_is_a_replacement_blocked_by_recovery_points() {
    let (t, mut live) = seed_converged();
    let central = central(&mut live);
    central.encryption_key_arn = Some("arn:aws:kms:eu-west-1:666777888999:key/other".into());
    central.recovery_points = 12;
    let p = plan(&t, &live);
    let change = change(&p, "vault.central");
    assert_eq!(change.action, Action::Replace);
    assert!(change.has(Flag::Blocked));
    assert_reason(change, "12 recovery points");
    assert!(
        !p.steps.iter().any(|s| s.address == "vault.central"),
        "a blocked change has no steps"
    );
    snapshot("replacement_blocked_text", render::text(&p, false));
}

#[test]
fn an_unowned_name_clash_is_blocked_unless_adopted() {
    // The vault exists exactly as the file wants it, but was made by hand: no ownership tags.
    let (t, mut live) = seed_converged();
    central(&mut live).tags.clear();
    let p = plan(&t, &live);
    let vault = change(&p, "vault.central");
    assert!(vault.has(Flag::Blocked));
    assert_reason(vault, "adopt: true");
    assert!(
        p.steps.iter().all(|s| s.address.name != "central"),
        "nothing touches the unowned vault"
    );
    snapshot("unowned_clash_text", render::text(&p, false));

    let adopted = topology(&SEED.replace(
        "    name: central\n",
        "    name: central\n    adopt: true\n",
    ));
    let p = plan(&adopted, &live);
    assert_eq!(changed(&p), vec!["update vault.central"]);
    let vault = change(&p, "vault.central");
    assert!(!vault.has(Flag::Blocked), "{:?}", vault.reasons);
    let steps: Vec<(String, &str)> = p
        .steps
        .iter()
        .map(|s| (s.address.to_string(), s.operation.name()))
        .collect();
    assert_eq!(
        steps,
        vec![("vault.central".to_string(), "TagResource (Backup)")]
    );
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
    seed_region(&mut live, SOURCE)
        .vaults
        .iter_mut()
        .find(|v| v.name == "orders-source")
        .expect("vault")
        .recovery_points = 3;
    let p = plan(&without_source_vault, &live);
    let change = change(&p, "vault.source");
    assert_eq!(change.action, Action::Delete);
    assert!(change.has(Flag::Blocked), "{:?}", change.reasons);
    assert!(!p.steps.iter().any(|s| s.address == "vault.source"));
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
    let vault_policy = change(&p, "vault_policy.central");
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
    let vault_policy = change(&p, "vault_policy.central");
    assert!(
        vault_policy.has(Flag::Weakens),
        "{:?}",
        vault_policy.reasons
    );
    assert_reason(vault_policy, "role/Operator");

    // Tightening is not a weakening: adding the guard back to the unguarded state.
    let unguarded_live = converge(&unguarded, &live);
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
    let lock = change(&p, "vault_lock.central");
    assert!(lock.has(Flag::Weakens), "{:?}", lock.reasons);
    let longer = topology(&SEED.replace("min_retention_days: 7", "min_retention_days: 14"));
    let p = plan(&longer, &live);
    assert!(p.changes.iter().all(|c| !c.has(Flag::Weakens)));
}
