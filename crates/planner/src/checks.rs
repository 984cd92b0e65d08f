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
use coffer_spec::{AccountName, BackupPlan, Diagnostics, Rule, Topology, Vault};

use crate::live::{LiveKey, LiveRegion, LiveState, LiveVault};
use crate::policy;

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
        Error,
        true,
        "No other account may delete recovery points or change the vault policy",
        "A vault that exists to survive the loss of a source account must not let another account (or everyone) delete recovery points, shorten their lifecycle or rewrite the policy.",
        DOC_VAULT_POLICY,
        "Remove the Allow of `backup:DeleteRecoveryPoint`, `backup:UpdateRecoveryPointLifecycle`, `backup:PutBackupVaultAccessPolicy` and `backup:DeleteBackupVault` for other principals; consider `deny_recovery_point_deletion: true`."
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
        Warning,
        false,
        "The backup account's key is not usable by the accounts it protects",
        "The point of a separate backup account is that a compromised source account cannot reach its backups; sharing the vault key back undoes that.",
        DOC_CROSS_ACCOUNT,
        "Remove the source accounts from the destination key's `usable_by`."
    ),
    check!(
        id::KEY_NO_OPEN_PRINCIPAL,
        Error,
        true,
        "Key policies do not allow `*` without an organization condition",
        "A key policy statement for `Principal: \"*\"` without a condition lets any AWS account use the key.",
        DOC_KEY_POLICY,
        "Limit the statement with `aws:PrincipalOrgID`, or name the accounts in `usable_by`."
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
    pub message: String,
    pub fix: String,
}

fn finding(
    check_id: &'static str,
    subject: impl Into<String>,
    message: impl Into<String>,
) -> Finding {
    let check = find(check_id).copied().unwrap_or(CATALOG[0]);
    Finding {
        check: check_id.to_string(),
        severity: check.severity,
        title: check.title.to_string(),
        subject: subject.into(),
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
    let mut out = Vec::new();
    for plan in topology.plans.values() {
        for rule in &plan.rules {
            let Some(source) = topology.vaults.get(&rule.vault) else {
                continue;
            };
            for copy in &rule.copy_to {
                if let Some(destination) = topology.vaults.get(&copy.vault) {
                    out.push(Edge {
                        plan,
                        rule,
                        source,
                        destination,
                    });
                }
            }
        }
    }
    out
}

// ----- policy evaluation -----

fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (
        pattern.to_ascii_lowercase().chars().collect(),
        text.to_ascii_lowercase().chars().collect(),
    );
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Some(Value::Bool(b)) => vec![b.to_string()],
        _ => Vec::new(),
    }
}

fn statements(policy: &Value) -> Vec<&Map<String, Value>> {
    match policy.get("Statement") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(single)) => vec![single],
        _ => Vec::new(),
    }
}

fn effect(statement: &Map<String, Value>) -> &str {
    statement
        .get("Effect")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn covers_action(statement: &Map<String, Value>, action: &str) -> bool {
    string_list(statement.get("Action"))
        .iter()
        .any(|a| glob(a, action))
}

fn principals(statement: &Map<String, Value>) -> Vec<String> {
    match statement.get("Principal") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Object(kinds)) => string_list(kinds.get("AWS")),
        _ => Vec::new(),
    }
}

fn is_open(statement: &Map<String, Value>) -> bool {
    principals(statement).iter().any(|p| p == "*")
}

/// Whether a condition operator is negated (`StringNotEquals`, `ForAnyValue:StringNotLike`,
/// ...) or `Null`: such a condition does not limit a statement to an organization.
fn negated(operator: &str) -> bool {
    let operator = operator.to_ascii_lowercase();
    operator.contains("not") || operator == "null"
}

/// The organization IDs and paths a statement's conditions limit it to.
fn org_limits(statement: &Map<String, Value>) -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::new();
    let mut paths = Vec::new();
    if let Some(Value::Object(operators)) = statement.get("Condition") {
        for (operator, keys) in operators {
            if negated(operator) {
                continue;
            }
            if let Value::Object(keys) = keys {
                for (key, values) in keys {
                    match key.to_ascii_lowercase().as_str() {
                        "aws:principalorgid" => ids.extend(string_list(Some(values))),
                        "aws:principalorgpaths" => paths.extend(string_list(Some(values))),
                        _ => {}
                    }
                }
            }
        }
    }
    (ids, paths)
}

/// Whether a negated condition on `aws:PrincipalOrgID` leaves the members of `org` out of the
/// statement, as in a "deny everyone outside the organization" guard.
fn exempts_org(statement: &Map<String, Value>, org: Option<&str>) -> bool {
    let (Some(org), Some(Value::Object(operators))) = (org, statement.get("Condition")) else {
        return false;
    };
    operators
        .iter()
        .filter(|(operator, _)| negated(operator))
        .any(|(_, keys)| {
            keys.as_object().is_some_and(|keys| {
                keys.iter().any(|(key, values)| {
                    key.eq_ignore_ascii_case("aws:PrincipalOrgID")
                        && string_list(Some(values)).iter().any(|v| glob(v, org))
                })
            })
        })
}

/// Whether the statement's principal covers `account` (a member of `org`).
fn covers_account(statement: &Map<String, Value>, account: &str, org: Option<&str>) -> bool {
    let named = principals(statement).iter().any(|p| {
        p == account
            || p.starts_with(&format!("arn:aws:iam::{account}:"))
            || p.starts_with(&format!("arn:aws-us-gov:iam::{account}:"))
            || p.starts_with(&format!("arn:aws-cn:iam::{account}:"))
    });
    if named {
        return true;
    }
    if !is_open(statement) {
        return false;
    }
    let (ids, paths) = org_limits(statement);
    match org {
        Some(org) => {
            ids.iter().any(|i| i == org) || paths.iter().any(|p| p.starts_with(&format!("{org}/")))
        }
        None => false,
    }
}

/// Allow and Deny verdicts of a resource policy for `action` by `account`.
fn verdict(policy: &Value, action: &str, account: &str, org: Option<&str>) -> (bool, bool) {
    let mut allowed = false;
    let mut denied = false;
    for statement in statements(policy) {
        if !covers_action(statement, action) {
            continue;
        }
        let deny_matches = effect(statement) == "Deny"
            && !exempts_org(statement, org)
            && (covers_account(statement, account, org)
                || is_open(statement) && org_limits(statement) == (vec![], vec![]));
        if deny_matches {
            denied = true;
        }
        if effect(statement) == "Allow" && covers_account(statement, account, org) {
            allowed = true;
        }
    }
    (allowed, denied)
}

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
        subject: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.findings.push(finding(check_id, subject, message));
    }

    fn account_id(&self, name: &AccountName) -> String {
        self.topology.account_id(name).to_string()
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
            let subject = edge.subject();
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
                if let Some(key) = edge
                    .destination
                    .key
                    .as_ref()
                    .and_then(|k| topology.keys.get(k))
                    && key.usable_by.contains(&edge.plan.account)
                {
                    self.push(
                        id::BACKUP_KEY_NOT_SHARED_BACK,
                        format!("key.{}", key.name),
                        format!(
                            "key `{}` of vault `{}` is usable by source account `{}`",
                            key.name, edge.destination.name, edge.plan.account
                        ),
                    );
                }
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
        for plan in topology.plans.values() {
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
                    self.push(
                        id::UNCHECKED_RESOURCES,
                        format!("selection.{}.{}", plan.name, selection.name),
                        format!("not checked before apply: {}", what.join(", ")),
                    );
                }
            }
        }
        if self.state.is_none() {
            // Without live state, check the policies Coffer will write.
            for key in topology.keys.values() {
                if key.rotation_period_days.is_none() {
                    self.push(
                        id::KEY_ROTATION_ON,
                        format!("key.{}", key.name),
                        format!("rotation of key `{}` is off", key.name),
                    );
                }
                let document = policy::key_policy(topology, key);
                self.key_policy_checks(
                    &format!("key.{}", key.name),
                    &document,
                    &self.account_id(&key.account),
                );
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

    fn key_policy_checks(&mut self, subject: &str, document: &Value, owner: &str) {
        for statement in statements(document) {
            let (ids, paths) = org_limits(statement);
            if effect(statement) == "Allow"
                && is_open(statement)
                && ids.is_empty()
                && paths.is_empty()
            {
                self.push(
                    id::KEY_NO_OPEN_PRINCIPAL,
                    subject,
                    "a key policy statement allows `*` without an organization condition",
                );
            }
            // Only a Deny for everyone (without a condition that exempts someone) or for the
            // whole owning account locks the policy; a Deny for one role of the account is
            // ordinary hardening.
            let whole_account = principals(statement)
                .iter()
                .any(|p| p == owner || *p == format!("arn:aws:iam::{owner}:root"));
            let unconditional_open = is_open(statement) && !statement.contains_key("Condition");
            let locks_out = effect(statement) == "Deny"
                && covers_action(statement, "kms:PutKeyPolicy")
                && (unconditional_open || whole_account);
            if locks_out {
                self.push(
                    id::KEY_STAYS_MANAGEABLE,
                    subject,
                    "a Deny of `kms:PutKeyPolicy` would lock the key's policy for good",
                );
            }
        }
        let (allowed, _) = verdict(document, "kms:PutKeyPolicy", owner, None);
        if !allowed {
            self.push(
                id::KEY_STAYS_MANAGEABLE,
                subject,
                format!("no statement lets account {owner} change the key policy again"),
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

    fn vault_policy_checks(&mut self, vault: &Vault, document: &Value) {
        let subject = format!("vault_policy.{}", vault.name);
        let owner = self.account_id(&vault.account);
        const DESTRUCTIVE: &[&str] = &[
            "backup:DeleteRecoveryPoint",
            "backup:UpdateRecoveryPointLifecycle",
            "backup:PutBackupVaultAccessPolicy",
            "backup:DeleteBackupVault",
        ];
        for statement in statements(document) {
            let (ids, paths) = org_limits(statement);
            if effect(statement) == "Allow"
                && is_open(statement)
                && ids.is_empty()
                && paths.is_empty()
            {
                self.push(
                    id::VAULT_POLICY_NO_OPEN_PRINCIPAL,
                    subject.clone(),
                    "a statement allows `*` without an organization condition",
                );
            }
            if string_list(statement.get("Action"))
                .iter()
                .any(|a| a.contains('*'))
            {
                self.push(
                    id::VAULT_POLICY_NO_WILDCARD_ACTION,
                    subject.clone(),
                    "a statement uses a wildcard action",
                );
            }
            if effect(statement) == "Allow"
                && DESTRUCTIVE.iter().any(|a| covers_action(statement, a))
            {
                let foreign = principals(statement)
                    .iter()
                    .any(|p| p == "*" || !(p == &owner || p.contains(&format!("::{owner}:"))));
                if foreign {
                    self.push(id::VAULT_POLICY_NO_FOREIGN_DELETE, subject.clone(), "a statement lets principals outside the vault's account delete recovery points or change the vault policy");
                }
            }
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
            let subject = format!("key.{}", key.name);
            if !live.rotation_enabled {
                self.push(
                    id::KEY_ROTATION_ON,
                    subject.clone(),
                    format!("rotation of key `{}` is off", key.name),
                );
            }
            self.key_state_checks(&subject, &live);
            if let Some(document) = &live.policy {
                self.key_policy_checks(&subject, document, &self.account_id(&key.account));
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
                    format!("vault_lock.{}", vault.name),
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
                self.key_state_checks(&format!("vault.{}", vault.name), &key);
            }
        }
        // Rules and copy edges as AWS holds them.
        for plan in topology.plans.values() {
            let Some(live_plan) = self
                .region(&plan.account, &plan.region)
                .and_then(|r| r.plans.iter().find(|p| p.name == plan.plan_name))
                .cloned()
            else {
                continue;
            };
            for rule in &live_plan.rules {
                let subject = format!("backup_plan.{} rule {}", plan.name, rule.name);
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
                            format!("{subject} -> {}", copy.destination_vault_arn),
                            "the destination vault does not exist",
                        );
                        continue;
                    };
                    self.lock_fit(
                        id::COPY_LIFECYCLE_IN_LOCK,
                        &format!("{subject} -> {}", destination.name),
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
            .plans
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
                    self.push(
                        id::SOURCE_EXISTS,
                        format!("{arn} (backup_plan.{})", plan.name),
                        "the resource does not exist",
                    );
                }
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

    fn key_state_checks(&mut self, subject: &str, key: &LiveKey) {
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
        subject: &str,
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
                    kept.map_or("forever".to_string(), |d| format!("{d} days")),
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
        let subject = edge.subject();
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
                let (allowed, denied) = verdict(
                    document,
                    "backup:CopyIntoBackupVault",
                    &source_id,
                    member_org.as_deref(),
                );
                if denied {
                    self.push(
                        id::DESTINATION_NO_DENY,
                        subject.clone(),
                        format!(
                            "the policy of vault `{}` denies copies from account {source_id}",
                            destination.name
                        ),
                    );
                } else if !allowed {
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
            let subject = format!("{arn} ({})", edge.subject());
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
            if key.key_manager != "CUSTOMER" {
                self.push(id::SOURCE_KEY_CUSTOMER_MANAGED, subject, format!("the resource is encrypted with AWS managed key {}, which can never be shared with account {destination_id}", key.arn));
                continue;
            }
            self.key_state_checks(&subject, &key);
            let org = self.org;
            let shared = key.policy.as_ref().is_some_and(|document| {
                ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"]
                    .iter()
                    .all(|action| {
                        let (allowed, denied) = verdict(document, action, destination_id, org);
                        allowed && !denied
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

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}[{}] {}: {} ({})",
            self.severity, self.check, self.subject, self.message, self.title
        )
    }
}
