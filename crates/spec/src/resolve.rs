//! Meaning: references resolve, AWS's rules hold, defaults are applied. Produces the
//! resolved [`Topology`] and every error and warning at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::aws_limits;
use crate::codes;
use crate::diag::{Diagnostic, Diagnostics};
use crate::format::{
    AccessPolicySpec, BackupPlanSpec, CrossAccountBackup, KeySpec, LifecycleSpec, LockSpec,
    RuleSpec, SelectionSpec, Statement, TopologyFile, VaultSpec,
};
use crate::load::KeyPositions;
use crate::topology::*;
use crate::yaml::{Located, Pos};

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Prefix of the `Sid`s of the statements Coffer generates; raw statements may not use it.
pub const GENERATED_SID_PREFIX: &str = "Coffer";

struct Resolver<'f> {
    file: &'f TopologyFile,
    positions: &'f KeyPositions,
    diags: Diagnostics,
    default_region: Option<String>,
}

/// Checks the file's meaning and builds the [`Topology`]. Returns `None` when any error
/// was found.
pub fn resolve(
    file: &TopologyFile,
    positions: &KeyPositions,
    diags: &mut Diagnostics,
) -> Option<Topology> {
    let mut resolver = Resolver {
        file,
        positions,
        diags: Diagnostics::default(),
        default_region: None,
    };
    let topology = resolver.run();
    diags.0.append(&mut resolver.diags.0);
    if diags.has_blocking_errors() {
        None
    } else {
        Some(topology)
    }
}

impl Resolver<'_> {
    fn error(&mut self, code: &'static str, pos: Pos, message: String, help: String) {
        self.diags
            .push(Diagnostic::error(code, pos, message).help(help));
    }

    /// An error that is also catalog check `check`: reported, but the topology still loads.
    fn blocker(
        &mut self,
        code: &'static str,
        check: &'static str,
        pos: Pos,
        message: String,
        help: String,
    ) {
        self.diags.push(
            Diagnostic::error(code, pos, message)
                .help(help)
                .check(check),
        );
    }

    fn warn(&mut self, code: &'static str, pos: Pos, message: String, help: String) {
        self.diags
            .push(Diagnostic::warning(code, pos, message).help(help));
    }

    fn key_pos(&self, section: &'static str, name: &str, fallback: Pos) -> Pos {
        self.positions
            .get(&(section, name.to_string()))
            .copied()
            .unwrap_or(fallback)
    }

    /// Resolves a reference to a logical name of `section`.
    fn reference<'n>(
        &mut self,
        what: &str,
        section: &'static str,
        reference: &Located<String>,
        names: impl Iterator<Item = &'n String> + Clone,
    ) -> Option<String> {
        if names.clone().any(|n| *n == reference.value) {
            return Some(reference.value.clone());
        }
        if self
            .positions
            .contains_key(&(section, reference.value.clone()))
        {
            // The entry exists but its shape is broken; that error is reported already.
            return None;
        }
        let help = match closest(&reference.value, names.clone().map(String::as_str)) {
            Some(best) => format!("did you mean `{best}`?"),
            None => {
                let known: Vec<String> = names.map(|n| format!("`{n}`")).collect();
                if known.is_empty() {
                    format!("define it under `{section}:` first")
                } else {
                    format!(
                        "define it under `{section}:` or use one of {}",
                        known.join(", ")
                    )
                }
            }
        };
        self.error(
            codes::UNKNOWN_REFERENCE,
            reference.pos,
            format!("unknown {what} `{}`", reference.value),
            help,
        );
        None
    }

    fn account_ref(&mut self, reference: &Located<String>) -> Option<AccountName> {
        let names = self.file.accounts.keys();
        self.reference("account", "accounts", reference, names)
            .map(AccountName)
    }

    fn region(&mut self, own: Option<&Located<String>>, pos: Pos, what: &str) -> Option<String> {
        match own {
            Some(region) => {
                if let Err(reason) = aws_limits::region(region) {
                    self.error(
                        codes::REGION,
                        region.pos,
                        reason,
                        "use a region code such as `eu-west-1`".into(),
                    );
                    return None;
                }
                Some(region.value.clone())
            }
            None => match &self.default_region {
                Some(region) => Some(region.clone()),
                None => {
                    self.error(
                        codes::NO_REGION,
                        pos,
                        format!("{what} has no region"),
                        "set `region:` here or `defaults.region`".into(),
                    );
                    None
                }
            },
        }
    }

    fn logical_name(&mut self, section: &'static str, name: &str, pos: Pos) {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            let pos = self.key_pos(section, name, pos);
            self.error(
                codes::INVALID_NAME,
                pos,
                format!("logical name `{name}` in `{section}` is not valid"),
                "use 1 to 64 letters, digits, `-` and `_` (the name goes into tags and step IDs)"
                    .into(),
            );
        }
    }

    fn run(&mut self) -> Topology {
        let file = self.file;
        if file.version.value != 1 {
            self.error(
                codes::VERSION,
                file.version.pos,
                format!("unsupported version {}", file.version.value),
                "this Coffer reads `version: 1`".into(),
            );
        }
        let name_ok = !file.name.is_empty()
            && file.name.len() <= 64
            && file
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            self.error(
                codes::INVALID_NAME,
                file.name.pos,
                format!("topology name `{}` is not valid", file.name.value),
                "use 1 to 64 letters, digits, `-` and `_`: it becomes the `coffer:topology` tag"
                    .into(),
            );
        }

        let defaults = file.defaults.as_ref().map(|d| &d.value);
        if let Some(region) = defaults.and_then(|d| d.region.as_ref()) {
            if let Err(reason) = aws_limits::region(region) {
                self.error(
                    codes::REGION,
                    region.pos,
                    reason,
                    "use a region code such as `eu-west-1`".into(),
                );
            }
            // Kept even when invalid: the error above is the only one, instead of a
            // "has no region" error on every resource that relies on it.
            self.default_region = Some(region.value.clone());
        }
        let default_role = match defaults.and_then(|d| d.role.as_ref()) {
            Some(role) => {
                if let Err(reason) = aws_limits::role_name(role) {
                    self.error(
                        codes::ROLE,
                        role.pos,
                        reason,
                        "give the role's name; Coffer builds its ARN in each account".into(),
                    );
                }
                role.value.clone()
            }
            None => aws_limits::DEFAULT_ROLE.to_string(),
        };
        let default_external_id =
            defaults.and_then(|d| d.external_id.as_ref().map(|e| e.value.clone()));
        let default_tags = defaults.map(|d| d.tags.value.clone()).unwrap_or_default();
        if let Some(d) = defaults {
            self.tags(&d.tags.value, d.tags.pos);
        }

        let mut accounts = self.accounts(&default_role, default_external_id);
        let organization = self.organization();
        let keys = self.keys(&accounts);
        let vaults = self.vaults(&accounts, &keys, organization.as_ref());
        let plans = self.backup_plans(&accounts, &vaults);

        // Every account reads the regions of its own resources.
        let mut used: Vec<(AccountName, String)> = Vec::new();
        used.extend(keys.values().map(|k| (k.account.clone(), k.region.clone())));
        used.extend(
            vaults
                .values()
                .map(|v| (v.account.clone(), v.region.clone())),
        );
        used.extend(
            plans
                .values()
                .map(|p| (p.account.clone(), p.region.clone())),
        );
        for (account, region) in used {
            if let Some(account) = accounts.get_mut(&account) {
                account.regions.insert(region);
            }
        }
        if let Some(org) = &organization
            && let Some(region) = &self.default_region
            && let Some(account) = accounts.get_mut(&org.management_account)
            && account.regions.is_empty()
        {
            account.regions.insert(region.clone());
        }

        let topology = Topology {
            name: file.name.value.clone(),
            organization,
            default_tags,
            accounts,
            keys,
            vaults,
            backup_plans: plans,
        };
        self.copy_edges(&topology);
        topology
    }

    fn tags(&mut self, tags: &Tags, pos: Pos) {
        for (key, value) in tags {
            if key.is_empty() || key.len() > 128 || value.len() > 256 || key.starts_with("aws:") {
                self.error(
                    codes::WRONG_TYPE,
                    pos,
                    format!("tag `{key}` is not valid"),
                    "tag keys are 1-128 characters not starting with `aws:`, values at most 256"
                        .into(),
                );
            }
            if key.starts_with("coffer:") {
                self.error(
                    codes::WRONG_TYPE,
                    pos,
                    format!("tag `{key}` uses the `coffer:` prefix"),
                    "Coffer sets `coffer:` tags itself to mark ownership; choose another key"
                        .into(),
                );
            }
        }
    }

    fn accounts(
        &mut self,
        default_role: &str,
        default_external_id: Option<String>,
    ) -> BTreeMap<AccountName, Account> {
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
            let role_arn = match &spec.role {
                Some(role) if role.starts_with("arn:") => {
                    let valid = aws_limits::principal_arn(role).is_ok_and(|arn| {
                        arn.service == "iam"
                            && arn.resource.starts_with("role/")
                            && arn.account == id.value
                    });
                    if !valid {
                        self.error(
                            codes::ROLE,
                            role.pos,
                            format!("`{}` is not a role ARN in account {}", role.value, id.value),
                            format!(
                                "write `arn:aws:iam::{}:role/<name>` or just the role name",
                                id.value
                            ),
                        );
                    }
                    role.value.clone()
                }
                Some(role) => {
                    if let Err(reason) = aws_limits::role_name(role) {
                        self.error(
                            codes::ROLE,
                            role.pos,
                            reason,
                            "give the role's name or its full ARN".into(),
                        );
                    }
                    format!("arn:aws:iam::{}:role/{}", id.value, role.value)
                }
                None => format!("arn:aws:iam::{}:role/{default_role}", id.value),
            };
            let mut regions = BTreeSet::new();
            for region in &spec.regions {
                if let Err(reason) = aws_limits::region(region) {
                    self.error(
                        codes::REGION,
                        region.pos,
                        reason,
                        "use a region code such as `eu-west-1`".into(),
                    );
                } else {
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
                        .or_else(|| default_external_id.clone()),
                    regions,
                },
            );
        }
        out
    }

    fn organization(&mut self) -> Option<Organization> {
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

    fn statements(
        &mut self,
        statements: &[Located<Statement>],
        vault_policy: bool,
    ) -> Vec<Statement> {
        let mut seen: BTreeMap<String, Pos> = BTreeMap::new();
        let mut out = Vec::new();
        for statement in statements {
            let pos = statement.pos;
            let mut problems = Vec::new();
            match statement.get("Sid").and_then(|s| s.as_str()) {
                None => problems.push("it needs a `Sid` so Coffer can tell it apart from the statements it generates".to_string()),
                Some(sid) if sid.starts_with(GENERATED_SID_PREFIX) => problems.push(format!(
                    "`Sid` `{sid}` starts with `{GENERATED_SID_PREFIX}`, which is reserved for generated statements"
                )),
                Some(sid) => {
                    if let Some(first) = seen.insert(sid.to_string(), pos) {
                        problems.push(format!("`Sid` `{sid}` is also used at {first}"));
                    }
                }
            }
            match statement.get("Effect").and_then(|e| e.as_str()) {
                Some("Allow" | "Deny") => {}
                _ => problems.push("`Effect` must be `Allow` or `Deny`".to_string()),
            }
            if !statement.contains_key("Action") && !statement.contains_key("NotAction") {
                problems.push("it needs `Action` (or `NotAction`)".to_string());
            }
            if !statement.contains_key("Principal") && !statement.contains_key("NotPrincipal") {
                problems.push("it needs `Principal` (or `NotPrincipal`)".to_string());
            }
            let allowed = [
                "Sid",
                "Effect",
                "Principal",
                "NotPrincipal",
                "Action",
                "NotAction",
                "Resource",
                "NotResource",
                "Condition",
            ];
            for key in statement.keys() {
                if !allowed.contains(&key.as_str()) {
                    problems.push(format!("`{key}` is not a policy statement element"));
                }
            }
            for problem in problems {
                self.error(
                    codes::STATEMENT,
                    pos,
                    format!("policy statement: {problem}"),
                    "write statements as in an IAM policy document: Sid, Effect, Principal, Action, Resource, Condition".into(),
                );
            }
            if vault_policy {
                let actions = strings(statement.get("Action"));
                if let Some(wild) = actions.iter().find(|a| a.contains('*')) {
                    self.error(
                        codes::POLICY_WILDCARD_ACTION,
                        pos,
                        format!("vault access policies cannot use wildcard actions (`{wild}`)"),
                        "AWS Backup rejects the policy; list the actions, e.g. `backup:DeleteRecoveryPoint`".into(),
                    );
                }
            }
            out.push(statement.value.clone());
        }
        out
    }

    fn keys(&mut self, accounts: &BTreeMap<AccountName, Account>) -> BTreeMap<KeyName, Key> {
        let mut out = BTreeMap::new();
        let mut aliases: HashMap<(String, String, String), String> = HashMap::new();
        for (name, located) in &self.file.keys {
            let spec: &KeySpec = located;
            self.logical_name("keys", name, located.pos);
            let account = self.account_ref(&spec.account);
            let region = self.region(
                spec.region.as_ref(),
                self.key_pos("keys", name, located.pos),
                &format!("key `{name}`"),
            );
            let alias = &spec.alias;
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
            if let (Some(account), Some(region)) = (&account, &region) {
                let slot = (account.0.clone(), region.clone(), alias.value.clone());
                if let Some(other) = aliases.insert(slot, name.clone()) {
                    self.error(
                        codes::DUPLICATE_NAME,
                        alias.pos,
                        format!("alias `{}` is also used by key `{other}` in the same account and region", alias.value),
                        "aliases are unique per account and region; give this key another alias".into(),
                    );
                }
            }
            let rotation = spec.rotation.as_ref();
            let rotation_period_days = match rotation {
                Some(r) if !r.enabled => None,
                Some(r) => match &r.period_days {
                    Some(days) if !aws_limits::ROTATION_DAYS.contains(&days.value) => {
                        self.error(
                            codes::ROTATION_PERIOD,
                            days.pos,
                            format!(
                                "rotation period {} is outside 90-2560",
                                crate::diag::plural(days.value, "day", "days")
                            ),
                            "KMS accepts rotation periods from 90 to 2560 days; 365 is the default"
                                .into(),
                        );
                        None
                    }
                    Some(days) => Some(days.value),
                    None => Some(aws_limits::DEFAULT_ROTATION_DAYS),
                },
                None => Some(aws_limits::DEFAULT_ROTATION_DAYS),
            };
            let deletion_window_days = match &spec.deletion_window_days {
                Some(days) if !aws_limits::DELETION_WINDOW_DAYS.contains(&days.value) => {
                    self.error(
                        codes::DELETION_WINDOW,
                        days.pos,
                        format!(
                            "deletion window {} is outside 7-30",
                            crate::diag::plural(days.value, "day", "days")
                        ),
                        "KMS waits 7 to 30 days before deleting a key; 30 is the default".into(),
                    );
                    aws_limits::DEFAULT_DELETION_WINDOW_DAYS
                }
                Some(days) => days.value,
                None => aws_limits::DEFAULT_DELETION_WINDOW_DAYS,
            };
            let mut usable_by = BTreeSet::new();
            for user in &spec.usable_by {
                let Some(user_account) = self.account_ref(user) else {
                    continue;
                };
                if Some(&user_account) == account.as_ref() {
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
            let owner_id = account
                .as_ref()
                .and_then(|a| accounts.get(a))
                .map(|a| a.id.clone());
            for principal in &spec.break_glass_principals {
                self.exempt_principal(principal, owner_id.as_deref(), "the key");
            }
            self.tags(&spec.tags, spec.tags.pos);
            let statements = self.statements(&spec.statements, false);
            let (Some(account), Some(region)) = (account, region) else {
                continue;
            };
            if !accounts.contains_key(&account) {
                continue;
            }
            let key_name = KeyName(name.clone());
            out.insert(
                key_name.clone(),
                Key {
                    name: key_name,
                    account,
                    region,
                    alias: alias.value.clone(),
                    description: spec
                        .description
                        .as_ref()
                        .map(|d| d.value.clone())
                        .unwrap_or_else(|| format!("Coffer key {name}")),
                    rotation_period_days,
                    usable_by: usable_by.into_iter().collect(),
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
                },
            );
        }
        out
    }

    fn vaults(
        &mut self,
        accounts: &BTreeMap<AccountName, Account>,
        keys: &BTreeMap<KeyName, Key>,
        organization: Option<&Organization>,
    ) -> BTreeMap<VaultName, Vault> {
        let mut out = BTreeMap::new();
        let mut names: HashMap<(String, String, String), String> = HashMap::new();
        for (name, located) in &self.file.vaults {
            let spec: &VaultSpec = located;
            self.logical_name("vaults", name, located.pos);
            let account = self.account_ref(&spec.account);
            let region = self.region(
                spec.region.as_ref(),
                self.key_pos("vaults", name, located.pos),
                &format!("vault `{name}`"),
            );
            if let Err(reason) = aws_limits::vault_name(&spec.name) {
                self.error(
                    codes::VAULT_NAME,
                    spec.name.pos,
                    reason,
                    "rename the vault; note that a vault can never be renamed once created".into(),
                );
            }
            if let (Some(account), Some(region)) = (&account, &region) {
                let slot = (account.0.clone(), region.clone(), spec.name.value.clone());
                if let Some(other) = names.insert(slot, name.clone()) {
                    self.error(
                        codes::DUPLICATE_NAME,
                        spec.name.pos,
                        format!("vault name `{}` is also used by vault `{other}` in the same account and region", spec.name.value),
                        "vault names are unique per account and region".into(),
                    );
                }
            }
            let key = spec.key.as_ref().and_then(|key_ref| {
                let key_names = self.file.keys.keys();
                let key = self.reference("key", "keys", key_ref, key_names).map(KeyName)?;
                let resolved = keys.get(&key)?;
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
            });
            let owner_id = account
                .as_ref()
                .and_then(|a| accounts.get(a))
                .map(|a| a.id.clone());
            let access_policy = spec
                .access_policy
                .as_ref()
                .map(|p| self.access_policy(p, organization, accounts, owner_id.as_deref()));
            let lock = spec.lock.as_ref().map(|l| self.lock(l));
            self.tags(&spec.tags, spec.tags.pos);
            let (Some(account), Some(region)) = (account, region) else {
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

    /// A principal exempt from a guard: an IAM role or user of the guarded resource's own
    /// account (`owner_id`, when known), spelled out in full. A wildcard or another account
    /// would exempt far more than one break-glass principal.
    fn exempt_principal(
        &mut self,
        principal: &Located<String>,
        owner_id: Option<&str>,
        what: &str,
    ) {
        let problem = match aws_limits::principal_arn(principal) {
            Err(reason) => Some(reason),
            Ok(_) if principal.contains(['*', '?']) => Some(format!(
                "`{}` has a wildcard, which would exempt every principal it matches from the guard",
                principal.value
            )),
            Ok(arn) if !(arn.resource.starts_with("role/") || arn.resource.starts_with("user/")) => {
                Some(format!(
                    "`{}` is not an IAM role or user; only a role or user can be exempt from the guard",
                    principal.value
                ))
            }
            Ok(arn) => owner_id.filter(|id| *id != arn.account).map(|id| {
                format!(
                    "`{}` is in account {}, but {what} is in account {id}; only its own account's principals can be exempt",
                    principal.value, arn.account
                )
            }),
        };
        if let Some(reason) = problem {
            self.error(
                codes::PRINCIPAL,
                principal.pos,
                reason,
                format!(
                    "name one IAM role or user of account {} in full, e.g. `arn:aws:iam::{}:role/BreakGlass`",
                    owner_id.unwrap_or("<account>"),
                    owner_id.unwrap_or("111122223333")
                ),
            );
        }
    }

    fn lock(&mut self, spec: &Located<LockSpec>) -> Lock {
        if let Some(min) = &spec.min_retention_days
            && (min.value < 1 || min.value > aws_limits::MAX_RETENTION_DAYS)
        {
            self.error(
                codes::LOCK_BOUNDS,
                min.pos,
                format!("min_retention_days {} is outside 1-36500", min.value),
                "AWS Backup Vault Lock takes a minimum retention of at least 1 day".into(),
            );
        }
        if let Some(max) = &spec.max_retention_days
            && (max.value < 1 || max.value > aws_limits::MAX_RETENTION_DAYS)
        {
            self.error(
                codes::LOCK_BOUNDS,
                max.pos,
                format!("max_retention_days {} is outside 1-36500", max.value),
                "AWS Backup Vault Lock takes a maximum retention of at most 36500 days".into(),
            );
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

    fn backup_plans(
        &mut self,
        accounts: &BTreeMap<AccountName, Account>,
        vaults: &BTreeMap<VaultName, Vault>,
    ) -> BTreeMap<PlanName, BackupPlan> {
        let mut out = BTreeMap::new();
        let mut names: HashMap<(String, String, String), String> = HashMap::new();
        for (name, located) in &self.file.backup_plans {
            let spec: &BackupPlanSpec = located;
            self.logical_name("backup_plans", name, located.pos);
            let name_pos = self.key_pos("backup_plans", name, located.pos);
            let account = self.account_ref(&spec.account);
            let region = self.region(
                spec.region.as_ref(),
                name_pos,
                &format!("backup plan `{name}`"),
            );
            let plan_name = spec
                .name
                .clone()
                .unwrap_or_else(|| Located::new(name.clone(), name_pos));
            if let Err(reason) = aws_limits::plan_item_name("plan", &plan_name) {
                self.error(
                    codes::PLAN_NAME,
                    plan_name.pos,
                    reason,
                    "set `name:` to a valid plan name".into(),
                );
            }
            if let (Some(account), Some(region)) = (&account, &region) {
                let slot = (account.0.clone(), region.clone(), plan_name.value.clone());
                if let Some(other) = names.insert(slot, name.clone()) {
                    self.error(codes::DUPLICATE_NAME, plan_name.pos, format!("plan name `{}` is also used by plan `{other}` in the same account and region", plan_name.value), "give each plan its own name".into());
                }
            }
            if spec.rules.is_empty() {
                self.error(
                    codes::MISSING_FIELD,
                    name_pos,
                    format!("backup plan `{name}` has no rules"),
                    "add at least one rule under `rules:`".into(),
                );
            }
            let mut rule_names: BTreeMap<String, Pos> = BTreeMap::new();
            let mut rules = Vec::new();
            for rule in &spec.rules {
                if let Some(first) = rule_names.insert(rule.name.value.clone(), rule.name.pos) {
                    self.error(
                        codes::DUPLICATE_NAME,
                        rule.name.pos,
                        format!("rule name `{}` is also used at {first}", rule.name.value),
                        "rule names are unique within a plan".into(),
                    );
                }
                if let Some(rule) = self.rule(rule, account.as_ref(), region.as_deref(), vaults) {
                    rules.push(rule);
                }
            }
            let mut selection_names: BTreeMap<String, Pos> = BTreeMap::new();
            let mut selections = Vec::new();
            for selection in &spec.selections {
                if let Some(first) =
                    selection_names.insert(selection.name.value.clone(), selection.name.pos)
                {
                    self.error(
                        codes::DUPLICATE_NAME,
                        selection.name.pos,
                        format!(
                            "selection name `{}` is also used at {first}",
                            selection.name.value
                        ),
                        "selection names are unique within a plan".into(),
                    );
                }
                let account_id = account
                    .as_ref()
                    .and_then(|a| accounts.get(a))
                    .map(|a| a.id.clone());
                selections.push(self.selection(
                    selection,
                    account_id.as_deref(),
                    region.as_deref(),
                ));
            }
            self.tags(&spec.tags, spec.tags.pos);
            let (Some(account), Some(region)) = (account, region) else {
                continue;
            };
            let plan = PlanName(name.clone());
            out.insert(
                plan.clone(),
                BackupPlan {
                    name: plan,
                    account,
                    region,
                    plan_name: plan_name.value,
                    rules,
                    selections,
                    adopt: spec.adopt,
                    tags: spec.tags.value.clone(),
                },
            );
        }
        out
    }

    fn lifecycle(&mut self, spec: Option<&Located<LifecycleSpec>>) -> Lifecycle {
        let Some(spec) = spec else {
            return Lifecycle::default();
        };
        let in_range = |d: i64| d == -1 || (1..=aws_limits::MAX_RETENTION_DAYS).contains(&d);
        for days in [
            &spec.move_to_cold_storage_after_days,
            &spec.delete_after_days,
        ]
        .into_iter()
        .flatten()
        {
            if !in_range(days.value) {
                self.error(
                    codes::LIFECYCLE,
                    days.pos,
                    format!("{} days is outside 1-36500", days.value),
                    "use 1 to 36500 days, or -1 to keep indefinitely".into(),
                );
            }
        }
        if let (Some(cold), Some(delete)) = (
            &spec.move_to_cold_storage_after_days,
            &spec.delete_after_days,
        ) && cold.value >= 0
            && delete.value >= 0
            && delete.value < cold.value + aws_limits::COLD_STORAGE_MINIMUM_DAYS
        {
            self.error(
                codes::LIFECYCLE,
                delete.pos,
                format!(
                    "delete_after_days {} is less than move_to_cold_storage_after_days {} + 90",
                    delete.value, cold.value
                ),
                format!(
                    "cold storage has a 90-day minimum: set delete_after_days to at least {}",
                    cold.value + aws_limits::COLD_STORAGE_MINIMUM_DAYS
                ),
            );
        }
        Lifecycle {
            move_to_cold_storage_after_days: spec
                .move_to_cold_storage_after_days
                .as_ref()
                .map(|v| v.value),
            delete_after_days: spec.delete_after_days.as_ref().map(|v| v.value),
        }
    }

    /// A lifecycle going into `vault` must fit its lock.
    fn lock_fit(
        &mut self,
        vault: &Vault,
        lifecycle: &Lifecycle,
        pos: Pos,
        what: &str,
        check: &'static str,
    ) {
        let Some(lock) = &vault.lock else { return };
        if let (Some(min), Some(max)) = (lock.min_retention_days, lock.max_retention_days)
            && min > max
        {
            // Reported as E122 at the lock; no lifecycle could fit it.
            return;
        }
        if lock.admits(lifecycle.delete_after_days) {
            if lock.is_compliance() && lifecycle.delete_after_days.is_none_or(|d| d < 0) {
                self.warn(
                    codes::W_FOREVER_IN_COMPLIANCE,
                    pos,
                    format!("{what} keeps recovery points forever in compliance-locked vault `{}`", vault.name),
                    "once the lock's grace time passes these recovery points can never be deleted; set `delete_after_days`".into(),
                );
            }
            return;
        }
        let bounds = format!(
            "{}-{}",
            lock.min_retention_days
                .map_or("any".to_string(), |d| d.to_string()),
            lock.max_retention_days
                .map_or("any".to_string(), |d| d.to_string())
        );
        let kept = lifecycle
            .delete_after_days
            .filter(|d| *d >= 0)
            .map_or("forever".to_string(), |d| {
                crate::diag::plural(d, "day", "days")
            });
        self.blocker(
            codes::LOCK_RETENTION,
            check,
            pos,
            format!("{what} keeps recovery points {kept}, outside the lock of vault `{}` ({bounds} days)", vault.name),
            "AWS Backup fails every job whose retention is outside the destination vault's lock; set `lifecycle.delete_after_days` within the bounds".into(),
        );
    }

    fn rule(
        &mut self,
        spec: &Located<RuleSpec>,
        account: Option<&AccountName>,
        region: Option<&str>,
        vaults: &BTreeMap<VaultName, Vault>,
    ) -> Option<Rule> {
        if let Err(reason) = aws_limits::plan_item_name("rule", &spec.name) {
            self.error(
                codes::PLAN_NAME,
                spec.name.pos,
                reason,
                "rename the rule".into(),
            );
        }
        let schedule = match &spec.schedule {
            Some(schedule) => {
                if let Err(reason) = aws_limits::schedule(schedule) {
                    self.error(
                        codes::SCHEDULE,
                        schedule.pos,
                        reason,
                        "for example `cron(0 5 ? * * *)` runs daily at 05:00".into(),
                    );
                }
                schedule.value.clone()
            }
            None => aws_limits::DEFAULT_SCHEDULE.to_string(),
        };
        if let Some(zone) = &spec.schedule_timezone
            && let Err(reason) = aws_limits::timezone(zone)
        {
            self.error(
                codes::TIMEZONE,
                zone.pos,
                reason,
                "use a name from the IANA time zone database".into(),
            );
        }
        if let Some(start) = &spec.start_window_minutes
            && (start.value < aws_limits::MIN_START_WINDOW_MINUTES
                || start.value > aws_limits::MAX_START_WINDOW_MINUTES)
        {
            self.error(
                codes::WINDOW,
                start.pos,
                format!(
                    "start_window_minutes {} is outside 60-52560000",
                    start.value
                ),
                "AWS Backup rejects start windows under 60 minutes; use 60 or more".into(),
            );
        }
        if let Some(completion) = &spec.completion_window_minutes {
            let start = spec.start_window_minutes.as_ref().map_or(0, |s| s.value);
            if completion.value < 1 || completion.value <= start {
                self.error(codes::WINDOW, completion.pos, format!("completion_window_minutes {} must be positive and longer than the start window", completion.value), "give the job more time to complete than to start".into());
            }
        }
        let lifecycle = self.lifecycle(spec.lifecycle.as_ref());
        if spec.continuous_backup {
            let cold = lifecycle
                .move_to_cold_storage_after_days
                .is_some_and(|d| d >= 0);
            let long = lifecycle
                .delete_after_days
                .is_none_or(|d| !(0..=aws_limits::MAX_CONTINUOUS_RETENTION_DAYS).contains(&d));
            if cold || long {
                self.error(
                    codes::CONTINUOUS,
                    spec.lifecycle.as_ref().map_or(spec.pos, |l| l.pos),
                    "continuous backups keep at most 35 days and never move to cold storage".into(),
                    "set `delete_after_days` to 35 or less and remove `move_to_cold_storage_after_days`".into(),
                );
            }
        }
        let vault_names = self.file.vaults.keys();
        let vault = self
            .reference("vault", "vaults", &spec.vault, vault_names)
            .map(VaultName);
        if let Some(target) = vault.as_ref().and_then(|v| vaults.get(v)) {
            // Only a known difference: an unknown plan account or bad region is reported already.
            if account.is_some_and(|a| *a != target.account)
                || region.is_some_and(|r| r != target.region)
            {
                self.error(
                    codes::RULE_VAULT_PLACEMENT,
                    spec.vault.pos,
                    format!("vault `{}` is in {}/{}, not in the plan's account and region", target.name, target.account, target.region),
                    "a rule backs up into a vault of its own plan's account and region; use `copy_to` for other accounts or regions".into(),
                );
            }
            let target = target.clone();
            self.lock_fit(
                &target,
                &lifecycle,
                spec.lifecycle.as_ref().map_or(spec.pos, |l| l.pos),
                &format!("rule `{}`", spec.name.value),
                crate::checks::BACKUP_LIFECYCLE_IN_LOCK,
            );
        }
        if spec.copy_to.len() > aws_limits::MAX_COPY_ACTIONS {
            self.error(
                codes::TOO_MANY_COPIES,
                spec.copy_to[aws_limits::MAX_COPY_ACTIONS].pos,
                format!(
                    "rule `{}` has {} copy actions",
                    spec.name.value,
                    spec.copy_to.len()
                ),
                "AWS Backup allows at most 5 copy actions per rule; split the rule".into(),
            );
        }
        let mut copy_to = Vec::new();
        for copy in &spec.copy_to {
            let copy_lifecycle = self.lifecycle(copy.lifecycle.as_ref());
            let vault_names = self.file.vaults.keys();
            let Some(destination) = self
                .reference("vault", "vaults", &copy.vault, vault_names)
                .map(VaultName)
            else {
                continue;
            };
            if let Some(target) = vaults.get(&destination).cloned() {
                let lifecycle_pos = copy.lifecycle.as_ref().map_or(copy.pos, |l| l.pos);
                self.lock_fit(
                    &target,
                    &copy_lifecycle,
                    lifecycle_pos,
                    &format!("the copy to `{destination}`"),
                    crate::checks::COPY_LIFECYCLE_IN_LOCK,
                );
            }
            copy_to.push(Copy {
                vault: destination,
                lifecycle: copy_lifecycle,
            });
        }
        Some(Rule {
            name: spec.name.value.clone(),
            vault: vault?,
            schedule,
            schedule_timezone: spec.schedule_timezone.as_ref().map(|z| z.value.clone()),
            start_window_minutes: spec.start_window_minutes.as_ref().map(|v| v.value),
            completion_window_minutes: spec.completion_window_minutes.as_ref().map(|v| v.value),
            lifecycle,
            copy_to,
            continuous_backup: spec.continuous_backup,
            recovery_point_tags: spec.recovery_point_tags.clone(),
        })
    }

    fn selection(
        &mut self,
        spec: &Located<SelectionSpec>,
        account_id: Option<&str>,
        region: Option<&str>,
    ) -> Selection {
        if let Err(reason) = aws_limits::plan_item_name("selection", &spec.name) {
            self.error(
                codes::PLAN_NAME,
                spec.name.pos,
                reason,
                "rename the selection".into(),
            );
        }
        let account_known = account_id.is_some();
        let account_id = account_id.unwrap_or("000000000000");
        let role_arn = match &spec.role {
            None => format!(
                "arn:aws:iam::{account_id}:role/{}",
                aws_limits::SERVICE_DEFAULT_ROLE
            ),
            Some(role) if role.value == "service-default" => format!(
                "arn:aws:iam::{account_id}:role/{}",
                aws_limits::SERVICE_DEFAULT_ROLE
            ),
            Some(role) => {
                let valid = aws_limits::principal_arn(role).is_ok_and(|arn| {
                    arn.service == "iam"
                        && arn.resource.starts_with("role/")
                        && arn.account == account_id
                });
                // With the plan's account unknown (reported already) there is nothing to compare.
                if !valid && account_known {
                    self.error(
                        codes::ROLE,
                        role.pos,
                        format!(
                            "`{}` is not a role ARN in the plan's account {account_id}",
                            role.value
                        ),
                        "use `service-default` or `arn:aws:iam::<plan account>:role/<name>`".into(),
                    );
                }
                role.value.clone()
            }
        };
        if spec.resources.is_empty() && spec.tags.is_empty() {
            self.error(
                codes::SELECTION,
                spec.name.pos,
                format!("selection `{}` selects nothing", spec.name.value),
                "add `resources:` (ARNs) or `tags:`".into(),
            );
        }
        let mut wildcards = 0;
        for arn in spec.resources.iter().chain(&spec.not_resources) {
            if arn.value == "*" {
                wildcards += 1;
                continue;
            }
            let Some(parsed) = aws_limits::parse_arn(arn) else {
                self.error(codes::SELECTION, arn.pos, format!("`{}` is not a resource ARN", arn.value), "write a full ARN such as `arn:aws:rds:eu-west-1:111122223333:db:orders`, or `*`".into());
                continue;
            };
            // A backup plan backs up resources of its own account and region only.
            let concrete = |part: &str| !part.is_empty() && !part.contains('*');
            let other_account =
                concrete(parsed.account) && account_known && account_id != parsed.account;
            let other_region =
                concrete(parsed.region) && region.is_some_and(|r| r != parsed.region);
            if other_account || other_region {
                self.error(
                    codes::SELECTION,
                    arn.pos,
                    format!(
                        "`{}` is in {}/{}, not in the plan's account and region ({}/{})",
                        arn.value,
                        parsed.account,
                        parsed.region,
                        account_id,
                        region.unwrap_or("?")
                    ),
                    "a backup plan selects resources of its own account and region; put this resource in a plan there".into(),
                );
            }
            if let Some(star) = arn.find('*') {
                wildcards += 1;
                if star != arn.len() - 1 {
                    self.error(
                        codes::SELECTION,
                        arn.pos,
                        format!("`{}` has a `*` before its end", arn.value),
                        "AWS Backup takes `*` only as the last character of an ARN".into(),
                    );
                }
            }
        }
        let plain = spec.resources.len() + spec.not_resources.len() - wildcards;
        if wildcards > aws_limits::MAX_SELECTION_WILDCARD_ARNS
            || plain > aws_limits::MAX_SELECTION_ARNS
        {
            self.error(
                codes::SELECTION,
                spec.name.pos,
                format!(
                    "selection `{}` lists {plain} ARNs and {wildcards} wildcard ARNs",
                    spec.name.value
                ),
                "AWS Backup takes at most 500 ARNs, or 30 with wildcards; select by tags instead"
                    .into(),
            );
        }
        Selection {
            name: spec.name.value.clone(),
            role_arn,
            resources: spec.resources.iter().map(|r| r.value.clone()).collect(),
            not_resources: spec.not_resources.iter().map(|r| r.value.clone()).collect(),
            tags: spec.tags.value.clone(),
        }
    }

    /// Rules over the copy edges of the whole topology.
    fn copy_edges(&mut self, topology: &Topology) {
        for (plan_name, plan_spec) in &self.file.backup_plans {
            let Some(plan) = topology.backup_plans.get(&PlanName(plan_name.clone())) else {
                continue;
            };
            // By name: a rule or copy that failed to resolve is missing from `plan.rules` and
            // `rule.copy_to`, so zipping them with the file's lists would pair the wrong ones.
            for rule_spec in &plan_spec.rules {
                let Some(source_vault) = topology
                    .vaults
                    .get(&VaultName(rule_spec.vault.value.clone()))
                else {
                    continue;
                };
                for copy_spec in &rule_spec.copy_to {
                    let Some(destination) = topology
                        .vaults
                        .get(&VaultName(copy_spec.vault.value.clone()))
                    else {
                        continue;
                    };
                    self.copy_edge(
                        topology,
                        plan,
                        source_vault,
                        destination,
                        copy_spec.vault.pos,
                    );
                }
            }
        }
    }

    fn copy_edge(
        &mut self,
        topology: &Topology,
        plan: &BackupPlan,
        source: &Vault,
        destination: &Vault,
        pos: Pos,
    ) {
        if destination.account == source.account && destination.region == source.region {
            self.warn(
                codes::W_SAME_PLACE_COPY,
                pos,
                format!("copy to `{}` stays in the same account and region as `{}`", destination.name, source.name),
                "a copy protects against account or region loss only when it leaves them; copy to another account or region".into(),
            );
        }
        if destination.account == plan.account {
            return;
        }
        let source_id = topology.account_id(&plan.account).to_string();
        match &topology.organization {
            Some(org) if org.cross_account_backup == CrossAccountBackup::Disabled => self.blocker(
                codes::CROSS_ACCOUNT_DISABLED,
                crate::checks::CROSS_ACCOUNT_BACKUP_ENABLED,
                pos,
                format!("copy from account `{}` to `{}` is cross-account, but `organization.cross_account_backup` is `disabled`", plan.account, destination.account),
                "set `cross_account_backup: enabled`: AWS fails cross-account copy jobs while the management account has it off".into(),
            ),
            Some(org) if org.cross_account_backup == CrossAccountBackup::Enabled => {}
            _ => self.warn(
                codes::W_CROSS_ACCOUNT_UNMANAGED,
                pos,
                format!("copy from account `{}` to `{}` needs cross-account backup switched on in the organization's management account", plan.account, destination.account),
                "declare `organization:` with `cross_account_backup: enabled` so Coffer keeps it on".into(),
            ),
        }
        match &destination.access_policy {
            None => self.blocker(
                codes::COPY_NOT_ALLOWED,
                crate::checks::DESTINATION_ALLOWS_SOURCE,
                pos,
                format!("vault `{}` has no access policy in the file, so nothing lets account `{}` copy into it", destination.name, plan.account),
                format!("add `access_policy: {{allow_copy_from: [{}]}}` (or `organization: true`) to vault `{}`", plan.account, destination.name),
            ),
            Some(policy) => {
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
                        crate::checks::DESTINATION_ALLOWS_SOURCE,
                        pos,
                        format!("vault `{}` does not allow account `{}` ({source_id}) to copy into it", destination.name, plan.account),
                        format!("add `{}` to `vaults.{}.access_policy.allow_copy_from`, or set `organization: true`", plan.account, destination.name),
                    );
                }
            }
        }
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
            && key.usable_by.contains(&plan.account)
        {
            self.warn(
                    codes::W_KEY_SHARED_BACK,
                    pos,
                    format!("key `{}` of destination vault `{}` is usable by source account `{}`", key.name, destination.name, plan.account),
                    format!("remove `{}` from `keys.{}.usable_by`: the backup account's key should never be shared back to the accounts it protects", plan.account, key.name),
                );
        }
    }
}

fn strings(value: Option<&serde_json::Value>) -> Vec<String> {
    match value {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
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
