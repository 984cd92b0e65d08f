//! Drift: how AWS differs from the topology, without proposing anything. Each resource is in
//! sync, modified (which fields), missing, extra (owned by this topology but not in the file),
//! or conflicting (the file's name, not Coffer's tags). Drift that weakens the backups'
//! protection is rated higher.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::checks::Severity;
use crate::live::KeyState;
use crate::model::{Action, Address, Change, FieldChange, Flag, Plan, ResourceKind};
use crate::render::{md_aws_resource, md_cell, md_code, md_text, name_first, plural};

/// Version of the drift JSON format.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    InSync,
    Modified,
    Missing,
    Extra,
    Conflicting,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drifted {
    pub address: Address,
    pub kind: ResourceKind,
    pub account: String,
    pub region: String,
    /// The resource's name in AWS (see [`Change::aws_name`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_name: Option<String>,
    /// The resource's ARN, when it has one Coffer knows (see [`Change::arn`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    pub status: Status,
    pub severity: Severity,
    /// Why this severity, when the drift weakens protection.
    pub risk: Option<String>,
    pub fields: Vec<FieldChange>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftSummary {
    pub in_sync: usize,
    pub modified: usize,
    pub missing: usize,
    pub extra: usize,
    pub conflicting: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    pub format_version: u32,
    pub topology: String,
    pub topology_digest: String,
    pub live_fingerprint: String,
    pub summary: DriftSummary,
    /// Every resource that is not in sync, worst first.
    pub drifted: Vec<Drifted>,
}

impl DriftReport {
    pub fn has_drift(&self) -> bool {
        !self.drifted.is_empty()
    }

    pub fn worst(&self) -> Option<Severity> {
        self.drifted.iter().map(|d| d.severity).max()
    }
}

fn field<'a>(change: &'a Change, path: &str) -> Option<&'a FieldChange> {
    change.fields.iter().find(|f| f.path == path)
}

/// Whether a vault policy lets principals of another account (of any organization it names,
/// or of none) do destructive things, as the policy engine reads it.
fn lets_others_destroy(policy: &Value, owner: &str) -> bool {
    let mut orgs: Vec<Option<String>> = vec![None];
    for statement in coffer_policy::statements(policy) {
        if let Some(Value::Object(operators)) = statement.get("Condition") {
            for keys in operators.values().filter_map(Value::as_object) {
                for (key, values) in keys {
                    if key.eq_ignore_ascii_case("aws:PrincipalOrgID") {
                        orgs.extend(
                            coffer_policy::string_list(Some(values))
                                .into_iter()
                                .map(Some),
                        );
                    }
                }
            }
        }
    }
    // Principals the policy names, of other accounts.
    let mut arns = vec!["arn:aws:iam::999999999991:role/AnyAdministrator".to_string()];
    for statement in coffer_policy::statements(policy) {
        if let Some(Value::Object(kinds)) = statement.get("Principal") {
            for id in coffer_policy::string_list(kinds.get("AWS")) {
                if coffer_policy::is_account_id(&id) {
                    arns.push(format!("arn:aws:iam::{id}:role/AnyAdministrator"));
                } else if let Some(account) = coffer_policy::root_account(&id) {
                    arns.push(format!("arn:aws:iam::{account}:role/AnyAdministrator"));
                } else if coffer_policy::principal_account(&id).is_some() {
                    arns.push(id);
                }
            }
        }
    }
    arns.retain(|a| coffer_policy::principal_account(a) != Some(owner));
    let resource = format!("arn:aws:backup:*:{owner}:backup-vault:*");
    orgs.iter().any(|org| {
        arns.iter().any(|arn| {
            let probe = crate::access::Principal {
                label: String::new(),
                role: crate::access::Role::OrganizationAccount,
                arn: arn.clone(),
                org_id: org.clone(),
            };
            crate::checks::VAULT_DESTRUCTIVE_ACTIONS
                .iter()
                .any(|action| probe.may(Some(policy), action, &resource, owner))
        })
    })
}

/// Rates one change: its status, severity and the risk it carries.
fn rate(change: &Change) -> (Status, Severity, Option<String>) {
    if change.has(Flag::Conflicting) {
        return (
            Status::Conflicting,
            Severity::Error,
            risk("a resource Coffer does not own has the file's name"),
        );
    }
    let status = match change.action {
        Action::NoOp => return (Status::InSync, Severity::Info, None),
        Action::Create => Status::Missing,
        Action::Delete => Status::Extra,
        Action::Update | Action::Replace => Status::Modified,
    };
    let (severity, risk) = match change.kind {
        ResourceKind::Key => rate_key(change, status),
        ResourceKind::Alias => (Severity::Warning, None),
        ResourceKind::Vault | ResourceKind::Selection => rate_dependency(status),
        ResourceKind::VaultPolicy => rate_vault_policy(change),
        ResourceKind::VaultLock => rate_vault_lock(status),
        ResourceKind::BackupPlan => rate_backup_plan(change, status),
        ResourceKind::CrossAccountBackup => rate_cross_account_backup(change),
    };
    (status, severity, risk)
}

fn risk(text: &str) -> Option<String> {
    Some(text.to_string())
}

/// A key's state, rotation and policy decide whether what it encrypts stays usable, and by
/// whom.
fn rate_key(change: &Change, status: Status) -> (Severity, Option<String>) {
    if let Some(state) = field(change, "state") {
        let now = KeyState::from(state.before.as_ref().and_then(Value::as_str).unwrap_or(""));
        if now.is_pending_deletion() {
            return (
                Severity::Blocker,
                risk(
                    "the key is scheduled for deletion: everything it encrypts becomes unrecoverable",
                ),
            );
        }
        return (
            Severity::Error,
            Some(format!(
                "the key is {now}: backups, copies and restores with it fail"
            )),
        );
    }
    if field(change, "rotation.enabled").is_some() {
        return (Severity::Error, risk("key rotation was turned off"));
    }
    if field(change, "policy").is_some() {
        return (
            Severity::Error,
            risk("the key policy changed: who may use the key is not what the file says"),
        );
    }
    if status == Status::Missing {
        return (Severity::Error, risk("the key is missing"));
    }
    (Severity::Warning, None)
}

/// A vault or a selection the backups need.
fn rate_dependency(status: Status) -> (Severity, Option<String>) {
    match status {
        Status::Missing => (
            Severity::Error,
            risk("a resource the backups depend on is missing"),
        ),
        _ => (Severity::Warning, None),
    }
}

fn rate_vault_policy(change: &Change) -> (Severity, Option<String>) {
    let owner = change.account.as_str();
    if let Some(before) = change.before.as_ref().and_then(|b| b.get("policy"))
        && lets_others_destroy(before, owner)
    {
        return (
            Severity::Blocker,
            risk(
                "the vault policy now lets another account (or everyone) delete recovery points or rewrite the policy",
            ),
        );
    }
    (
        Severity::Error,
        risk("the vault policy changed: who may copy in or delete is not what the file says"),
    )
}

fn rate_vault_lock(status: Status) -> (Severity, Option<String>) {
    match status {
        Status::Extra => (
            Severity::Warning,
            risk(
                "the vault has a lock the file does not declare: add it to the file (Coffer never removes a lock)",
            ),
        ),
        Status::Missing => (
            Severity::Blocker,
            risk(
                "the vault lock was removed: recovery points can be deleted before their retention ends",
            ),
        ),
        _ => (Severity::Error, risk("the vault lock's bounds changed")),
    }
}

fn rate_backup_plan(change: &Change, status: Status) -> (Severity, Option<String>) {
    if status == Status::Missing {
        return rate_dependency(status);
    }
    if change.field_changed("rules") {
        return (
            Severity::Error,
            risk("the backup rules changed: schedule, retention or copies differ from the file"),
        );
    }
    (Severity::Warning, None)
}

fn rate_cross_account_backup(change: &Change) -> (Severity, Option<String>) {
    let off = change.before.as_ref().and_then(|b| b.get("enabled")) == Some(&Value::Bool(false));
    if off {
        return (
            Severity::Blocker,
            risk("cross-account backup was turned off: every cross-account copy job fails"),
        );
    }
    (Severity::Error, None)
}

/// The drift report of a plan.
pub fn report(plan: &Plan) -> DriftReport {
    let mut summary = DriftSummary::default();
    let mut drifted = Vec::new();
    for change in &plan.changes {
        let (status, severity, risk) = rate(change);
        match status {
            Status::InSync => summary.in_sync += 1,
            Status::Modified => summary.modified += 1,
            Status::Missing => summary.missing += 1,
            Status::Extra => summary.extra += 1,
            Status::Conflicting => summary.conflicting += 1,
        }
        if status != Status::InSync {
            drifted.push(Drifted {
                address: change.address.clone(),
                kind: change.kind,
                account: change.account.clone(),
                region: change.region.clone(),
                aws_name: change.aws_name.clone(),
                arn: change.arn.clone(),
                status,
                severity,
                risk,
                fields: change.fields.clone(),
            });
        }
    }
    drifted.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.address.cmp(&b.address)));
    DriftReport {
        format_version: FORMAT_VERSION,
        topology: plan.topology.clone(),
        topology_digest: plan.topology_digest.clone(),
        live_fingerprint: plan.live_fingerprint.clone(),
        summary,
        drifted,
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::InSync => "in sync",
        Status::Modified => "modified",
        Status::Missing => "missing",
        Status::Extra => "extra",
        Status::Conflicting => "conflicting",
    }
}

fn value_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "(none)".into(),
        Some(v) if v.is_object() || v.is_array() => "(document)".into(),
        Some(v) => v.to_string(),
    }
}

fn summary_line(report: &DriftReport) -> String {
    let s = &report.summary;
    format!(
        "Drift: {} modified, {} missing, {} extra, {} conflicting; {} in sync.",
        s.modified, s.missing, s.extra, s.conflicting, s.in_sync
    )
}

/// Text for a terminal.
pub fn text(report: &DriftReport) -> String {
    let mut out = String::new();
    if !report.has_drift() {
        let _ = writeln!(
            out,
            "No drift: AWS matches topology `{}` ({} in sync).",
            report.topology,
            plural(report.summary.in_sync, "resource", "resources")
        );
        return out;
    }
    let _ = writeln!(out, "Drift of topology `{}`:\n", report.topology);
    for item in &report.drifted {
        let what = format!(
            "{}, {} {}",
            status_word(item.status),
            item.account,
            item.region
        );
        let _ = writeln!(
            out,
            "  {:<8} {} ({})",
            item.severity.to_string(),
            item.address,
            name_first(item.aws_name.as_deref(), &what)
        );
        if let Some(risk) = &item.risk {
            let _ = writeln!(out, "           {risk}");
        }
        // A missing or extra resource differs as a whole (a field with an empty path).
        for f in item.fields.iter().filter(|f| !f.path.is_empty()) {
            let _ = writeln!(
                out,
                "           {}: file says {}, AWS has {}",
                f.path,
                value_text(f.after.as_ref()),
                value_text(f.before.as_ref())
            );
        }
    }
    let _ = writeln!(out, "\n{}", summary_line(report));
    let _ = writeln!(
        out,
        "Run `coffer plan` to see how `coffer apply` would restore the topology."
    );
    out
}

/// A value for Markdown: as code, or the words for none and for a document.
fn value_markdown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "(none)".into(),
        Some(v) if v.is_object() || v.is_array() => "(document)".into(),
        Some(v) => md_code(&v.to_string()),
    }
}

/// Markdown for an issue or a PR comment.
pub fn markdown(report: &DriftReport) -> String {
    let mut out = format!("### Coffer drift: {}\n\n", md_code(&report.topology));
    if !report.has_drift() {
        out.push_str("No drift: AWS matches the topology.\n");
        return out;
    }
    out.push_str(
        "| severity | resource | status | AWS resource | account | region | risk |\n|---|---|---|---|---|---|---|\n",
    );
    for item in &report.drifted {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            item.severity,
            md_cell(&md_code(&item.address.to_string())),
            status_word(item.status),
            md_cell(&md_aws_resource(
                item.aws_name.as_deref(),
                item.arn.as_deref()
            )),
            md_cell(&md_text(&item.account)),
            md_cell(&md_text(&item.region)),
            md_cell(&md_text(item.risk.as_deref().unwrap_or("")))
        );
    }
    let details: Vec<&Drifted> = report
        .drifted
        .iter()
        .filter(|d| d.fields.iter().any(|f| !f.path.is_empty()))
        .collect();
    if !details.is_empty() {
        out.push_str("\n<details><summary>Fields</summary>\n\n");
        for item in details {
            // A missing or extra resource differs as a whole (a field with an empty path).
            for f in item.fields.iter().filter(|f| !f.path.is_empty()) {
                let _ = writeln!(
                    out,
                    "- {} {}: file says {}, AWS has {}",
                    md_code(&item.address.to_string()),
                    md_code(&f.path),
                    value_markdown(f.after.as_ref()),
                    value_markdown(f.before.as_ref())
                );
            }
        }
        out.push_str("\n</details>\n");
    }
    let _ = writeln!(out, "\n{}", summary_line(report));
    out
}
