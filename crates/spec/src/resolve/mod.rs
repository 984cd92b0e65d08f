//! Meaning: references resolve, AWS's rules hold, defaults are applied. Produces the
//! resolved [`Topology`] and every error and warning at once.
//!
//! One module per kind of resource, in the order they resolve: `accounts` (with the
//! organization), `keys`, `vaults` (with their access policies and locks) and `backup_plans`
//! (with their rules, copies and selections); then `copy_edges`, the rules over the copies of
//! the whole topology. `policies` holds what key and vault policies share. This module holds
//! the resolver and the checks every kind uses.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::aws_limits;
use crate::codes;
use crate::diag::{Diagnostic, Diagnostics};
use crate::format::TopologyFile;
use crate::load::KeyPositions;
use crate::topology::*;
use crate::yaml::{Located, Pos};

mod accounts;
mod backup_plans;
mod copy_edges;
mod keys;
mod policies;
mod vaults;

pub use policies::GENERATED_SID_PREFIX;

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

struct Resolver<'f> {
    file: &'f TopologyFile,
    /// Logical names made from account sets (they may hold `@`).
    made: &'f HashSet<String>,
    positions: &'f KeyPositions,
    diags: Diagnostics,
    default_region: Option<String>,
}

/// Checks the file's meaning and builds the [`Topology`]. Returns `None` when any error
/// was found.
pub fn resolve(
    file: &TopologyFile,
    made: &HashSet<String>,
    positions: &KeyPositions,
    diags: &mut Diagnostics,
) -> Option<Topology> {
    let mut resolver = Resolver {
        file,
        made,
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

/// What `defaults:` gives every account and resource that does not set its own.
struct Defaults {
    role: String,
    external_id: Option<String>,
    tags: Tags,
}

/// Where a key, vault or backup plan lives, as far as the file names it validly: an unknown
/// account or a bad region is `None` (and reported).
struct Placement {
    account: Option<AccountName>,
    region: Option<String>,
}

impl Placement {
    /// The ID of the account, when it is known.
    fn account_id(&self, accounts: &BTreeMap<AccountName, Account>) -> Option<String> {
        let account = accounts.get(self.account.as_ref()?)?;
        Some(account.id.clone())
    }
}

/// Names AWS keeps unique per account and region (key aliases, vault names, plan names),
/// each with the logical name of the entry that took it first.
struct PlaceNames {
    /// What the name is, in messages: `alias`, `vault name`, `plan name`.
    label: &'static str,
    /// What holds it: `key`, `vault`, `plan`.
    holder: &'static str,
    help: &'static str,
    taken: HashMap<(AccountName, String, String), String>,
}

impl PlaceNames {
    fn new(label: &'static str, holder: &'static str, help: &'static str) -> PlaceNames {
        PlaceNames {
            label,
            holder,
            help,
            taken: HashMap::new(),
        }
    }
}

/// A logical name or topology name: 1 to 64 letters, digits, `-` and `_`.
pub(crate) fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Whether `arn` is the ARN of an IAM role in account `account_id`.
fn is_role_in(arn: &str, account_id: &str) -> bool {
    aws_limits::principal_arn(arn).is_ok_and(|arn| {
        arn.service == "iam" && arn.resource.starts_with("role/") && arn.account == account_id
    })
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

    /// Resolves a reference to a logical name of `section`, whose entries are `entries`.
    fn reference<T>(
        &mut self,
        what: &str,
        section: &'static str,
        reference: &Located<String>,
        entries: &BTreeMap<String, T>,
    ) -> Option<String> {
        if entries.contains_key(&reference.value) {
            return Some(reference.value.clone());
        }
        if self
            .positions
            .contains_key(&(section, reference.value.clone()))
        {
            // The entry exists but its shape is broken; that error is reported already.
            return None;
        }
        let names = entries.keys();
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
        let names = &self.file.accounts;
        self.reference("account", "accounts", reference, names)
            .map(AccountName)
    }

    fn vault_ref(&mut self, reference: &Located<String>) -> Option<VaultName> {
        let names = &self.file.vaults;
        self.reference("vault", "vaults", reference, names)
            .map(VaultName)
    }

    /// Reports `role` when it is not a role name (with an optional path).
    fn role_name(&mut self, role: &Located<String>, help: &str) {
        if let Err(reason) = aws_limits::role_name(role) {
            self.error(codes::ROLE, role.pos, reason, help.into());
        }
    }

    /// Whether `region` is a region code; reports it when it is not.
    fn valid_region(&mut self, region: &Located<String>) -> bool {
        let Err(reason) = aws_limits::region(region) else {
            return true;
        };
        self.error(
            codes::REGION,
            region.pos,
            reason,
            "use a region code such as `eu-west-1`".into(),
        );
        false
    }

    fn region(&mut self, own: Option<&Located<String>>, pos: Pos, what: &str) -> Option<String> {
        match own {
            Some(region) => self.valid_region(region).then(|| region.value.clone()),
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
        if !is_plain_name(name) && !self.made.contains(name) {
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

    /// The checks a key, vault or backup plan shares: its logical name `name` in `section`
    /// (written at `entry`), its account and its region. `noun` names the kind in messages.
    fn placement(
        &mut self,
        (section, noun): (&'static str, &str),
        name: &str,
        entry: Pos,
        account: Option<&Located<String>>,
        region: Option<&Located<String>>,
    ) -> Placement {
        self.logical_name(section, name, entry);
        let account = match account {
            Some(account) => self.account_ref(account),
            None => {
                let pos = self.key_pos(section, name, entry);
                self.error(
                    codes::MISSING_FIELD,
                    pos,
                    format!("{noun} `{name}` has no `account`"),
                    "add `account: <logical account name>`".into(),
                );
                None
            }
        };
        let name_pos = self.key_pos(section, name, entry);
        let region = self.region(region, name_pos, &format!("{noun} `{name}`"));
        Placement { account, region }
    }

    /// Takes `written` for entry `name` among `names`, in the entry's account and region;
    /// reports another entry that took it first.
    fn claim(
        &mut self,
        names: &mut PlaceNames,
        place: &Placement,
        written: &Located<String>,
        name: &str,
    ) {
        let (Some(account), Some(region)) = (&place.account, &place.region) else {
            return;
        };
        let slot = (account.clone(), region.clone(), written.value.clone());
        if let Some(other) = names.taken.insert(slot, name.to_string()) {
            self.error(
                codes::DUPLICATE_NAME,
                written.pos,
                format!(
                    "{} `{}` is also used by {} `{other}` in the same account and region",
                    names.label, written.value, names.holder
                ),
                names.help.into(),
            );
        }
    }

    /// Records the name of a rule or selection (`what`) of one plan in `seen`; reports a
    /// name the plan has already.
    fn unique_in_plan(
        &mut self,
        seen: &mut BTreeMap<String, Pos>,
        name: &Located<String>,
        what: &str,
    ) {
        if let Some(first) = seen.insert(name.value.clone(), name.pos) {
            self.error(
                codes::DUPLICATE_NAME,
                name.pos,
                format!("{what} name `{}` is also used at {first}", name.value),
                format!("{what} names are unique within a plan"),
            );
        }
    }

    fn tags(&mut self, tags: &Located<Tags>) {
        for (key, value) in tags.iter() {
            if key.is_empty() || key.len() > 128 || value.len() > 256 || key.starts_with("aws:") {
                self.error(
                    codes::WRONG_TYPE,
                    tags.pos,
                    format!("tag `{key}` is not valid"),
                    "tag keys are 1-128 characters not starting with `aws:`, values at most 256"
                        .into(),
                );
            }
            if key.starts_with("coffer:") {
                self.error(
                    codes::WRONG_TYPE,
                    tags.pos,
                    format!("tag `{key}` uses the `coffer:` prefix"),
                    "Coffer sets `coffer:` tags itself to mark ownership; choose another key"
                        .into(),
                );
            }
        }
    }

    fn run(&mut self) -> Topology {
        self.version_and_name();
        let defaults = self.defaults();
        let accounts = self.accounts(&defaults);
        let organization = self.organization();
        let keys = self.keys(&accounts);
        let vaults = self.vaults(&accounts, &keys, organization.as_ref());
        let backup_plans = self.backup_plans(&accounts, &vaults);
        let mut topology = Topology {
            name: self.file.name.value.clone(),
            organization,
            default_tags: defaults.tags,
            accounts,
            keys,
            vaults,
            backup_plans,
        };
        self.fill_regions(&mut topology);
        self.copy_edges(&topology);
        topology
    }

    fn version_and_name(&mut self) {
        let file = self.file;
        if file.version.value != 1 {
            self.error(
                codes::VERSION,
                file.version.pos,
                format!("unsupported version {}", file.version.value),
                "this Coffer reads `version: 1`".into(),
            );
        }
        if !is_plain_name(&file.name) {
            self.error(
                codes::INVALID_NAME,
                file.name.pos,
                format!("topology name `{}` is not valid", file.name.value),
                "use 1 to 64 letters, digits, `-` and `_`: it becomes the `coffer:topology` tag"
                    .into(),
            );
        }
    }

    /// Reads `defaults:`; its region becomes the resolver's default region.
    fn defaults(&mut self) -> Defaults {
        let defaults = self.file.defaults.as_ref().map(|d| &d.value);
        if let Some(region) = defaults.and_then(|d| d.region.as_ref()) {
            self.valid_region(region);
            // Kept even when invalid: the error above is the only one, instead of a
            // "has no region" error on every resource that relies on it.
            self.default_region = Some(region.value.clone());
        }
        let role = match defaults.and_then(|d| d.role.as_ref()) {
            Some(role) => {
                self.role_name(
                    role,
                    "give the role's name; Coffer builds its ARN in each account",
                );
                role.value.clone()
            }
            None => aws_limits::DEFAULT_ROLE.to_string(),
        };
        if let Some(d) = defaults {
            self.tags(&d.tags);
        }
        Defaults {
            role,
            external_id: defaults.and_then(|d| d.external_id.as_ref().map(|e| e.value.clone())),
            tags: defaults.map(|d| d.tags.value.clone()).unwrap_or_default(),
        }
    }
}
