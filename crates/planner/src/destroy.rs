//! Destroy paths: for every vault that receives copies and every key that encrypts one, who can
//! destroy what, according to the policies and locks as they will be after the plan (or as
//! the file writes them).
//!
//! A recovery point in a locked vault cannot be deleted or shortened until its retention ends,
//! so deleting one takes both the call and, for a lock that can still be removed, removing the
//! lock first: a principal counts only when the policies let it do both. Replacing the vault
//! policy is reported on its own row; the report does not chain it (whoever may replace the
//! policy may grant themselves anything; that is why only Coffer's role and break-glass may).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use coffer_spec::{Key, Topology, Vault};

use crate::access::{self, Principal, Role};
use crate::live::{LiveLock, LiveState};
use crate::model::{Address, ResourceKind};
use crate::policy;

/// Version of the destroy-path JSON.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DestroyReport {
    pub format_version: u32,
    pub vaults: Vec<VaultPaths>,
}

/// The destroy paths of one vault that receives copies, and of its key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VaultPaths {
    /// `vault.<name>`.
    pub address: Address,
    /// The vault's name in AWS.
    pub name: String,
    pub arn: String,
    pub account: String,
    pub account_name: String,
    /// `accept_destroy_paths: true` in the file.
    pub accepted: bool,
    pub paths: Vec<DestroyPath>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DestroyPath {
    /// `vault.<name>` or `key.<name>`.
    pub resource: String,
    /// What the principals could do, in words.
    pub action: String,
    /// The calls, e.g. `backup:DeleteRecoveryPoint`.
    pub calls: Vec<String>,
    /// Who can, in words; empty: nobody.
    pub who: Vec<String>,
    /// What the answer rests on, e.g. "compliance lock, immutable since 2027-03-01".
    pub note: Option<String>,
    /// Someone the rule does not allow can do it: anyone but break-glass for a copy itself;
    /// anyone but break-glass and Coffer's role for the protection around it.
    pub violation: bool,
}

impl DestroyReport {
    /// Whether any vault that does not accept its destroy paths has a violation.
    pub fn fails(&self) -> bool {
        self.vaults
            .iter()
            .any(|v| !v.accepted && v.paths.iter().any(|p| p.violation))
    }
}

/// The lock as the report sees it.
enum LockView {
    None,
    /// Can be removed now (governance, or compliance before its lock date).
    Removable {
        mode: String,
    },
    /// Compliance lock past its lock date.
    Immutable {
        since: Option<String>,
    },
}

/// The lock as AWS has it (`live`: `Some` when the vault was read, holding its lock or none),
/// else as the file declares it.
fn lock_view(
    topology_lock: Option<&coffer_spec::Lock>,
    live: Option<Option<&LiveLock>>,
) -> LockView {
    let live = match live {
        Some(None) => return LockView::None,
        Some(Some(lock)) => Some(lock),
        None => None,
    };
    match (live, topology_lock) {
        (Some(lock), _) if lock.immutable => LockView::Immutable {
            since: lock.lock_date.clone(),
        },
        (Some(lock), _) => LockView::Removable {
            mode: match &lock.lock_date {
                Some(date) => format!("compliance lock, removable until {date}"),
                None => "governance lock".into(),
            },
        },
        (None, Some(lock)) => LockView::Removable {
            mode: match lock.changeable_for_days {
                Some(days) => {
                    format!("compliance lock, removable for {days} days after it is set")
                }
                None => "governance lock".into(),
            },
        },
        (None, None) => LockView::None,
    }
}

/// The destroy paths of every vault that receives copies. `state` is AWS as it will be after
/// the plan (or as it is); `None` uses the policies and locks the file generates.
pub fn report(topology: &Topology, state: Option<&LiveState>) -> DestroyReport {
    let accounts = access::Accounts::new(topology);
    let mut destinations: Vec<&Vault> = topology.copy_edges().map(|e| e.destination).collect();
    destinations.sort_by(|a, b| a.name.cmp(&b.name));
    destinations.dedup_by(|a, b| a.name == b.name);
    DestroyReport {
        format_version: FORMAT_VERSION,
        vaults: destinations
            .into_iter()
            .map(|v| vault_paths(&accounts, state, v))
            .collect(),
    }
}

fn live_vault<'s>(
    state: Option<&'s LiveState>,
    topology: &Topology,
    vault: &Vault,
) -> Option<&'s crate::live::LiveVault> {
    state?
        .region(topology.account_id(&vault.account), &vault.region)?
        .vaults
        .iter()
        .find(|v| v.name == vault.vault_name)
}

fn live_key_policy(state: Option<&LiveState>, topology: &Topology, key: &Key) -> Option<Value> {
    let region = state?.region(topology.account_id(&key.account), &key.region)?;
    let target = region
        .aliases
        .iter()
        .find(|a| a.name == key.alias)?
        .target_key_id
        .clone()?;
    region
        .keys
        .iter()
        .find(|k| k.key_id == target || k.arn == target)?
        .policy
        .clone()
}

/// The policies of a vault as they will be, to ask who may call what on it.
struct VaultAccess<'v> {
    principals: access::Principals<'v>,
    document: Option<Value>,
    arn: &'v str,
    owner: &'v str,
}

impl VaultAccess<'_> {
    fn may(&self, principal: &Principal, call: &str) -> bool {
        principal.may(self.document.as_ref(), call, self.arn, self.owner)
    }

    /// The principals that may make one of `calls`.
    fn who(&self, calls: &[&str]) -> Vec<Principal> {
        (self.principals).filter(|p| calls.iter().any(|c| self.may(p, c)))
    }
}

/// Anyone but break-glass and Coffer's role may not change what protects the copies.
fn changes_protection(principal: &Principal) -> bool {
    !matches!(principal.role, Role::BreakGlass | Role::Coffer)
}

fn vault_paths(
    accounts: &access::Accounts<'_>,
    state: Option<&LiveState>,
    vault: &Vault,
) -> VaultPaths {
    let topology = accounts.topology;
    let owner = topology.account_id(&vault.account).to_string();
    let arn = topology.vault_arn(vault);
    let live = live_vault(state, topology, vault);
    let generated = vault
        .access_policy
        .as_ref()
        .and_then(|p| policy::vault_policy(p, topology.coffer_role(&vault.account)));
    let document = match (state, live) {
        (Some(_), Some(live)) => live.access_policy.clone(),
        _ => generated,
    };
    let break_glass = vault
        .access_policy
        .as_ref()
        .map(|p| p.break_glass_principals.clone())
        .unwrap_or_default();
    let access = VaultAccess {
        principals: accounts.principals(&vault.account, &break_glass, &[document.as_ref()]),
        document,
        arn: &arn,
        owner: &owner,
    };
    let lock = lock_view(vault.lock.as_ref(), live.map(|l| l.lock.as_ref()));
    let resource = ResourceKind::Vault.at(vault.name.to_string());

    let mut paths = recovery_point_paths(&access, &lock, &resource);
    let delete = ["backup:DeleteBackupVault"];
    paths.push(path(
        &resource,
        "delete the vault (AWS refuses while it holds recovery points)",
        &delete,
        &access.who(&delete),
        None,
        |_| false,
    ));
    let policy_calls = [
        "backup:PutBackupVaultAccessPolicy",
        "backup:DeleteBackupVaultAccessPolicy",
    ];
    paths.push(path(
        &resource,
        "replace or delete the vault policy",
        &policy_calls,
        &access.who(&policy_calls),
        None,
        changes_protection,
    ));
    paths.push(lock_path(&access, &lock, &resource));

    if let Some(key) = vault.key.as_ref().and_then(|k| topology.keys.get(k)) {
        key_paths(accounts, state, key, &mut paths);
    }
    VaultPaths {
        address: resource,
        name: vault.vault_name.clone(),
        arn,
        account: owner,
        account_name: vault.account.to_string(),
        accepted: vault.accept_destroy_paths,
        paths,
    }
}

/// Who can delete a recovery point or shorten its retention: with a lock that can still be
/// removed, only who may also remove it; with an immutable one, nobody.
fn recovery_point_paths(
    access: &VaultAccess<'_>,
    lock: &LockView,
    resource: &Address,
) -> Vec<DestroyPath> {
    let mut paths = Vec::new();
    for (action, call) in [
        ("delete a recovery point", "backup:DeleteRecoveryPoint"),
        (
            "shorten a recovery point's retention",
            "backup:UpdateRecoveryPointLifecycle",
        ),
    ] {
        let (who, note): (Vec<Principal>, Option<String>) = match lock {
            LockView::None => (access.who(&[call]), None),
            LockView::Removable { mode } => (
                access.principals.filter(|p| {
                    access.may(p, call)
                        && access.may(p, "backup:DeleteBackupVaultLockConfiguration")
                }),
                Some(format!(
                    "{mode}: only after removing the lock (`backup:DeleteBackupVaultLockConfiguration`), or once each copy's retention ends"
                )),
            ),
            LockView::Immutable { since } => (
                Vec::new(),
                Some(format!(
                    "nobody until each copy's retention ends (compliance lock, immutable since {})",
                    since.as_deref().unwrap_or("its lock date")
                )),
            ),
        };
        paths.push(path(resource, action, &[call], &who, note, |p| {
            p.role != Role::BreakGlass
        }));
    }
    paths
}

/// Who can remove or change the lock: nobody once it is immutable.
fn lock_path(access: &VaultAccess<'_>, lock: &LockView, resource: &Address) -> DestroyPath {
    let lock_calls = [
        "backup:PutBackupVaultLockConfiguration",
        "backup:DeleteBackupVaultLockConfiguration",
    ];
    let (who, note) = match lock {
        LockView::Immutable { since } => (
            Vec::new(),
            Some(format!(
                "compliance lock, immutable since {}",
                since.as_deref().unwrap_or("its lock date")
            )),
        ),
        LockView::None => (
            access.who(&lock_calls),
            Some("no lock: adding one is the only change".into()),
        ),
        LockView::Removable { mode } => (access.who(&lock_calls), Some(mode.clone())),
    };
    path(
        resource,
        "remove or change the lock",
        &lock_calls,
        &who,
        note,
        changes_protection,
    )
}

fn key_paths(
    accounts: &access::Accounts<'_>,
    state: Option<&LiveState>,
    key: &Key,
    paths: &mut Vec<DestroyPath>,
) {
    let topology = accounts.topology;
    let owner = topology.account_id(&key.account).to_string();
    let document = match state {
        Some(_) => live_key_policy(state, topology, key),
        None => None,
    }
    .unwrap_or_else(|| policy::key_policy(topology, key));
    let break_glass: Vec<String> = topology
        .key_guard(key)
        .map(|exempt| exempt.into_iter().skip(1).collect())
        .unwrap_or_default();
    let principals = accounts.principals(&key.account, &break_glass, &[Some(&document)]);
    let resource = format!("arn:aws:kms:{}:{owner}:key/*", key.region);
    let address = ResourceKind::Key.at(key.name.to_string());
    for (action, call) in [
        (
            "disable the key (every copy unreadable until it is enabled again)",
            "kms:DisableKey",
        ),
        (
            "schedule the key's deletion (every copy lost after the waiting period)",
            "kms:ScheduleKeyDeletion",
        ),
        ("replace the key policy", "kms:PutKeyPolicy"),
    ] {
        let who = principals.filter(|p| p.may(Some(&document), call, &resource, &owner));
        paths.push(path(
            &address,
            action,
            &[call],
            &who,
            None,
            changes_protection,
        ));
    }
}

fn path(
    resource: &Address,
    action: &str,
    calls: &[&str],
    who: &[Principal],
    note: Option<String>,
    forbidden: impl Fn(&Principal) -> bool,
) -> DestroyPath {
    DestroyPath {
        resource: resource.to_string(),
        action: action.to_string(),
        calls: calls.iter().map(|c| c.to_string()).collect(),
        who: who.iter().map(|p| p.label.clone()).collect(),
        note,
        violation: who.iter().any(forbidden),
    }
}

fn who_text(path: &DestroyPath) -> String {
    let who = if path.who.is_empty() {
        "nobody".to_string()
    } else if path.who.iter().all(|w| w.starts_with("break-glass ")) {
        let names: Vec<&str> = path
            .who
            .iter()
            .map(|w| w.trim_start_matches("break-glass "))
            .collect();
        format!("break-glass only ({})", names.join(", "))
    } else {
        path.who.join("; ")
    };
    match &path.note {
        Some(note) => format!("{who} [{note}]"),
        None => who,
    }
}

/// The report as text, one table per vault.
pub fn text(report: &DestroyReport) -> String {
    let mut out = String::new();
    if report.vaults.is_empty() {
        out.push_str("No vault receives copies: no destroy paths to report.\n");
        return out;
    }
    for vault in &report.vaults {
        let _ = writeln!(
            out,
            "{} ({}, account {} {})",
            vault.address, vault.name, vault.account_name, vault.account
        );
        for path in &vault.paths {
            let mark = if path.violation { "!!" } else { "  " };
            let _ = writeln!(
                out,
                "  {mark} {:<10} {}: {}",
                path.resource,
                path.action,
                who_text(path)
            );
        }
        if vault.accepted && vault.paths.iter().any(|p| p.violation) {
            let _ = writeln!(
                out,
                "  (accept_destroy_paths: true: the paths marked !! do not fail the check)"
            );
        }
        out.push('\n');
    }
    let violations = report
        .vaults
        .iter()
        .flat_map(|v| &v.paths)
        .filter(|p| p.violation)
        .count();
    if violations == 0 {
        out.push_str("Only break-glass principals can destroy a copy; only Coffer's role and break-glass can change what protects them.\n");
    } else {
        let _ = writeln!(
            out,
            "{violations} destroy path{} marked !!: principals other than break-glass can destroy copies, or other than Coffer's role and break-glass can change what protects them. Set `deny_recovery_point_deletion: true` (and a lock) on the vault, or `accept_destroy_paths: true` to accept them.",
            if violations == 1 { "" } else { "s" }
        );
    }
    out
}

/// The report as Markdown (a section of the plan comment).
pub fn markdown(report: &DestroyReport) -> String {
    let mut out = String::from("#### Who can destroy the copies\n\n");
    if report.vaults.is_empty() {
        out.push_str("No vault receives copies.\n");
        return out;
    }
    for vault in &report.vaults {
        let _ = writeln!(
            out,
            "**`{}`** (`{}`, account {} `{}`)\n",
            vault.address, vault.arn, vault.account_name, vault.account
        );
        out.push_str("| resource | action | who can |\n|---|---|---|\n");
        for path in &vault.paths {
            let flag = if path.violation { " ⚠️" } else { "" };
            let _ = writeln!(
                out,
                "| `{}` | {}{flag} | {} |",
                path.resource,
                path.action,
                who_text(path).replace('|', "\\|")
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_removed_in_aws_no_longer_protects() {
        let declared = coffer_spec::Lock {
            min_retention_days: Some(7),
            ..Default::default()
        };
        assert!(matches!(
            lock_view(Some(&declared), Some(None)),
            LockView::None
        ));
        assert!(matches!(
            lock_view(Some(&declared), None),
            LockView::Removable { .. }
        ));
        let immutable = LiveLock {
            lock_date: Some("2027-03-01T00:00:00Z".into()),
            immutable: true,
            ..Default::default()
        };
        assert!(matches!(
            lock_view(None, Some(Some(&immutable))),
            LockView::Immutable { .. }
        ));
    }

    #[test]
    fn who_text_says_nobody_and_break_glass_only() {
        let mut path = DestroyPath {
            resource: "vault.v".into(),
            action: "delete".into(),
            calls: vec![],
            who: vec![],
            note: None,
            violation: false,
        };
        assert_eq!(who_text(&path), "nobody");
        path.who = vec!["break-glass arn:aws:iam::1:role/B".into()];
        assert_eq!(who_text(&path), "break-glass only (arn:aws:iam::1:role/B)");
    }
}
