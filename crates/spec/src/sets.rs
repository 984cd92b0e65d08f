//! Account sets: the accounts an account set selects in the organization (its
//! [`Membership`], found by `coffer-aws` when Coffer plans) and the selectors it is found by.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::topology::Tags;

/// What an account set selects in the organization, as the file says it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSet {
    /// The set's name (its key under `account_sets`).
    pub name: String,
    /// The organizational unit whose accounts are members.
    pub organizational_unit: Option<String>,
    /// Whether the accounts of nested organizational units are members too.
    pub recursive: bool,
    /// Tags a member must carry, all of them.
    pub account_tags: Tags,
    /// Account IDs that are members whatever the selectors say.
    pub include: Vec<String>,
    /// Account IDs that are never members.
    pub exclude: Vec<String>,
}

/// An account of the organization: its ID and its name there.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    /// The account's name in the organization, as written there.
    pub name: String,
}

/// The members of every account set, as read from the organization; recorded in the live
/// state, so a plan made from a saved live state sees the same members.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// Members by account set name, sorted by account ID.
    pub sets: BTreeMap<String, Vec<Member>>,
    /// Accounts recorded as members of a set (by set name) that the set no longer selects:
    /// Coffer reads them to report (and, with `--allow-delete`, delete) what it created there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub former: BTreeMap<String, Vec<Member>>,
}

impl Membership {
    /// Every account the sets select, with its set, sorted by set and account ID.
    pub fn members(&self) -> impl Iterator<Item = (&str, &Member)> {
        self.sets
            .iter()
            .flat_map(|(set, members)| members.iter().map(move |m| (set.as_str(), m)))
    }

    /// `joined` and `left` between `self` (before) and `now`: `set: name (id)` lines.
    pub fn changes_to(&self, now: &Membership) -> (Vec<String>, Vec<String>) {
        let listed = |m: &Membership| -> Vec<String> {
            m.members()
                .map(|(set, member)| format!("{set}: {} ({})", member.name, member.id))
                .collect()
        };
        let (before, after) = (listed(self), listed(now));
        let joined = after.iter().filter(|l| !before.contains(l)).cloned();
        let left = before.iter().filter(|l| !after.contains(l)).cloned();
        (joined.collect(), left.collect())
    }
}

/// The logical account name of a member: its organization name in lowercase, every run of
/// characters other than letters, digits, `-` and `_` made one `-`, without a leading or
/// trailing `-`, cut to 64 characters; `account-<id>` when nothing is left.
///
/// ```
/// assert_eq!(coffer_spec::sets::account_name("Payments (Prod)", "111122223333"), "payments-prod");
/// assert_eq!(coffer_spec::sets::account_name("!!!", "111122223333"), "account-111122223333");
/// ```
pub fn account_name(org_name: &str, id: &str) -> String {
    let mut out = String::new();
    for c in org_name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed: String = out.trim_matches('-').chars().take(64).collect();
    let trimmed = trimmed.trim_end_matches('-').to_string();
    if trimmed.is_empty() {
        format!("account-{id}")
    } else {
        trimmed
    }
}

/// The name of the instance of template entry `item` for member `account` in the set's
/// region number `index` (0: the first region, named without it).
pub fn instance_name(item: &str, account: &str, region: &str, index: usize) -> String {
    if index == 0 {
        format!("{item}@{account}")
    } else {
        format!("{item}@{account}@{region}")
    }
}
