//! Account sets made into entries: each member account of each set becomes an account, and
//! each template entry one key, vault or backup plan per member and region, before the file's
//! meaning is checked. The resolver then checks the instances as it checks written entries,
//! at the template's positions.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::aws_limits;
use crate::codes;
use crate::diag::{Diagnostic, Diagnostics};
use crate::format::{AccountSetSpec, AccountSpec, TopologyFile};
use crate::load::KeyPositions;
use crate::sets::{AccountSet, Member, Membership, account_name, instance_name};
use crate::yaml::{Located, Pos};

/// The file with its account sets made into entries.
pub(crate) struct Expanded {
    pub file: TopologyFile,
    /// The logical names the expansion made (accounts and instances), which may hold `@`.
    pub made: HashSet<String>,
    /// What each valid set selects.
    pub selectors: Vec<AccountSet>,
}

/// The member an offline load gives every set: enough to check its template.
fn placeholder(index: usize, set: &str) -> Member {
    Member {
        id: format!("{index:012}"),
        name: format!("member-of-{set}"),
    }
}

/// Makes `file`'s account sets into entries for `membership` (`None`: one placeholder member
/// per set, for loading without AWS).
pub(crate) fn expand(
    file: &TopologyFile,
    positions: &KeyPositions,
    membership: Option<&Membership>,
    diags: &mut Diagnostics,
) -> Expanded {
    let mut out = Expanded {
        file: file.clone(),
        made: HashSet::new(),
        selectors: Vec::new(),
    };
    if file.account_sets.is_empty() {
        return out;
    }
    let mut expander = Expander {
        file,
        positions,
        diags,
        explicit_ids: file.accounts.values().map(|a| a.id.value.clone()).collect(),
        taken: file
            .accounts
            .keys()
            .map(|name| (name.clone(), String::new()))
            .collect(),
        owner: BTreeMap::new(),
    };
    let mut members: BTreeMap<String, Vec<(String, Member)>> = BTreeMap::new();
    for (index, (name, set)) in file.account_sets.iter().enumerate() {
        let Some(selector) = expander.selector(name, set) else {
            continue;
        };
        out.selectors.push(selector);
        let found = match membership {
            Some(m) => m.sets.get(name).cloned().unwrap_or_default(),
            None => vec![placeholder(index, name)],
        };
        let named = expander.members(name, found);
        members.insert(name.clone(), named);
    }
    for (set_name, named) in &members {
        let set = &file.account_sets[set_name];
        for (logical, member) in named {
            add_account(&mut out, set, logical, &member.id);
            expander.instances(&mut out, set, logical);
        }
    }
    if let Some(m) = membership {
        expander.former(&mut out, m);
    }
    rewrite_set_references(&mut out.file, &members);
    out
}

/// Adds member `id` as account `logical` with the set's role, external ID and regions.
fn add_account(out: &mut Expanded, set: &Located<AccountSetSpec>, logical: &str, id: &str) {
    let account = AccountSpec {
        id: Located::new(id.to_string(), set.pos),
        role: set.role.clone(),
        external_id: set.external_id.clone(),
        regions: regions_of(&out.file, set),
    };
    out.file
        .accounts
        .insert(logical.to_string(), Located::new(account, set.pos));
    out.made.insert(logical.to_string());
}

struct Expander<'a> {
    file: &'a TopologyFile,
    positions: &'a KeyPositions,
    diags: &'a mut Diagnostics,
    /// The IDs of the accounts the file lists: an explicit entry wins over a set.
    explicit_ids: BTreeSet<String>,
    /// Logical account names taken, with the ID of the member that took them ("" for the
    /// file's own accounts).
    taken: BTreeMap<String, String>,
    /// The set each member account belongs to, by account ID.
    owner: BTreeMap<String, String>,
}

impl Expander<'_> {
    fn error(&mut self, pos: Pos, message: String, help: &str) {
        self.diags
            .push(Diagnostic::error(codes::ACCOUNT_SET, pos, message).help(help));
    }

    fn set_pos(&self, name: &str, fallback: Pos) -> Pos {
        self.positions
            .get(&("account_sets", name.to_string()))
            .copied()
            .unwrap_or(fallback)
    }

    /// The set's selector; `None` (with the errors reported) when the set is not valid.
    fn selector(&mut self, name: &str, set: &Located<AccountSetSpec>) -> Option<AccountSet> {
        let pos = self.set_pos(name, set.pos);
        let errors = self.diags.0.len();
        if !crate::resolve::is_plain_name(name) {
            let message = format!("account set name `{name}` is not valid");
            self.error(pos, message, "use 1 to 64 letters, digits, `-` and `_`");
        }
        if self.file.accounts.contains_key(name) {
            let message = format!("account set `{name}` has the name of an account");
            self.error(
                pos,
                message,
                "account sets and accounts are referred to by the same names: rename the set",
            );
        }
        self.selects_something(name, set, pos);
        self.template_fields(set);
        let default_region = self.file.defaults.as_ref().and_then(|d| d.region.as_ref());
        if set.regions.is_empty() && default_region.is_none() {
            let message = format!("account set `{name}` has no region");
            self.error(
                pos,
                message,
                "set `regions:` in the set or `defaults.region`",
            );
        }
        if self.file.organization.is_none() {
            let message = format!("account set `{name}` needs the organization");
            self.error(pos, message, "add `organization:` with its `id` and `management_account`: Coffer finds the members through the management account");
        }
        if self.diags.0.len() > errors {
            return None;
        }
        Some(AccountSet {
            name: name.to_string(),
            organizational_unit: set.organizational_unit.as_ref().map(|o| o.value.clone()),
            recursive: set.recursive,
            account_tags: set.account_tags.value.clone(),
            include: set.include.iter().map(|i| i.value.clone()).collect(),
            exclude: set.exclude.iter().map(|i| i.value.clone()).collect(),
        })
    }

    /// Reports a selector that is not valid or selects nothing.
    fn selects_something(&mut self, name: &str, set: &Located<AccountSetSpec>, pos: Pos) {
        if let Some(ou) = &set.organizational_unit
            && let Err(reason) = aws_limits::organizational_unit_id(ou)
        {
            let help = "copy the ID from `aws organizations list-organizational-units-for-parent`";
            self.error(ou.pos, reason, help);
        }
        if set.recursive && set.organizational_unit.is_none() {
            let message =
                format!("account set `{name}` is `recursive` without `organizational_unit`");
            self.error(
                pos,
                message,
                "name the organizational unit whose nested units to include, or remove `recursive`",
            );
        }
        for id in set.include.iter().chain(&set.exclude) {
            if let Err(reason) = aws_limits::account_id(id) {
                self.error(id.pos, reason, "list 12-digit account IDs, quoted");
            }
        }
        let selects = set.organizational_unit.is_some()
            || !set.account_tags.is_empty()
            || !set.include.is_empty();
        if !selects {
            let message = format!("account set `{name}` selects no account");
            self.error(
                pos,
                message,
                "give it `organizational_unit`, `account_tags` or `include`",
            );
        }
    }

    /// Reports `account` or `region` written in a template entry: the set gives them.
    fn template_fields(&mut self, set: &Located<AccountSetSpec>) {
        let template = &set.template;
        let mut written: Vec<(&str, Pos)> = Vec::new();
        let mut note = |account: &Option<Located<String>>, region: &Option<Located<String>>| {
            written.extend(account.as_ref().map(|a| ("account", a.pos)));
            written.extend(region.as_ref().map(|r| ("region", r.pos)));
        };
        template
            .keys
            .values()
            .for_each(|k| note(&k.account, &k.region));
        template
            .vaults
            .values()
            .for_each(|v| note(&v.account, &v.region));
        template
            .backup_plans
            .values()
            .for_each(|p| note(&p.account, &p.region));
        for (field, pos) in written {
            let message = format!("a template entry cannot set `{field}`");
            let help = "each member account gets the template in every region of the set: remove it (set the set's `regions:` instead)";
            self.error(pos, message, help);
        }
    }

    /// The members of set `set` with their logical names: accounts the file lists are left
    /// out (the explicit entry wins); an account of another set, or a name taken, is reported.
    fn members(&mut self, set: &str, found: Vec<Member>) -> Vec<(String, Member)> {
        let pos = self.set_pos(set, self.file.account_sets[set].pos);
        let mut out = Vec::new();
        for member in found {
            if self.explicit_ids.contains(&member.id) {
                continue;
            }
            if let Some(other) = self.owner.insert(member.id.clone(), set.to_string()) {
                let message = format!(
                    "account {} ({}) is selected by account sets `{other}` and `{set}`",
                    member.id, member.name
                );
                self.error(
                    pos,
                    message,
                    "an account gets one set's template: add it to one set's `exclude`",
                );
                continue;
            }
            let logical = account_name(&member.name, &member.id);
            if let Some(holder) = self.taken.insert(logical.clone(), member.id.clone()) {
                let message = if holder.is_empty() {
                    format!(
                        "member {} ({}) of account set `{set}` has the name of account `{logical}`",
                        member.id, member.name
                    )
                } else {
                    format!(
                        "members {holder} and {} of account set `{set}` both get the name `{logical}`",
                        member.id
                    )
                };
                self.error(pos, message, "rename one account in the organization, or list it under `accounts:` with a logical name of its own (an explicit entry wins over the set)");
                continue;
            }
            out.push((logical, member));
        }
        out
    }

    /// The template's entries for member `account`, in every region of `set`.
    fn instances(&self, out: &mut Expanded, set: &Located<AccountSetSpec>, account: &str) {
        let regions = regions_of(self.file, set);
        for (index, region) in regions.iter().enumerate() {
            let instance = Instance {
                template: &set.template,
                account,
                region,
                index,
            };
            instance.add(out);
        }
    }

    /// Former members become accounts to read (unless the file lists them or a set selects
    /// them), so what Coffer created there is reported as departed.
    fn former(&mut self, out: &mut Expanded, membership: &Membership) {
        for (set_name, members) in &membership.former {
            for member in members {
                if self.explicit_ids.contains(&member.id) || self.owner.contains_key(&member.id) {
                    continue;
                }
                let logical = account_name(&member.name, &member.id);
                let logical = match self.taken.contains_key(&logical) {
                    true => format!("account-{}", member.id),
                    false => logical,
                };
                self.taken.insert(logical.clone(), member.id.clone());
                self.owner.insert(member.id.clone(), set_name.clone());
                let pos = out.file.name.pos;
                let set = self.file.account_sets.get(set_name).cloned();
                let set = set.unwrap_or_else(|| Located::new(former_set(), pos));
                add_account(out, &set, &logical, &member.id);
            }
        }
    }
}

/// The regions of a set: its own, or the default region.
fn regions_of(file: &TopologyFile, set: &AccountSetSpec) -> Vec<Located<String>> {
    if set.regions.is_empty() {
        let default = file.defaults.as_ref().and_then(|d| d.region.clone());
        default.into_iter().collect()
    } else {
        set.regions.clone()
    }
}

/// The settings a former member of a set the file no longer has is read with: the defaults.
fn former_set() -> AccountSetSpec {
    AccountSetSpec {
        organizational_unit: None,
        recursive: false,
        account_tags: Located::default(),
        include: Vec::new(),
        exclude: Vec::new(),
        role: None,
        external_id: None,
        regions: Vec::new(),
        template: Located::default(),
    }
}

/// One member account's instances of a template in one region.
struct Instance<'a> {
    template: &'a crate::format::TemplateSpec,
    account: &'a str,
    region: &'a Located<String>,
    index: usize,
}

impl Instance<'_> {
    fn name(&self, item: &str) -> String {
        instance_name(item, self.account, &self.region.value, self.index)
    }

    /// The instance's name for a reference to a template entry of `names`; other references
    /// (top-level entries) are kept.
    fn local<T>(&self, reference: &mut Located<String>, names: &BTreeMap<String, T>) {
        if names.contains_key(&reference.value) {
            reference.value = self.name(&reference.value);
        }
    }

    fn place(&self, pos: Pos) -> (Option<Located<String>>, Option<Located<String>>) {
        let account = Located::new(self.account.to_string(), pos);
        (Some(account), Some(self.region.clone()))
    }

    fn add(&self, out: &mut Expanded) {
        let template = self.template;
        for (item, key) in &template.keys {
            let mut key = key.clone();
            (key.value.account, key.value.region) = self.place(key.pos);
            out.made.insert(self.name(item));
            out.file.keys.insert(self.name(item), key);
        }
        for (item, vault) in &template.vaults {
            let mut vault = vault.clone();
            (vault.value.account, vault.value.region) = self.place(vault.pos);
            if let Some(key) = &mut vault.value.key {
                self.local(key, &template.keys);
            }
            out.made.insert(self.name(item));
            out.file.vaults.insert(self.name(item), vault);
        }
        for (item, plan) in &template.backup_plans {
            let mut plan = plan.clone();
            (plan.value.account, plan.value.region) = self.place(plan.pos);
            if plan.value.name.is_none() {
                plan.value.name = Some(Located::new(item.clone(), plan.pos));
            }
            for rule in &mut plan.value.rules {
                self.local(&mut rule.value.vault, &template.vaults);
                for copy in &mut rule.value.copy_to {
                    self.local(&mut copy.value.vault, &template.vaults);
                }
            }
            out.made.insert(self.name(item));
            out.file.backup_plans.insert(self.name(item), plan);
        }
    }
}

/// Replaces an account set's name in `usable_by` and `allow_copy_from` (top-level entries and
/// instances alike) by the logical names of its members.
fn rewrite_set_references(
    file: &mut TopologyFile,
    members: &BTreeMap<String, Vec<(String, Member)>>,
) {
    let sets: BTreeSet<&String> = file.account_sets.keys().collect();
    let expand = |list: &mut Vec<Located<String>>| {
        let mut out = Vec::new();
        for entry in list.drain(..) {
            if sets.contains(&entry.value) {
                let named = members
                    .get(&entry.value)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                out.extend(
                    named
                        .iter()
                        .map(|(n, _)| Located::new(n.clone(), entry.pos)),
                );
            } else {
                out.push(entry);
            }
        }
        *list = out;
    };
    for key in file.keys.values_mut() {
        expand(&mut key.value.usable_by);
    }
    for vault in file.vaults.values_mut() {
        if let Some(policy) = &mut vault.value.access_policy {
            expand(&mut policy.value.allow_copy_from);
        }
    }
}
