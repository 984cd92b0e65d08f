//! Drift of the seed topology: each security-relevant out-of-band change is reported with its
//! resource, field and severity.

mod common;

use coffer_planner::checks::Severity;
use coffer_planner::drift::{self, Status};
use coffer_planner::live::LiveState;
use coffer_planner::plan;
use common::*;
use serde_json::{Value, json};

fn report(live: &LiveState) -> drift::DriftReport {
    let t = topology(SEED);
    drift::report(&plan(&t, live))
}

/// The one drifted resource: (address, status, severity, risk present).
fn only(live: &LiveState) -> (String, Status, Severity, bool) {
    let r = report(live);
    assert_eq!(r.drifted.len(), 1, "{}", drift::text(&r));
    let d = &r.drifted[0];
    (
        d.address.to_string(),
        d.status,
        d.severity,
        d.risk.is_some(),
    )
}

#[test]
fn no_change_is_no_drift() {
    let (_, live) = seed_converged();
    let r = report(&live);
    assert!(!r.has_drift());
    assert_eq!(r.summary.in_sync, 12);
    assert!(drift::text(&r).starts_with("No drift"));
}

#[test]
fn a_key_scheduled_for_deletion_is_a_blocker() {
    let (_, mut live) = seed_converged();
    seed_region(&mut live, SOURCE).keys[0].key_state = "PendingDeletion".into();
    assert_eq!(
        only(&live),
        (
            "key.source-rds".into(),
            Status::Modified,
            Severity::Blocker,
            true
        )
    );
}

#[test]
fn rotation_off_is_an_error() {
    let (_, mut live) = seed_converged();
    seed_region(&mut live, BACKUP).keys[0].rotation_enabled = false;
    let r = report(&live);
    assert_eq!(r.drifted.len(), 1);
    assert_eq!(r.drifted[0].address, "key.backup-vault");
    assert_eq!(r.drifted[0].severity, Severity::Error);
    assert!(
        r.drifted[0]
            .fields
            .iter()
            .any(|f| f.path == "rotation.enabled")
    );
}

#[test]
fn a_removed_vault_lock_is_a_blocker() {
    let (_, mut live) = seed_converged();
    central(&mut live).lock = None;
    assert_eq!(
        only(&live),
        (
            "vault_lock.central".into(),
            Status::Missing,
            Severity::Blocker,
            true
        )
    );
}

/// The converged seed, with `statement` in the central vault's policy instead of the guard.
fn central_allowing(statement: Value) -> LiveState {
    let (_, mut live) = seed_converged();
    central_unguarded(&mut live).push(statement);
    live
}

#[test]
fn a_vault_policy_letting_another_account_delete_is_a_blocker() {
    let live = central_allowing(json!({
        "Sid": "Oops", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111222333444:root"},
        "Action": "backup:DeleteRecoveryPoint", "Resource": "*"
    }));
    assert_eq!(
        only(&live),
        (
            "vault_policy.central".into(),
            Status::Modified,
            Severity::Blocker,
            true
        )
    );
}

#[test]
fn a_harmless_vault_policy_change_is_an_error_not_a_blocker() {
    let live = central_allowing(json!({
        "Sid": "Extra", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::666777888999:root"},
        "Action": "backup:DescribeBackupVault", "Resource": "*"
    }));
    assert_eq!(only(&live).2, Severity::Error);
}

#[test]
fn cross_account_backup_turned_off_is_a_blocker() {
    let (_, mut live) = seed_converged();
    seed_region(&mut live, MANAGEMENT).cross_account_backup = Some(false);
    assert_eq!(
        only(&live),
        (
            "cross_account_backup.eu-west-1".into(),
            Status::Modified,
            Severity::Blocker,
            true
        )
    );
}

#[test]
fn tags_are_low_severity_and_missing_or_extra_or_conflicting_are_classified() {
    let (_, mut live) = seed_converged();
    central(&mut live).tags.insert("team".into(), "x".into());
    assert_eq!(only(&live).2, Severity::Warning);

    let (_, mut live) = seed_converged();
    seed_region(&mut live, SOURCE).backup_plans.clear();
    let r = report(&live);
    assert!(
        r.drifted
            .iter()
            .any(|d| d.address == "backup_plan.orders-daily" && d.status == Status::Missing)
    );

    let (_, mut live) = seed_converged();
    central(&mut live).tags.clear();
    let r = report(&live);
    assert!(
        r.drifted
            .iter()
            .any(|d| d.address == "vault.central" && d.status == Status::Conflicting),
        "{}",
        drift::text(&r)
    );

    let (_, mut live) = seed_converged();
    let mut stray = seed_region(&mut live, SOURCE).vaults[0].clone();
    stray.name = "old-vault".into();
    stray.arn = "arn:aws:backup:eu-west-1:111222333444:backup-vault:old-vault".into();
    stray.tags.insert("coffer:id".into(), "vault/old".into());
    seed_region(&mut live, SOURCE).vaults.push(stray);
    let r = report(&live);
    assert!(
        r.drifted
            .iter()
            .any(|d| d.address == "vault.old" && d.status == Status::Extra),
        "{}",
        drift::text(&r)
    );
    assert!(drift::markdown(&r).contains("| `vault.old` | extra |"));
}

#[test]
fn a_lock_the_file_does_not_declare_is_a_warning_not_a_removal() {
    let t = topology(&SEED.replace(
        "    lock:\n      # Governance mode (no changeable_for_days): removable by authorised users.\n      min_retention_days: 7\n      max_retention_days: 400\n",
        "",
    ));
    let live = converge(&topology(SEED), &LiveState::default());
    let r = drift::report(&plan(&t, &live));
    let lock = r
        .drifted
        .iter()
        .find(|d| d.address == "vault_lock.central")
        .expect("the undeclared lock");
    assert_eq!(
        (lock.status, lock.severity),
        (Status::Extra, Severity::Warning)
    );
    assert!(
        lock.risk
            .as_deref()
            .is_some_and(|r| r.contains("does not declare"))
    );
}
