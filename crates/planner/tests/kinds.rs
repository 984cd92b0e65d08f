//! Every kind of resource is planned, deleted once it leaves the file (or goes the way its
//! kind documents), and reported by drift. Each test walks `ResourceKind::ALL` and says per
//! kind, with a `match` without a wildcard, what it expects: a new kind does not compile here
//! until it is given its expectations, and fails here until the planner handles it.

mod common;

use coffer_planner::drift::{self, Status};
use coffer_planner::{Action, Change, Flag, LiveState, Operation, Plan, ResourceKind, plan};
use common::*;

/// The seed file with every resource removed: its organization and accounts stay.
fn emptied_text() -> &'static str {
    let end = SEED.find("\nkeys:\n").expect("the seed declares keys");
    &SEED[..=end]
}

fn emptied() -> coffer_spec::Topology {
    topology(emptied_text())
}

fn changes_of(plan: &Plan, kind: ResourceKind) -> Vec<&Change> {
    plan.changes.iter().filter(|c| c.kind == kind).collect()
}

/// The API calls of the steps of the changes of `kind`.
fn calls_of(plan: &Plan, kind: ResourceKind) -> Vec<&'static str> {
    plan.steps
        .iter()
        .filter(|s| s.address.kind == kind)
        .map(|s| s.operation.name())
        .collect()
}

#[test]
fn every_kind_is_planned_from_nothing() {
    let p = plan(&topology(SEED), &LiveState::default());
    for kind in ResourceKind::ALL {
        let (action, call) = match kind {
            ResourceKind::Key => (Action::Create, "CreateKey"),
            ResourceKind::Alias => (Action::Create, "CreateAlias"),
            ResourceKind::Vault => (Action::Create, "CreateBackupVault"),
            ResourceKind::VaultPolicy => (Action::Create, "PutBackupVaultAccessPolicy"),
            ResourceKind::VaultLock => (Action::Create, "PutBackupVaultLockConfiguration"),
            ResourceKind::BackupPlan => (Action::Create, "CreateBackupPlan"),
            ResourceKind::Selection => (Action::Create, "CreateBackupSelection"),
            // A setting AWS always has: off until Coffer turns it on.
            ResourceKind::CrossAccountBackup => (Action::Update, "UpdateGlobalSettings"),
        };
        let changes = changes_of(&p, kind);
        assert!(!changes.is_empty(), "no change of kind {kind}");
        for change in changes {
            assert_eq!(change.action, action, "{}", change.address);
        }
        assert!(
            calls_of(&p, kind).contains(&call),
            "{kind}: {:?}",
            calls_of(&p, kind)
        );
    }
}

#[test]
fn every_kind_that_leaves_the_file_is_deleted_or_goes_as_documented() {
    let (seed, live) = seed_converged();
    let created = plan(&seed, &LiveState::default());
    let p = plan(&emptied(), &live);
    // The ID of the step at an address of `kind` that makes `call`; it runs only with
    // `--allow-delete`.
    let step_of = |kind: ResourceKind, call: &str| -> String {
        let found = p
            .steps
            .iter()
            .find(|s| s.address.kind == kind && s.operation.name() == call)
            .unwrap_or_else(|| panic!("no {call} step of a {kind}"));
        assert!(found.needs_allow_delete, "{}", found.id);
        found.id.clone()
    };
    let waits_for = |kind: ResourceKind, call: &str, first: &str| {
        let id = step_of(kind, call);
        let waiting = step(&p, &id);
        assert!(
            waiting.depends_on.iter().any(|d| d == first),
            "{id} does not wait for {first}"
        );
    };
    // A deletion of its own per resource, run only with `--allow-delete`.
    let own_deletion = |kind: ResourceKind, call: &str| {
        let changes = changes_of(&p, kind);
        assert_eq!(changes.len(), changes_of(&created, kind).len(), "{kind}");
        for change in changes {
            assert_eq!(change.action, Action::Delete, "{}", change.address);
            assert!(change.has(Flag::NeedsAllowDelete), "{}", change.address);
        }
        step_of(kind, call);
    };
    for kind in ResourceKind::ALL {
        let changes = changes_of(&p, kind);
        match kind {
            ResourceKind::Key => own_deletion(kind, "ScheduleKeyDeletion"),
            ResourceKind::Vault => own_deletion(kind, "DeleteBackupVault"),
            ResourceKind::BackupPlan => own_deletion(kind, "DeleteBackupPlan"),
            // Deleted with the key it points to: a step of the key's deletion, before it.
            ResourceKind::Alias => {
                assert!(changes.is_empty(), "{kind}: {changes:?}");
                let alias = step_of(ResourceKind::Key, "DeleteAlias");
                waits_for(ResourceKind::Key, "ScheduleKeyDeletion", &alias);
            }
            // Deleted with its backup plan, before it: a step of its own, without a change.
            ResourceKind::Selection => {
                assert!(changes.is_empty(), "{kind}: {changes:?}");
                let selection = step_of(kind, "DeleteBackupSelection");
                waits_for(ResourceKind::BackupPlan, "DeleteBackupPlan", &selection);
            }
            // Goes with its vault.
            ResourceKind::VaultPolicy => {
                assert!(changes.is_empty(), "{kind}: {changes:?}");
                assert!(calls_of(&p, kind).is_empty());
            }
            // Never removed: the locked vault's deletion is blocked instead.
            ResourceKind::VaultLock => {
                assert!(changes.is_empty(), "{kind}: {changes:?}");
                let central = p
                    .changes
                    .iter()
                    .find(|c| c.address == "vault.central")
                    .expect("the locked vault's deletion");
                assert!(central.has(Flag::Blocked), "{:?}", central.reasons);
                assert_reason(central, "Coffer never deletes a locked vault");
            }
            // A setting of the organization: never deleted. The file still manages it here;
            // once it no longer does, Coffer leaves it as it is.
            ResourceKind::CrossAccountBackup => {
                assert!(!changes.is_empty());
                assert!(changes.iter().all(|c| c.action == Action::NoOp));
                let file = emptied_text().replace(
                    "cross_account_backup: enabled",
                    "cross_account_backup: unmanaged",
                );
                let p = plan(&topology(&file), &live);
                assert!(changes_of(&p, kind).is_empty());
                assert!(
                    !p.steps
                        .iter()
                        .any(|s| matches!(s.operation, Operation::UpdateGlobalSettings { .. }))
                );
            }
        }
    }
}

#[test]
fn drift_reports_every_kind_missing_from_aws() {
    let report = drift::report(&plan(&topology(SEED), &LiveState::default()));
    for kind in ResourceKind::ALL {
        let status = match kind {
            ResourceKind::Key
            | ResourceKind::Alias
            | ResourceKind::Vault
            | ResourceKind::VaultPolicy
            | ResourceKind::VaultLock
            | ResourceKind::BackupPlan
            | ResourceKind::Selection => Status::Missing,
            // A setting AWS always has: read as off, it differs from the file.
            ResourceKind::CrossAccountBackup => Status::Modified,
        };
        let drifted: Vec<Status> = report
            .drifted
            .iter()
            .filter(|d| d.kind == kind)
            .map(|d| d.status)
            .collect();
        assert!(!drifted.is_empty(), "drift does not report {kind}");
        assert!(drifted.iter().all(|s| *s == status), "{kind}: {drifted:?}");
    }
}
