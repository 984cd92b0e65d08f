//! `LiveState`: what Coffer read from AWS, as plain serializable data. The `aws` crate fills
//! it; tests and plan files hold it as JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{CopyActionDocument, LifecycleDocument, RuleDocument};

pub use coffer_spec::topology::Tags;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveState {
    /// By account ID.
    #[serde(default)]
    pub accounts: BTreeMap<String, LiveAccount>,
    /// The members of the topology's account sets, as the organization listed them when this
    /// state was read; `None` when the topology has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership: Option<coffer_spec::sets::Membership>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveAccount {
    /// By region.
    #[serde(default)]
    pub regions: BTreeMap<String, LiveRegion>,
    /// The organization the account belongs to, as `DescribeOrganization` answered it in
    /// that account; `None` when it is in none, or when it was not read.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// Whether `organization_id` was read.
    #[serde(default)]
    pub organization_read: bool,
    /// The roles the account's backup selections pass to AWS Backup, by role ARN, as
    /// `iam:GetRole` describes them; empty when they were not read.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, LiveRole>,
}

/// A role AWS Backup assumes (a backup selection's `IamRoleArn`), as read from IAM.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveRole {
    pub status: RoleStatus,
    /// Why AWS Backup cannot use it (what its trust policy says, or the error that kept it
    /// from being read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// How to fix it, when AWS Backup cannot use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Whether AWS Backup can assume a role.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleStatus {
    /// It exists and its trust policy lets `backup.amazonaws.com` call `sts:AssumeRole`.
    #[default]
    TrustsBackup,
    /// No role has this ARN (path included).
    Missing,
    /// Its trust policy does not let AWS Backup assume it.
    NotTrusted,
    /// It could not be read (`iam:GetRole` was refused or failed).
    Unreadable,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveRegion {
    /// Customer managed keys that carry Coffer's tags or that an alias the topology wants
    /// points to. AWS managed keys are not listed.
    #[serde(default)]
    pub keys: Vec<LiveKey>,
    /// Every customer alias in the region (not `alias/aws/...`).
    #[serde(default)]
    pub aliases: Vec<LiveAlias>,
    #[serde(default)]
    pub vaults: Vec<LiveVault>,
    #[serde(default, rename = "plans")]
    pub backup_plans: Vec<LiveBackupPlan>,
    /// AWS Backup's global settings, read in the organization's management account only.
    #[serde(default)]
    pub cross_account_backup: Option<bool>,
    /// The resources the region's backup selections name (RDS instances and clusters), with
    /// how they are encrypted.
    #[serde(default)]
    pub sources: Vec<LiveSource>,
}

/// A resource a backup selection names, as RDS describes it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveSource {
    pub arn: String,
    /// `rds-instance` or `rds-cluster`.
    pub kind: String,
    pub exists: bool,
    #[serde(default)]
    pub encrypted: bool,
    /// The key ARN RDS reports (`KmsKeyId`).
    #[serde(default)]
    pub kms_key_arn: Option<String>,
    /// A Multi-AZ DB cluster (not Aurora): AWS Backup cannot copy its backups.
    #[serde(default)]
    pub multi_az_cluster: bool,
    /// The encrypting key as KMS describes it (AWS managed keys included), when readable.
    #[serde(default)]
    pub key: Option<LiveKey>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveKey {
    pub key_id: String,
    pub arn: String,
    #[serde(default)]
    pub description: String,
    pub key_state: KeyState,
    #[serde(default)]
    pub key_manager: KeyManager,
    #[serde(default)]
    pub rotation_enabled: bool,
    #[serde(default)]
    pub rotation_period_days: Option<u32>,
    /// The key policy as AWS returns it (parsed JSON).
    #[serde(default)]
    pub policy: Option<serde_json::Value>,
    #[serde(default)]
    pub tags: Tags,
    /// When the key was created (RFC 3339), to pick the oldest of duplicates.
    #[serde(default)]
    pub creation_date: Option<String>,
}

/// A KMS key's state (`KeyMetadata.KeyState`), written as KMS writes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum KeyState {
    #[default]
    Enabled,
    Disabled,
    PendingDeletion,
    PendingReplicaDeletion,
    /// `Creating`, `PendingImport`, `Unavailable`, `Updating`, or a state KMS adds later.
    Other(String),
}

impl KeyState {
    pub fn as_str(&self) -> &str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
            KeyState::PendingReplicaDeletion => "PendingReplicaDeletion",
            KeyState::Other(state) => state,
        }
    }

    /// Scheduled for deletion (the key or, for a multi-Region key, its replica).
    pub fn is_pending_deletion(&self) -> bool {
        matches!(
            self,
            KeyState::PendingDeletion | KeyState::PendingReplicaDeletion
        )
    }
}

impl From<String> for KeyState {
    fn from(state: String) -> Self {
        match state.as_str() {
            "Enabled" => KeyState::Enabled,
            "Disabled" => KeyState::Disabled,
            "PendingDeletion" => KeyState::PendingDeletion,
            "PendingReplicaDeletion" => KeyState::PendingReplicaDeletion,
            _ => KeyState::Other(state),
        }
    }
}

impl From<&str> for KeyState {
    fn from(state: &str) -> Self {
        KeyState::from(state.to_string())
    }
}

impl From<KeyState> for String {
    fn from(state: KeyState) -> Self {
        state.as_str().to_string()
    }
}

impl std::fmt::Display for KeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who manages a KMS key (`KeyMetadata.KeyManager`): only a customer managed key has a policy
/// Coffer may change or share.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyManager {
    #[default]
    #[serde(rename = "CUSTOMER")]
    Customer,
    #[serde(rename = "AWS")]
    Aws,
}

impl KeyManager {
    /// `CUSTOMER` or `AWS`, as KMS writes it; anything else is read as customer managed.
    pub fn parse(text: &str) -> KeyManager {
        if text == "AWS" {
            KeyManager::Aws
        } else {
            KeyManager::Customer
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveAlias {
    pub name: String,
    pub target_key_id: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveVault {
    pub name: String,
    pub arn: String,
    #[serde(default)]
    pub encryption_key_arn: Option<String>,
    #[serde(default)]
    pub tags: Tags,
    #[serde(default)]
    pub recovery_points: u64,
    /// The keys that encrypt its recovery points (read when it has any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovery_point_keys: Vec<String>,
    #[serde(default)]
    pub access_policy: Option<serde_json::Value>,
    #[serde(default)]
    pub lock: Option<LiveLock>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveLock {
    pub min_retention_days: Option<i64>,
    pub max_retention_days: Option<i64>,
    /// Set in compliance mode: the moment the lock becomes immutable (RFC 3339).
    pub lock_date: Option<String>,
    /// Whether `lock_date` has passed when the state was read.
    #[serde(default)]
    pub immutable: bool,
}

impl LiveLock {
    /// Whether a recovery point kept `delete_after_days` (`None`: forever) fits the lock's
    /// bounds: the rule of [`coffer_spec::Lock::admits`], on the lock AWS has.
    pub fn admits(&self, delete_after_days: Option<i64>) -> bool {
        coffer_spec::Lock {
            min_retention_days: self.min_retention_days,
            max_retention_days: self.max_retention_days,
            changeable_for_days: None,
        }
        .admits(delete_after_days)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveBackupPlan {
    pub plan_id: String,
    pub arn: String,
    pub name: String,
    #[serde(default)]
    pub version_id: String,
    #[serde(default)]
    pub rules: Vec<LiveRule>,
    #[serde(default)]
    pub tags: Tags,
    #[serde(default)]
    pub selections: Vec<LiveSelection>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveRule {
    pub name: String,
    pub target_vault_name: String,
    #[serde(default)]
    pub schedule: Option<String>,
    #[serde(default)]
    pub schedule_timezone: Option<String>,
    #[serde(default)]
    pub start_window_minutes: Option<i64>,
    #[serde(default)]
    pub completion_window_minutes: Option<i64>,
    #[serde(default)]
    pub lifecycle: LiveLifecycle,
    #[serde(default)]
    pub copy_actions: Vec<LiveCopyAction>,
    #[serde(default)]
    pub continuous_backup: bool,
    #[serde(default)]
    pub recovery_point_tags: Tags,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveLifecycle {
    pub move_to_cold_storage_after_days: Option<i64>,
    pub delete_after_days: Option<i64>,
}

impl From<&LifecycleDocument> for LiveLifecycle {
    fn from(document: &LifecycleDocument) -> Self {
        LiveLifecycle {
            move_to_cold_storage_after_days: document.move_to_cold_storage_after_days,
            delete_after_days: document.delete_after_days,
        }
    }
}

impl From<&LiveLifecycle> for LifecycleDocument {
    fn from(live: &LiveLifecycle) -> Self {
        LifecycleDocument {
            move_to_cold_storage_after_days: live.move_to_cold_storage_after_days,
            delete_after_days: live.delete_after_days,
        }
    }
}

/// A rule as AWS keeps it once `CreateBackupPlan` or `UpdateBackupPlan` wrote it.
impl From<&RuleDocument> for LiveRule {
    fn from(rule: &RuleDocument) -> Self {
        LiveRule {
            name: rule.name.clone(),
            target_vault_name: rule.target_vault_name.clone(),
            schedule: Some(rule.schedule.clone()),
            schedule_timezone: rule.schedule_timezone.clone(),
            start_window_minutes: rule.start_window_minutes,
            completion_window_minutes: rule.completion_window_minutes,
            lifecycle: LiveLifecycle::from(&rule.lifecycle),
            copy_actions: rule
                .copy_actions
                .iter()
                .map(|c| LiveCopyAction {
                    destination_vault_arn: c.destination_vault_arn.clone(),
                    lifecycle: LiveLifecycle::from(&c.lifecycle),
                })
                .collect(),
            continuous_backup: rule.continuous_backup,
            recovery_point_tags: rule.recovery_point_tags.clone(),
        }
    }
}

/// A live rule as the document that would write it (no schedule: an empty one).
impl From<&LiveRule> for RuleDocument {
    fn from(rule: &LiveRule) -> Self {
        RuleDocument {
            name: rule.name.clone(),
            target_vault_name: rule.target_vault_name.clone(),
            schedule: rule.schedule.clone().unwrap_or_default(),
            schedule_timezone: rule.schedule_timezone.clone(),
            start_window_minutes: rule.start_window_minutes,
            completion_window_minutes: rule.completion_window_minutes,
            lifecycle: LifecycleDocument::from(&rule.lifecycle),
            copy_actions: rule
                .copy_actions
                .iter()
                .map(|c| CopyActionDocument {
                    destination_vault_arn: c.destination_vault_arn.clone(),
                    lifecycle: LifecycleDocument::from(&c.lifecycle),
                })
                .collect(),
            continuous_backup: rule.continuous_backup,
            recovery_point_tags: rule.recovery_point_tags.clone(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveCopyAction {
    pub destination_vault_arn: String,
    #[serde(default)]
    pub lifecycle: LiveLifecycle,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveSelection {
    pub selection_id: String,
    pub name: String,
    pub role_arn: String,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub not_resources: Vec<String>,
    /// `ListOfTags` entries with `STRINGEQUALS`.
    #[serde(default)]
    pub tags: Tags,
    /// The selection's `Conditions` (StringEquals, StringLike, ...), when it has any. Coffer
    /// writes none, so a selection with conditions differs from the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<serde_json::Value>,
}

impl LiveState {
    pub fn region(&self, account_id: &str, region: &str) -> Option<&LiveRegion> {
        self.accounts.get(account_id)?.regions.get(region)
    }

    pub fn region_mut(&mut self, account_id: &str, region: &str) -> &mut LiveRegion {
        self.accounts
            .entry(account_id.to_string())
            .or_default()
            .regions
            .entry(region.to_string())
            .or_default()
    }
}
