//! The resources of a region that carry this topology's ownership tag, with all their tags, in
//! one listing: `tag:GetResources` (every page) filtered by `coffer:topology=<name>` and the
//! types Coffer owns (`kms:key`, `backup:backup-vault`, `backup:backup-plan`). It replaces a
//! tag read per listed resource (`kms:ListResourceTags`, `backup:ListTags`).
//!
//! The Tagging API is eventually consistent: a resource tagged moments ago may be missing. So
//! a resource the file wants by name that is not in this set has its tags read on its own, and
//! a missing backup plan the file wants sends the reader to the authoritative list (see
//! `backup.rs`); only resources the file no longer names (deletions of departed owned
//! resources) rely on this set alone, and a lagging one is found by the next run.

use std::collections::BTreeMap;

use coffer_planner::TAG_TOPOLOGY;
use coffer_planner::live::Tags;

use super::RegionReader;
use crate::error::AwsError;

/// The resource types the listing asks for, as `service:resourceType`.
const TYPES: [&str; 3] = ["kms:key", "backup:backup-vault", "backup:backup-plan"];
/// The most resources a page may hold (the API's maximum, so the fewest pages).
const PER_PAGE: i32 = 100;

/// The region's owned resources by ARN, with their tags, by kind.
#[derive(Debug, Default)]
pub(super) struct Tagged {
    pub keys: BTreeMap<String, Tags>,
    pub vaults: BTreeMap<String, Tags>,
    pub plans: BTreeMap<String, Tags>,
}

impl Tagged {
    /// Sorts one listed resource into its kind by its ARN; other types are left out.
    fn insert(&mut self, arn: &str, tags: Tags) {
        let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
        let kinds = [
            ("key/", &mut self.keys),
            ("backup-vault:", &mut self.vaults),
            ("backup-plan:", &mut self.plans),
        ];
        for (prefix, kind) in kinds {
            if resource.starts_with(prefix) {
                kind.insert(arn.to_string(), tags);
                return;
            }
        }
    }

    /// The ID at the end of an owned resource's ARN (`key/<id>`, `backup-plan:<id>`).
    pub fn id(arn: &str) -> &str {
        arn.rsplit(['/', ':']).next().unwrap_or_default()
    }
}

impl RegionReader {
    /// Every resource of the region this topology owns, with its tags.
    pub(super) async fn tagged(&self) -> Result<Tagged, AwsError> {
        let filter = aws_sdk_resourcegroupstagging::types::TagFilter::builder()
            .key(TAG_TOPOLOGY)
            .values(&self.topology)
            .build();
        let request = self
            .clients
            .tagging
            .get_resources()
            .tag_filters(filter)
            .set_resource_type_filters(Some(TYPES.map(str::to_string).to_vec()))
            .resources_per_page(PER_PAGE);
        let pages = request.into_paginator().send().try_collect();
        let pages = self.sent("tag:GetResources", pages).await?;
        let mut tagged = Tagged::default();
        for mapping in pages.iter().flat_map(|p| p.resource_tag_mapping_list()) {
            let Some(arn) = mapping.resource_arn() else {
                continue;
            };
            let tags: Tags = mapping
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            tagged.insert(arn, tags);
        }
        Ok(tagged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_resources_are_sorted_into_their_kinds_by_arn() {
        let mut tagged = Tagged::default();
        let key = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab";
        let vault = "arn:aws:backup:eu-west-1:111122223333:backup-vault:local";
        let plan = "arn:aws:backup:eu-west-1:111122223333:backup-plan:8a1c-2b";
        for arn in [
            key,
            vault,
            plan,
            "arn:aws:kms:eu-west-1:1:alias/x",
            "nonsense",
        ] {
            tagged.insert(arn, Tags::new());
        }
        assert_eq!(tagged.keys.keys().collect::<Vec<_>>(), [key]);
        assert_eq!(tagged.vaults.keys().collect::<Vec<_>>(), [vault]);
        assert_eq!(tagged.plans.keys().collect::<Vec<_>>(), [plan]);
        assert_eq!(Tagged::id(key), "1234abcd-12ab");
        assert_eq!(Tagged::id(plan), "8a1c-2b");
    }
}
