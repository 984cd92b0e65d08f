//! The checks catalog: what must hold for every copy edge of a topology to work, checked
//! before AWS finds out at job time.
//!
//! Static checks look at the topology alone (some are the validator's own diagnostics, tagged
//! with a check ID). Live checks look at a [`LiveState`]: either the state after this plan
//! (what AWS will look like once Coffer applied it, from [`crate::simulate`]) or AWS as it
//! is now.
//!
//! The evaluators are grouped by what they protect: `keys` (keys and their policies),
//! `vaults` (vaults, their policies and locks, and the retention of what goes into them),
//! `copies` (the copy edges), `sources` (the RDS resources selections name), `roles` (the
//! selections' service roles) and `organization` (membership and the cross-account setting);
//! `policies` holds what every policy is asked. `catalog` lists the checks; `subject` types
//! what a finding is about, `target` adds the AWS resource it names.

mod catalog;
mod copies;
mod keys;
mod organization;
mod policies;
mod roles;
mod sources;
mod subject;
mod target;
mod vaults;

use std::fmt;

use serde::{Deserialize, Serialize};

use coffer_spec::{AccountName, BackupPlan, Diagnostics, Topology, Vault};

use crate::live::{LiveBackupPlan, LiveRegion, LiveState, LiveVault};

pub use catalog::{ALSO_STATIC, CATALOG, Check, Severity, catalog_markdown, find};
pub use sources::rds_kind;
pub use subject::{Anchor, Subject, SubjectKind};
pub use vaults::{LockFit, VAULT_DESTRUCTIVE_ACTIONS, lock_fit};

use target::Target;

/// One failed check.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Finding {
    pub check: String,
    pub severity: Severity,
    pub title: String,
    /// What it is about (an address, a copy edge, a file position, ...), written as its text.
    pub subject: Subject,
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

impl Finding {
    /// Where the finding points in the topology file: the file position of a validator
    /// diagnostic, or the entry its subject is about. `None` for a subject naming nothing of
    /// the file.
    pub fn anchor(&self) -> Option<Anchor> {
        self.subject.anchor()
    }

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
            None => self.subject.to_string(),
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

fn finding(
    check_id: &'static str,
    target: impl Into<Target>,
    message: impl Into<String>,
) -> Finding {
    let check = find(check_id).copied().unwrap_or(CATALOG[0]);
    let target = target.into();
    Finding {
        check: check_id.to_string(),
        severity: check.severity,
        title: check.title.to_string(),
        subject: Subject::from(target.subject),
        aws_name: target.aws_name,
        arn: target.arn,
        account: target.account,
        region: target.region,
        message: message.into(),
        fix: check.fix.to_string(),
    }
}

/// What the evaluators read, and the findings they write.
struct Context<'a> {
    topology: &'a Topology,
    state: Option<&'a LiveState>,
    org: Option<&'a str>,
    /// What each key encrypts, indexed once (a per-key scan of every vault and copy would
    /// grow with the square of the fleet).
    key_uses: keys::KeyUses<'a>,
    /// The topology's accounts by ID, for who a policy lets do what.
    accounts: crate::access::Accounts<'a>,
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
        key_uses: keys::KeyUses::of(topology),
        accounts: crate::access::Accounts::new(topology),
        findings: Vec::new(),
    };
    for diagnostic in &diagnostics.0 {
        let Some(check_id) = diagnostic.check else {
            continue;
        };
        let evaluated_live = state.is_some() && find(check_id).is_some_and(|c| c.live);
        if !evaluated_live {
            let position = SubjectKind::Position {
                line: diagnostic.pos.line,
                col: diagnostic.pos.col,
            };
            context.push(check_id, position, diagnostic.message.clone());
        }
    }
    context.static_checks();
    if let Some(state) = state {
        context.live_checks(state);
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
    /// The topology alone; without live state, also the policies Coffer will write.
    fn static_checks(&mut self) {
        let topology = self.topology;
        self.organization_declared();
        for edge in topology.copy_edges() {
            self.static_edge(&edge);
        }
        self.unchecked_resources();
        if self.state.is_none() {
            self.generated_key_policies();
            self.generated_vault_policies();
        }
    }

    /// AWS as `state` holds it.
    fn live_checks(&mut self, state: &LiveState) {
        self.service_roles(state);
        self.organization_membership(state);
        self.live_keys();
        self.live_vaults();
        self.live_rules();
        let topology = self.topology;
        for edge in topology.copy_edges() {
            self.live_edge(&edge);
        }
        self.sources_of_plans_without_copies();
    }

    fn push(
        &mut self,
        check_id: &'static str,
        target: impl Into<Target>,
        message: impl Into<String>,
    ) {
        self.findings.push(finding(check_id, target, message));
    }

    fn account_id(&self, name: &AccountName) -> String {
        self.topology.account_id(name).to_string()
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

    fn live_plan(&self, plan: &BackupPlan) -> Option<&LiveBackupPlan> {
        self.region(&plan.account, &plan.region)?
            .backup_plans
            .iter()
            .find(|p| p.name == plan.plan_name)
    }

    /// A vault of any account and region of the state, by ARN: looked up in the account and
    /// Region the ARN names (`arn:<partition>:backup:<region>:<account>:backup-vault:<name>`),
    /// so a plan's copies cost one region's vaults each, not the whole fleet's.
    fn vault_by_arn(&self, arn: &str) -> Option<&LiveVault> {
        let state = self.state?;
        let mut parts = arn.splitn(6, ':');
        let (region, account) = (parts.nth(3)?, parts.next()?);
        state
            .region(account, region)?
            .vaults
            .iter()
            .find(|v| v.arn == arn)
    }
}
