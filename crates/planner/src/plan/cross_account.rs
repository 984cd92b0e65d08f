//! The organization's cross-account backup setting (AWS Backup's global settings in the
//! management account), in each region that needs it: the management account's own, and
//! those of the backup plans that copy to another account. A setting: updated, never created
//! or deleted.

use std::collections::BTreeSet;

use serde_json::json;

use coffer_spec::CrossAccountBackup;

use super::Planner;
use crate::model::*;

impl Planner<'_> {
    pub(super) fn cross_account_backup(&mut self) {
        let Some(org) = &self.topology.organization else {
            return;
        };
        let enabled = match org.cross_account_backup {
            CrossAccountBackup::Enabled => true,
            CrossAccountBackup::Disabled => false,
            CrossAccountBackup::Unmanaged => return,
        };
        let management = &org.management_account;
        let management_id = self.account_id(management);
        let mut regions: BTreeSet<String> = self
            .topology
            .account(management)
            .map(|a| a.regions.clone())
            .unwrap_or_default();
        regions.extend(
            self.topology
                .copy_edges()
                .filter(|edge| edge.cross_account())
                .map(|edge| edge.plan.region.clone()),
        );
        for region in regions {
            let address = ResourceKind::CrossAccountBackup.at(region.to_string());
            let live = self
                .live
                .region(&management_id, &region)
                .and_then(|r| r.cross_account_backup);
            let before = Some(json!({"enabled": live.unwrap_or(false)}));
            let after = Some(json!({"enabled": enabled}));
            let change = self.change(address.clone(), management, &region, before, after);
            if change.action != Action::NoOp {
                let step = self.add_step(
                    format!("{address}:update"),
                    &change,
                    Operation::UpdateGlobalSettings {
                        cross_account_backup: enabled,
                    },
                    vec![],
                );
                self.global_setting_steps.push(step);
            }
            self.changes.push(change);
        }
    }
}
