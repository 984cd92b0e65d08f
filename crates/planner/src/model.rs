//! The plan's data: changes (what differs, per resource) and steps (the API calls that make
//! the changes, as a dependency graph). Serialised as the plan JSON, a contract other tools
//! build on: fields are only ever added.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of the plan JSON format.
pub const FORMAT_VERSION: u32 = 1;

pub use coffer_spec::topology::Tags;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    /// The topology's name.
    pub topology: String,
    /// SHA-256 of the resolved topology the plan was computed from.
    pub topology_digest: String,
    /// SHA-256 of the live state of every resource the plan looked at.
    pub live_fingerprint: String,
    pub summary: Summary,
    /// One entry per resource, in address order; unchanged resources have action `no-op`.
    pub changes: Vec<Change>,
    /// The calls that realise the changes, in an order that respects `depends_on`.
    pub steps: Vec<Step>,
    /// Failed checks of the catalog, evaluated on AWS as it will be after this plan.
    #[serde(default)]
    pub findings: Vec<crate::checks::Finding>,
    /// Who can destroy the copies once this plan is applied (`coffer check --destroy-paths`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroy_paths: Option<crate::destroy::DestroyReport>,
    /// The members of the topology's account sets the plan was made for (part of
    /// `live_fingerprint`); `None` when the topology has no account sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership: Option<coffer_spec::sets::Membership>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub no_op: usize,
    pub blocked: usize,
    pub irreversible: usize,
    /// Changes that weaken protection (need `--allow-weaken`).
    #[serde(default)]
    pub weakens: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Key,
    Alias,
    Vault,
    VaultPolicy,
    VaultLock,
    BackupPlan,
    Selection,
    CrossAccountBackup,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Key => "key",
            ResourceKind::Alias => "alias",
            ResourceKind::Vault => "vault",
            ResourceKind::VaultPolicy => "vault_policy",
            ResourceKind::VaultLock => "vault_lock",
            ResourceKind::BackupPlan => "backup_plan",
            ResourceKind::Selection => "selection",
            ResourceKind::CrossAccountBackup => "cross_account_backup",
        }
    }

    /// Every kind, in the order a plan lists them.
    pub const ALL: [ResourceKind; 8] = [
        ResourceKind::Key,
        ResourceKind::Alias,
        ResourceKind::Vault,
        ResourceKind::VaultPolicy,
        ResourceKind::VaultLock,
        ResourceKind::BackupPlan,
        ResourceKind::Selection,
        ResourceKind::CrossAccountBackup,
    ];

    /// The kind an address prefix names (`vault` for `vault.central`).
    pub fn parse(text: &str) -> Option<ResourceKind> {
        ResourceKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    /// The address of this kind's resource `name`.
    pub fn at(self, name: impl Into<String>) -> Address {
        Address {
            kind: self,
            name: name.into(),
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a resource stands in a plan: `kind.name`, e.g. `vault.central` or
/// `selection.orders-daily.orders-db`. Written as that string in the plan JSON, and ordered
/// as that string is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    pub kind: ResourceKind,
    /// The logical name (for a selection `<backup plan>.<selection>`; for a key that is a
    /// duplicate, `<name>#<key id>`; for the cross-account setting, the region).
    pub name: String,
}

impl Address {
    /// Parses `kind.name`; `None` when the text names no kind Coffer knows.
    pub fn parse(text: &str) -> Option<Address> {
        let (kind, name) = text.split_once('.')?;
        Some(ResourceKind::parse(kind)?.at(name))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind.as_str(), self.name)
    }
}

impl Ord for Address {
    /// The order of the written form: kind names are `[a-z_]` and `.` sorts before all of
    /// them, so comparing the kind's name and then the name is comparing `kind.name`.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.kind.as_str(), &self.name).cmp(&(other.kind.as_str(), &other.name))
    }
}

impl PartialOrd for Address {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq<str> for Address {
    fn eq(&self, other: &str) -> bool {
        other
            .split_once('.')
            .is_some_and(|(kind, name)| kind == self.kind.as_str() && name == self.name)
    }
}

impl PartialEq<&str> for Address {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Address::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a resource address (`kind.name`, kind one of {})",
                ResourceKind::ALL.map(ResourceKind::as_str).join(", ")
            ))
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
    NoOp,
}

impl Action {
    /// The Terraform-like symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::NoOp => " ",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::NoOp => "no-op",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// Cannot be undone once applied (a compliance lock past its grace time).
    Irreversible,
    /// Coffer will not do this; the reasons say why and what to do. A plan with a blocked
    /// change cannot be applied.
    Blocked,
    /// A deletion of a resource Coffer owns that is no longer in the file; it runs only when
    /// the apply is told to delete.
    NeedsAllowDelete,
    /// The name the file wants is taken by a resource Coffer does not own.
    Conflicting,
    /// Weakens protection (a guard removed, an exempt principal added, an allow widened, a
    /// lock shortened); it runs only when the apply is told `--allow-weaken`.
    Weakens,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub address: Address,
    pub kind: ResourceKind,
    /// Account ID.
    pub account: String,
    /// The account's logical name in the topology, when it has one.
    pub account_name: Option<String>,
    pub region: String,
    /// The resource's name in AWS: the vault's name (for its policy and lock too), the alias
    /// (of a key too), the backup plan's or the selection's name. Absent for settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_name: Option<String>,
    /// The resource's ARN. Absent where AWS picks it at creation (a new key or backup plan)
    /// and for what has none (selections, settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    pub action: Action,
    /// The live state as Coffer compares it; `null` when the resource does not exist.
    pub before: Option<Value>,
    /// The desired state; `null` for a deletion.
    pub after: Option<Value>,
    /// Field-level differences (dotted paths into `before`/`after`).
    pub fields: Vec<FieldChange>,
    pub flags: Vec<Flag>,
    pub reasons: Vec<String>,
}

impl Change {
    pub fn has(&self, flag: Flag) -> bool {
        self.flags.contains(&flag)
    }

    /// Whether `field` (a dotted path into `before`/`after`) or anything under it differs.
    pub fn field_changed(&self, field: &str) -> bool {
        self.fields.iter().any(|f| {
            f.path == field
                || f.path.starts_with(&format!("{field}."))
                || f.path.starts_with(&format!("{field}["))
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// A value a step needs: known now, or the output of an earlier step ("known after apply").
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ref {
    Value(String),
    Output { step: String, output: String },
}

/// Outputs of executed steps, by step ID then output name.
pub type Outputs = BTreeMap<String, BTreeMap<String, String>>;

impl Ref {
    /// The value, if it is known now or an earlier step produced it.
    pub fn resolve(&self, outputs: &Outputs) -> Option<String> {
        match self {
            Ref::Value(v) => Some(v.clone()),
            Ref::Output { step, output } => outputs.get(step)?.get(output).cloned(),
        }
    }

    pub fn output(step: &str, output: &str) -> Ref {
        Ref::Output {
            step: step.to_string(),
            output: output.to_string(),
        }
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ref::Value(v) => f.write_str(v),
            Ref::Output { .. } => f.write_str("(known after apply)"),
        }
    }
}

/// Output names of steps.
pub mod outputs {
    pub const KEY_ID: &str = "key_id";
    pub const ARN: &str = "arn";
    pub const PLAN_ID: &str = "plan_id";
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Stable: the same change always gets the same ID.
    pub id: String,
    /// The change this step belongs to.
    pub address: Address,
    pub account: String,
    pub region: String,
    pub operation: Operation,
    pub depends_on: Vec<String>,
    /// Runs only when the apply is told to delete.
    #[serde(default)]
    pub needs_allow_delete: bool,
    /// Cannot be undone; the apply needs explicit confirmation.
    #[serde(default)]
    pub irreversible: bool,
}

/// A backup plan as `CreateBackupPlan`/`UpdateBackupPlan` take it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupPlanDocument {
    pub name: String,
    pub rules: Vec<RuleDocument>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleDocument {
    pub name: String,
    pub target_vault_name: String,
    pub schedule: String,
    pub schedule_timezone: Option<String>,
    pub start_window_minutes: Option<i64>,
    pub completion_window_minutes: Option<i64>,
    pub lifecycle: LifecycleDocument,
    pub copy_actions: Vec<CopyActionDocument>,
    pub continuous_backup: bool,
    pub recovery_point_tags: Tags,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleDocument {
    pub move_to_cold_storage_after_days: Option<i64>,
    pub delete_after_days: Option<i64>,
}

impl From<&coffer_spec::topology::Lifecycle> for LifecycleDocument {
    fn from(lifecycle: &coffer_spec::topology::Lifecycle) -> Self {
        LifecycleDocument {
            move_to_cold_storage_after_days: lifecycle.move_to_cold_storage_after_days,
            delete_after_days: lifecycle.delete_after_days,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyActionDocument {
    pub destination_vault_arn: String,
    pub lifecycle: LifecycleDocument,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectionDocument {
    pub name: String,
    pub role_arn: String,
    pub resources: Vec<String>,
    pub not_resources: Vec<String>,
    pub tags: Tags,
}

/// One AWS API call. The variant names are the API operations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call")]
pub enum Operation {
    CreateKey {
        description: String,
        policy: Value,
        tags: Tags,
    },
    PutKeyPolicy {
        key: Ref,
        policy: Value,
    },
    UpdateKeyDescription {
        key: Ref,
        description: String,
    },
    EnableKeyRotation {
        key: Ref,
        period_days: u32,
    },
    DisableKeyRotation {
        key: Ref,
    },
    CancelKeyDeletion {
        key: Ref,
    },
    EnableKey {
        key: Ref,
    },
    TagKey {
        key: Ref,
        tags: Tags,
    },
    UntagKey {
        key: Ref,
        tag_keys: Vec<String>,
    },
    ScheduleKeyDeletion {
        key: Ref,
        pending_window_days: u32,
    },
    CreateAlias {
        alias_name: String,
        key: Ref,
    },
    UpdateAlias {
        alias_name: String,
        key: Ref,
    },
    DeleteAlias {
        alias_name: String,
    },
    CreateBackupVault {
        vault_name: String,
        encryption_key_arn: Option<Ref>,
        tags: Tags,
        creator_request_id: String,
    },
    DeleteBackupVault {
        vault_name: String,
    },
    PutBackupVaultAccessPolicy {
        vault_name: String,
        policy: Value,
    },
    DeleteBackupVaultAccessPolicy {
        vault_name: String,
    },
    PutBackupVaultLockConfiguration {
        vault_name: String,
        min_retention_days: Option<i64>,
        max_retention_days: Option<i64>,
        changeable_for_days: Option<i64>,
    },
    CreateBackupPlan {
        plan: BackupPlanDocument,
        tags: Tags,
        creator_request_id: String,
    },
    UpdateBackupPlan {
        plan_id: Ref,
        plan: BackupPlanDocument,
    },
    DeleteBackupPlan {
        plan_id: Ref,
    },
    CreateBackupSelection {
        plan_id: Ref,
        selection: SelectionDocument,
        creator_request_id: String,
    },
    DeleteBackupSelection {
        plan_id: Ref,
        selection_id: String,
    },
    /// Tags a Backup resource (vault or plan) by ARN.
    TagResource {
        resource_arn: Ref,
        tags: Tags,
    },
    UntagResource {
        resource_arn: Ref,
        tag_keys: Vec<String>,
    },
    UpdateGlobalSettings {
        cross_account_backup: bool,
    },
}

impl Operation {
    /// The API operation's name, e.g. `CreateBackupVault`.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::CreateKey { .. } => "CreateKey",
            Operation::PutKeyPolicy { .. } => "PutKeyPolicy",
            Operation::UpdateKeyDescription { .. } => "UpdateKeyDescription",
            Operation::EnableKeyRotation { .. } => "EnableKeyRotation",
            Operation::DisableKeyRotation { .. } => "DisableKeyRotation",
            Operation::CancelKeyDeletion { .. } => "CancelKeyDeletion",
            Operation::EnableKey { .. } => "EnableKey",
            Operation::TagKey { .. } => "TagResource (KMS)",
            Operation::UntagKey { .. } => "UntagResource (KMS)",
            Operation::ScheduleKeyDeletion { .. } => "ScheduleKeyDeletion",
            Operation::CreateAlias { .. } => "CreateAlias",
            Operation::UpdateAlias { .. } => "UpdateAlias",
            Operation::DeleteAlias { .. } => "DeleteAlias",
            Operation::CreateBackupVault { .. } => "CreateBackupVault",
            Operation::DeleteBackupVault { .. } => "DeleteBackupVault",
            Operation::PutBackupVaultAccessPolicy { .. } => "PutBackupVaultAccessPolicy",
            Operation::DeleteBackupVaultAccessPolicy { .. } => "DeleteBackupVaultAccessPolicy",
            Operation::PutBackupVaultLockConfiguration { .. } => "PutBackupVaultLockConfiguration",
            Operation::CreateBackupPlan { .. } => "CreateBackupPlan",
            Operation::UpdateBackupPlan { .. } => "UpdateBackupPlan",
            Operation::DeleteBackupPlan { .. } => "DeleteBackupPlan",
            Operation::CreateBackupSelection { .. } => "CreateBackupSelection",
            Operation::DeleteBackupSelection { .. } => "DeleteBackupSelection",
            Operation::TagResource { .. } => "TagResource (Backup)",
            Operation::UntagResource { .. } => "UntagResource (Backup)",
            Operation::UpdateGlobalSettings { .. } => "UpdateGlobalSettings",
        }
    }
}

impl Plan {
    /// Whether the plan changes anything (blocked changes count: they need attention).
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
    }

    pub fn blocked(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.has(Flag::Blocked))
    }

    /// Findings of blocker severity.
    pub fn blockers(&self) -> impl Iterator<Item = &crate::checks::Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == crate::checks::Severity::Blocker)
    }
}
