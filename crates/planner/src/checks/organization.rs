//! The organization: declared when copies cross accounts, every account a member, and
//! cross-account backup switched on in its management account.

use coffer_spec::CopyEdge;
use coffer_spec::checks as id;

use super::Context;
use super::subject::SubjectKind;
use super::target::Target;
use crate::live::LiveState;

impl Context<'_> {
    /// CB030: a topology that copies across accounts declares its organization.
    pub(super) fn organization_declared(&mut self) {
        if self.org.is_none() && self.topology.copy_edges().any(|e| e.cross_account()) {
            self.push(
                id::ORGANIZATION_DECLARED,
                SubjectKind::Organization,
                "the topology copies across accounts but declares no organization",
            );
        }
    }

    /// CB001: every account whose organization could be read is in the declared one.
    pub(super) fn organization_membership(&mut self, state: &LiveState) {
        let Some(org) = self.org else { return };
        let topology = self.topology;
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
                    SubjectKind::Account(account.name.clone()),
                    format!("account {} is in {actual}, not in {org}", account.id),
                );
            }
        }
    }

    /// CB002: a cross-account copy edge needs cross-account backup on in the management
    /// account, in the copy's region.
    pub(super) fn cross_account_backup_enabled(&mut self, edge: &CopyEdge<'_>, target: &Target) {
        let Some(org) = &self.topology.organization else {
            return;
        };
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
                target,
                format!(
                    "cross-account backup is off in management account {management} ({})",
                    edge.source.region
                ),
            );
        }
    }
}
