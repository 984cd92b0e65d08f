//! The members of the topology's account sets, read in the organization through its
//! management account's session, and the record of membership Coffer keeps on the member
//! accounts themselves: the Organizations tag `coffer:account-set:<topology>` = `<set>`,
//! written when an apply gives an account its set's resources and removed once an account
//! that left the set holds nothing of the topology. The record is how Coffer finds the
//! accounts that left a set, wherever in the organization they went.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_organizations::types::{Account, AccountState, AccountStatus, ChildType, Tag};
use coffer_spec::sets::{AccountSet, Member, Membership};
use futures::StreamExt;

use crate::error::AwsError;
use crate::session::AccountSession;

/// How many accounts' tags are read at once (Organizations' request quotas are low and per
/// account).
const TAG_READS: usize = 4;

/// The tag key that records membership of one of `topology`'s account sets.
pub fn record_key(topology: &str) -> String {
    format!("coffer:account-set:{topology}")
}

/// What Coffer read in the organization: the members, and the record on each account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    pub membership: Membership,
    /// The set each account's record names, by account ID.
    pub recorded: BTreeMap<String, String>,
}

/// Reads the organization: which active accounts each set selects, and the accounts whose
/// record names a set that no longer selects them. `session` is the management account's.
pub async fn resolve(
    session: &AccountSession,
    topology: &str,
    sets: &[AccountSet],
) -> Result<Resolved, AwsError> {
    let org = Org { session };
    // The listing the read of the fleet's membership uses too (one per session).
    let listed = session
        .members(|| crate::read::organizations::list_members(session))
        .await?;
    let all: BTreeMap<String, Member> = listed
        .accounts
        .values()
        .filter(|a| is_active(a))
        .filter_map(|a| Some((a.id()?.to_string(), member_of(a)?)))
        .collect();
    // Every account's tags (the sets' tag selectors and Coffer's record), a few at a time.
    let org = &org;
    let tags: Vec<_> = futures::stream::iter(all.keys())
        .map(|id| async move { Ok::<_, AwsError>((id.clone(), org.tags(id).await?)) })
        .buffered(TAG_READS)
        .collect()
        .await;
    let tags: BTreeMap<String, BTreeMap<String, String>> =
        tags.into_iter().collect::<Result<_, _>>()?;
    let mut membership = Membership::default();
    for set in sets {
        let members = org.members(set, &all, &tags).await?;
        membership.sets.insert(set.name.clone(), members);
    }
    let key = record_key(topology);
    let recorded: BTreeMap<String, String> = tags
        .iter()
        .filter_map(|(id, tags)| Some((id.clone(), tags.get(&key)?.clone())))
        .collect();
    let current: BTreeSet<String> = membership.members().map(|(_, m)| m.id.clone()).collect();
    for (id, set) in &recorded {
        if !current.contains(id) {
            let former = membership.former.entry(set.clone()).or_default();
            former.extend(all.get(id).cloned());
        }
    }
    Ok(Resolved {
        membership,
        recorded,
    })
}

/// Writes the record after an apply: on each member whose record is missing or names another
/// set, and removes it from the former members in `settled` (those that hold nothing of the
/// topology any more).
pub async fn record(
    session: &AccountSession,
    topology: &str,
    resolved: &Resolved,
    settled: &BTreeSet<String>,
) -> Result<(), AwsError> {
    let key = record_key(topology);
    for (set, member) in resolved.membership.members() {
        if resolved.recorded.get(&member.id).map(String::as_str) == Some(set) {
            continue;
        }
        let call = session.call("-", "organizations:TagResource");
        let tag = Tag::builder().key(&key).value(set).build();
        let tag = tag.map_err(|e| call.message(e.to_string()))?;
        let request = session
            .organizations()
            .tag_resource()
            .resource_id(&member.id)
            .tags(tag);
        request.send().await.map_err(|e| call.sdk_error(e))?;
    }
    for member in resolved.membership.former.values().flatten() {
        if !settled.contains(&member.id) {
            continue;
        }
        let call = session.call("-", "organizations:UntagResource");
        let request = session
            .organizations()
            .untag_resource()
            .resource_id(&member.id)
            .tag_keys(&key);
        request.send().await.map_err(|e| call.sdk_error(e))?;
    }
    Ok(())
}

fn is_active(account: &Account) -> bool {
    account.status() == Some(&AccountStatus::Active)
        || account.state() == Some(&AccountState::Active)
}

fn member_of(account: &Account) -> Option<Member> {
    Some(Member {
        id: account.id()?.to_string(),
        name: account.name().unwrap_or_default().to_string(),
    })
}

/// The organization as the management account reads it.
struct Org<'a> {
    session: &'a AccountSession,
}

impl Org<'_> {
    /// The accounts directly under `parent` (every page of `ListAccountsForParent`).
    async fn accounts_under(&self, parent: &str) -> Result<Vec<Account>, AwsError> {
        let call = self
            .session
            .call("-", "organizations:ListAccountsForParent");
        let request = self.session.organizations().list_accounts_for_parent();
        let pages: Vec<_> = request
            .parent_id(parent)
            .into_paginator()
            .send()
            .collect()
            .await;
        let mut out = Vec::new();
        for page in pages {
            out.extend_from_slice(page.map_err(|e| call.sdk_error(e))?.accounts());
        }
        Ok(out)
    }

    /// The organizational units directly under `parent` (every page of `ListChildren`).
    async fn units_under(&self, parent: &str) -> Result<Vec<String>, AwsError> {
        let call = self.session.call("-", "organizations:ListChildren");
        let request = self
            .session
            .organizations()
            .list_children()
            .parent_id(parent);
        let pages = request
            .child_type(ChildType::OrganizationalUnit)
            .into_paginator();
        let pages: Vec<_> = pages.send().collect().await;
        let mut out = Vec::new();
        for page in pages {
            let page = page.map_err(|e| call.sdk_error(e))?;
            out.extend(
                page.children()
                    .iter()
                    .filter_map(|c| c.id().map(str::to_string)),
            );
        }
        Ok(out)
    }

    /// The account's Organizations tags (every page of `ListTagsForResource`).
    async fn tags(&self, account: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let call = self.session.call("-", "organizations:ListTagsForResource");
        let mut tags = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let request = self.session.organizations().list_tags_for_resource();
            let request = request.resource_id(account).set_next_token(token.take());
            let page = request.send().await.map_err(|e| call.sdk_error(e))?;
            tags.extend(
                page.tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string())),
            );
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(tags),
            }
        }
    }

    /// The IDs of the active accounts under `unit` (and its nested units when `recursive`).
    async fn unit_accounts(
        &self,
        unit: &str,
        recursive: bool,
    ) -> Result<BTreeSet<String>, AwsError> {
        let mut found = BTreeSet::new();
        let mut pending = vec![unit.to_string()];
        while let Some(parent) = pending.pop() {
            let accounts = self.accounts_under(&parent).await?;
            let active = accounts.iter().filter(|a| is_active(a));
            found.extend(active.filter_map(|a| a.id().map(str::to_string)));
            if recursive {
                pending.extend(self.units_under(&parent).await?);
            }
        }
        Ok(found)
    }

    /// The members of `set`, sorted by account ID.
    async fn members(
        &self,
        set: &AccountSet,
        all: &BTreeMap<String, Member>,
        tags: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> Result<Vec<Member>, AwsError> {
        let mut ids: BTreeSet<String> = match &set.organizational_unit {
            Some(unit) => self.unit_accounts(unit, set.recursive).await?,
            None => all.keys().cloned().collect(),
        };
        ids.retain(|id| {
            let own = tags.get(id);
            set.account_tags
                .iter()
                .all(|(k, v)| own.and_then(|t| t.get(k)) == Some(v))
        });
        ids.extend(set.include.iter().cloned());
        ids.retain(|id| !set.exclude.contains(id));
        // Only active accounts of the organization: an included ID that is not one is left out.
        Ok(ids.iter().filter_map(|id| all.get(id).cloned()).collect())
    }
}
