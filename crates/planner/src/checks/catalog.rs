//! The catalog: every check with its severity, why it matters, where AWS documents it and
//! how to fix it; and the catalog as Markdown (`docs/checks.md`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use coffer_spec::checks as id;

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
    check!(
        id::ONE_KEY_PER_KEY,
        Warning,
        true,
        "One key carries each key's ownership tags",
        "KMS has no idempotency token: a CreateKey whose answer was lost and that was sent again, or two applies at once, can leave two keys with one key's tags. Coffer uses the one the alias points to (else the oldest); the others cost a monthly fee and invite grants and copies to the wrong key.",
        "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html",
        "Run `coffer apply --allow-delete`: the plan schedules the deletion of each duplicate (`key.<name>#<key-id>`)."
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

/// Where a check runs, as the catalog says it.
fn kind(check: &Check) -> &'static str {
    match (check.live, ALSO_STATIC.contains(&check.id)) {
        (true, true) => "static and live",
        (true, false) => "live",
        (false, _) => "static",
    }
}

/// The catalog's entry for `check_id`.
pub fn find(check_id: &str) -> Option<&'static Check> {
    CATALOG.iter().find(|c| c.id == check_id)
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
