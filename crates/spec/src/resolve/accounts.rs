//! Accounts and the organization: account IDs, the role Coffer assumes in each account, and
//! the regions Coffer reads there.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Defaults, Resolver, is_role_in};
use crate::aws_limits;
use crate::codes;
use crate::format::AccountSpec;
use crate::topology::*;

impl Resolver<'_> {
    pub(super) fn accounts(&mut self, defaults: &Defaults) -> BTreeMap<AccountName, Account> {
        let mut out = BTreeMap::new();
        let mut by_id: HashMap<String, String> = HashMap::new();
        for (name, spec) in &self.file.accounts {
            self.logical_name("accounts", name, spec.pos);
            let id = &spec.id;
            if let Err(reason) = aws_limits::account_id(id) {
                self.error(
                    codes::ACCOUNT_ID,
                    id.pos,
                    reason,
                    "copy the ID from the AWS console or `aws sts get-caller-identity`, and quote it"
                        .into(),
                );
            } else if let Some(other) = by_id.insert(id.value.clone(), name.clone()) {
                self.error(
                    codes::DUPLICATE_NAME,
                    id.pos,
                    format!("account ID {} is also account `{other}`", id.value),
                    "each AWS account appears once under `accounts`".into(),
                );
            }
            let role_arn = self.role_arn(spec, &defaults.role);
            let mut regions = BTreeSet::new();
            for region in &spec.regions {
                if self.valid_region(region) {
                    regions.insert(region.value.clone());
                }
            }
            let account_name = AccountName(name.clone());
            out.insert(
                account_name.clone(),
                Account {
                    name: account_name,
                    id: id.value.clone(),
                    role_arn,
                    external_id: spec
                        .external_id
                        .as_ref()
                        .map(|e| e.value.clone())
                        .or_else(|| defaults.external_id.clone()),
                    regions,
                },
            );
        }
        out
    }

    /// The ARN of the role Coffer assumes in the account: its own role (a name or an ARN in
    /// the account), else `default_role`.
    fn role_arn(&mut self, spec: &AccountSpec, default_role: &str) -> String {
        let id = &spec.id.value;
        match &spec.role {
            Some(role) if role.starts_with("arn:") => {
                if !is_role_in(role, id) {
                    self.error(
                        codes::ROLE,
                        role.pos,
                        format!("`{}` is not a role ARN in account {id}", role.value),
                        format!("write `arn:aws:iam::{id}:role/<name>` or just the role name"),
                    );
                }
                role.value.clone()
            }
            Some(role) => {
                self.role_name(role, "give the role's name or its full ARN");
                format!("arn:aws:iam::{id}:role/{}", role.value)
            }
            None => format!("arn:aws:iam::{id}:role/{default_role}"),
        }
    }

    pub(super) fn organization(&mut self) -> Option<Organization> {
        let spec = self.file.organization.as_ref()?;
        if let Err(reason) = aws_limits::organization_id(&spec.id) {
            self.error(
                codes::ORGANIZATION,
                spec.id.pos,
                reason,
                "copy it from `aws organizations describe-organization`".into(),
            );
        }
        // Kept even when the account is unknown (that error is reported), so that vaults
        // with `organization: true` and cross-account copies are not reported again.
        let management = self
            .account_ref(&spec.management_account)
            .unwrap_or_else(|| AccountName(spec.management_account.value.clone()));
        Some(Organization {
            id: spec.id.value.clone(),
            management_account: management,
            cross_account_backup: spec.cross_account_backup.value,
        })
    }

    /// Every account reads the regions of its own resources; the management account reads
    /// the default region when nothing else gives it one.
    pub(super) fn fill_regions(&self, topology: &mut Topology) {
        let mut used: Vec<(AccountName, String)> = Vec::new();
        used.extend(
            topology
                .keys
                .values()
                .map(|k| (k.account.clone(), k.region.clone())),
        );
        used.extend(
            topology
                .vaults
                .values()
                .map(|v| (v.account.clone(), v.region.clone())),
        );
        used.extend(
            topology
                .backup_plans
                .values()
                .map(|p| (p.account.clone(), p.region.clone())),
        );
        let accounts = &mut topology.accounts;
        for (account, region) in used {
            if let Some(account) = accounts.get_mut(&account) {
                account.regions.insert(region);
            }
        }
        if let Some(org) = &topology.organization
            && let Some(region) = &self.default_region
            && let Some(account) = accounts.get_mut(&org.management_account)
            && account.regions.is_empty()
        {
            account.regions.insert(region.clone());
        }
    }
}
