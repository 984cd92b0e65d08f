//! Rules over the copies of the whole topology: a copy leaves its source's account or
//! region, a cross-account copy is switched on in the organization, allowed by the
//! destination vault's access policy, and lands under a key the destination controls.

use std::collections::{HashMap, VecDeque};

use super::Resolver;
use crate::checks;
use crate::codes;
use crate::topology::*;
use crate::yaml::Pos;

/// Where the file writes the `vault:` of each copy, by backup plan, rule name and
/// destination vault, in file order: a rule name or destination written twice keeps one
/// position per copy.
type CopyPositions<'f> = HashMap<(&'f str, &'f str, &'f str), VecDeque<Pos>>;

impl<'f> Resolver<'f> {
    /// Checks every copy edge of `topology`, each reported at its copy's `vault:`.
    pub(super) fn copy_edges(&mut self, topology: &Topology) {
        let mut positions = self.copy_positions(topology);
        for edge in topology.copy_edges() {
            let written = (
                edge.plan.name.as_str(),
                edge.rule.name.as_str(),
                edge.copy.vault.as_str(),
            );
            if let Some(pos) = positions.get_mut(&written).and_then(VecDeque::pop_front) {
                self.copy_edge(topology, &edge, pos);
            }
        }
    }

    /// The positions of the copies that are edges of `topology`: those whose rule vault and
    /// destination vault both resolved. (A rule or copy that did not resolve is missing
    /// from the topology, so the file's copies are matched to the edges by name, not by
    /// index.)
    fn copy_positions(&self, topology: &Topology) -> CopyPositions<'f> {
        let file = self.file;
        let resolved = |vault: &str| topology.vaults.contains_key(&VaultName(vault.to_string()));
        let mut positions = CopyPositions::new();
        for (plan, spec) in &file.backup_plans {
            for rule in spec.rules.iter().filter(|rule| resolved(&rule.vault)) {
                for copy in rule.copy_to.iter().filter(|copy| resolved(&copy.vault)) {
                    positions
                        .entry((plan.as_str(), rule.name.as_str(), copy.vault.as_str()))
                        .or_default()
                        .push_back(copy.vault.pos);
                }
            }
        }
        positions
    }

    fn copy_edge(&mut self, topology: &Topology, edge: &CopyEdge<'_>, pos: Pos) {
        let (source, destination) = (edge.source, edge.destination);
        if destination.account == source.account && destination.region == source.region {
            self.warn(
                codes::W_SAME_PLACE_COPY,
                pos,
                format!("copy to `{}` stays in the same account and region as `{}`", destination.name, source.name),
                "a copy protects against account or region loss only when it leaves them; copy to another account or region".into(),
            );
        }
        if !edge.cross_account() {
            return;
        }
        self.cross_account_backup(topology, edge, pos);
        self.destination_allows(topology, edge, pos);
        self.destination_key(topology, edge, pos);
    }

    /// A cross-account copy needs cross-account backup on in the organization.
    fn cross_account_backup(&mut self, topology: &Topology, edge: &CopyEdge<'_>, pos: Pos) {
        let (source, destination) = (&edge.plan.account, &edge.destination.account);
        match &topology.organization {
            Some(org) if org.cross_account_backup == CrossAccountBackup::Disabled => self.blocker(
                codes::CROSS_ACCOUNT_DISABLED,
                checks::CROSS_ACCOUNT_BACKUP_ENABLED,
                pos,
                format!("copy from account `{source}` to `{destination}` is cross-account, but `organization.cross_account_backup` is `disabled`"),
                "set `cross_account_backup: enabled`: AWS fails cross-account copy jobs while the management account has it off".into(),
            ),
            Some(org) if org.cross_account_backup == CrossAccountBackup::Enabled => {}
            _ => self.warn(
                codes::W_CROSS_ACCOUNT_UNMANAGED,
                pos,
                format!("copy from account `{source}` to `{destination}` needs cross-account backup switched on in the organization's management account"),
                "declare `organization:` with `cross_account_backup: enabled` so Coffer keeps it on".into(),
            ),
        }
    }

    /// The destination vault's access policy lets the source account copy in.
    fn destination_allows(&mut self, topology: &Topology, edge: &CopyEdge<'_>, pos: Pos) {
        let (source, destination) = (&edge.plan.account, edge.destination);
        let Some(policy) = &destination.access_policy else {
            self.blocker(
                codes::COPY_NOT_ALLOWED,
                checks::DESTINATION_ALLOWS_SOURCE,
                pos,
                format!("vault `{}` has no access policy in the file, so nothing lets account `{source}` copy into it", destination.name),
                format!("add `access_policy: {{allow_copy_from: [{source}]}}` (or `organization: true`) to vault `{}`", destination.name),
            );
            return;
        };
        let source_id = topology.account_id(source).to_string();
        // `organization: true` without an organization is reported at the policy (E108).
        let organization_written = self
            .file
            .vaults
            .get(destination.name.as_str())
            .and_then(|v| v.access_policy.as_ref())
            .is_some_and(|p| p.organization);
        let allowed = policy.allow_copy_from.contains(&source_id)
            || policy.organization_id.is_some()
            || organization_written
            || !policy.org_paths.is_empty()
            || policy.statements.iter().any(|s| {
                statement_allows_copy(
                    s,
                    &source_id,
                    topology.organization.as_ref().map(|o| o.id.as_str()),
                    &topology.vault_arn(destination),
                )
            });
        if !allowed {
            self.blocker(
                codes::COPY_NOT_ALLOWED,
                checks::DESTINATION_ALLOWS_SOURCE,
                pos,
                format!("vault `{}` does not allow account `{source}` ({source_id}) to copy into it", destination.name),
                format!("add `{source}` to `vaults.{}.access_policy.allow_copy_from`, or set `organization: true`", destination.name),
            );
        }
    }

    /// The destination vault has a key of its own, not shared back to the source account.
    fn destination_key(&mut self, topology: &Topology, edge: &CopyEdge<'_>, pos: Pos) {
        let (source, destination) = (&edge.plan.account, edge.destination);
        // A key that is written but unknown or broken is reported already; not the default.
        let written_key = self
            .file
            .vaults
            .get(destination.name.as_str())
            .is_some_and(|v| v.key.is_some());
        if destination.key.is_none() && !written_key {
            self.warn(
                codes::W_DEFAULT_KEY_DESTINATION,
                pos,
                format!("vault `{}` receives cross-account copies but uses AWS Backup's default key", destination.name),
                "give the vault a customer managed key of its own account (`key:`); restores then use a key you control".into(),
            );
        }
        if let Some(key) = destination.key.as_ref().and_then(|k| topology.keys.get(k))
            && key.usable_by.contains(source)
        {
            self.warn(
                codes::W_KEY_SHARED_BACK,
                pos,
                format!("key `{}` of destination vault `{}` is usable by source account `{source}`", key.name, destination.name),
                format!("remove `{source}` from `keys.{}.usable_by`: the backup account's key should never be shared back to the accounts it protects", key.name),
            );
        }
    }
}

/// Whether a raw vault-policy statement allows `account_id` (a member of `organization`, when
/// the topology declares one) to copy into `vault_arn`, as the policy engine reads it.
fn statement_allows_copy(
    statement: &Statement,
    account_id: &str,
    organization: Option<&str>,
    vault_arn: &str,
) -> bool {
    let policy = serde_json::json!({"Statement": [statement]});
    let owner = vault_arn.split(':').nth(4).unwrap_or_default();
    let mut request = coffer_policy::Request::new(
        format!("arn:aws:iam::{account_id}:root"),
        "backup:CopyIntoBackupVault",
        vault_arn,
        owner,
    );
    if let Some(org) = organization {
        request = request.with("aws:PrincipalOrgID", [org]);
    }
    coffer_policy::evaluate(&policy, &request) == coffer_policy::Decision::Allow
}
