//! Vaults: the vault's name in AWS, its key, its access policy and its lock.

use std::collections::{BTreeMap, BTreeSet};

use super::{PlaceNames, Placement, Resolver};
use crate::aws_limits;
use crate::codes;
use crate::format::{AccessPolicySpec, LockSpec, VaultSpec};
use crate::topology::*;
use crate::yaml::Located;

impl Resolver<'_> {
    pub(super) fn vaults(
        &mut self,
        accounts: &BTreeMap<AccountName, Account>,
        keys: &BTreeMap<KeyName, Key>,
        organization: Option<&Organization>,
    ) -> BTreeMap<VaultName, Vault> {
        let mut out = BTreeMap::new();
        let mut names = PlaceNames::new(
            "vault name",
            "vault",
            "vault names are unique per account and region",
        );
        for (name, located) in &self.file.vaults {
            let spec: &VaultSpec = located;
            let place = self.placement(
                ("vaults", "vault"),
                name,
                located.pos,
                spec.account.as_ref(),
                spec.region.as_ref(),
            );
            if let Err(reason) = aws_limits::vault_name(&spec.name) {
                self.error(
                    codes::VAULT_NAME,
                    spec.name.pos,
                    reason,
                    "rename the vault; note that a vault can never be renamed once created".into(),
                );
            }
            self.claim(&mut names, &place, &spec.name, name);
            let key = spec
                .key
                .as_ref()
                .and_then(|key| self.vault_key(name, key, &place, keys));
            let owner_id = place.account_id(accounts);
            let access_policy = spec
                .access_policy
                .as_ref()
                .map(|p| self.access_policy(p, organization, accounts, owner_id.as_deref()));
            let lock = spec.lock.as_ref().map(|l| self.lock(l));
            self.tags(&spec.tags);
            let (Some(account), Some(region)) = (place.account, place.region) else {
                continue;
            };
            let vault_name = VaultName(name.clone());
            out.insert(
                vault_name.clone(),
                Vault {
                    name: vault_name,
                    account,
                    region,
                    vault_name: spec.name.value.clone(),
                    key,
                    access_policy,
                    lock,
                    adopt: spec.adopt,
                    accept_destroy_paths: spec.accept_destroy_paths,
                    tags: spec.tags.value.clone(),
                },
            );
        }
        out
    }

    /// The key of vault `name`, which must be in the vault's own account and region.
    fn vault_key(
        &mut self,
        name: &str,
        key_ref: &Located<String>,
        place: &Placement,
        keys: &BTreeMap<KeyName, Key>,
    ) -> Option<KeyName> {
        let key_names = &self.file.keys;
        let key = self
            .reference("key", "keys", key_ref, key_names)
            .map(KeyName)?;
        let resolved = keys.get(&key)?;
        let (account, region) = (&place.account, &place.region);
        // Only a known difference: an unknown account or bad region is reported already.
        if account.as_ref().is_some_and(|a| *a != resolved.account)
            || region.as_ref().is_some_and(|r| *r != resolved.region)
        {
            self.error(
                codes::VAULT_KEY_PLACEMENT,
                key_ref.pos,
                format!(
                    "vault `{name}` is in {}/{} but its key `{key}` is in {}/{}",
                    account.as_ref().map_or("?", |a| a.as_str()),
                    region.as_deref().unwrap_or("?"),
                    resolved.account,
                    resolved.region
                ),
                "use a key in the vault's own account and region (a vault's key can never be changed later)".into(),
            );
        }
        Some(key)
    }

    /// The vault's access policy: who may copy in, the deletion guard's break-glass
    /// principals (of the vault's account `owner_id`) and the raw statements.
    fn access_policy(
        &mut self,
        spec: &Located<AccessPolicySpec>,
        organization: Option<&Organization>,
        accounts: &BTreeMap<AccountName, Account>,
        owner_id: Option<&str>,
    ) -> AccessPolicy {
        let mut allow = BTreeSet::new();
        for source in &spec.allow_copy_from {
            if aws_limits::account_id(source).is_ok() {
                allow.insert(source.value.clone());
            } else if let Some(account) = self.account_ref(source)
                && let Some(account) = accounts.get(&account)
            {
                allow.insert(account.id.clone());
            }
        }
        let organization_id = if spec.organization {
            match organization {
                Some(org) => Some(org.id.clone()),
                None => {
                    self.error(
                        codes::ORGANIZATION,
                        spec.pos,
                        "`organization: true` but the file declares no organization".into(),
                        "add an `organization:` section with its `id` and `management_account`"
                            .into(),
                    );
                    None
                }
            }
        } else {
            None
        };
        for path in &spec.org_paths {
            if let Err(reason) = aws_limits::organization_path(path) {
                self.error(
                    codes::ORGANIZATION,
                    path.pos,
                    reason,
                    "copy the path from AWS Organizations; it ends with `/`".into(),
                );
            } else if let Some(org) = organization
                && !path.starts_with(&format!("{}/", org.id))
            {
                self.error(
                    codes::ORGANIZATION,
                    path.pos,
                    format!(
                        "organization path `{}` is not in organization {}",
                        path.value, org.id
                    ),
                    format!("paths start with the organization ID, `{}/r-.../`", org.id),
                );
            }
        }
        for principal in &spec.break_glass_principals {
            self.exempt_principal(principal, owner_id, "the vault");
        }
        let statements = self.statements(&spec.statements, true);
        AccessPolicy {
            allow_copy_from: allow.into_iter().collect(),
            organization_id,
            org_paths: spec.org_paths.iter().map(|p| p.value.clone()).collect(),
            deny_recovery_point_deletion: spec.deny_recovery_point_deletion,
            break_glass_principals: spec
                .break_glass_principals
                .iter()
                .map(|p| p.value.clone())
                .collect(),
            statements,
        }
    }

    /// The vault lock: its retention bounds and, in compliance mode, its grace time.
    fn lock(&mut self, spec: &Located<LockSpec>) -> Lock {
        let bounds = [
            (
                &spec.min_retention_days,
                "min_retention_days",
                "AWS Backup Vault Lock takes a minimum retention of at least 1 day",
            ),
            (
                &spec.max_retention_days,
                "max_retention_days",
                "AWS Backup Vault Lock takes a maximum retention of at most 36500 days",
            ),
        ];
        for (days, field, help) in bounds {
            if let Some(days) = days
                && !(1..=aws_limits::MAX_RETENTION_DAYS).contains(&days.value)
            {
                self.error(
                    codes::LOCK_BOUNDS,
                    days.pos,
                    format!("{field} {} is outside 1-36500", days.value),
                    help.into(),
                );
            }
        }
        if let (Some(min), Some(max)) = (&spec.min_retention_days, &spec.max_retention_days)
            && min.value > max.value
        {
            self.error(
                codes::LOCK_BOUNDS,
                max.pos,
                format!(
                    "max_retention_days {} is below min_retention_days {}",
                    max.value, min.value
                ),
                "make min_retention_days at most max_retention_days".into(),
            );
        }
        if let Some(grace) = &spec.changeable_for_days
            && !aws_limits::CHANGEABLE_FOR_DAYS.contains(&grace.value)
        {
            self.error(
                codes::LOCK_GRACE,
                grace.pos,
                format!("changeable_for_days {} is outside 3-36500", grace.value),
                "compliance mode needs a grace time of at least 3 days (72 hours); leave `changeable_for_days` out for governance mode".into(),
            );
        }
        Lock {
            min_retention_days: spec.min_retention_days.as_ref().map(|v| v.value),
            max_retention_days: spec.max_retention_days.as_ref().map(|v| v.value),
            changeable_for_days: spec.changeable_for_days.as_ref().map(|v| v.value),
        }
    }
}
