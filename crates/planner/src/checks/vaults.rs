//! Vaults, vault policies and vault locks: who the policy lets in or lets destroy, the key
//! that encrypts the vault, and whether what goes into a locked vault fits its lock.

use serde_json::Value;

use coffer_policy::{statements, string_list};
use coffer_spec::Vault;
use coffer_spec::checks as id;

use super::Context;
use super::keys::live_key;
use super::subject::SubjectKind;
use super::target::Target;
use crate::live::{LiveLock, LiveVault};
use crate::model::ResourceKind;
use crate::{access, policy};

/// The calls on a vault that destroy its recovery points or lift its protection.
pub const VAULT_DESTRUCTIVE_ACTIONS: &[&str] = &[
    "backup:DeleteRecoveryPoint",
    "backup:UpdateRecoveryPointLifecycle",
    "backup:DeleteBackupVault",
    "backup:PutBackupVaultAccessPolicy",
    "backup:DeleteBackupVaultAccessPolicy",
    "backup:PutBackupVaultLockConfiguration",
    "backup:DeleteBackupVaultLockConfiguration",
];

/// How a retention fits a vault lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockFit {
    /// Within the lock's bounds.
    Fits,
    /// Outside the lock's bounds: AWS Backup fails the job.
    Outside,
    /// Within the bounds, but kept forever in a compliance-locked vault: once the lock's
    /// grace time passes, these recovery points can never be deleted.
    ForeverInCompliance,
}

/// How recovery points kept `delete_after_days` days (`None` or negative: forever) fit `lock`:
/// the rule AWS Backup applies to every backup and copy job into a locked vault.
pub fn lock_fit(lock: &LiveLock, delete_after_days: Option<i64>) -> LockFit {
    if !lock.admits(delete_after_days) {
        LockFit::Outside
    } else if lock.lock_date.is_some() && delete_after_days.is_none_or(|d| d < 0) {
        LockFit::ForeverInCompliance
    } else {
        LockFit::Fits
    }
}

impl Context<'_> {
    /// Without live state: the vault policies Coffer will write.
    pub(super) fn generated_vault_policies(&mut self) {
        let topology = self.topology;
        for vault in topology.vaults.values() {
            if let Some(access) = &vault.access_policy {
                let role = topology
                    .account(&vault.account)
                    .map(|a| a.role_arn.clone())
                    .unwrap_or_default();
                if let Some(document) = policy::vault_policy(access, &role) {
                    self.vault_policy(vault, &document);
                }
            }
        }
    }

    /// The vaults of the topology as the state holds them: policy, lock, key.
    pub(super) fn live_vaults(&mut self) {
        let topology = self.topology;
        for vault in topology.vaults.values() {
            let Some(live) = self.live_vault(vault).cloned() else {
                continue;
            };
            if let Some(document) = &live.access_policy {
                self.vault_policy(vault, document);
            }
            if let Some(lock) = &live.lock
                && lock.immutable
            {
                self.push(
                    id::LOCK_IMMUTABLE,
                    self.vault_target(ResourceKind::VaultLock, vault),
                    format!(
                        "the lock of vault `{}` became immutable on {}",
                        vault.vault_name,
                        lock.lock_date.as_deref().unwrap_or("an earlier date")
                    ),
                );
            }
            if let (Some(key_arn), Some(region)) = (
                &live.encryption_key_arn,
                self.region(&vault.account, &vault.region),
            ) && let Some(key) = live_key(region, key_arn).cloned()
            {
                self.key_state(&self.vault_target(ResourceKind::Vault, vault), &key);
            }
        }
    }

    fn vault_policy(&mut self, vault: &Vault, document: &Value) {
        let target = self.vault_target(ResourceKind::VaultPolicy, vault);
        let owner = self.account_id(&vault.account);
        let resource = self.topology.vault_arn(vault);
        let break_glass = vault
            .access_policy
            .as_ref()
            .map(|p| p.break_glass_principals.clone())
            .unwrap_or_default();
        // Only the outsider's answer matters here (see `access::outsider`).
        let outsider_copies = access::outsider().may(
            Some(document),
            "backup:CopyIntoBackupVault",
            &resource,
            &owner,
        );
        if outsider_copies {
            self.push(
                id::VAULT_POLICY_NO_OPEN_PRINCIPAL,
                &target,
                "a statement allows `*` to copy in without limiting it to the organization: accounts outside the organization may copy in",
            );
        }
        self.foreign_organizations(
            id::VAULT_POLICY_NO_OPEN_PRINCIPAL,
            &target,
            "the policy",
            document,
        );
        for statement in statements(document) {
            if string_list(statement.get("Action"))
                .iter()
                .chain(&string_list(statement.get("NotAction")))
                .any(|a| a.contains(['*', '?']))
            {
                self.push(
                    id::VAULT_POLICY_NO_WILDCARD_ACTION,
                    &target,
                    "a statement uses a wildcard action",
                );
            }
        }
        let principals =
            (self.accounts).principals(&vault.account, &break_glass, &[Some(document)]);
        for (who, action) in
            principals.foreign_access(Some(document), VAULT_DESTRUCTIVE_ACTIONS, &resource, &owner)
        {
            self.push(
                id::VAULT_POLICY_NO_FOREIGN_DELETE,
                &target,
                format!("the policy lets {} call `{action}` on the vault", who.label),
            );
        }
        self.orphaned_principals(&target, document);
    }

    /// The rules and copy actions of the topology's backup plans as AWS holds them: each
    /// retention must fit the lock of the vault it goes into, and each copy's vault must
    /// exist.
    pub(super) fn live_rules(&mut self) {
        let topology = self.topology;
        for plan in topology.backup_plans.values() {
            let Some(live_plan) = self.live_plan(plan).cloned() else {
                continue;
            };
            for rule in &live_plan.rules {
                let target = self.plan_target(
                    SubjectKind::Rule {
                        plan: plan.name.clone(),
                        rule: rule.name.clone(),
                    },
                    plan,
                );
                if let Some(vault) = self
                    .region(&plan.account, &plan.region)
                    .and_then(|r| r.vaults.iter().find(|v| v.name == rule.target_vault_name))
                    .cloned()
                {
                    self.retention_in_lock(
                        id::BACKUP_LIFECYCLE_IN_LOCK,
                        &target,
                        &vault,
                        rule.lifecycle.delete_after_days,
                    );
                }
                for copy in &rule.copy_actions {
                    let copy_into = |destination: &str| {
                        target.about(SubjectKind::CopyAction {
                            plan: plan.name.clone(),
                            rule: rule.name.clone(),
                            destination: destination.to_string(),
                        })
                    };
                    let Some(destination) = self.vault_by_arn(&copy.destination_vault_arn).cloned()
                    else {
                        self.push(
                            id::DESTINATION_VAULT_EXISTS,
                            copy_into(&copy.destination_vault_arn),
                            "the destination vault does not exist",
                        );
                        continue;
                    };
                    self.retention_in_lock(
                        id::COPY_LIFECYCLE_IN_LOCK,
                        &copy_into(&destination.name),
                        &destination,
                        copy.lifecycle.delete_after_days,
                    );
                }
            }
        }
    }

    /// `check_id` (a backup's or a copy's retention) when recovery points kept
    /// `delete_after_days` do not fit the lock of `vault`; CB015 when they are kept forever
    /// in a compliance-locked vault.
    fn retention_in_lock(
        &mut self,
        check_id: &'static str,
        target: &Target,
        vault: &LiveVault,
        delete_after_days: Option<i64>,
    ) {
        let Some(lock) = &vault.lock else { return };
        match lock_fit(lock, delete_after_days) {
            LockFit::Fits => {}
            LockFit::Outside => {
                let kept = delete_after_days
                    .filter(|d| *d >= 0)
                    .map_or("forever".to_string(), |d| {
                        coffer_spec::diag::plural(d, "day", "days")
                    });
                let bound = |days: Option<i64>| days.map_or("any".into(), |d| d.to_string());
                self.push(
                    check_id,
                    target,
                    format!(
                        "recovery points are kept {kept}, outside the lock of vault `{}` ({}-{} days)",
                        vault.name,
                        bound(lock.min_retention_days),
                        bound(lock.max_retention_days)
                    ),
                );
            }
            LockFit::ForeverInCompliance => self.push(
                id::COMPLIANCE_LOCK_NOT_FOREVER,
                target,
                format!(
                    "recovery points are kept forever in compliance-locked vault `{}`",
                    vault.name
                ),
            ),
        }
    }
}
