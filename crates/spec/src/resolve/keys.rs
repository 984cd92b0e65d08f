//! Keys: the alias, rotation, the deletion window, the accounts that may use the key and the
//! parts of its policy the file writes.

use std::collections::{BTreeMap, BTreeSet};

use super::{PlaceNames, Resolver};
use crate::aws_limits;
use crate::codes;
use crate::diag::plural;
use crate::format::{KeySpec, RotationSpec};
use crate::topology::*;
use crate::yaml::Located;

impl Resolver<'_> {
    pub(super) fn keys(
        &mut self,
        accounts: &BTreeMap<AccountName, Account>,
    ) -> BTreeMap<KeyName, Key> {
        let mut out = BTreeMap::new();
        let mut aliases = PlaceNames::new(
            "alias",
            "key",
            "aliases are unique per account and region; give this key another alias",
        );
        for (name, spec) in &self.file.keys {
            if let Some(key) = self.key(name, spec, accounts, &mut aliases) {
                out.insert(key.name.clone(), key);
            }
        }
        out
    }

    fn key(
        &mut self,
        name: &str,
        located: &Located<KeySpec>,
        accounts: &BTreeMap<AccountName, Account>,
        aliases: &mut PlaceNames,
    ) -> Option<Key> {
        let spec: &KeySpec = located;
        let place = self.placement(
            ("keys", "key"),
            name,
            located.pos,
            spec.account.as_ref(),
            spec.region.as_ref(),
        );
        self.alias(&spec.alias);
        self.claim(aliases, &place, &spec.alias, name);
        let rotation_period_days = self.rotation(spec.rotation.as_ref());
        let deletion_window_days = self.deletion_window(spec.deletion_window_days.as_ref());
        let usable_by = self.usable_by(name, spec, place.account.as_ref());
        for admin in &spec.admins {
            if let Err(reason) = aws_limits::principal_arn(admin) {
                self.error(
                    codes::PRINCIPAL,
                    admin.pos,
                    reason,
                    "give the full ARN of an IAM role or user".into(),
                );
            }
        }
        let owner_id = place.account_id(accounts);
        for principal in &spec.break_glass_principals {
            self.exempt_principal(principal, owner_id.as_deref(), "the key");
        }
        self.tags(&spec.tags);
        let statements = self.statements(&spec.statements, false);
        let (Some(account), Some(region)) = (place.account, place.region) else {
            return None;
        };
        Some(Key {
            name: KeyName(name.to_string()),
            account,
            region,
            alias: spec.alias.value.clone(),
            description: spec
                .description
                .as_ref()
                .map(|d| d.value.clone())
                .unwrap_or_else(|| format!("Coffer key {name}")),
            rotation_period_days,
            usable_by,
            admins: spec.admins.iter().map(|a| a.value.clone()).collect(),
            statements,
            deletion_window_days,
            guard: spec.guard,
            break_glass_principals: spec
                .break_glass_principals
                .iter()
                .map(|p| p.value.clone())
                .collect(),
            adopt: spec.adopt,
            tags: spec.tags.value.clone(),
        })
    }

    fn alias(&mut self, alias: &Located<String>) {
        if aws_limits::alias_is_reserved(alias) {
            self.error(
                codes::ALIAS_RESERVED,
                alias.pos,
                format!("alias `{}` is under `alias/aws/`, which AWS reserves for AWS managed keys", alias.value),
                "choose another prefix, e.g. `alias/backup/...`; AWS managed keys can never be shared with another account".into(),
            );
        } else if let Err(reason) = aws_limits::alias(alias) {
            self.error(
                codes::ALIAS,
                alias.pos,
                reason,
                "write it as `alias/<name>`, e.g. `alias/backup/central`".into(),
            );
        }
    }

    /// The rotation period in days, `None` when rotation is off (or its period is invalid).
    fn rotation(&mut self, rotation: Option<&Located<RotationSpec>>) -> Option<u32> {
        let Some(rotation) = rotation else {
            return Some(aws_limits::DEFAULT_ROTATION_DAYS);
        };
        if !rotation.enabled {
            return None;
        }
        match &rotation.period_days {
            Some(days) if !aws_limits::ROTATION_DAYS.contains(&days.value) => {
                self.error(
                    codes::ROTATION_PERIOD,
                    days.pos,
                    format!(
                        "rotation period {} is outside 90-2560",
                        plural(days.value, "day", "days")
                    ),
                    "KMS accepts rotation periods from 90 to 2560 days; 365 is the default".into(),
                );
                None
            }
            Some(days) => Some(days.value),
            None => Some(aws_limits::DEFAULT_ROTATION_DAYS),
        }
    }

    fn deletion_window(&mut self, days: Option<&Located<u32>>) -> u32 {
        match days {
            Some(days) if !aws_limits::DELETION_WINDOW_DAYS.contains(&days.value) => {
                self.error(
                    codes::DELETION_WINDOW,
                    days.pos,
                    format!(
                        "deletion window {} is outside 7-30",
                        plural(days.value, "day", "days")
                    ),
                    "KMS waits 7 to 30 days before deleting a key; 30 is the default".into(),
                );
                aws_limits::DEFAULT_DELETION_WINDOW_DAYS
            }
            Some(days) => days.value,
            None => aws_limits::DEFAULT_DELETION_WINDOW_DAYS,
        }
    }

    /// The accounts granted use of key `name` (owned by `owner`), by logical name, sorted.
    fn usable_by(
        &mut self,
        name: &str,
        spec: &KeySpec,
        owner: Option<&AccountName>,
    ) -> Vec<AccountName> {
        let mut usable_by = BTreeSet::new();
        for user in &spec.usable_by {
            let Some(user_account) = self.account_ref(user) else {
                continue;
            };
            if Some(&user_account) == owner {
                self.error(
                    codes::USABLE_BY_SELF,
                    user.pos,
                    format!("key `{name}` is in account `{user_account}`, which cannot be listed in its own `usable_by`"),
                    "the owning account always has access through the key policy's root statement; remove it".into(),
                );
                continue;
            }
            usable_by.insert(user_account);
        }
        usable_by.into_iter().collect()
    }
}
