//! Copy edges: where a rule's copies go (not the default vault, a vault with a customer
//! managed key that exists and lets the source account copy in), and the way back for
//! restores.

use serde_json::Value;

use coffer_policy::{Decision, Request};
use coffer_spec::CopyEdge;
use coffer_spec::checks as id;

use super::Context;
use super::target::Target;
use crate::live::LiveVault;

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

impl Context<'_> {
    /// A copy edge as the file declares it.
    pub(super) fn static_edge(&mut self, edge: &CopyEdge<'_>) {
        let target = self.edge_target(edge);
        if edge.destination.vault_name.eq_ignore_ascii_case("default") {
            self.push(
                id::DESTINATION_NOT_DEFAULT_VAULT,
                &target,
                format!(
                    "copies go to the default vault of account `{}`",
                    edge.destination.account
                ),
            );
        }
        if !edge.cross_account() {
            return;
        }
        if edge.destination.key.is_none() {
            self.push(
                id::DESTINATION_CUSTOMER_KEY,
                &target,
                format!(
                    "vault `{}` receives cross-account copies but has no customer managed key",
                    edge.destination.name
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
            self.push(id::RESTORE_PATH_COPY_BACK, &target, format!("vault `{}` does not let account `{}` copy recovery points back for restores in the source account", edge.source.name, edge.destination.account));
        }
        let rds = edge
            .plan
            .selections
            .iter()
            .flat_map(|s| &s.resources)
            .any(|r| r.starts_with("arn:aws:rds:"));
        if rds && edge.destination.region != edge.source.region {
            self.push(id::CROSS_REGION_AND_ACCOUNT_RDS, &target, format!("RDS recovery points are copied to another account and region at once ({} -> {})", edge.source.region, edge.destination.region));
        }
    }

    /// A copy edge against the state: the destination vault exists and, across accounts,
    /// cross-account backup is on and the vault's policy lets the source account copy in;
    /// then the resources it copies.
    pub(super) fn live_edge(&mut self, edge: &CopyEdge<'_>) {
        let target = self.edge_target(edge);
        let destination_id = self.account_id(&edge.destination.account);
        let Some(destination) = self.live_vault(edge.destination).cloned() else {
            self.push(
                id::DESTINATION_VAULT_EXISTS,
                target,
                format!(
                    "vault `{}` does not exist in account {destination_id} ({})",
                    edge.destination.vault_name, edge.destination.region
                ),
            );
            return;
        };
        // A copy within the account (to another region): only existence and Multi-AZ
        // clusters matter for its sources.
        if edge.cross_account() {
            self.cross_account_backup_enabled(edge, &target);
            self.destination_admits_source(edge, &target, &destination, &destination_id);
        }
        self.source_checks(edge, &destination_id);
    }

    /// CB005, CB006: the destination vault's policy allows the source account's copies and
    /// no statement denies them.
    fn destination_admits_source(
        &mut self,
        edge: &CopyEdge<'_>,
        target: &Target,
        destination: &LiveVault,
        destination_id: &str,
    ) {
        let source_id = self.account_id(&edge.plan.account);
        let member_org = self
            .state
            .and_then(|s| s.accounts.get(&source_id))
            .and_then(|a| a.organization_id.clone())
            .or_else(|| self.org.map(str::to_string));
        let Some(document) = &destination.access_policy else {
            self.push(
                id::DESTINATION_ALLOWS_SOURCE,
                target,
                format!(
                    "vault `{}` has no access policy, so account {source_id} cannot copy into it",
                    destination.name
                ),
            );
            return;
        };
        let decision = account_decision(
            document,
            "backup:CopyIntoBackupVault",
            &source_id,
            member_org.as_deref(),
            &destination.arn,
            destination_id,
        );
        if decision == Decision::ExplicitDeny {
            self.push(
                id::DESTINATION_NO_DENY,
                target,
                format!(
                    "the policy of vault `{}` denies copies from account {source_id}",
                    destination.name
                ),
            );
        } else if decision != Decision::Allow {
            self.push(
                id::DESTINATION_ALLOWS_SOURCE,
                target,
                format!(
                    "the policy of vault `{}` does not allow account {source_id} to copy in",
                    destination.name
                ),
            );
        }
    }
}
