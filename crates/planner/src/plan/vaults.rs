//! Vaults, with their access policy and their lock. A vault is found by its name; it is
//! created, tagged, or replaced when its key changes (never while it holds recovery points or
//! has a lock). Its policy is put or deleted; its lock is put, never removed. A vault that
//! left the file is deleted, unless it holds recovery points or has a lock.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use coffer_spec::Vault;
use coffer_spec::diag::plural;

use super::digest::creator_request_id;
use super::keys::KeyHandle;
use super::ownership::{Claim, logical_id, owned_name};
use super::{LiveAt, Planner};
use crate::live::LiveVault;
use crate::model::*;
use crate::policy;

#[derive(Clone, Default)]
pub(super) struct VaultHandle {
    /// Steps that must run before a plan may use the vault.
    pub steps: Vec<String>,
    pub blocked: bool,
}

/// A vault as Coffer compares it (a change's `before` and `after`).
#[derive(Serialize)]
struct ComparedVault<'a> {
    name: &'a str,
    /// Compared only when the file names a key: `key.<name>` for the file's key, else the
    /// ARN the vault has; `Some(None)` when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    encryption_key: Option<Option<String>>,
    tags: &'a Tags,
}

/// A vault lock as Coffer compares it (a change's `before` and `after`).
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ComparedLock {
    pub mode: LockMode,
    pub min_retention_days: Option<i64>,
    pub max_retention_days: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LockMode {
    /// Removable by whoever the policies let.
    Governance,
    /// Immutable once its grace time has passed.
    Compliance,
}

/// A vault policy as Coffer compares it: in its canonical form.
fn compared_policy(policy: &Value) -> Value {
    json!({"policy": policy::canonical(policy)})
}

impl<'a> Planner<'a> {
    pub(super) fn vault(&mut self, vault: &Vault) {
        let live = self
            .live
            .region(self.topology.account_id(&vault.account), &vault.region)
            .and_then(|r| r.vaults.iter().find(|v| v.name == vault.vault_name))
            .cloned();
        let (mut handle, replaced) = self.vault_itself(vault, live.as_ref());
        // A refused replacement leaves the vault as it is: compare its policy and lock with it.
        let existing = if replaced && !handle.blocked {
            None
        } else {
            live.as_ref()
        };
        if let Some(access_policy) = &vault.access_policy {
            let coffer_role = self.topology.coffer_role(&vault.account);
            let desired = policy::vault_policy(access_policy, coffer_role);
            let step = self.vault_policy(vault, existing, desired, &handle);
            handle.steps.extend(step);
        }
        let step = self.vault_lock(vault, existing, &handle);
        handle.steps.extend(step);
        self.vaults.insert(vault.name.clone(), handle);
    }

    /// The vault's own change and steps; whether it is replaced.
    fn vault_itself(&mut self, vault: &Vault, live: Option<&LiveVault>) -> (VaultHandle, bool) {
        let account_id = self.account_id(&vault.account);
        let logical_id = logical_id(ResourceKind::Vault, vault.name.as_str());
        let desired_tags = self.desired_tags(&vault.tags, &logical_id);
        let key_handle = vault.key.as_ref().and_then(|k| self.keys.get(k)).cloned();
        let key_address = vault
            .key
            .as_ref()
            .map(|k| ResourceKind::Key.at(k.to_string()));

        let after = json!(ComparedVault {
            name: &vault.vault_name,
            encryption_key: key_address.as_ref().map(|k| Some(k.to_string())),
            tags: &desired_tags,
        });
        let before = live.map(|lv| {
            let key_live = key_handle.as_ref().and_then(|h| h.live.as_ref());
            json!(ComparedVault {
                name: &lv.name,
                encryption_key: key_address.as_ref().map(|k| {
                    match (&lv.encryption_key_arn, key_live) {
                        (Some(arn), Some(key)) if *arn == key.arn => Some(k.to_string()),
                        (arn, _) => arn.clone(),
                    }
                }),
                tags: &lv.tags,
            })
        });
        let address = ResourceKind::Vault.at(vault.name.to_string());
        let mut change = self.change(address, &vault.account, &vault.region, before, Some(after));
        self.name_vault(&mut change, vault, live);

        let mut replaced = false;
        if let Some(lv) = live {
            self.claim(
                &mut change,
                &Claim {
                    what: "vault",
                    setting: "vaults",
                    logical: vault.name.as_str(),
                    logical_id: &logical_id,
                    name: &lv.name,
                    arn: &lv.arn,
                    tags: &lv.tags,
                    adopt: vault.adopt,
                    account_id: &account_id,
                    region: &vault.region,
                    rename: "choose another `name`",
                },
            );
            replaced = change.field_changed("encryption_key");
            if replaced {
                Self::replace_vault(&mut change, lv);
            }
        }
        if let Some(key_address) =
            key_address.filter(|_| key_handle.as_ref().is_some_and(|k| k.blocked))
        {
            Self::block(
                &mut change,
                format!("waits for `{key_address}`, which is blocked"),
            );
        }

        let mut handle = VaultHandle {
            steps: Vec::new(),
            blocked: change.has(Flag::Blocked),
        };
        if !handle.blocked {
            match live {
                Some(lv) if !replaced => {
                    self.backup_tag_steps(&change, &lv.arn, &lv.tags, &desired_tags, vec![])
                }
                _ => {
                    // A replaced vault is deleted first: AWS keeps one vault of a name.
                    let deleted = live.map(|lv| self.delete_vault(&change, lv, vec![]));
                    let create = self.create_vault(
                        vault,
                        &change,
                        key_handle.as_ref(),
                        desired_tags,
                        deleted.into_iter().collect(),
                    );
                    handle.steps.push(create);
                }
            }
        }
        self.changes.push(change);
        (handle, replaced)
    }

    /// Names a vault's change (or its policy's or lock's) with the vault's name and ARN; a
    /// vault's ARN follows from its name, so it is known before the vault exists.
    fn name_vault(&self, change: &mut Change, vault: &Vault, live: Option<&LiveVault>) {
        change.aws_name = Some(vault.vault_name.clone());
        change.arn = Some(live.map_or_else(|| self.topology.vault_arn(vault), |lv| lv.arn.clone()));
    }

    /// The change of a vault's policy or lock; `None` when neither the file nor AWS has one.
    fn vault_part_change(
        &self,
        kind: ResourceKind,
        vault: &Vault,
        live: Option<&LiveVault>,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Option<Change> {
        if before.is_none() && after.is_none() {
            return None;
        }
        let address = kind.at(vault.name.to_string());
        let mut change = self.change(address, &vault.account, &vault.region, before, after);
        self.name_vault(&mut change, vault, live);
        Some(change)
    }

    /// A vault whose key changes is deleted and created again, which it cannot be while it
    /// holds recovery points or has a lock.
    fn replace_vault(change: &mut Change, live: &LiveVault) {
        change.action = Action::Replace;
        change.reasons.push("a vault's encryption key can never change: the vault must be deleted and created again".into());
        if live.recovery_points > 0 {
            Self::block(
                change,
                format!(
                    "vault `{}` holds {}, which cannot move to another vault; keep it, and create a vault with a new `name` and the new key for new backups",
                    live.name,
                    plural(live.recovery_points, "recovery point", "recovery points")
                ),
            );
        }
        Self::never_delete_locked(change, live);
    }

    fn never_delete_locked(change: &mut Change, live: &LiveVault) {
        if live.lock.is_some() {
            Self::block(
                change,
                format!(
                    "vault `{}` has a vault lock; Coffer never deletes a locked vault",
                    live.name
                ),
            );
        }
    }

    fn create_vault(
        &mut self,
        vault: &Vault,
        change: &Change,
        key: Option<&KeyHandle>,
        tags: Tags,
        mut depends_on: Vec<String>,
    ) -> String {
        // The key reference as data (a new key's reference names its creation step), so two
        // different new keys never give the same CreatorRequestId.
        let operation_content = json!({"name": vault.vault_name, "key": key.map(|k| &k.arn)});
        let step_id = format!("{}:create", change.address);
        let creator_request_id =
            creator_request_id(&self.topology.name, &step_id, &operation_content);
        depends_on.extend(key.iter().flat_map(|k| k.ready.iter().cloned()));
        self.add_step(
            step_id,
            change,
            Operation::CreateBackupVault {
                vault_name: vault.vault_name.clone(),
                encryption_key_arn: key.map(|k| k.arn.clone()),
                tags,
                creator_request_id,
            },
            depends_on,
        )
    }

    /// Deletes a live vault; the keys that encrypt it may be deleted after this step.
    fn delete_vault(
        &mut self,
        change: &Change,
        live: &LiveVault,
        depends_on: Vec<String>,
    ) -> String {
        let step = self.add_step(
            format!("{}:delete", change.address),
            change,
            Operation::DeleteBackupVault {
                vault_name: live.name.clone(),
            },
            depends_on,
        );
        self.deleted_vaults.insert(live.arn.clone(), step.clone());
        step
    }

    fn vault_policy(
        &mut self,
        vault: &Vault,
        live: Option<&LiveVault>,
        desired: Option<Value>,
        handle: &VaultHandle,
    ) -> Option<String> {
        let live_policy = live.and_then(|lv| lv.access_policy.as_ref());
        let before = live_policy.map(compared_policy);
        let after = desired.as_ref().map(compared_policy);
        let mut change =
            self.vault_part_change(ResourceKind::VaultPolicy, vault, live, before, after)?;
        let address = change.address.clone();
        Self::note_orphans(&mut change, live_policy, "vault", "");
        Self::wait_for_blocked(
            &mut change,
            handle.blocked,
            &ResourceKind::Vault.at(vault.name.to_string()),
        );
        let mut step = None;
        if !change.has(Flag::Blocked) && change.action != Action::NoOp {
            let vault_name = vault.vault_name.clone();
            let (verb, operation) = match desired {
                Some(policy) => (
                    "put",
                    Operation::PutBackupVaultAccessPolicy { vault_name, policy },
                ),
                None => (
                    "delete",
                    Operation::DeleteBackupVaultAccessPolicy { vault_name },
                ),
            };
            step = Some(self.add_step(
                format!("{address}:{verb}"),
                &change,
                operation,
                handle.steps.clone(),
            ));
        }
        self.changes.push(change);
        step
    }

    fn vault_lock(
        &mut self,
        vault: &Vault,
        live: Option<&LiveVault>,
        handle: &VaultHandle,
    ) -> Option<String> {
        let live_lock = live.and_then(|lv| lv.lock.as_ref());
        let before = live_lock.map(|l| {
            json!(ComparedLock {
                mode: if l.lock_date.is_some() {
                    LockMode::Compliance
                } else {
                    LockMode::Governance
                },
                min_retention_days: l.min_retention_days,
                max_retention_days: l.max_retention_days,
            })
        });
        let after = vault.lock.as_ref().map(|l| {
            json!(ComparedLock {
                mode: if l.is_compliance() {
                    LockMode::Compliance
                } else {
                    LockMode::Governance
                },
                min_retention_days: l.min_retention_days,
                max_retention_days: l.max_retention_days,
            })
        });
        let mut change =
            self.vault_part_change(ResourceKind::VaultLock, vault, live, before, after)?;
        let address = change.address.clone();
        if change.action == Action::NoOp {
            self.changes.push(change);
            return None;
        }
        if let Some(lock) = live_lock.filter(|l| l.immutable) {
            Self::block(
                &mut change,
                format!(
                    "the compliance lock of vault `{}` became immutable on {}: no one can change or remove it; put its current bounds in the file",
                    vault.vault_name,
                    lock.lock_date.as_deref().unwrap_or("an earlier date")
                ),
            );
        }
        if vault.lock.is_none() {
            Self::block(
                &mut change,
                format!(
                    "vault `{}` has a lock the file does not declare; Coffer never removes a vault lock: add the lock to the file, or remove it by hand if you mean to",
                    vault.vault_name
                ),
            );
        }
        Self::wait_for_blocked(
            &mut change,
            handle.blocked,
            &ResourceKind::Vault.at(vault.name.to_string()),
        );
        let mut step = None;
        if let Some(lock) = &vault.lock {
            if let Some(days) = lock.changeable_for_days {
                change.flags.push(Flag::Irreversible);
                change.reasons.push(format!(
                    "compliance mode: {days} days after this apply the lock becomes immutable; no one, not even AWS, can then remove it or shorten retention"
                ));
            }
            if !change.has(Flag::Blocked) {
                step = Some(self.add_step(
                    format!("{address}:put"),
                    &change,
                    Operation::PutBackupVaultLockConfiguration {
                        vault_name: vault.vault_name.clone(),
                        min_retention_days: lock.min_retention_days,
                        max_retention_days: lock.max_retention_days,
                        changeable_for_days: lock.changeable_for_days,
                    },
                    handle.steps.clone(),
                ));
            }
        }
        self.changes.push(change);
        step
    }

    /// Vaults this topology owns that left the file: deleted after the backup plans deleted in
    /// their region, unless they hold recovery points or have a lock.
    pub(super) fn departed_vaults(&mut self, regions: &[LiveAt<'a>]) {
        for at in regions {
            for vault in self.left_the_file(&at.state.vaults) {
                let address = ResourceKind::Vault.at(owned_name(
                    &vault.tags,
                    ResourceKind::Vault,
                    &vault.name,
                ));
                let mut change = self.deletion(
                    address,
                    at,
                    (&vault.name, &vault.arn),
                    Self::departed_state(&vault.name, &vault.tags),
                    "owned by this topology but no longer in the file",
                );
                if vault.recovery_points > 0 {
                    Self::block(
                        &mut change,
                        format!(
                            "vault `{}` holds {}; Coffer never deletes a vault with recovery points: let them expire or delete them by hand first",
                            vault.name,
                            plural(vault.recovery_points, "recovery point", "recovery points")
                        ),
                    );
                }
                Self::never_delete_locked(&mut change, vault);
                if !change.has(Flag::Blocked) {
                    let depends_on = self
                        .deleted_plans
                        .get(&(at.account_id.clone(), at.region.clone()))
                        .cloned()
                        .unwrap_or_default();
                    self.delete_vault(&change, vault, depends_on);
                }
                self.changes.push(change);
            }
        }
    }
}
