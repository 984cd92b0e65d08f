//! KMS: the region's customer managed keys that Coffer owns or that an alias the file wants
//! points to, and every customer alias.

use std::collections::BTreeSet;

use aws_sdk_kms::error::SdkError;
use aws_sdk_kms::operation::get_key_policy::GetKeyPolicyError;
use coffer_planner::live::{KeyManager, KeyState, LiveAlias, LiveKey, Tags};

use serde_json::Value;

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
    ) -> Result<(Vec<LiveKey>, Vec<LiveAlias>), Vec<AwsError>> {
        let kms = &self.clients.kms;
        let aliases = kms.list_aliases().into_paginator().items().send();
        let aliases = self.sent("kms:ListAliases", aliases.try_collect()).await;
        let key_ids = kms.list_keys().into_paginator().items().send();
        let key_ids = self.sent("kms:ListKeys", key_ids.try_collect()).await;
        let aliases = aliases.map_err(|e| vec![e])?;
        let key_ids = key_ids.map_err(|e| vec![e])?;

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

        let candidates = key_ids
            .iter()
            .filter_map(|k| k.key_id())
            .filter(|id| !aws_managed.contains(*id));
        let (relevant, mut errors) =
            each(candidates, |id| self.relevant_key(id, &wanted_targets)).await;
        let (mut keys, failed) = each(relevant, |(id, tags)| self.key_details(id, tags)).await;
        errors.extend(failed);
        keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
        all_or_errors((keys, live_aliases), errors)
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

    /// A customer managed key in full; `None` for a key AWS manages.
    async fn key_details(&self, key_id: String, tags: Tags) -> Result<Option<LiveKey>, AwsError> {
        let kms = &self.clients.kms;
        let request = kms.describe_key().key_id(&key_id);
        let described = self.sent("kms:DescribeKey", request.send()).await?;
        let Some(metadata) = described.key_metadata() else {
            return Ok(None);
        };
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
