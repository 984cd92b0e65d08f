//! `plan(&Topology, &LiveState) -> Plan`: a pure, deterministic function.
//!
//! One module per kind of resource, each read top to bottom: what the file wants, how it
//! compares with AWS, the steps that make it so, and its deletion once it leaves the file.
//! This module holds what they share, and the two places that name every kind:
//! `Planner::plan_wanted` and `Planner::plan_departed`.

mod backup_plans;
mod cross_account;
mod diff;
mod digest;
mod keys;
mod ownership;
mod steps;
mod vaults;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use coffer_spec::{AccountName, KeyName, Topology, VaultName};

use crate::live::{LiveRegion, LiveState};
use crate::model::*;

pub use diff::diff_fields;
pub use digest::{fingerprint, topology_digest};
pub use ownership::{TAG_ID, TAG_TOPOLOGY};
pub(crate) use vaults::{ComparedLock, LockMode};

/// Every kind, each after the kinds it depends on: the order the file's resources are planned
/// in (a step can only wait for steps planned before it), and, reversed, the order the
/// deletions of what left the file are planned in.
const PLANNING_ORDER: [ResourceKind; 8] = [
    ResourceKind::Key,
    ResourceKind::Alias,
    ResourceKind::Vault,
    ResourceKind::VaultPolicy,
    ResourceKind::VaultLock,
    ResourceKind::CrossAccountBackup,
    ResourceKind::BackupPlan,
    ResourceKind::Selection,
];

// `PLANNING_ORDER` holds every kind of `ResourceKind::ALL`.
const _: () = {
    assert!(PLANNING_ORDER.len() == ResourceKind::ALL.len());
    let mut i = 0;
    while i < ResourceKind::ALL.len() {
        let mut found = false;
        let mut j = 0;
        while j < PLANNING_ORDER.len() {
            found |= PLANNING_ORDER[j] as u8 == ResourceKind::ALL[i] as u8;
            j += 1;
        }
        assert!(found, "a kind is missing from PLANNING_ORDER");
        i += 1;
    }
};

/// Computes the plan that makes `live` match `topology`.
pub fn plan(topology: &Topology, live: &LiveState) -> Plan {
    let mut planner = Planner {
        topology,
        live,
        changes: Vec::new(),
        steps: Vec::new(),
        keys: BTreeMap::new(),
        key_guards: topology.key_guards(),
        vaults: BTreeMap::new(),
        matched: BTreeSet::new(),
        global_setting_steps: Vec::new(),
        deleted_vaults: BTreeMap::new(),
        deleted_plans: BTreeMap::new(),
    };
    for kind in PLANNING_ORDER {
        planner.plan_wanted(kind);
    }
    let regions = planner.live_regions();
    for kind in PLANNING_ORDER.into_iter().rev() {
        planner.plan_departed(kind, &regions);
    }
    planner.finish()
}

/// The plan, with the checks catalog evaluated on AWS as it will be once the plan is applied
/// (deletions left out, as a plain apply does).
pub fn plan_checked(
    topology: &Topology,
    diagnostics: &coffer_spec::Diagnostics,
    live: &LiveState,
) -> Plan {
    let mut planned = plan(topology, live);
    // AWS after the plan: the live state itself when the plan has nothing to play (an
    // in-sync fleet's plan, where copying the state was a tenth of the plan's memory).
    let simulated = (!planned.steps.iter().all(|s| s.needs_allow_delete)).then(|| {
        let mut state = live.clone();
        crate::simulate::play(&planned, &mut state, false);
        state
    });
    let after = simulated.as_ref().unwrap_or(live);
    planned.findings = crate::checks::evaluate(topology, diagnostics, Some(after));
    // The ARNs of keys and backup plans the plan creates are AWS's to pick: the simulation's
    // stand-ins are no ARNs to show.
    let picked_by_aws = |state: &LiveState| -> BTreeSet<String> {
        state
            .accounts
            .values()
            .flat_map(|a| a.regions.values())
            .flat_map(|r| {
                let keys = r.keys.iter().map(|k| k.arn.clone());
                keys.chain(r.backup_plans.iter().map(|p| p.arn.clone()))
            })
            .collect()
    };
    if simulated.is_some() {
        let existing = picked_by_aws(live);
        let invented: BTreeSet<String> = picked_by_aws(after)
            .into_iter()
            .filter(|arn| !existing.contains(arn))
            .collect();
        for finding in &mut planned.findings {
            if finding
                .arn
                .as_ref()
                .is_some_and(|arn| invented.contains(arn))
            {
                finding.arn = None;
            }
        }
    }
    planned.destroy_paths = Some(crate::destroy::report(topology, Some(after)));
    planned
}

struct Planner<'a> {
    topology: &'a Topology,
    live: &'a LiveState,
    changes: Vec<Change>,
    steps: Vec<Step>,
    keys: BTreeMap<KeyName, keys::KeyHandle<'a>>,
    /// Every key's guard, computed once (`Topology::key_guards`).
    key_guards: BTreeMap<KeyName, Vec<String>>,
    vaults: BTreeMap<VaultName, vaults::VaultHandle>,
    /// Live resources matched to a desired one (by ARN), so the deletion pass skips them.
    matched: BTreeSet<String>,
    global_setting_steps: Vec<String>,
    /// Vault ARNs deleted (unblocked) by this plan, with their deletion step.
    deleted_vaults: BTreeMap<String, String>,
    /// The deletion steps of backup plans that left the file, by account ID and region: the
    /// vaults deleted there wait for them.
    deleted_plans: BTreeMap<(String, String), Vec<String>>,
}

/// A live region, with its account's ID and logical name (the ID itself for an account the
/// file does not name).
struct LiveAt<'a> {
    account_id: String,
    account: AccountName,
    region: String,
    state: &'a LiveRegion,
}

/// A resource that left the file, as its deletion's `before` shows it.
#[derive(Serialize)]
struct Departed<'a> {
    name: &'a str,
    tags: &'a Tags,
}

impl<'a> Planner<'a> {
    /// Plans the resources of `kind` the file wants. An entry of the file plans the kinds that
    /// hang on it along with itself, so that their steps follow its own.
    fn plan_wanted(&mut self, kind: ResourceKind) {
        let topology = self.topology;
        match kind {
            ResourceKind::Key => topology.keys.values().for_each(|key| self.key(key)),
            // With its key, whose steps it waits for.
            ResourceKind::Alias => {}
            ResourceKind::Vault => topology.vaults.values().for_each(|v| self.vault(v)),
            // With their vault, whose steps they wait for.
            ResourceKind::VaultPolicy | ResourceKind::VaultLock => {}
            ResourceKind::CrossAccountBackup => self.cross_account_backup(),
            ResourceKind::BackupPlan => {
                for backup_plan in topology.backup_plans.values() {
                    self.backup_plan(backup_plan);
                }
            }
            // With their backup plan, whose ID they need.
            ResourceKind::Selection => {}
        }
    }

    /// Plans the deletion of the resources of `kind` this topology owns but the file no longer
    /// has. They run only with `--allow-delete`.
    fn plan_departed(&mut self, kind: ResourceKind, regions: &[LiveAt<'a>]) {
        match kind {
            ResourceKind::Key => self.departed_keys(regions),
            // Deleted with the key they point to.
            ResourceKind::Alias => {}
            ResourceKind::Vault => self.departed_vaults(regions),
            // A vault's policy goes with the vault. Coffer never removes a lock: a locked vault
            // is never deleted.
            ResourceKind::VaultPolicy | ResourceKind::VaultLock => {}
            // A setting of the organization: never deleted, left as it is once the file no
            // longer manages it.
            ResourceKind::CrossAccountBackup => {}
            ResourceKind::BackupPlan => self.departed_backup_plans(regions),
            // Deleted with their backup plan; those a kept backup plan no longer has, when the
            // backup plan is planned.
            ResourceKind::Selection => {}
        }
    }

    fn account_id(&self, name: &AccountName) -> String {
        self.topology.account_id(name).to_string()
    }

    /// A change of the resource at `address`, its action read from `before` and `after`.
    fn change(
        &self,
        address: Address,
        account: &AccountName,
        region: &str,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Change {
        let fields = diff_fields(before.as_ref(), after.as_ref());
        let action = match (&before, &after) {
            (None, Some(_)) => Action::Create,
            (Some(_), None) => Action::Delete,
            _ if fields.is_empty() => Action::NoOp,
            _ => Action::Update,
        };
        Change {
            kind: address.kind,
            address,
            account: self.account_id(account),
            account_name: Some(account.to_string()),
            region: region.to_string(),
            aws_name: None,
            arn: None,
            action,
            before,
            after,
            fields,
            flags: Vec::new(),
            reasons: Vec::new(),
        }
    }

    fn block(change: &mut Change, reason: String) {
        if !change.has(Flag::Blocked) {
            change.flags.push(Flag::Blocked);
        }
        change.reasons.push(reason);
    }

    /// Blocks `change` when it waits for a blocked resource and would do something.
    fn wait_for_blocked(change: &mut Change, blocked: bool, address: &Address) {
        if blocked && change.action != Action::NoOp {
            Self::block(change, format!("waits for `{address}`, which is blocked"));
        }
    }

    /// Says which principals a live key or vault policy names by unique ID: those whose
    /// roles or users were deleted.
    fn note_orphans(change: &mut Change, policy: Option<&Value>, of: &str, then: &str) {
        let orphans = policy
            .map(crate::policy::orphaned_principals)
            .unwrap_or_default();
        if !orphans.is_empty() {
            change.reasons.push(format!(
                "the live {of} policy names principals by unique ID ({}): their roles or users were deleted{then}",
                orphans.join(", ")
            ));
        }
    }

    /// Every live region, with its account.
    fn live_regions(&self) -> Vec<LiveAt<'a>> {
        let live: &'a LiveState = self.live;
        // Each account's name by ID, once: a search of the accounts per live account made
        // this quadratic in the size of the fleet.
        let names: std::collections::HashMap<&str, &AccountName> = (self.topology.accounts)
            .values()
            .map(|a| (a.id.as_str(), &a.name))
            .collect();
        let mut out = Vec::new();
        for (account_id, account) in &live.accounts {
            let name = names
                .get(account_id.as_str())
                .map_or_else(|| AccountName(account_id.clone()), |name| (*name).clone());
            for (region, state) in &account.regions {
                out.push(LiveAt {
                    account_id: account_id.clone(),
                    account: name.clone(),
                    region: region.clone(),
                    state,
                });
            }
        }
        out
    }

    /// The change for an owned resource that left the file: a deletion that runs only with
    /// `--allow-delete`.
    fn deletion(
        &self,
        address: Address,
        at: &LiveAt<'_>,
        (aws_name, arn): (&str, &str),
        before: Value,
        reason: &str,
    ) -> Change {
        let mut change = self.change(address, &at.account, &at.region, Some(before), None);
        change.account = at.account_id.clone();
        change.aws_name = Some(aws_name.to_string());
        change.arn = Some(arn.to_string());
        change.flags.push(Flag::NeedsAllowDelete);
        change.reasons.push(reason.to_string());
        change
    }

    /// The deletion `before` of a vault or a backup plan.
    fn departed_state(name: &str, tags: &Tags) -> Value {
        json!(Departed { name, tags })
    }

    fn finish(self) -> Plan {
        let mut changes = self.changes;
        changes.sort_by(|a, b| a.address.cmp(&b.address).then(a.account.cmp(&b.account)));
        let accounts = crate::access::Accounts::new(self.topology);
        for change in &mut changes {
            crate::weaken::flag(&accounts, change);
            change.flags.sort();
            change.flags.dedup();
        }
        let steps = steps::order_steps(self.steps);
        let mut summary = Summary::default();
        for change in &changes {
            match change.action {
                Action::Create => summary.create += 1,
                Action::Update => summary.update += 1,
                Action::Replace => summary.replace += 1,
                Action::Delete => summary.delete += 1,
                Action::NoOp => summary.no_op += 1,
            }
            summary.blocked += usize::from(change.has(Flag::Blocked));
            summary.irreversible += usize::from(change.has(Flag::Irreversible));
            summary.weakens += usize::from(change.has(Flag::Weakens));
        }
        let membership = self.live.membership.clone();
        let live_fingerprint = digest::live_fingerprint(&changes, membership.as_ref());
        Plan {
            format_version: FORMAT_VERSION,
            topology: self.topology.name.clone(),
            topology_digest: topology_digest(self.topology),
            live_fingerprint,
            summary,
            changes,
            steps,
            findings: Vec::new(),
            destroy_paths: None,
            membership,
        }
    }
}
