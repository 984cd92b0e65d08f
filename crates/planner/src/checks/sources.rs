//! The resources selections name (RDS instances and clusters by ARN): they exist, can be
//! copied, and their key lets every destination account use it.

use std::collections::BTreeSet;

use coffer_policy::Request;
use coffer_spec::checks as id;
use coffer_spec::{BackupPlan, CopyEdge};

use super::Context;
use super::keys::live_key;
use super::subject::SubjectKind;
use super::target::Target;
use crate::live::{KeyManager, LiveKey};
use crate::model::ResourceKind;

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

/// The RDS resources the selections of `plan` name by ARN, in file order.
fn selected_rds(plan: &BackupPlan) -> impl Iterator<Item = &String> {
    plan.selections
        .iter()
        .flat_map(|s| &s.resources)
        .filter(|r| rds_kind(r).is_some())
}

impl Context<'_> {
    /// CB025: what a selection names that Coffer cannot check before apply.
    pub(super) fn unchecked_resources(&mut self) {
        let topology = self.topology;
        for plan in topology.backup_plans.values() {
            for selection in &plan.selections {
                let unchecked: Vec<&String> = selection
                    .resources
                    .iter()
                    .filter(|r| rds_kind(r).is_none())
                    .collect();
                if unchecked.is_empty() && selection.tags.is_empty() {
                    continue;
                }
                let mut what: Vec<String> = unchecked.iter().map(|r| format!("`{r}`")).collect();
                if !selection.tags.is_empty() {
                    what.push("resources selected by tags".into());
                }
                self.push(
                    id::UNCHECKED_RESOURCES,
                    self.selection_target(plan, &selection.name),
                    format!("not checked before apply: {}", what.join(", ")),
                );
            }
        }
    }

    /// The RDS resources a copy edge copies: they exist and are no Multi-AZ DB clusters;
    /// across accounts, encrypted with a usable customer managed key the destination account
    /// may use.
    pub(super) fn source_checks(&mut self, edge: &CopyEdge<'_>, destination_id: &str) {
        let Some(region) = self.region(&edge.plan.account, &edge.plan.region).cloned() else {
            return;
        };
        let selected: BTreeSet<&String> = selected_rds(edge.plan).collect();
        for arn in selected {
            let target = self.source_target(arn, SubjectKind::from(edge), edge.plan);
            let Some(source) = region.sources.iter().find(|s| &s.arn == arn) else {
                continue;
            };
            if !source.exists {
                self.push(id::SOURCE_EXISTS, target, "the resource does not exist");
                continue;
            }
            if source.multi_az_cluster {
                self.push(
                    id::NO_MULTI_AZ_CLUSTER_COPY,
                    &target,
                    "Multi-AZ DB cluster backups cannot be copied",
                );
            }
            if !edge.cross_account() {
                continue;
            }
            if !source.encrypted {
                self.push(
                    id::SOURCE_ENCRYPTED,
                    target,
                    "the resource is not encrypted",
                );
                continue;
            }
            let key = source
                .kms_key_arn
                .as_deref()
                .and_then(|k| live_key(&region, k))
                .or(source.key.as_ref())
                .cloned();
            let Some(key) = key else {
                self.push(
                    id::SOURCE_KEY_SHARED_WITH_DESTINATION,
                    target,
                    format!(
                        "the resource's key {} could not be read",
                        source.kms_key_arn.as_deref().unwrap_or("(unknown)")
                    ),
                );
                continue;
            };
            self.source_key(edge, &target, &key, destination_id);
        }
    }

    /// CB022, CB023: the key of a resource copied to another account is a customer managed
    /// key, usable, that the destination account may use.
    fn source_key(
        &mut self,
        edge: &CopyEdge<'_>,
        target: &Target,
        key: &LiveKey,
        destination_id: &str,
    ) {
        if key.key_manager != KeyManager::Customer {
            self.push(id::SOURCE_KEY_CUSTOMER_MANAGED, target, format!("the resource is encrypted with AWS managed key {}, which can never be shared with account {destination_id}", key.arn));
            return;
        }
        self.key_state(target, key);
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
            self.push(id::SOURCE_KEY_SHARED_WITH_DESTINATION, target, format!("the policy of key {} does not let account {destination_id} use it (kms:Decrypt, kms:DescribeKey, kms:CreateGrant)", key.arn));
        }
    }

    /// CB020 for backup plans that copy nowhere: their selected RDS resources must still
    /// exist.
    pub(super) fn sources_of_plans_without_copies(&mut self) {
        let topology = self.topology;
        // Once for all plans: asking each plan's copies of every edge grows with the square
        // of the fleet.
        let copying: BTreeSet<&str> = topology
            .copy_edges()
            .map(|e| e.plan.name.as_str())
            .collect();
        for plan in topology
            .backup_plans
            .values()
            .filter(|p| !copying.contains(p.name.as_str()))
        {
            let Some(region) = self.region(&plan.account, &plan.region).cloned() else {
                continue;
            };
            for arn in selected_rds(plan) {
                if region.sources.iter().any(|s| &s.arn == arn && !s.exists) {
                    let on = SubjectKind::Resource(ResourceKind::BackupPlan.at(plan.name.as_str()));
                    self.push(
                        id::SOURCE_EXISTS,
                        self.source_target(arn, on, plan),
                        "the resource does not exist",
                    );
                }
            }
        }
    }
}
