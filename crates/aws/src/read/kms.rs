//! KMS: the region's customer managed keys that Coffer owns or that an alias the file wants
//! points to, and every customer alias.
//!
//! The keys to read are the owned ones the Tagging API lists ([`super::tagged`]) and the
//! targets of the aliases the file wants: no `kms:ListKeys` and no tag read per key. A wanted
//! alias's key that the listing does not name has its tags read on its own, so adoption and
//! the foreign-key checks see its tags. An owned key with no alias that the listing has not
//! caught up with yet is not seen by this read; creating a key looks for a tagged key with
//! `kms:ListKeys` first (`crate::execute`), so it is adopted, not duplicated.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_kms::error::SdkError;
use aws_sdk_kms::operation::get_key_policy::GetKeyPolicyError;
use aws_sdk_kms::types::KeyMetadata;
use coffer_planner::live::{KeyManager, KeyState, LiveAlias, LiveKey, Tags};

use serde_json::Value;

use super::tagged::Tagged;
use super::{RegionReader, Wanted, all_or_errors, each, rfc3339};
use crate::error::AwsError;

/// The key's state as KMS describes it (empty when KMS leaves it out).
pub(crate) fn key_state(metadata: &aws_sdk_kms::types::KeyMetadata) -> KeyState {
    KeyState::from(metadata.key_state().map_or("", |s| s.as_str()))
}

/// The `default` policy of a key as JSON (`None` when it does not parse).
pub(crate) async fn default_key_policy(
    kms: &aws_sdk_kms::Client,
    key_id: &str,
) -> Result<Option<Value>, SdkError<GetKeyPolicyError>> {
    let out = kms
        .get_key_policy()
        .key_id(key_id)
        .policy_name("default")
        .send()
        .await?;
    Ok(out.policy().and_then(|p| serde_json::from_str(p).ok()))
}

/// AWS managed keys are named by aliases under `alias/aws/`.
const AWS_MANAGED: &str = "alias/aws/";

impl RegionReader {
    pub(super) async fn keys(
        &self,
        wanted: &Wanted,
        owned: &BTreeMap<String, Tags>,
    ) -> Result<(Vec<LiveKey>, Vec<LiveAlias>), Vec<AwsError>> {
        if owned.is_empty() && wanted.aliases.is_empty() {
            // Nothing owned here and no alias wanted: no key or alias to read.
            return Ok((Vec::new(), Vec::new()));
        }
        if let Some(found) = self.keys_by_alias(wanted, owned).await {
            return found;
        }
        let kms = &self.clients.kms;
        let aliases = kms.list_aliases().into_paginator().items().send();
        let aliases = self
            .sent("kms:ListAliases", aliases.try_collect())
            .await
            .map_err(|e| vec![e])?;

        let targets = |named: &dyn Fn(&str) -> bool| -> BTreeSet<String> {
            aliases
                .iter()
                .filter(|a| a.alias_name().is_some_and(named))
                .filter_map(|a| a.target_key_id().map(str::to_string))
                .collect()
        };
        let aws_managed = targets(&|n| n.starts_with(AWS_MANAGED));
        let wanted_targets = targets(&|n| wanted.aliases.contains(n));
        let live_aliases: Vec<LiveAlias> = aliases
            .iter()
            .filter_map(|a| {
                let name = a.alias_name()?;
                (!name.starts_with(AWS_MANAGED)).then(|| LiveAlias {
                    name: name.to_string(),
                    target_key_id: a.target_key_id().map(str::to_string),
                })
            })
            .collect();

        let owned_by_id: BTreeMap<&str, &Tags> = owned
            .iter()
            .map(|(arn, tags)| (Tagged::id(arn), tags))
            .collect();
        let candidates: BTreeSet<&str> = owned_by_id
            .keys()
            .copied()
            .chain(wanted_targets.iter().map(String::as_str))
            .filter(|id| !aws_managed.contains(*id))
            .collect();
        let (owned_by_id, wanted_targets) = (&owned_by_id, &wanted_targets);
        let (relevant, mut errors) = each(candidates, |id| async move {
            match owned_by_id.get(id) {
                Some(tags) => Ok(Some((id.to_string(), (*tags).clone()))),
                None => self.relevant_key(id, wanted_targets).await,
            }
        })
        .await;
        let (mut keys, failed) =
            each(relevant, |(id, tags)| self.key_details(id, tags, None)).await;
        errors.extend(failed);
        keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
        all_or_errors((keys, live_aliases), errors)
    }

    /// The keys and aliases from `kms:DescribeKey` of each alias the file wants, without
    /// `kms:ListAliases`: `None` (list them all) unless every wanted alias resolves and every
    /// owned key is the target of one. An alias the file does not name on a key it keeps is
    /// not seen then; Coffer deletes aliases only with the departed keys they point to, and a
    /// departed owned key sends the read to the full list.
    #[allow(clippy::type_complexity)]
    async fn keys_by_alias(
        &self,
        wanted: &Wanted,
        owned: &BTreeMap<String, Tags>,
    ) -> Option<Result<(Vec<LiveKey>, Vec<LiveAlias>), Vec<AwsError>>> {
        let kms = &self.clients.kms;
        let described = futures::future::join_all(wanted.aliases.iter().map(|alias| async move {
            let request = kms.describe_key().key_id(alias).send();
            let described = self.sent("kms:DescribeKey", request).await.ok()?;
            Some((alias.clone(), described.key_metadata()?.clone()))
        }))
        .await;
        let described: Vec<(String, KeyMetadata)> = described.into_iter().collect::<Option<_>>()?;
        let targets: BTreeSet<&str> = described.iter().map(|(_, m)| m.key_id()).collect();
        if !owned.keys().all(|arn| targets.contains(Tagged::id(arn))) {
            return None;
        }
        let aliases = described
            .iter()
            .map(|(name, m)| LiveAlias {
                name: name.clone(),
                target_key_id: Some(m.key_id().to_string()),
            })
            .collect();
        let wanted_targets: BTreeSet<String> = targets.iter().map(|t| t.to_string()).collect();
        let owned_by_id: BTreeMap<&str, &Tags> = owned
            .iter()
            .map(|(arn, tags)| (Tagged::id(arn), tags))
            .collect();
        let unique: BTreeMap<&str, &KeyMetadata> =
            described.iter().map(|(_, m)| (m.key_id(), m)).collect();
        let (mut keys, errors) = each(unique, |(id, metadata)| {
            let (owned_by_id, wanted_targets) = (&owned_by_id, &wanted_targets);
            async move {
                let tags = match owned_by_id.get(id) {
                    Some(tags) => (*tags).clone(),
                    None => match self.relevant_key(id, wanted_targets).await? {
                        Some((_, tags)) => tags,
                        None => return Ok(None),
                    },
                };
                self.key_details(id.to_string(), tags, Some(metadata.clone()))
                    .await
            }
        })
        .await;
        keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
        Some(all_or_errors((keys, aliases), errors))
    }

    /// The key with its tags when it is Coffer's or an alias the file wants points to it.
    async fn relevant_key(
        &self,
        key_id: &str,
        wanted_targets: &BTreeSet<String>,
    ) -> Result<Option<(String, Tags)>, AwsError> {
        let wanted = wanted_targets.contains(key_id);
        match self.key_tags(key_id).await {
            // Another team's key Coffer may not read: not Coffer's, and no alias it wants
            // points to it (those keys are read below and must be readable).
            Err(e) if e.code.as_deref() == Some("AccessDeniedException") && !wanted => Ok(None),
            Err(e) => Err(e),
            Ok(tags) if self.ours(&tags) || wanted => Ok(Some((key_id.to_string(), tags))),
            Ok(_) => Ok(None),
        }
    }

    async fn key_tags(&self, key_id: &str) -> Result<Tags, AwsError> {
        let kms = &self.clients.kms;
        let pages = kms.list_resource_tags().key_id(key_id).into_paginator();
        let pages = self
            .sent("kms:ListResourceTags", pages.send().try_collect())
            .await?;
        Ok(pages
            .iter()
            .flat_map(|page| page.tags())
            .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
            .collect())
    }

    /// A customer managed key in full (`described`: its `kms:DescribeKey` answer when already
    /// asked); `None` for a key AWS manages.
    async fn key_details(
        &self,
        key_id: String,
        tags: Tags,
        described: Option<KeyMetadata>,
    ) -> Result<Option<LiveKey>, AwsError> {
        let kms = &self.clients.kms;
        let described = match described {
            Some(metadata) => metadata,
            None => {
                let request = kms.describe_key().key_id(&key_id);
                let out = self.sent("kms:DescribeKey", request.send()).await?;
                match out.key_metadata() {
                    Some(metadata) => metadata.clone(),
                    None => return Ok(None),
                }
            }
        };
        let metadata = &described;
        let key_manager = metadata
            .key_manager()
            .map_or(KeyManager::Customer, |m| KeyManager::parse(m.as_str()));
        if key_manager != KeyManager::Customer {
            return Ok(None);
        }
        let key_state = key_state(metadata);
        let policy = self.key_policy(&key_id).await?;
        let (rotation_enabled, rotation_period_days) = if key_state == KeyState::PendingDeletion {
            (false, None)
        } else {
            let request = kms.get_key_rotation_status().key_id(&key_id);
            let out = self
                .sent("kms:GetKeyRotationStatus", request.send())
                .await?;
            (
                out.key_rotation_enabled(),
                out.rotation_period_in_days()
                    .and_then(|d| u32::try_from(d).ok()),
            )
        };
        Ok(Some(LiveKey {
            key_id: metadata.key_id().to_string(),
            arn: metadata.arn().unwrap_or_default().to_string(),
            description: metadata.description().unwrap_or_default().to_string(),
            key_state,
            key_manager,
            rotation_enabled,
            rotation_period_days,
            policy,
            tags,
            creation_date: metadata.creation_date().map(rfc3339),
        }))
    }

    /// The key's `default` policy as JSON (`None` when it does not parse).
    pub(super) async fn key_policy(&self, key_id: &str) -> Result<Option<Value>, AwsError> {
        let policy = default_key_policy(&self.clients.kms, key_id);
        self.sent("kms:GetKeyPolicy", policy).await
    }
}
