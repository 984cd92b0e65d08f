//! The resolved topology: what the planner sees. References are typed handles that are
//! known to exist, defaults are applied, regions are filled in.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::format::{CrossAccountBackup, Statement, Tags};

macro_rules! handle {
    ($($(#[doc = $doc:literal])* $name:ident;)*) => {$(
        $(#[doc = $doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

handle! {
    /// The logical name of an account in the topology.
    AccountName;
    /// The logical name of a key in the topology.
    KeyName;
    /// The logical name of a vault in the topology.
    VaultName;
    /// The logical name of a backup plan in the topology.
    PlanName;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topology {
    pub name: String,
    pub organization: Option<Organization>,
    /// Tags for every resource, besides the ownership tags.
    pub default_tags: Tags,
    pub accounts: BTreeMap<AccountName, Account>,
    pub keys: BTreeMap<KeyName, Key>,
    pub vaults: BTreeMap<VaultName, Vault>,
    #[serde(rename = "plans")]
    pub backup_plans: BTreeMap<PlanName, BackupPlan>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: String,
    pub management_account: AccountName,
    pub cross_account_backup: CrossAccountBackup,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub name: AccountName,
    pub id: String,
    /// The role Coffer assumes in this account.
    pub role_arn: String,
    pub external_id: Option<String>,
    /// Every region Coffer reads in this account: declared ones and those of its resources.
    pub regions: BTreeSet<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    pub name: KeyName,
    pub account: AccountName,
    pub region: String,
    pub alias: String,
    pub description: String,
    /// Rotation period in days; `None` when rotation is off.
    pub rotation_period_days: Option<u32>,
    /// Accounts granted cryptographic use, by logical name, sorted.
    pub usable_by: Vec<AccountName>,
    pub admins: Vec<String>,
    pub statements: Vec<Statement>,
    pub deletion_window_days: u32,
    /// The key guard was asked for (`guard: true`); see `Topology::key_guard` for whether
    /// the key is guarded.
    #[serde(default)]
    pub guard: bool,
    /// Principals exempt from the key guard besides Coffer's role.
    #[serde(default)]
    pub break_glass_principals: Vec<String>,
    pub adopt: bool,
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vault {
    pub name: VaultName,
    pub account: AccountName,
    pub region: String,
    /// The vault's name in AWS.
    pub vault_name: String,
    /// `None`: AWS Backup's default key.
    pub key: Option<KeyName>,
    /// `None`: Coffer does not manage the vault's access policy.
    pub access_policy: Option<AccessPolicy>,
    pub lock: Option<Lock>,
    pub adopt: bool,
    /// Destroy paths of this vault do not fail `check --destroy-paths`.
    #[serde(default)]
    pub accept_destroy_paths: bool,
    pub tags: Tags,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessPolicy {
    /// Account IDs allowed to copy in, sorted and unique.
    pub allow_copy_from: Vec<String>,
    /// The organization ID allowed to copy in, when `organization: true`.
    pub organization_id: Option<String>,
    pub org_paths: Vec<String>,
    pub deny_recovery_point_deletion: bool,
    pub break_glass_principals: Vec<String>,
    pub statements: Vec<Statement>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub min_retention_days: Option<i64>,
    pub max_retention_days: Option<i64>,
    /// `Some`: compliance mode.
    pub changeable_for_days: Option<i64>,
}

impl Lock {
    pub fn is_compliance(&self) -> bool {
        self.changeable_for_days.is_some()
    }

    /// Whether a recovery point kept `delete_after_days` (`None`: forever) fits the lock.
    pub fn admits(&self, delete_after_days: Option<i64>) -> bool {
        let days = delete_after_days.filter(|d| *d >= 0);
        let above_min = match (self.min_retention_days, days) {
            (Some(min), Some(days)) => days >= min,
            _ => true,
        };
        let below_max = match (self.max_retention_days, days) {
            (Some(max), Some(days)) => days <= max,
            (Some(_), None) => false,
            (None, _) => true,
        };
        above_min && below_max
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupPlan {
    pub name: PlanName,
    pub account: AccountName,
    pub region: String,
    /// The plan's name in AWS.
    pub plan_name: String,
    pub rules: Vec<Rule>,
    pub selections: Vec<Selection>,
    pub adopt: bool,
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    pub vault: VaultName,
    pub schedule: String,
    pub schedule_timezone: Option<String>,
    pub start_window_minutes: Option<i64>,
    pub completion_window_minutes: Option<i64>,
    pub lifecycle: Lifecycle,
    pub copy_to: Vec<Copy>,
    pub continuous_backup: bool,
    pub recovery_point_tags: Tags,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub move_to_cold_storage_after_days: Option<i64>,
    pub delete_after_days: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Copy {
    pub vault: VaultName,
    pub lifecycle: Lifecycle,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub name: String,
    pub role_arn: String,
    pub resources: Vec<String>,
    pub not_resources: Vec<String>,
    pub tags: Tags,
}

/// One copy a backup rule makes: from the rule's vault to one of its `copy_to` vaults.
#[derive(Clone, Copy, Debug)]
pub struct CopyEdge<'a> {
    pub plan: &'a BackupPlan,
    pub rule: &'a Rule,
    pub copy: &'a Copy,
    /// The vault the rule backs up into.
    pub source: &'a Vault,
    pub destination: &'a Vault,
}

impl CopyEdge<'_> {
    /// The copy leaves the backup plan's account.
    pub fn cross_account(&self) -> bool {
        self.destination.account != self.plan.account
    }

    /// The copy leaves the backup plan's region.
    pub fn cross_region(&self) -> bool {
        self.destination.region != self.plan.region
    }
}

impl Topology {
    pub fn account(&self, name: &AccountName) -> Option<&Account> {
        self.accounts.get(name)
    }

    /// Every copy of every backup rule, by backup plan, rule and copy in file order; a rule
    /// or copy whose vault the topology lacks is left out.
    pub fn copy_edges(&self) -> impl Iterator<Item = CopyEdge<'_>> {
        self.backup_plans.values().flat_map(move |plan| {
            plan.rules.iter().flat_map(move |rule| {
                let source = self.vaults.get(&rule.vault);
                rule.copy_to.iter().filter_map(move |copy| {
                    Some(CopyEdge {
                        plan,
                        rule,
                        copy,
                        source: source?,
                        destination: self.vaults.get(&copy.vault)?,
                    })
                })
            })
        })
    }

    /// The account ID behind a logical account name ("" if unknown, which a resolved
    /// topology never has).
    pub fn account_id(&self, name: &AccountName) -> &str {
        self.accounts.get(name).map_or("", |a| a.id.as_str())
    }

    /// The ARN of a vault of the topology.
    pub fn vault_arn(&self, vault: &Vault) -> String {
        format!(
            "arn:aws:backup:{}:{}:backup-vault:{}",
            vault.region,
            self.account_id(&vault.account),
            vault.vault_name
        )
    }

    /// The role Coffer assumes in an account ("" if unknown).
    pub fn coffer_role(&self, name: &AccountName) -> &str {
        self.accounts.get(name).map_or("", |a| a.role_arn.as_str())
    }

    /// The vaults with the deletion guard that `key` encrypts.
    pub fn guarded_vaults_of(&self, key: &KeyName) -> impl Iterator<Item = &Vault> {
        self.vaults.values().filter(move |v| {
            v.key.as_ref() == Some(key)
                && v.access_policy
                    .as_ref()
                    .is_some_and(|p| p.deny_recovery_point_deletion)
        })
    }

    /// The principals exempt from `key`'s key guard, Coffer's role first, or `None` when the
    /// key is not guarded (neither `guard: true` nor encrypting a guarded vault).
    pub fn key_guard(&self, key: &Key) -> Option<Vec<String>> {
        self.guard_of(key, self.guarded_vaults_of(&key.name))
    }

    /// [`Topology::key_guard`] of every guarded key, from one pass over the vaults (asking
    /// each key would scan every vault once per key).
    pub fn key_guards(&self) -> BTreeMap<KeyName, Vec<String>> {
        let mut guarded: BTreeMap<&KeyName, Vec<&Vault>> = BTreeMap::new();
        for vault in self.vaults.values() {
            let guards = vault
                .access_policy
                .as_ref()
                .is_some_and(|p| p.deny_recovery_point_deletion);
            if let (true, Some(key)) = (guards, &vault.key) {
                guarded.entry(key).or_default().push(vault);
            }
        }
        self.keys
            .values()
            .filter_map(|key| {
                let vaults = guarded.get(&key.name).into_iter().flatten().copied();
                Some((key.name.clone(), self.guard_of(key, vaults)?))
            })
            .collect()
    }

    /// The guard of `key` given the guarded `vaults` it encrypts.
    fn guard_of<'v>(
        &self,
        key: &Key,
        vaults: impl Iterator<Item = &'v Vault>,
    ) -> Option<Vec<String>> {
        let vaults: Vec<&Vault> = vaults.collect();
        if !key.guard && vaults.is_empty() {
            return None;
        }
        let mut exempt = vec![self.coffer_role(&key.account).to_string()];
        let mut others: BTreeSet<String> = key.break_glass_principals.iter().cloned().collect();
        for vault in vaults {
            if let Some(policy) = &vault.access_policy {
                others.extend(policy.break_glass_principals.iter().cloned());
            }
        }
        others.remove(&exempt[0]);
        exempt.extend(others);
        Some(exempt)
    }

    /// Every (account, region) pair the topology touches, sorted.
    pub fn scopes(&self) -> BTreeSet<(AccountName, String)> {
        self.accounts
            .values()
            .flat_map(|a| a.regions.iter().map(|r| (a.name.clone(), r.clone())))
            .collect()
    }
}
