//! The checks catalog: what must hold for every copy edge of a topology to work, checked
//! before AWS finds out at job time.
//!
//! Static checks look at the topology alone (some are the validator's own diagnostics, tagged
//! with a check ID). Live checks look at a [`LiveState`]: either the state after this plan
//! (what AWS will look like once Coffer applied it, from [`crate::simulate`]) or AWS as it
//! is now.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use coffer_spec::checks as id;
use coffer_spec::{AccountName, BackupPlan, Diagnostics, Key, Rule, Topology, Vault};

use crate::live::{KeyManager, LiveKey, LiveRegion, LiveState, LiveVault, RoleStatus};
use crate::{access, policy};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Blocker,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Blocker => "blocker",
        })
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Severity, String> {
        match s {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            "blocker" => Ok(Severity::Blocker),
            other => Err(format!(
                "unknown severity `{other}`: use info, warning, error or blocker"
            )),
        }
    }
}

/// One entry of the catalog.
#[derive(Clone, Copy, Debug)]
pub struct Check {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    /// Why it matters.
    pub rationale: &'static str,
    /// Where AWS documents the behaviour.
    pub source: &'static str,
    /// What to do when it fails.
    pub fix: &'static str,
    /// Evaluated against live (or after-plan) state; otherwise on the topology alone.
    pub live: bool,
}

const DOC_CROSS_ACCOUNT: &str =
    "https://docs.aws.amazon.com/aws-backup/latest/devguide/create-cross-account-backup.html";
const DOC_ENCRYPTION: &str =
    "https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html";
const DOC_VAULT_POLICY: &str =
    "https://docs.aws.amazon.com/aws-backup/latest/devguide/create-a-vault-access-policy.html";
const DOC_VAULT_LOCK: &str =
    "https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html";
const DOC_KEY_POLICY: &str = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html";
const DOC_RDS_ENCRYPTION: &str =
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.html";

macro_rules! check {
    ($id:expr, $sev:ident, $live:expr, $title:literal, $why:literal, $src:expr, $fix:literal) => {
        Check {
            id: $id,
            severity: Severity::$sev,
            title: $title,
            rationale: $why,
            source: $src,
            fix: $fix,
            live: $live,
        }
    };
}

/// Every check, in ID order.
pub const CATALOG: &[Check] = &[
    check!(
        id::ACCOUNTS_IN_ORGANIZATION,
        Blocker,
        true,
        "Every account is in the declared organization",
        "Cross-account copies work only between accounts of one AWS Organization.",
        DOC_CROSS_ACCOUNT,
        "Invite the account into the organization, or correct `organization.id`."
    ),
    check!(
        id::CROSS_ACCOUNT_BACKUP_ENABLED,
        Blocker,
        true,
        "Cross-account backup is enabled in the management account",
        "AWS Backup fails every cross-account copy job while the organization's management account has cross-account backup switched off, in the copy's region.",
        DOC_CROSS_ACCOUNT,
        "Set `organization.cross_account_backup: enabled` and apply."
    ),
    check!(
        id::DESTINATION_NOT_DEFAULT_VAULT,
        Blocker,
        false,
        "A copy destination is not the default vault",
        "The default vault's key cannot be shared with other accounts, so copies into it from another account fail.",
        DOC_CROSS_ACCOUNT,
        "Copy into a vault of your own, encrypted with a customer managed key."
    ),
    check!(
        id::DESTINATION_CUSTOMER_KEY,
        Error,
        false,
        "A cross-account destination vault uses a customer managed key",
        "Backups of resources AWS Backup does not fully manage (RDS among them) cannot be copied into a vault encrypted with `aws/backup`.",
        DOC_ENCRYPTION,
        "Give the vault a `key:` of its own account and region (a new vault: a vault's key never changes)."
    ),
    check!(
        id::DESTINATION_ALLOWS_SOURCE,
        Blocker,
        true,
        "The destination vault's policy allows the source account to copy in",
        "Without an Allow of `backup:CopyIntoBackupVault` for the source account (directly, or `*` limited by `aws:PrincipalOrgID`/`aws:PrincipalOrgPaths`), copies fail with AccessDenied days later.",
        DOC_CROSS_ACCOUNT,
        "Add the source to `access_policy.allow_copy_from`, or set `access_policy.organization: true`."
    ),
    check!(
        id::DESTINATION_NO_DENY,
        Blocker,
        true,
        "No statement of the destination vault's policy denies the source's copies",
        "An explicit Deny of `backup:CopyIntoBackupVault` wins over every Allow.",
        DOC_VAULT_POLICY,
        "Remove or narrow the Deny statement."
    ),
    check!(
        id::VAULT_POLICY_NO_OPEN_PRINCIPAL,
        Warning,
        true,
        "Vault policies do not allow `*` without an organization condition",
        "A `Principal: \"*\"` Allow without `aws:PrincipalOrgID` opens the vault to every AWS account, and AWS Backup does not honour it for cross-account copies.",
        DOC_CROSS_ACCOUNT,
        "Limit the statement with `aws:PrincipalOrgID`, or name the accounts."
    ),
    check!(
        id::VAULT_POLICY_NO_WILDCARD_ACTION,
        Blocker,
        true,
        "Vault policies have no wildcard actions",
        "AWS Backup vault access policies do not support wildcards in `Action`.",
        DOC_VAULT_POLICY,
        "List the actions one by one."
    ),
    check!(
        id::VAULT_POLICY_NO_FOREIGN_DELETE,
        Blocker,
        true,
        "No other account may delete recovery points or change the vault policy",
        "A vault that exists to survive the loss of a source account must not let another account (or everyone) delete recovery points, shorten their lifecycle, delete the vault, or rewrite its policy or lock. Evaluated on the whole policy as AWS reads it (generated and extra statements, organization conditions), for every other account of the topology, an unnamed account of the organization and an outsider.",
        DOC_VAULT_POLICY,
        "Remove the Allow of `backup:DeleteRecoveryPoint`, `backup:UpdateRecoveryPointLifecycle`, `backup:DeleteBackupVault` and the vault policy and lock actions for other principals; consider `deny_recovery_point_deletion: true`."
    ),
    check!(
        id::NO_ORPHANED_PRINCIPALS,
        Warning,
        true,
        "Policies name no deleted principals",
        "AWS shows a principal whose role or user was deleted by its unique ID (`AROA…`, `AIDA…`); a recreated role with the same name is not granted.",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html",
        "Apply the topology to write the policy again with ARNs."
    ),
    check!(
        id::KEY_ENABLED,
        Blocker,
        true,
        "Keys used by vaults and source resources are enabled",
        "Backups, copies and restores fail while the key that encrypts the source or the destination vault is disabled.",
        DOC_ENCRYPTION,
        "Enable the key (`coffer apply` does it for keys of the topology)."
    ),
    check!(
        id::KEY_NOT_PENDING_DELETION,
        Blocker,
        true,
        "Keys used by vaults and source resources are not pending deletion",
        "A key pending deletion cannot be used, and once deleted the data it encrypts is lost for good.",
        "https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html",
        "Cancel the key's deletion (`coffer apply` does it for keys of the topology)."
    ),
    check!(
        id::COPY_LIFECYCLE_IN_LOCK,
        Blocker,
        true,
        "Each copy's retention fits the destination vault's lock",
        "A copy job whose retention is below the destination lock's minimum or above its maximum fails.",
        DOC_VAULT_LOCK,
        "Set the copy's `lifecycle.delete_after_days` within the lock's bounds."
    ),
    check!(
        id::BACKUP_LIFECYCLE_IN_LOCK,
        Blocker,
        true,
        "Each rule's retention fits its vault's lock",
        "A backup job whose retention is outside the vault lock's bounds fails.",
        DOC_VAULT_LOCK,
        "Set the rule's `lifecycle.delete_after_days` within the lock's bounds."
    ),
    check!(
        id::COMPLIANCE_LOCK_NOT_FOREVER,
        Warning,
        true,
        "A compliance-locked vault does not keep recovery points forever",
        "After the grace time, a recovery point kept forever in a compliance-locked vault can never be deleted: a permanent cost.",
        DOC_VAULT_LOCK,
        "Set `delete_after_days` on the rules and copies into the vault."
    ),
    check!(
        id::KEY_ROTATION_ON,
        Warning,
        true,
        "Key rotation is on",
        "Automatic rotation limits how much data one key version protects; most compliance frameworks expect it.",
        "https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html",
        "Remove `rotation: {enabled: false}`."
    ),
    check!(
        id::BACKUP_KEY_NOT_SHARED_BACK,
        Blocker,
        true,
        "The backup account's key is not usable by the accounts it protects",
        "The point of a separate backup account is that a compromised source account cannot reach its backups; sharing the vault key back undoes that. Evaluated on the whole key policy (`usable_by`, `admins`, extra statements) for every source account that copies into a vault the key encrypts.",
        DOC_CROSS_ACCOUNT,
        "Remove the source accounts from the destination key's `usable_by`, `admins` and statements."
    ),
    check!(
        id::KEY_NO_OPEN_PRINCIPAL,
        Blocker,
        true,
        "Key policies do not allow `*` without an organization condition",
        "A key policy statement for `Principal: \"*\"` without a condition lets any AWS account use the key. Evaluated on the whole policy for a principal outside the organization; an organization condition naming another organization than the topology's counts too.",
        DOC_KEY_POLICY,
        "Limit the statement with the topology's `aws:PrincipalOrgID`, or name the accounts in `usable_by`."
    ),
    check!(
        id::KEY_STAYS_MANAGEABLE,
        Blocker,
        true,
        "The key stays manageable after the policy change",
        "KMS refuses a key policy that would stop its writer from changing it again; a Deny of `kms:PutKeyPolicy` for the account or everyone locks the key for good.",
        "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html",
        "Remove the Deny of `kms:PutKeyPolicy`; Coffer's generated root statement keeps the key manageable."
    ),
    check!(
        id::SOURCE_EXISTS,
        Error,
        true,
        "Selected resources exist",
        "A selection that names a missing resource backs up nothing, silently.",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/assigning-resources.html",
        "Correct the ARN in `selections[].resources`."
    ),
    check!(
        id::SOURCE_ENCRYPTED,
        Blocker,
        true,
        "Selected RDS resources are encrypted",
        "An unencrypted RDS snapshot copied to another account stays unencrypted; AWS Backup copies of RDS keep the source's encryption.",
        DOC_RDS_ENCRYPTION,
        "Encrypt the database with a customer managed key (restore a snapshot copied with the key)."
    ),
    check!(
        id::SOURCE_KEY_CUSTOMER_MANAGED,
        Blocker,
        true,
        "Selected RDS resources use a customer managed key, not `aws/rds`",
        "RDS is not fully managed by AWS Backup: its recovery points keep the database's key, and an AWS managed key can never be shared with another account, so no copy can ever leave the account.",
        DOC_ENCRYPTION,
        "Move the database to a customer managed key of the topology (snapshot, copy with the new key, restore)."
    ),
    check!(
        id::SOURCE_KEY_SHARED_WITH_DESTINATION,
        Blocker,
        true,
        "The source resource's key lets every destination account use it",
        "The destination account must be allowed `kms:Decrypt`, `kms:DescribeKey` and `kms:CreateGrant` on the key of the source's recovery points, or the copy fails.",
        DOC_KEY_POLICY,
        "Add the destination account to the source key's `usable_by`."
    ),
    check!(
        id::NO_MULTI_AZ_CLUSTER_COPY,
        Blocker,
        true,
        "No Multi-AZ DB cluster is copied",
        "AWS Backup cannot copy backups of RDS Multi-AZ DB clusters to another account or region.",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/backup-feature-availability.html",
        "Back these clusters up without `copy_to`, or copy their snapshots with RDS."
    ),
    check!(
        id::UNCHECKED_RESOURCES,
        Info,
        false,
        "Resources Coffer cannot check",
        "Coffer checks RDS instances and clusters named by ARN; resources selected by tags, wildcards or other services are not checked before apply.",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/assigning-resources.html",
        "Run `coffer drill` to prove the copy chain for them."
    ),
    check!(
        id::RESTORE_PATH_COPY_BACK,
        Warning,
        false,
        "The source vault lets the backup account copy back",
        "AWS Backup restores only in the account that holds the recovery point; to recover into the source account, the backup account must be able to copy back into the source vault.",
        DOC_CROSS_ACCOUNT,
        "Add the destination account to the source vault's `access_policy.allow_copy_from`."
    ),
    check!(
        id::DESTINATION_VAULT_EXISTS,
        Blocker,
        true,
        "Every copy destination vault exists",
        "A copy action to a vault that does not exist fails at job time.",
        DOC_CROSS_ACCOUNT,
        "Apply the topology so the vault is created, or correct `copy_to`."
    ),
    check!(
        id::CROSS_REGION_AND_ACCOUNT_RDS,
        Warning,
        false,
        "RDS copies do not cross account and region at once",
        "AWS documents combined cross-region and cross-account copies for RDS inconsistently; some resource types need two hops.",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/backup-feature-availability.html",
        "Copy cross-account within the region, then cross-region in the destination account."
    ),
    check!(
        id::LOCK_IMMUTABLE,
        Info,
        true,
        "Compliance locks past their grace time",
        "Once a compliance lock's date has passed, nobody can change or remove it; Coffer reports it so the file keeps matching.",
        DOC_VAULT_LOCK,
        "Keep the lock's bounds in the file as they are."
    ),
    check!(
        id::ORGANIZATION_DECLARED,
        Error,
        false,
        "Topologies with cross-account copies declare their organization",
        "Without `organization:`, Coffer cannot check membership or keep cross-account backup switched on.",
        DOC_CROSS_ACCOUNT,
        "Add `organization:` with its `id`, `management_account` and `cross_account_backup: enabled`."
    ),
    check!(
        id::SERVICE_ROLE_TRUSTS_BACKUP,
        Blocker,
        true,
        "Every backup selection's role exists and trusts AWS Backup",
        "AWS Backup assumes the selection's `IamRoleArn` for its backups and restores, and refuses a role that does not exist or whose trust policy does not allow `backup.amazonaws.com` to call `sts:AssumeRole` (`IAM Role ... cannot be assumed by AWS Backup`). `service-default` is `service-role/AWSBackupDefaultServiceRole`, which only the AWS Backup console creates.",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/iam-service-roles.html",
        "Create the role (path and name as in its ARN) with a trust policy for `backup.amazonaws.com` and the managed policies `AWSBackupServiceRolePolicyForBackup` and `AWSBackupServiceRolePolicyForRestores` (the finding gives the `aws iam` commands); `coffer drill --create-service-role` creates `service-default`'s role."
    ),
];

/// Live checks that also run on the topology alone: from the validator's diagnostics, or on
/// the policies Coffer would write.
pub const ALSO_STATIC: &[&str] = &[
    id::CROSS_ACCOUNT_BACKUP_ENABLED,
    id::DESTINATION_ALLOWS_SOURCE,
    id::VAULT_POLICY_NO_OPEN_PRINCIPAL,
    id::VAULT_POLICY_NO_WILDCARD_ACTION,
    id::VAULT_POLICY_NO_FOREIGN_DELETE,
    id::NO_ORPHANED_PRINCIPALS,
    id::COPY_LIFECYCLE_IN_LOCK,
    id::BACKUP_LIFECYCLE_IN_LOCK,
    id::KEY_ROTATION_ON,
    id::BACKUP_KEY_NOT_SHARED_BACK,
    id::KEY_NO_OPEN_PRINCIPAL,
    id::KEY_STAYS_MANAGEABLE,
];

fn kind(check: &Check) -> &'static str {
    match (check.live, ALSO_STATIC.contains(&check.id)) {
        (true, true) => "static and live",
        (true, false) => "live",
        (false, _) => "static",
    }
}

pub fn find(check_id: &str) -> Option<&'static Check> {
    CATALOG.iter().find(|c| c.id == check_id)
}

/// One failed check.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Finding {
    pub check: String,
    pub severity: Severity,
    pub title: String,
    /// What it is about: an address, a copy edge, or a file position.
    pub subject: String,
    /// The name in AWS of the resource the subject names (a vault's name, a key's alias, a
    /// backup plan's or selection's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_name: Option<String>,
    /// That resource's ARN, when it is known (not for a key or backup plan yet to be created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The account ID and region of that resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub message: String,
    pub fix: String,
}

/// What a finding is about: the subject's text and the AWS resource it names, if any.
#[derive(Clone, Debug, Default)]
struct Subject {
    text: String,
    aws_name: Option<String>,
    arn: Option<String>,
    account: Option<String>,
    region: Option<String>,
}

impl Subject {
    /// A subject naming the resource `aws_name` in `account` and `region`.
    fn resource(
        text: impl Into<String>,
        aws_name: Option<&str>,
        arn: Option<&str>,
        account: &str,
        region: &str,
    ) -> Subject {
        Subject {
            text: text.into(),
            aws_name: aws_name.map(str::to_string),
            arn: arn.map(str::to_string),
            account: Some(account.to_string()),
            region: Some(region.to_string()),
        }
    }

    /// The same resource under another subject text.
    fn retext(&self, text: impl Into<String>) -> Subject {
        Subject {
            text: text.into(),
            ..self.clone()
        }
    }
}

impl From<String> for Subject {
    fn from(text: String) -> Subject {
        Subject {
            text,
            ..Subject::default()
        }
    }
}

impl From<&str> for Subject {
    fn from(text: &str) -> Subject {
        Subject::from(text.to_string())
    }
}

impl From<&Subject> for Subject {
    fn from(subject: &Subject) -> Subject {
        subject.clone()
    }
}

/// Where in the topology file a finding points: a file position (a finding that is a
/// validator diagnostic) or the entry it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// A 1-based line and column.
    Position { line: u32, col: u32 },
    /// A logical name of `section` (`accounts`, `keys`, `vaults` or `backup_plans`), or the
    /// top-level section itself when `name` is `None` (`organization`).
    Entry {
        section: &'static str,
        name: Option<String>,
    },
}

impl Anchor {
    /// `vaults.central`, or the bare section: what `coffer_spec::Positions::lookup` takes.
    pub fn path(&self) -> Option<String> {
        match self {
            Anchor::Position { .. } => None,
            Anchor::Entry { section, name } => Some(match name {
                Some(name) => format!("{section}.{name}"),
                None => section.to_string(),
            }),
        }
    }
}

impl Finding {
    /// Where the finding points in the topology file, read from its subject (the subjects
    /// this module writes: `line L column C`, `key.K`, `vault.V`, `vault_policy.V`,
    /// `vault_lock.V`, `account.A`, `backup_plan.P rule R -> …`, `selection.P.S`,
    /// `ARN (backup_plan.P …)` and `organization`). `None` for a subject naming nothing of
    /// the file.
    pub fn anchor(&self) -> Option<Anchor> {
        let subject = self.subject.trim();
        if let Some(rest) = subject.strip_prefix("line ") {
            let (line, col) = rest.split_once(" column ")?;
            return Some(Anchor::Position {
                line: line.trim().parse().ok()?,
                col: col.trim().parse().ok()?,
            });
        }
        if subject == "organization" {
            return Some(Anchor::Entry {
                section: "organization",
                name: None,
            });
        }
        const PREFIXES: &[(&str, &str)] = &[
            ("backup_plan.", "backup_plans"),
            ("selection.", "backup_plans"),
            ("vault_policy.", "vaults"),
            ("vault_lock.", "vaults"),
            ("vault.", "vaults"),
            ("key.", "keys"),
            ("account.", "accounts"),
        ];
        subject
            .split([' ', '(', ')'])
            .find_map(|token| {
                PREFIXES.iter().find_map(|(prefix, section)| {
                    let rest = token.strip_prefix(prefix)?;
                    // Logical names have no dots: `selection.P.S` is about plan `P`.
                    let name = rest.split('.').next().unwrap_or_default();
                    (!name.is_empty()).then(|| (*section, name.to_string()))
                })
            })
            .map(|(section, name)| Anchor::Entry {
                section,
                name: Some(name),
            })
    }
}

fn finding(
    check_id: &'static str,
    subject: impl Into<Subject>,
    message: impl Into<String>,
) -> Finding {
    let check = find(check_id).copied().unwrap_or(CATALOG[0]);
    let subject = subject.into();
    Finding {
        check: check_id.to_string(),
        severity: check.severity,
        title: check.title.to_string(),
        subject: subject.text,
        aws_name: subject.aws_name,
        arn: subject.arn,
        account: subject.account,
        region: subject.region,
        message: message.into(),
        fix: check.fix.to_string(),
    }
}

/// A copy edge: a rule of `plan` copies from `source` into `destination`.
struct Edge<'a> {
    plan: &'a BackupPlan,
    rule: &'a Rule,
    source: &'a Vault,
    destination: &'a Vault,
}

impl Edge<'_> {
    fn subject(&self) -> String {
        format!(
            "backup_plan.{} rule {} -> vault.{}",
            self.plan.name, self.rule.name, self.destination.name
        )
    }
    fn cross_account(&self) -> bool {
        self.destination.account != self.plan.account
    }
}

fn edges(topology: &Topology) -> Vec<Edge<'_>> {
    topology
        .copy_edges()
        .map(|edge| Edge {
            plan: edge.plan,
            rule: edge.rule,
            source: edge.source,
            destination: edge.destination,
        })
        .collect()
}

// ----- policy questions (answered by the policy engine) -----

use coffer_policy::{Decision, Request, statements, string_list};

fn effect(statement: &Map<String, Value>) -> &str {
    statement
        .get("Effect")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Organization IDs that `Allow` statements of `policy` name in a positive
/// `aws:PrincipalOrgID` condition and that are not `org` (a typo or another organization).
fn foreign_org_ids(policy: &Value, org: Option<&str>) -> Vec<String> {
    let mut found = Vec::new();
    for statement in statements(policy)
        .into_iter()
        .filter(|s| effect(s) == "Allow")
    {
        let Some(Value::Object(operators)) = statement.get("Condition") else {
            continue;
        };
        for (operator, keys) in operators {
            let lower = operator.to_ascii_lowercase();
            if lower.contains("not") || lower == "null" {
                continue;
            }
            for (key, values) in keys.as_object().into_iter().flatten() {
                if key.eq_ignore_ascii_case("aws:PrincipalOrgID") {
                    found.extend(
                        string_list(Some(values))
                            .into_iter()
                            .filter(|v| Some(v.as_str()) != org),
                    );
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The decision of `policy` for the root of `account` (a member of `org`) doing `action`.
fn account_decision(
    policy: &Value,
    action: &str,
    account: &str,
    org: Option<&str>,
    resource: &str,
    owner: &str,
) -> Decision {
    let mut request = Request::new(
        format!("arn:aws:iam::{account}:root"),
        action,
        resource,
        owner,
    );
    if let Some(org) = org {
        request = request.with("aws:PrincipalOrgID", [org]);
    }
    coffer_policy::evaluate(policy, &request)
}

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

/// Key actions that let an account read what the key encrypts.
const KEY_READ_ACTIONS: &[&str] = &["kms:Decrypt", "kms:CreateGrant", "kms:ReEncryptFrom"];

// ----- evaluation -----

struct Context<'a> {
    topology: &'a Topology,
    state: Option<&'a LiveState>,
    org: Option<&'a str>,
    findings: Vec<Finding>,
}

/// Runs the catalog. `state` is `None` for static checks only; otherwise the live checks run
/// against it (after-plan or as-is). Diagnostics tagged with a check become findings of that
/// check when it is not evaluated live.
pub fn evaluate(
    topology: &Topology,
    diagnostics: &Diagnostics,
    state: Option<&LiveState>,
) -> Vec<Finding> {
    let mut context = Context {
        topology,
        state,
        org: topology.organization.as_ref().map(|o| o.id.as_str()),
        findings: Vec::new(),
    };
    for diagnostic in &diagnostics.0 {
        let Some(check_id) = diagnostic.check else {
            continue;
        };
        let evaluated_live = state.is_some() && find(check_id).is_some_and(|c| c.live);
        if !evaluated_live {
            context.findings.push(finding(
                check_id,
                format!("line {} column {}", diagnostic.pos.line, diagnostic.pos.col),
                diagnostic.message.clone(),
            ));
        }
    }
    context.static_checks();
    if state.is_some() {
        context.live_checks();
    }
    let mut findings = context.findings;
    findings.sort_by(|a, b| {
        (b.severity, &a.check, &a.subject, &a.message)
            .cmp(&(a.severity, &b.check, &b.subject, &b.message))
    });
    findings.dedup();
    findings
}

impl Context<'_> {
    fn push(
        &mut self,
        check_id: &'static str,
        subject: impl Into<Subject>,
        message: impl Into<String>,
    ) {
        self.findings.push(finding(check_id, subject, message));
    }

    fn account_id(&self, name: &AccountName) -> String {
        self.topology.account_id(name).to_string()
    }

    /// `key.K`, known in AWS by its alias (and by its ARN once it exists).
    fn key_subject(&self, key: &Key, live: Option<&LiveKey>) -> Subject {
        Subject::resource(
            format!("key.{}", key.name),
            Some(&key.alias),
            live.map(|k| k.arn.as_str()),
            &self.account_id(&key.account),
            &key.region,
        )
    }

    /// `kind.V` for a vault or its policy or lock: the vault's name and ARN (which follows
    /// from its name).
    fn vault_subject(&self, kind: &str, vault: &Vault) -> Subject {
        Subject::resource(
            format!("{kind}.{}", vault.name),
            Some(&vault.vault_name),
            Some(&self.topology.vault_arn(vault)),
            &self.account_id(&vault.account),
            &vault.region,
        )
    }

    /// A subject about a backup plan (`text` starts with its address): the plan's name, and
    /// its ARN when it exists.
    fn plan_subject(&self, text: String, plan: &BackupPlan) -> Subject {
        let arn = self
            .region(&plan.account, &plan.region)
            .and_then(|r| r.backup_plans.iter().find(|p| p.name == plan.plan_name))
            .map(|p| p.arn.clone());
        Subject::resource(
            text,
            Some(&plan.plan_name),
            arn.as_deref(),
            &self.account_id(&plan.account),
            &plan.region,
        )
    }

    /// A copy edge is about the rule of the backup plan that copies.
    fn edge_subject(&self, edge: &Edge<'_>) -> Subject {
        self.plan_subject(edge.subject(), edge.plan)
    }

    /// A resource a selection names, by its ARN, on the copy edge `edge`.
    fn source_subject(&self, arn: &str, edge: String, plan: &BackupPlan) -> Subject {
        Subject::resource(
            format!("{arn} ({edge})"),
            None,
            Some(arn),
            &self.account_id(&plan.account),
            &plan.region,
        )
    }

    fn static_checks(&mut self) {
        let topology = self.topology;
        let all_edges = edges(topology);
        if self.org.is_none() && all_edges.iter().any(Edge::cross_account) {
            self.push(
                id::ORGANIZATION_DECLARED,
                "organization",
                "the topology copies across accounts but declares no organization",
            );
        }
        for edge in &all_edges {
            let subject = self.edge_subject(edge);
            if edge.destination.vault_name.eq_ignore_ascii_case("default") {
                self.push(
                    id::DESTINATION_NOT_DEFAULT_VAULT,
                    subject.clone(),
                    format!(
                        "copies go to the default vault of account `{}`",
                        edge.destination.account
                    ),
                );
            }
            if edge.cross_account() && edge.destination.key.is_none() {
                self.push(
                    id::DESTINATION_CUSTOMER_KEY,
                    subject.clone(),
                    format!(
                        "vault `{}` receives cross-account copies but has no customer managed key",
                        edge.destination.name
                    ),
                );
            }
            if edge.cross_account() {
                let destination_id = self.account_id(&edge.destination.account);
                let copy_back = edge.source.access_policy.as_ref().is_some_and(|p| {
                    p.allow_copy_from.contains(&destination_id)
                        || p.organization_id.is_some()
                        || !p.org_paths.is_empty()
                });
                if !copy_back {
                    self.push(id::RESTORE_PATH_COPY_BACK, subject.clone(), format!("vault `{}` does not let account `{}` copy recovery points back for restores in the source account", edge.source.name, edge.destination.account));
                }
                let rds = edge
                    .plan
                    .selections
                    .iter()
                    .flat_map(|s| &s.resources)
                    .any(|r| r.starts_with("arn:aws:rds:"));
                if rds && edge.destination.region != edge.source.region {
                    self.push(id::CROSS_REGION_AND_ACCOUNT_RDS, subject.clone(), format!("RDS recovery points are copied to another account and region at once ({} -> {})", edge.source.region, edge.destination.region));
                }
            }
        }
        for plan in topology.backup_plans.values() {
            for selection in &plan.selections {
                let unchecked: Vec<&String> = selection
                    .resources
                    .iter()
                    .filter(|r| rds_kind(r).is_none())
                    .collect();
                if !unchecked.is_empty() || !selection.tags.is_empty() {
                    let mut what: Vec<String> =
                        unchecked.iter().map(|r| format!("`{r}`")).collect();
                    if !selection.tags.is_empty() {
                        what.push("resources selected by tags".into());
                    }
                    let subject = Subject::resource(
                        format!("selection.{}.{}", plan.name, selection.name),
                        Some(&selection.name),
                        None,
                        &self.account_id(&plan.account),
                        &plan.region,
                    );
                    self.push(
                        id::UNCHECKED_RESOURCES,
                        subject,
                        format!("not checked before apply: {}", what.join(", ")),
                    );
                }
            }
        }
        if self.state.is_none() {
            // Without live state, check the policies Coffer will write.
            for key in topology.keys.values() {
                let subject = self.key_subject(key, None);
                if key.rotation_period_days.is_none() {
                    self.push(
                        id::KEY_ROTATION_ON,
                        &subject,
                        format!("rotation of key `{}` is off", key.name),
                    );
                }
                let document = policy::key_policy(topology, key);
                self.key_policy_checks(key, &subject, &document);
                self.key_not_shared_back(key, &subject, &document);
            }
            for vault in topology.vaults.values() {
                if let Some(access) = &vault.access_policy {
                    let role = topology
                        .account(&vault.account)
                        .map(|a| a.role_arn.clone())
                        .unwrap_or_default();
                    if let Some(document) = policy::vault_policy(access, &role) {
                        self.vault_policy_checks(vault, &document);
                    }
                }
            }
        }
    }

    fn key_policy_checks(&mut self, key: &Key, subject: &Subject, document: &Value) {
        let owner = self.account_id(&key.account);
        let resource = format!("arn:aws:kms:{}:{owner}:key/*", key.region);
        let principals =
            access::principals(self.topology, &key.account, &key.break_glass_principals);
        let open = access::foreign_access(
            &principals,
            Some(document),
            KEY_READ_ACTIONS,
            &resource,
            &owner,
        )
        .into_iter()
        .filter(|(p, _)| p.role == access::Role::Outsider)
        .map(|(_, action)| action)
        .next();
        if let Some(action) = open {
            self.push(
                id::KEY_NO_OPEN_PRINCIPAL,
                subject,
                format!("a statement allows `*` without limiting it to the organization: principals outside the organization may use the key (`{action}`)"),
            );
        }
        for other in foreign_org_ids(document, self.org) {
            self.push(
                id::KEY_NO_OPEN_PRINCIPAL,
                subject,
                format!(
                    "the key policy allows organization {other}, which is not the topology's ({})",
                    self.org.unwrap_or("none declared")
                ),
            );
        }
        let coffer = self.topology.coffer_role(&key.account).to_string();
        let manager = if coffer.is_empty() {
            format!("arn:aws:iam::{owner}:root")
        } else {
            coffer
        };
        let request = Request::new(manager.clone(), "kms:PutKeyPolicy", &resource, &owner);
        match coffer_policy::evaluate(document, &request) {
            Decision::Allow => {}
            Decision::ExplicitDeny => self.push(
                id::KEY_STAYS_MANAGEABLE,
                subject,
                format!("a Deny of `kms:PutKeyPolicy` covers {manager}: the key's policy could never be changed again"),
            ),
            Decision::ImplicitDeny => self.push(
                id::KEY_STAYS_MANAGEABLE,
                subject,
                format!("no statement lets {manager} change the key policy again"),
            ),
        }
        let orphans = policy::orphaned_principals(document);
        if !orphans.is_empty() {
            self.push(
                id::NO_ORPHANED_PRINCIPALS,
                subject,
                format!(
                    "the policy names deleted principals: {}",
                    orphans.join(", ")
                ),
            );
        }
    }

    /// CB017: the key of a vault that receives copies from other accounts must not let those
    /// accounts read it, whatever statement would.
    fn key_not_shared_back(&mut self, key: &Key, subject: &Subject, document: &Value) {
        let owner = self.account_id(&key.account);
        let resource = format!("arn:aws:kms:{}:{owner}:key/*", key.region);
        let mut sources: Vec<&AccountName> = edges(self.topology)
            .into_iter()
            .filter(|e| e.cross_account() && e.destination.key.as_ref() == Some(&key.name))
            .map(|e| &e.plan.account)
            .collect();
        sources.sort();
        sources.dedup();
        let vaults = self
            .topology
            .vaults
            .values()
            .filter(|v| v.key.as_ref() == Some(&key.name))
            .map(|v| format!("vault `{}`", v.name))
            .collect::<Vec<_>>()
            .join(", ");
        for source in sources {
            let source_id = self.account_id(source);
            let principal = access::Principal {
                label: String::new(),
                role: access::Role::TopologyAccount,
                arn: format!("arn:aws:iam::{source_id}:role/AnyAdministrator"),
                org_id: self.org.map(str::to_string),
            };
            if let Some(action) = KEY_READ_ACTIONS
                .iter()
                .find(|a| principal.may(Some(document), a, &resource, &owner))
            {
                self.push(
                    id::BACKUP_KEY_NOT_SHARED_BACK,
                    subject,
                    format!(
                        "the policy of key `{}`, which encrypts {vaults}, lets source account `{source}` ({source_id}) use it (`{action}`), so a compromised source account can read the copies meant to protect it",
                        key.name
                    ),
                );
            }
        }
    }

    fn vault_policy_checks(&mut self, vault: &Vault, document: &Value) {
        let subject = self.vault_subject("vault_policy", vault);
        let owner = self.account_id(&vault.account);
        let resource = self.topology.vault_arn(vault);
        let break_glass = vault
            .access_policy
            .as_ref()
            .map(|p| p.break_glass_principals.clone())
            .unwrap_or_default();
        let principals = access::principals(self.topology, &vault.account, &break_glass);
        let outsider_copies = principals
            .iter()
            .filter(|p| p.role == access::Role::Outsider)
            .any(|p| {
                p.may(
                    Some(document),
                    "backup:CopyIntoBackupVault",
                    &resource,
                    &owner,
                )
            });
        if outsider_copies {
            self.push(
                id::VAULT_POLICY_NO_OPEN_PRINCIPAL,
                subject.clone(),
                "a statement allows `*` to copy in without limiting it to the organization: accounts outside the organization may copy in",
            );
        }
        for other in foreign_org_ids(document, self.org) {
            self.push(
                id::VAULT_POLICY_NO_OPEN_PRINCIPAL,
                subject.clone(),
                format!(
                    "the policy allows organization {other}, which is not the topology's ({})",
                    self.org.unwrap_or("none declared")
                ),
            );
        }
        for statement in statements(document) {
            if string_list(statement.get("Action"))
                .iter()
                .chain(&string_list(statement.get("NotAction")))
                .any(|a| a.contains(['*', '?']))
            {
                self.push(
                    id::VAULT_POLICY_NO_WILDCARD_ACTION,
                    subject.clone(),
                    "a statement uses a wildcard action",
                );
            }
        }
        for (who, action) in access::foreign_access(
            &principals,
            Some(document),
            VAULT_DESTRUCTIVE_ACTIONS,
            &resource,
            &owner,
        ) {
            self.push(
                id::VAULT_POLICY_NO_FOREIGN_DELETE,
                subject.clone(),
                format!("the policy lets {} call `{action}` on the vault", who.label),
            );
        }
        let orphans = policy::orphaned_principals(document);
        if !orphans.is_empty() {
            self.push(
                id::NO_ORPHANED_PRINCIPALS,
                subject,
                format!(
                    "the policy names deleted principals: {}",
                    orphans.join(", ")
                ),
            );
        }
    }

    fn region(&self, account: &AccountName, region: &str) -> Option<&LiveRegion> {
        self.state?
            .region(self.topology.account_id(account), region)
    }

    fn live_vault(&self, vault: &Vault) -> Option<&LiveVault> {
        self.region(&vault.account, &vault.region)?
            .vaults
            .iter()
            .find(|v| v.name == vault.vault_name)
    }

    /// A key of the state by ARN, key ID or alias ARN.
    fn live_key<'s>(region: &'s LiveRegion, reference: &str) -> Option<&'s LiveKey> {
        let reference = match reference.split_once(":alias/") {
            Some((_, alias)) => region
                .aliases
                .iter()
                .find(|a| a.name == format!("alias/{alias}"))?
                .target_key_id
                .clone()?,
            None => reference.to_string(),
        };
        region
            .keys
            .iter()
            .find(|k| k.arn == reference || k.key_id == reference)
    }

    fn live_checks(&mut self) {
        let topology = self.topology;
        let Some(state) = self.state else { return };
        self.service_role_checks(state);
        // Organization membership.
        if let Some(org) = self.org {
            for account in topology.accounts.values() {
                if let Some(live) = state.accounts.get(&account.id)
                    && live.organization_read
                    && live.organization_id.as_deref() != Some(org)
                {
                    let actual = live
                        .organization_id
                        .clone()
                        .unwrap_or_else(|| "no organization".into());
                    self.push(
                        id::ACCOUNTS_IN_ORGANIZATION,
                        format!("account.{}", account.name),
                        format!("account {} is in {actual}, not in {org}", account.id),
                    );
                }
            }
        }
        // Keys and policies of the topology's own resources.
        for key in topology.keys.values() {
            let Some(region) = self.region(&key.account, &key.region) else {
                continue;
            };
            let Some(live) = region
                .aliases
                .iter()
                .find(|a| a.name == key.alias)
                .and_then(|a| a.target_key_id.clone())
                .and_then(|t| Self::live_key(region, &t))
                .cloned()
            else {
                continue;
            };
            let subject = self.key_subject(key, Some(&live));
            if !live.rotation_enabled {
                self.push(
                    id::KEY_ROTATION_ON,
                    subject.clone(),
                    format!("rotation of key `{}` is off", key.name),
                );
            }
            self.key_state_checks(&subject, &live);
            if let Some(document) = &live.policy {
                self.key_policy_checks(key, &subject, document);
                self.key_not_shared_back(key, &subject, document);
            }
        }
        for vault in topology.vaults.values() {
            let Some(live) = self.live_vault(vault).cloned() else {
                continue;
            };
            if let Some(document) = &live.access_policy {
                self.vault_policy_checks(vault, document);
            }
            if let Some(lock) = &live.lock
                && lock.immutable
            {
                self.push(
                    id::LOCK_IMMUTABLE,
                    self.vault_subject("vault_lock", vault),
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
            ) && let Some(key) = Self::live_key(region, key_arn).cloned()
            {
                self.key_state_checks(&self.vault_subject("vault", vault), &key);
            }
        }
        // Rules and copy edges as AWS holds them.
        for plan in topology.backup_plans.values() {
            let Some(live_plan) = self
                .region(&plan.account, &plan.region)
                .and_then(|r| r.backup_plans.iter().find(|p| p.name == plan.plan_name))
                .cloned()
            else {
                continue;
            };
            for rule in &live_plan.rules {
                let subject = self.plan_subject(
                    format!("backup_plan.{} rule {}", plan.name, rule.name),
                    plan,
                );
                if let Some(vault) = self
                    .region(&plan.account, &plan.region)
                    .and_then(|r| r.vaults.iter().find(|v| v.name == rule.target_vault_name))
                    .cloned()
                {
                    self.lock_fit(
                        id::BACKUP_LIFECYCLE_IN_LOCK,
                        &subject,
                        &vault,
                        rule.lifecycle.delete_after_days,
                    );
                }
                for copy in &rule.copy_actions {
                    let Some(destination) = self.vault_by_arn(&copy.destination_vault_arn).cloned()
                    else {
                        self.push(
                            id::DESTINATION_VAULT_EXISTS,
                            subject.retext(format!(
                                "{} -> {}",
                                subject.text, copy.destination_vault_arn
                            )),
                            "the destination vault does not exist",
                        );
                        continue;
                    };
                    self.lock_fit(
                        id::COPY_LIFECYCLE_IN_LOCK,
                        &subject.retext(format!("{} -> {}", subject.text, destination.name)),
                        &destination,
                        copy.lifecycle.delete_after_days,
                    );
                }
            }
        }
        let all_edges = edges(topology);
        for edge in &all_edges {
            self.live_edge(edge);
        }
        // Plans that copy nowhere: their selected RDS resources must still exist.
        for plan in topology
            .backup_plans
            .values()
            .filter(|p| !all_edges.iter().any(|e| e.plan.name == p.name))
        {
            let Some(region) = self.region(&plan.account, &plan.region).cloned() else {
                continue;
            };
            for arn in plan
                .selections
                .iter()
                .flat_map(|s| &s.resources)
                .filter(|r| rds_kind(r).is_some())
            {
                if region.sources.iter().any(|s| &s.arn == arn && !s.exists) {
                    let subject =
                        self.source_subject(arn, format!("backup_plan.{}", plan.name), plan);
                    self.push(id::SOURCE_EXISTS, subject, "the resource does not exist");
                }
            }
        }
    }

    /// Every selection's role, as read from IAM (`LiveAccount::roles`; not read, or not
    /// readable: no finding).
    fn service_role_checks(&mut self, state: &LiveState) {
        for plan in self.topology.backup_plans.values() {
            let account_id = self.account_id(&plan.account);
            let Some(roles) = state.accounts.get(&account_id).map(|a| &a.roles) else {
                continue;
            };
            for selection in &plan.selections {
                let Some(role) = roles.get(&selection.role_arn) else {
                    continue;
                };
                let why = match role.status {
                    // Not read (access denied): nothing is known, nothing is reported.
                    RoleStatus::TrustsBackup | RoleStatus::Unreadable => continue,
                    RoleStatus::Missing => "it does not exist",
                    RoleStatus::NotTrusted => "its trust policy does not let AWS Backup assume it",
                };
                let subject = Subject::resource(
                    format!("selection.{}.{}", plan.name, selection.name),
                    Some(&selection.name),
                    None,
                    &account_id,
                    &plan.region,
                );
                let mut found = finding(
                    id::SERVICE_ROLE_TRUSTS_BACKUP,
                    subject,
                    format!(
                        "AWS Backup cannot assume role {} of selection `{}` in account `{}` ({account_id}): {}",
                        selection.role_arn,
                        selection.name,
                        plan.account,
                        role.detail.as_deref().unwrap_or(why)
                    ),
                );
                if let Some(fix) = &role.fix {
                    found.fix.clone_from(fix);
                }
                self.findings.push(found);
            }
        }
    }

    fn vault_by_arn(&self, arn: &str) -> Option<&LiveVault> {
        let state = self.state?;
        state
            .accounts
            .values()
            .flat_map(|a| a.regions.values())
            .flat_map(|r| &r.vaults)
            .find(|v| v.arn == arn)
    }

    fn key_state_checks(&mut self, subject: &Subject, key: &LiveKey) {
        match key.key_state.as_str() {
            "PendingDeletion" | "PendingReplicaDeletion" => self.push(
                id::KEY_NOT_PENDING_DELETION,
                subject,
                format!("key {} is pending deletion", key.key_id),
            ),
            "Enabled" => {}
            other => self.push(
                id::KEY_ENABLED,
                subject,
                format!("key {} is {other}", key.key_id),
            ),
        }
    }

    fn lock_fit(
        &mut self,
        check_id: &'static str,
        subject: &Subject,
        vault: &LiveVault,
        delete_after_days: Option<i64>,
    ) {
        let Some(lock) = &vault.lock else { return };
        let bounds = coffer_spec::Lock {
            min_retention_days: lock.min_retention_days,
            max_retention_days: lock.max_retention_days,
            changeable_for_days: None,
        };
        let kept = delete_after_days.filter(|d| *d >= 0);
        if !bounds.admits(delete_after_days) {
            self.push(
                check_id,
                subject,
                format!(
                    "recovery points are kept {}, outside the lock of vault `{}` ({}-{} days)",
                    kept.map_or("forever".to_string(), |d| coffer_spec::diag::plural(
                        d, "day", "days"
                    )),
                    vault.name,
                    lock.min_retention_days
                        .map_or("any".into(), |d| d.to_string()),
                    lock.max_retention_days
                        .map_or("any".into(), |d| d.to_string())
                ),
            );
        } else if lock.lock_date.is_some() && kept.is_none() {
            self.push(
                id::COMPLIANCE_LOCK_NOT_FOREVER,
                subject,
                format!(
                    "recovery points are kept forever in compliance-locked vault `{}`",
                    vault.name
                ),
            );
        }
    }

    fn live_edge(&mut self, edge: &Edge<'_>) {
        let subject = self.edge_subject(edge);
        let source_id = self.account_id(&edge.plan.account);
        let destination_id = self.account_id(&edge.destination.account);
        let Some(destination) = self.live_vault(edge.destination).cloned() else {
            self.push(
                id::DESTINATION_VAULT_EXISTS,
                subject,
                format!(
                    "vault `{}` does not exist in account {destination_id} ({})",
                    edge.destination.vault_name, edge.destination.region
                ),
            );
            return;
        };
        if !edge.cross_account() {
            // A copy within the account (to another region): only existence and Multi-AZ
            // clusters matter for its sources.
            self.source_checks(edge, &destination_id);
            return;
        }
        if let Some(org) = &self.topology.organization {
            let management = self
                .topology
                .account_id(&org.management_account)
                .to_string();
            let enabled = self
                .state
                .and_then(|s| s.region(&management, &edge.source.region))
                .and_then(|r| r.cross_account_backup);
            if enabled != Some(true) {
                self.push(
                    id::CROSS_ACCOUNT_BACKUP_ENABLED,
                    subject.clone(),
                    format!(
                        "cross-account backup is off in management account {management} ({})",
                        edge.source.region
                    ),
                );
            }
        }
        let member_org = self
            .state
            .and_then(|s| s.accounts.get(&source_id))
            .and_then(|a| a.organization_id.clone())
            .or_else(|| self.org.map(str::to_string));
        match &destination.access_policy {
            None => self.push(
                id::DESTINATION_ALLOWS_SOURCE,
                subject.clone(),
                format!(
                    "vault `{}` has no access policy, so account {source_id} cannot copy into it",
                    destination.name
                ),
            ),
            Some(document) => {
                let decision = account_decision(
                    document,
                    "backup:CopyIntoBackupVault",
                    &source_id,
                    member_org.as_deref(),
                    &destination.arn,
                    &destination_id,
                );
                if decision == Decision::ExplicitDeny {
                    self.push(
                        id::DESTINATION_NO_DENY,
                        subject.clone(),
                        format!(
                            "the policy of vault `{}` denies copies from account {source_id}",
                            destination.name
                        ),
                    );
                } else if decision != Decision::Allow {
                    self.push(id::DESTINATION_ALLOWS_SOURCE, subject.clone(), format!("the policy of vault `{}` does not allow account {source_id} to copy in", destination.name));
                }
            }
        }
        self.source_checks(edge, &destination_id);
    }

    fn source_checks(&mut self, edge: &Edge<'_>, destination_id: &str) {
        let Some(region) = self.region(&edge.plan.account, &edge.plan.region).cloned() else {
            return;
        };
        let selected: BTreeSet<&String> = edge
            .plan
            .selections
            .iter()
            .flat_map(|s| &s.resources)
            .filter(|r| rds_kind(r).is_some())
            .collect();
        for arn in selected {
            let subject = self.source_subject(arn, edge.subject(), edge.plan);
            let Some(source) = region.sources.iter().find(|s| &s.arn == arn) else {
                continue;
            };
            if !source.exists {
                self.push(id::SOURCE_EXISTS, subject, "the resource does not exist");
                continue;
            }
            if source.multi_az_cluster {
                self.push(
                    id::NO_MULTI_AZ_CLUSTER_COPY,
                    subject.clone(),
                    "Multi-AZ DB cluster backups cannot be copied",
                );
            }
            if !edge.cross_account() {
                continue;
            }
            if !source.encrypted {
                self.push(
                    id::SOURCE_ENCRYPTED,
                    subject,
                    "the resource is not encrypted",
                );
                continue;
            }
            let key = source
                .kms_key_arn
                .as_deref()
                .and_then(|k| Self::live_key(&region, k))
                .or(source.key.as_ref())
                .cloned();
            let Some(key) = key else {
                self.push(
                    id::SOURCE_KEY_SHARED_WITH_DESTINATION,
                    subject,
                    format!(
                        "the resource's key {} could not be read",
                        source.kms_key_arn.as_deref().unwrap_or("(unknown)")
                    ),
                );
                continue;
            };
            if key.key_manager != KeyManager::Customer {
                self.push(id::SOURCE_KEY_CUSTOMER_MANAGED, subject, format!("the resource is encrypted with AWS managed key {}, which can never be shared with account {destination_id}", key.arn));
                continue;
            }
            self.key_state_checks(&subject, &key);
            // AWS Backup in the destination account uses the key through grants for AWS
            // resources, on behalf of the account's backup service role.
            let key_owner = key.arn.split(':').nth(4).unwrap_or_default().to_string();
            let shared = key.policy.as_ref().is_some_and(|document| {
                ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"]
                    .iter()
                    .all(|action| {
                        let mut request = Request::new(
                            format!("arn:aws:iam::{destination_id}:role/service-role/AWSBackupDefaultServiceRole"),
                            *action,
                            &key.arn,
                            &key_owner,
                        )
                        .with("kms:ViaService", [format!("backup.{}.amazonaws.com", edge.plan.region)])
                        .with("kms:GrantIsForAWSResource", ["true"]);
                        if let Some(org) = self.org {
                            request = request.with("aws:PrincipalOrgID", [org]);
                        }
                        coffer_policy::access(Some(document), &request)
                    })
            });
            if !shared {
                self.push(id::SOURCE_KEY_SHARED_WITH_DESTINATION, subject, format!("the policy of key {} does not let account {destination_id} use it (kms:Decrypt, kms:DescribeKey, kms:CreateGrant)", key.arn));
            }
        }
    }
}

/// `rds-instance` or `rds-cluster` for an RDS ARN without wildcards.
pub fn rds_kind(arn: &str) -> Option<&'static str> {
    if arn.contains('*') || !arn.starts_with("arn:aws") {
        return None;
    }
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    match (parts.get(2), parts.get(5)) {
        (Some(&"rds"), Some(&"db")) => Some("rds-instance"),
        (Some(&"rds"), Some(&"cluster")) => Some("rds-cluster"),
        _ => None,
    }
}

/// The catalog as Markdown (`docs/checks.md`).
pub fn catalog_markdown() -> String {
    let mut out = String::from(
        "# Checks catalog\n\nGenerated by `coffer check --list`; a test fails when this file is stale.\n\n",
    );
    out.push_str("Static checks look at the topology file alone; live checks look at AWS (`coffer check --live`) or at AWS as it will be after this plan (`coffer plan`, `coffer apply`). `apply` refuses while a blocker stands, unless `--ignore-check ID` names it.\n\n");
    out.push_str("| ID | severity | kind | check |\n|---|---|---|---|\n");
    for check in CATALOG {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            check.id,
            check.severity,
            kind(check),
            check.title
        ));
    }
    for check in CATALOG {
        out.push_str(&format!(
            "\n## {}: {}\n\n- Severity: {}\n- Kind: {}\n- Why: {}\n- Fix: {}\n- Source: <{}>\n",
            check.id,
            check.title,
            check.severity,
            kind(check),
            check.rationale,
            check.fix,
            check.source
        ));
    }
    out
}

impl Finding {
    /// The subject with the AWS resource it names, for text:
    /// `vault_policy.central (central, 666777888999 eu-west-1)`.
    pub fn subject_text(&self) -> String {
        let place = match (&self.account, &self.region) {
            (Some(account), Some(region)) => format!("{account} {region}"),
            _ => String::new(),
        };
        match &self.aws_name {
            Some(name) => format!(
                "{} ({})",
                self.subject,
                crate::render::name_first(Some(name), &place)
            ),
            None => self.subject.clone(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}[{}] {}: {} ({})",
            self.severity,
            self.check,
            self.subject_text(),
            self.message,
            self.title
        )
    }
}
