//! Which live resources are Coffer's: the ownership tags it writes, a live resource found under
//! a name the file wants (Coffer's own, adopted, or a conflict), and the owned resources that
//! left the file.

use super::Planner;
use crate::live::{LiveBackupPlan, LiveKey, LiveVault};
use crate::model::{Change, Flag, ResourceKind, Tags};

/// Tag that names the topology owning a resource.
pub const TAG_TOPOLOGY: &str = "coffer:topology";
/// Tag that names the resource's logical ID, `<kind>/<name>`.
pub const TAG_ID: &str = "coffer:id";

/// How a live resource relates to this topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Ownership {
    /// Tagged for this topology and this logical ID.
    Ours,
    /// No Coffer tags.
    Unowned,
    /// Coffer tags of another topology, or of another logical ID of this one.
    Foreign(String),
}

pub(super) fn ownership(tags: &Tags, topology: &str, id: &str) -> Ownership {
    match (tags.get(TAG_TOPOLOGY), tags.get(TAG_ID)) {
        (None, None) => Ownership::Unowned,
        (Some(t), Some(i)) if t == topology && i == id => Ownership::Ours,
        (t, i) => Ownership::Foreign(format!(
            "{TAG_TOPOLOGY}={} {TAG_ID}={}",
            t.map_or("(none)", String::as_str),
            i.map_or("(none)", String::as_str)
        )),
    }
}

/// The logical ID the `coffer:id` tag holds: `<kind>/<name>`.
pub(super) fn logical_id(kind: ResourceKind, name: &str) -> String {
    format!("{kind}/{name}")
}

/// The logical name an owned resource's `coffer:id` tag gives it, else `fallback`.
pub(super) fn owned_name(tags: &Tags, kind: ResourceKind, fallback: &str) -> String {
    tags.get(TAG_ID)
        .and_then(|id| id.strip_prefix(&format!("{kind}/")))
        .unwrap_or(fallback)
        .to_string()
}

/// A live resource Coffer may own: known by its ARN, owned by its tags.
pub(super) trait Owned {
    fn arn(&self) -> &str;
    fn tags(&self) -> &Tags;
}

macro_rules! owned {
    ($($live:ty),*) => {$(
        impl Owned for $live {
            fn arn(&self) -> &str {
                &self.arn
            }

            fn tags(&self) -> &Tags {
                &self.tags
            }
        }
    )*};
}

owned!(LiveKey, LiveVault, LiveBackupPlan);

/// A live resource found under the name the file wants.
pub(super) struct Claim<'a> {
    pub what: &'a str,
    pub setting: &'a str,
    pub logical: &'a str,
    pub logical_id: &'a str,
    pub name: &'a str,
    pub arn: &'a str,
    pub tags: &'a Tags,
    pub adopt: bool,
    pub account_id: &'a str,
    pub region: &'a str,
    /// How to pick another name, in the words of the setting.
    pub rename: &'a str,
}

impl Planner<'_> {
    /// Tags Coffer writes on a resource: the defaults, the resource's own, and ownership.
    pub(super) fn desired_tags(&self, own: &Tags, id: &str) -> Tags {
        let mut tags = self.topology.default_tags.clone();
        tags.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        tags.insert(TAG_TOPOLOGY.into(), self.topology.name.clone());
        tags.insert(TAG_ID.into(), id.into());
        tags
    }

    /// The live resources this topology owns that no resource of the file matched: they left
    /// the file.
    pub(super) fn left_the_file<'r, T: Owned>(&self, live: &'r [T]) -> Vec<&'r T> {
        live.iter()
            .filter(|r| {
                !self.matched.contains(r.arn())
                    && r.tags().get(TAG_TOPOLOGY) == Some(&self.topology.name)
            })
            .collect()
    }

    /// A live resource found under the file's name: Coffer's own, adopted (`adopt: true`), or a
    /// conflict that blocks the change.
    pub(super) fn claim(&mut self, change: &mut Change, found: &Claim<'_>) {
        self.matched.insert(found.arn.to_string());
        match ownership(found.tags, &self.topology.name, found.logical_id) {
            Ownership::Ours => {}
            Ownership::Unowned if found.adopt => change.reasons.push(format!(
                "adopting {} `{}` (`adopt: true`): Coffer adds its ownership tags",
                found.what, found.name
            )),
            Ownership::Unowned => Self::conflict(
                change,
                format!(
                    "a {} named `{}` already exists in account {} ({}) without Coffer's ownership tags; set `adopt: true` on `{}.{}` to take it over, or {}",
                    found.what,
                    found.name,
                    found.account_id,
                    found.region,
                    found.setting,
                    found.logical,
                    found.rename
                ),
            ),
            Ownership::Foreign(tags) => Self::conflict(
                change,
                format!(
                    "{} `{}` belongs to something else ({tags}); {}",
                    found.what, found.name, found.rename
                ),
            ),
        }
    }

    /// Blocked because the name belongs to a resource Coffer does not own.
    pub(super) fn conflict(change: &mut Change, reason: String) {
        change.flags.push(Flag::Conflicting);
        Self::block(change, reason);
    }
}
