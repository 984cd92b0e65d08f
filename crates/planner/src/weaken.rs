//! Changes that weaken protection: a guard or key guard removed, an exempt principal added, a
//! copy-in allow widened to accounts the file does not name, a lock shortened. Found by asking
//! the policy engine the same questions of the policy before and after the change: any
//! principal that may do something after but not before makes the change a weakening.

use serde::Deserialize;
use serde_json::Value;

use coffer_spec::diag::plural;
use coffer_spec::{AccountName, KeyName, VaultName};

use crate::access::{Accounts, Role};
use crate::checks::VAULT_DESTRUCTIVE_ACTIONS;
use crate::model::{Action, Change, Flag, ResourceKind};
use crate::plan::{ComparedLock, LockMode};
use crate::policy::KEY_GUARD_ACTIONS;

/// Key calls that only accounts the file names should get.
const KEY_USE_PROBES: &[&str] = &["kms:Decrypt", "kms:CreateGrant"];

/// Flags `change` with [`Flag::Weakens`], with a reason per weakening, when it weakens
/// protection.
pub fn flag(accounts: &Accounts<'_>, change: &mut Change) {
    if !matches!(
        change.action,
        Action::Update | Action::Replace | Action::Delete
    ) {
        return;
    }
    let reasons = match change.kind {
        ResourceKind::VaultPolicy => policy_weakenings(accounts, change, true),
        ResourceKind::Key => policy_weakenings(accounts, change, false),
        ResourceKind::VaultLock => lock_weakenings(change),
        // They let no one do more to the copies than before.
        ResourceKind::Alias
        | ResourceKind::Vault
        | ResourceKind::BackupPlan
        | ResourceKind::Selection
        | ResourceKind::CrossAccountBackup => Vec::new(),
    };
    if !reasons.is_empty() {
        change.flags.push(Flag::Weakens);
        change.reasons.extend(reasons);
    }
}

fn policy_of(value: Option<&Value>) -> Option<&Value> {
    value.and_then(|v| v.get("policy")).filter(|p| !p.is_null())
}

fn policy_weakenings(accounts: &Accounts<'_>, change: &Change, vault: bool) -> Vec<String> {
    let topology = accounts.topology;
    let Some(before) = policy_of(change.before.as_ref()) else {
        return Vec::new();
    };
    let after = policy_of(change.after.as_ref());
    if change.action != Action::Delete && after.is_none() && !vault {
        return Vec::new();
    }
    let Some(account) = change
        .account_name
        .as_ref()
        .map(|n| AccountName(n.clone()))
        .filter(|n| topology.accounts.contains_key(n))
    else {
        return Vec::new();
    };
    let owner = change.account.as_str();
    let name = change.address.name.as_str();
    let (resource, break_glass, destructive, foreign): (String, Vec<String>, &[&str], &[&str]) =
        if vault {
            let exempt = (topology.vaults.get(&VaultName(name.to_string())))
                .and_then(|v| v.access_policy.as_ref())
                .map(|p| p.break_glass_principals.clone())
                .unwrap_or_default();
            (
                format!("arn:aws:backup:{}:{owner}:backup-vault:*", change.region),
                exempt,
                VAULT_DESTRUCTIVE_ACTIONS,
                &["backup:CopyIntoBackupVault"],
            )
        } else {
            let exempt = (topology.keys.get(&KeyName(name.to_string())))
                .and_then(|k| topology.key_guard(k))
                .map(|e| e.into_iter().skip(1).collect())
                .unwrap_or_default();
            (
                format!("arn:aws:kms:{}:{owner}:key/*", change.region),
                exempt,
                KEY_GUARD_ACTIONS,
                KEY_USE_PROBES,
            )
        };
    let principals = accounts.principals(&account, &break_glass, &[Some(before), after]);
    principals.filter_map(|principal| {
        let unnamed = matches!(principal.role, Role::OrganizationAccount | Role::Outsider);
        let actions = destructive.iter().chain(foreign.iter().filter(|_| unnamed));
        let gained: Vec<String> = actions
            .filter(|a| {
                !principal.may(Some(before), a, &resource, owner)
                    && principal.may(after, a, &resource, owner)
            })
            .map(|a| format!("`{a}`"))
            .collect();
        (!gained.is_empty()).then(|| {
            format!(
                "weakens protection: {} could then call {}",
                principal.label,
                gained.join(", ")
            )
        })
    })
}

fn lock_weakenings(change: &Change) -> Vec<String> {
    let lock = |value: Option<&Value>| value.and_then(|v| ComparedLock::deserialize(v).ok());
    let Some(before) = lock(change.before.as_ref()) else {
        return Vec::new();
    };
    let Some(after) = lock(change.after.as_ref()) else {
        return vec!["weakens protection: the vault lock would be removed".into()];
    };
    let mut reasons = Vec::new();
    // A lower maximum keeps copies for less long only if the plans ask for less; a lower
    // minimum lets anyone with the plan's permissions keep copies for less long.
    match (before.min_retention_days, after.min_retention_days) {
        (Some(b), Some(a)) if a < b => reasons.push(format!(
            "weakens protection: the lock's shortest retention goes from {} to {}",
            plural(b, "day", "days"),
            plural(a, "day", "days")
        )),
        (Some(b), None) => reasons.push(format!(
            "weakens protection: the lock's shortest retention bound of {} is removed",
            plural(b, "day", "days")
        )),
        _ => {}
    }
    if before.mode == LockMode::Compliance && after.mode == LockMode::Governance {
        reasons.push("weakens protection: the lock goes from compliance to governance mode".into());
    }
    reasons
}
