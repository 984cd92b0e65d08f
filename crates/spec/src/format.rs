//! The topology file format: the serde types a platform team writes.
//!
//! These types are a boundary: they say what may be written, keep positions for error
//! messages, and generate the JSON Schema (doc comments become descriptions). The planner
//! never sees them; it gets the resolved [`crate::Topology`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::yaml::Located;

/// A raw IAM policy statement (`Sid`, `Effect`, `Principal`, `Action`, `Resource`,
/// `Condition`, ...), merged into a generated policy.
pub type Statement = serde_json::Map<String, serde_json::Value>;

/// Tags as key → value.
pub type Tags = BTreeMap<String, String>;

/// Declares types of the file format. Each derives `Debug`, `Clone`, `Serialize`,
/// `Deserialize` and `JsonSchema` and refuses unknown fields; a field written
/// `name: Type = default` may be left out of the file (`#[serde(default)]`). Doc comments
/// become the JSON Schema's descriptions.
macro_rules! format_types {
    ($(
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$field_meta:meta])* $field:ident: $type:ty $(= $default:ident)?,)*
        }
    )*) => {$(
        #[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        $(#[$meta])*
        pub struct $name {
            $($(#[$field_meta])* $(#[serde($default)])? pub $field: $type,)*
        }
    )*};
}

/// A Coffer topology: the accounts, KMS keys, AWS Backup vaults and backup plans of one
/// cross-account backup setup. Every logical name is a map key and is referred to by that
/// name elsewhere in the file.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopologyFile {
    /// Format version of this file. Only `1` exists.
    pub version: Located<u32>,
    /// Name of the topology, 1–64 characters of letters, digits, `-` and `_`. Coffer tags
    /// everything it creates with `coffer:topology=<name>` and only ever changes resources
    /// carrying that tag.
    pub name: Located<String>,
    /// The AWS Organization the accounts belong to. Needed for cross-account copies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<Located<OrganizationSpec>>,
    /// Values that apply wherever a resource or account does not set its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Located<DefaultsSpec>>,
    /// AWS accounts by logical name.
    pub accounts: BTreeMap<String, Located<AccountSpec>>,
    /// Customer managed KMS keys by logical name.
    #[serde(default)]
    pub keys: BTreeMap<String, Located<KeySpec>>,
    /// AWS Backup vaults by logical name.
    #[serde(default)]
    pub vaults: BTreeMap<String, Located<VaultSpec>>,
    /// AWS Backup plans by logical name.
    #[serde(default)]
    pub backup_plans: BTreeMap<String, Located<BackupPlanSpec>>,
    /// Groups of accounts chosen in the organization when Coffer plans (an organizational
    /// unit, account tags, account IDs), by name; every member gets the set's `template`.
    #[serde(default)]
    pub account_sets: BTreeMap<String, Located<AccountSetSpec>>,
}

format_types! {
    /// The organization and its cross-account backup switch.
    pub struct OrganizationSpec {
        /// Organization ID, `o-` followed by 10–32 lowercase letters or digits.
        id: Located<String>,
        /// Logical name (under `accounts`) of the organization's management account.
        management_account: Located<String>,
        /// Whether Coffer turns cross-account backup on (`enabled`), off (`disabled`) in the
        /// management account's AWS Backup settings, or leaves it alone (`unmanaged`, the default).
        cross_account_backup: Located<CrossAccountBackup> = default,
    }

    /// Defaults for accounts and resources.
    #[derive(Default)]
    #[serde(default)]
    pub struct DefaultsSpec {
        /// Region of every key, vault and plan that does not name its own, e.g. `eu-west-1`.
        region: Option<Located<String>>,
        /// IAM role Coffer assumes in each account: a role name such as `CofferDeployRole`
        /// (optionally with a path, `ops/CofferDeployRole`). Defaults to
        /// `OrganizationAccountAccessRole`.
        role: Option<Located<String>>,
        /// External ID passed when assuming the role, if the role's trust policy requires one.
        external_id: Option<Located<String>>,
        /// Tags added to every resource Coffer creates (besides its ownership tags).
        tags: Located<Tags>,
    }

    /// An AWS account.
    pub struct AccountSpec {
        /// The 12-digit account ID, quoted (`"011122223333"`) so YAML keeps it as text.
        id: Located<String>,
        /// Role to assume in this account, overriding `defaults.role`: a role name or a full
        /// role ARN in this account.
        role: Option<Located<String>> = default,
        /// External ID for this account's role, overriding `defaults.external_id`.
        external_id: Option<Located<String>> = default,
        /// Extra regions Coffer reads in this account. The regions of the account's own
        /// resources are always read.
        regions: Vec<Located<String>> = default,
    }

    /// Accounts chosen in the organization each time Coffer plans, and the resources every
    /// one of them gets. Selectors combine: the accounts of `organizational_unit` that carry
    /// all of `account_tags`, plus `include`, minus `exclude`; only `ACTIVE` accounts count.
    /// An account also listed under `accounts` is left out of the set (the explicit entry
    /// wins); an account two sets select is an error.
    pub struct AccountSetSpec {
        /// The organizational unit whose accounts are members, e.g. `ou-ab12-11111111`.
        organizational_unit: Option<Located<String>> = default,
        /// Also the accounts of the organizational unit's nested units, at any depth.
        recursive: bool = default,
        /// Only accounts carrying every one of these Organizations tags (key: value, exact
        /// match). Without `organizational_unit`, the accounts of the whole organization.
        account_tags: Located<Tags> = default,
        /// Account IDs that are members whatever the selectors say.
        include: Vec<Located<String>> = default,
        /// Account IDs that are never members.
        exclude: Vec<Located<String>> = default,
        /// Role Coffer assumes in each member account (a role name); defaults to `defaults.role`.
        role: Option<Located<String>> = default,
        /// External ID for the members' role; defaults to `defaults.external_id`.
        external_id: Option<Located<String>> = default,
        /// Regions where every member gets the template; defaults to `defaults.region`.
        regions: Vec<Located<String>> = default,
        /// What every member account gets, in each of the set's regions. The resources are
        /// named `<template name>@<account name>` (with `@<region>` after the first region),
        /// the account name being the member's name in the organization in lowercase, with
        /// every run of other characters than letters, digits, `-` and `_` made one `-`.
        template: Located<TemplateSpec>,
    }

    /// The resources of an account set's template: the same fields as the top-level
    /// sections, without `account` and `region` (each member account and set region). A
    /// reference to a name of the template means that member's instance; other names are the
    /// top-level entries. An account set's name in `usable_by` or `allow_copy_from` means all
    /// its members.
    #[derive(Default)]
    #[serde(default)]
    pub struct TemplateSpec {
        /// Keys every member gets.
        keys: BTreeMap<String, Located<KeySpec>>,
        /// Vaults every member gets.
        vaults: BTreeMap<String, Located<VaultSpec>>,
        /// Backup plans every member gets.
        backup_plans: BTreeMap<String, Located<BackupPlanSpec>>,
    }

    /// A customer managed, symmetric KMS key with its alias and generated key policy.
    pub struct KeySpec {
        /// Logical name of the account that owns the key. Required, except in an account
        /// set's `template`, where it is each member account.
        account: Option<Located<String>> = default,
        /// Region of the key; defaults to `defaults.region`.
        region: Option<Located<String>> = default,
        /// Alias, e.g. `alias/backup/central`. Must start with `alias/` and not with
        /// `alias/aws/` (reserved for AWS managed keys).
        alias: Located<String>,
        /// Key description (at most 8192 characters).
        description: Option<Located<String>> = default,
        /// Automatic rotation; on with a 365-day period when omitted.
        rotation: Option<Located<RotationSpec>> = default,
        /// Logical names of other accounts whose principals may use the key for cryptography
        /// (encrypt, decrypt, re-encrypt, generate data keys, describe) and for grants to AWS
        /// services. This is what lets a backup account copy recovery points encrypted with
        /// this key.
        usable_by: Vec<Located<String>> = default,
        /// IAM principal ARNs that administer the key (all `kms:*` management actions except
        /// cryptographic use).
        admins: Vec<Located<String>> = default,
        /// Extra key policy statements, merged into the generated policy. Each needs a unique `Sid`.
        statements: Vec<Located<Statement>> = default,
        /// Add the key guard to the key policy: `kms:ScheduleKeyDeletion`, `kms:DisableKey` and
        /// `kms:PutKeyPolicy` denied to everyone except Coffer's role and the break-glass
        /// principals, and `kms:CreateGrant` from other accounts denied except for the `usable_by`
        /// accounts on behalf of AWS services. Always on for a key that encrypts a vault with
        /// `deny_recovery_point_deletion`; set it to guard a source key too.
        guard: bool = default,
        /// IAM role or user ARNs of the key's own account exempt from the key guard (with
        /// Coffer's role). The break-glass principals of the guarded vaults the key encrypts are
        /// exempt too.
        break_glass_principals: Vec<Located<String>> = default,
        /// Waiting period, 7–30 days, if the key is ever scheduled for deletion. Default 30.
        deletion_window_days: Option<Located<u32>> = default,
        /// Take over an existing key that has this alias but no Coffer ownership tags.
        adopt: bool = default,
        /// Extra tags for this key.
        tags: Located<Tags> = default,
    }

    /// Automatic key rotation.
    pub struct RotationSpec {
        /// Whether KMS rotates the key material automatically. Default `true`.
        #[serde(default = "yes")]
        enabled: bool,
        /// Days between rotations, 90–2560. Default 365.
        period_days: Option<Located<u32>> = default,
    }

    /// An AWS Backup vault.
    pub struct VaultSpec {
        /// Logical name of the account that owns the vault. Required, except in an account
        /// set's `template`, where it is each member account.
        account: Option<Located<String>> = default,
        /// Region of the vault; defaults to `defaults.region`.
        region: Option<Located<String>> = default,
        /// Vault name in AWS: 2–50 letters, digits, `-` and `_`; unique per account and region.
        name: Located<String>,
        /// Logical name of the key (under `keys`) that encrypts the vault, in the vault's account
        /// and region. Omitted: AWS Backup's default key. It can never be changed afterwards.
        key: Option<Located<String>> = default,
        /// The vault's access policy. Omitted: Coffer leaves the policy alone.
        access_policy: Option<Located<AccessPolicySpec>> = default,
        /// AWS Backup Vault Lock. With `changeable_for_days` it is compliance mode, which becomes
        /// irreversible once that many days have passed; without it, governance mode.
        lock: Option<Located<LockSpec>> = default,
        /// Take over an existing vault with this name that has no Coffer ownership tags.
        adopt: bool = default,
        /// Accept that principals other than the break-glass principals can destroy this vault's
        /// copies: `coffer check --destroy-paths` still lists them but does not fail for this vault.
        accept_destroy_paths: bool = default,
        /// Extra tags for this vault.
        tags: Located<Tags> = default,
    }

    /// The generated vault access policy.
    #[derive(Default)]
    #[serde(default)]
    pub struct AccessPolicySpec {
        /// Logical account names (or 12-digit IDs of accounts outside the topology) allowed to
        /// copy recovery points into this vault (`backup:CopyIntoBackupVault`).
        allow_copy_from: Vec<Located<String>>,
        /// Allow every account of the organization to copy in (condition `aws:PrincipalOrgID`).
        organization: bool,
        /// Allow accounts under these organization paths to copy in (condition
        /// `aws:PrincipalOrgPaths`), e.g. `o-abc1234567/r-ab12/ou-ab12-11111111/`.
        org_paths: Vec<Located<String>>,
        /// The deletion guard. Deny `backup:DeleteRecoveryPoint`,
        /// `backup:UpdateRecoveryPointLifecycle` and `backup:DeleteBackupVault` to everyone except
        /// `break_glass_principals` (Coffer's own role included: Coffer never needs them), and deny
        /// replacing or deleting the vault policy or the vault lock to everyone except Coffer's
        /// role and `break_glass_principals`. The key that encrypts the vault gets the key guard
        /// (see `keys.<name>.guard`).
        deny_recovery_point_deletion: bool,
        /// IAM role or user ARNs of the vault's own account exempt from the deletion guard (no
        /// wildcards): the break-glass procedure's principals.
        break_glass_principals: Vec<Located<String>>,
        /// Extra statements, merged into the generated policy. Each needs a unique `Sid`.
        statements: Vec<Located<Statement>>,
    }

    /// Backup Vault Lock settings.
    #[derive(Default)]
    #[serde(default)]
    pub struct LockSpec {
        /// Shortest retention, in days (at least 1), a backup or copy into the vault may have.
        min_retention_days: Option<Located<i64>>,
        /// Longest retention, in days (at most 36500), a backup or copy into the vault may have.
        max_retention_days: Option<Located<i64>>,
        /// Compliance mode: days (3–36500) during which the lock can still be changed or removed.
        /// After that, no one (not AWS, not the root user) can remove it.
        changeable_for_days: Option<Located<i64>>,
    }

    /// An AWS Backup plan with its rules and resource selections.
    pub struct BackupPlanSpec {
        /// Logical name of the account that owns the plan. Required, except in an account
        /// set's `template`, where it is each member account.
        account: Option<Located<String>> = default,
        /// Region of the plan; defaults to `defaults.region`.
        region: Option<Located<String>> = default,
        /// Plan name in AWS (1–50 letters, digits, `-`, `_`, `.`); defaults to the logical name.
        name: Option<Located<String>> = default,
        /// The plan's rules (at most 10 are expected by AWS's quota).
        rules: Vec<Located<RuleSpec>>,
        /// Which resources the plan backs up.
        selections: Vec<Located<SelectionSpec>> = default,
        /// Take over an existing plan with this name that has no Coffer ownership tags.
        adopt: bool = default,
        /// Extra tags for this plan.
        tags: Located<Tags> = default,
    }

    /// One backup rule.
    pub struct RuleSpec {
        /// Rule name: 1–50 letters, digits, `-`, `_`, `.`; unique within the plan.
        name: Located<String>,
        /// Logical name of the vault the backups go to, in the plan's account and region.
        vault: Located<String>,
        /// AWS cron expression, e.g. `cron(0 5 ? * * *)` (daily at 05:00). At most hourly.
        /// Default `cron(0 5 ? * * *)`.
        schedule: Option<Located<String>> = default,
        /// IANA time zone of the schedule, e.g. `Europe/Paris`. Default UTC.
        schedule_timezone: Option<Located<String>> = default,
        /// Minutes after the scheduled time within which the job must start; at least 60.
        start_window_minutes: Option<Located<i64>> = default,
        /// Minutes after the start within which the job must complete.
        completion_window_minutes: Option<Located<i64>> = default,
        /// When recovery points move to cold storage and expire.
        lifecycle: Option<Located<LifecycleSpec>> = default,
        /// Copies of every recovery point to other vaults (other accounts or regions); at most 5.
        copy_to: Vec<Located<CopySpec>> = default,
        /// Continuous backup (point-in-time restore) for resources that support it.
        continuous_backup: bool = default,
        /// Tags put on the recovery points this rule creates.
        recovery_point_tags: Tags = default,
    }

    /// A recovery point's lifecycle.
    #[derive(Default)]
    #[serde(default)]
    pub struct LifecycleSpec {
        /// Days after creation when the recovery point moves to cold storage.
        move_to_cold_storage_after_days: Option<Located<i64>>,
        /// Days after creation when the recovery point is deleted (1–36500); at least 90 days
        /// after the move to cold storage.
        delete_after_days: Option<Located<i64>>,
    }

    /// A copy action of a rule.
    pub struct CopySpec {
        /// Logical name of the destination vault.
        vault: Located<String>,
        /// Lifecycle of the copy in the destination vault; must fit that vault's lock.
        lifecycle: Option<Located<LifecycleSpec>> = default,
    }

    /// A resource selection (backup selections cannot be changed in place: Coffer replaces them).
    pub struct SelectionSpec {
        /// Selection name: 1–50 letters, digits, `-`, `_`, `.`; unique within the plan.
        name: Located<String>,
        /// IAM role AWS Backup uses: a role ARN in the plan's account, or `service-default` for
        /// `service-role/AWSBackupDefaultServiceRole`. Default `service-default`.
        role: Option<Located<String>> = default,
        /// Resource ARNs to back up; `*` may only end an ARN.
        resources: Vec<Located<String>> = default,
        /// Resource ARNs to leave out.
        not_resources: Vec<Located<String>> = default,
        /// Back up resources carrying any of these tags (key: value, exact match).
        tags: Located<Tags> = default,
    }
}

/// What Coffer does with the management account's cross-account backup setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CrossAccountBackup {
    /// Cross-account backup is switched on and kept on.
    Enabled,
    /// Cross-account backup is switched off and kept off.
    Disabled,
    /// Coffer reads the setting but never changes it.
    #[default]
    Unmanaged,
}

/// The default of `rotation.enabled`: rotation is on.
fn yes() -> bool {
    true
}
