//! KMS operations: keys and aliases.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_kms::types::Tag;
use coffer_apply::StepError;
use coffer_planner::live::KeyState;
use coffer_planner::model::Tags;
use coffer_planner::{Ref, TAG_ID, TAG_TOPOLOGY, outputs, policy};
use serde_json::Value;

use super::{At, Outcome, code_is, step_error};
use crate::read::{default_key_policy, key_state};

fn kms_tags(tags: &Tags) -> Result<Vec<Tag>, StepError> {
    tags.iter()
        .map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StepError::fatal(format!("cannot build key tags: {e}")))
}

fn key_outputs(key_id: &str, arn: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (outputs::KEY_ID.to_string(), key_id.to_string()),
        (outputs::ARN.to_string(), arn.to_string()),
    ])
}

/// Environment variable (binaries built with `test-hooks` only): send `CreateKey` with the
/// SDK's own retries, as Coffer must not, so a test can see the duplicate key a lost answer
/// then makes.
#[cfg(feature = "test-hooks")]
pub const SDK_RETRIES_CREATE_KEY_ENV: &str = "COFFER_TEST_SDK_RETRIES_CREATE_KEY";

/// The SDK's retries for one `CreateKey`: none. KMS has no idempotency token, so a create whose
/// answer was lost (a reset connection, a 500, a timeout) and that the SDK sent again would
/// make a second key; the step fails as retryable instead, and its next attempt finds the key
/// the lost call made by its tags.
fn create_key_retries() -> Option<aws_sdk_kms::config::Builder> {
    #[cfg(feature = "test-hooks")]
    if std::env::var_os(SDK_RETRIES_CREATE_KEY_ENV).is_some() {
        return None;
    }
    let once = aws_sdk_kms::config::retry::RetryConfig::disabled();
    Some(aws_sdk_kms::config::Builder::default().retry_config(once))
}

/// Creates the key with its ownership tags, unless a key already carries them (a run that
/// stopped before the key's alias was made, or a create whose answer was lost): that key is
/// taken instead, the oldest when there are several.
pub(super) async fn create_key(
    at: &At<'_>,
    description: &str,
    policy: &Value,
    tags: &Tags,
) -> Outcome {
    if let Some((key_id, arn)) = find_tagged_key(at, tags).await? {
        return Ok(key_outputs(&key_id, &arn));
    }
    let request = at
        .kms
        .create_key()
        .description(description)
        .policy(policy.to_string())
        .set_tags(Some(kms_tags(tags)?));
    let out = match create_key_retries() {
        Some(once) => request.customize().config_override(once).send().await,
        None => request.send().await,
    }
    .map_err(|e| at.failed("kms:CreateKey", e))?;
    let metadata = out
        .key_metadata()
        .ok_or_else(|| StepError::fatal("CreateKey returned no key"))?;
    Ok(key_outputs(
        metadata.key_id(),
        metadata.arn().unwrap_or_default(),
    ))
}

/// The oldest key (not pending deletion) that already carries these ownership tags: the key ID
/// and ARN. Others that carry them are duplicates: they are logged here, and the next plan
/// shows them as `key.<name>#<key-id>`, to delete.
async fn find_tagged_key(at: &At<'_>, tags: &Tags) -> Result<Option<(String, String)>, StepError> {
    let (Some(topology), Some(id)) = (tags.get(TAG_TOPOLOGY), tags.get(TAG_ID)) else {
        return Ok(None);
    };
    let mut found = Vec::new();
    let pages = at.kms.list_keys().into_paginator().send();
    for page in pages.collect::<Vec<_>>().await {
        let page = page.map_err(|e| at.failed("kms:ListKeys", e))?;
        for key_id in page.keys().iter().filter_map(|entry| entry.key_id()) {
            found.extend(tagged_key(at, key_id, topology, id).await?);
        }
    }
    found.sort();
    let mut found = found.into_iter().map(|key| (key.key_id, key.arn));
    let oldest = found.next();
    for (duplicate, _) in found {
        tracing::warn!(
            key = %duplicate,
            "a duplicate of key `{id}` (topology `{topology}`): Coffer uses the oldest; the next plan deletes this one"
        );
    }
    Ok(oldest)
}

/// A key that carries Coffer's tags for one logical key; ordered oldest first.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct TaggedKey {
    created: Option<aws_smithy_types::DateTime>,
    key_id: String,
    arn: String,
}

/// The key `key_id` when it carries Coffer's tags for `topology` and `id` and is not pending
/// deletion.
async fn tagged_key(
    at: &At<'_>,
    key_id: &str,
    topology: &str,
    id: &str,
) -> Result<Option<TaggedKey>, StepError> {
    let listed = match at.kms.list_resource_tags().key_id(key_id).send().await {
        Ok(listed) => listed,
        Err(e) => {
            // A key Coffer may not read is not one it created; any other failure must not be
            // taken for "no such key", or a retry would create a duplicate.
            let error = at.call("kms:ListResourceTags").step_error(e);
            if code_is(&error, "AccessDeniedException") {
                return Ok(None);
            }
            return Err(step_error(error));
        }
    };
    let has = |k: &str, v: &str| {
        listed
            .tags()
            .iter()
            .any(|t| t.tag_key() == k && t.tag_value() == v)
    };
    if !(has(TAG_TOPOLOGY, topology) && has(TAG_ID, id)) {
        return Ok(None);
    }
    let described = at
        .kms
        .describe_key()
        .key_id(key_id)
        .send()
        .await
        .map_err(|e| at.failed("kms:DescribeKey", e))?;
    Ok(described
        .key_metadata()
        .filter(|metadata| key_state(metadata) != KeyState::PendingDeletion)
        .map(|metadata| TaggedKey {
            created: metadata.creation_date().copied(),
            key_id: metadata.key_id().to_string(),
            arn: metadata.arn().unwrap_or_default().to_string(),
        }))
}

/// Writes the key policy, then reads it back until it matches (KMS is eventually
/// consistent).
pub(super) async fn put_key_policy(at: &At<'_>, key: &Ref, document: &Value) -> Outcome {
    let key = at.resolve(key)?;
    let request = at.kms.put_key_policy().key_id(&key).policy_name("default");
    let written = request.policy(document.to_string()).send().await;
    at.done("kms:PutKeyPolicy", written)?;
    let wanted = policy::canonical(document);
    for _ in 0..10 {
        let current = default_key_policy(at.kms, &key)
            .await
            .map_err(|e| at.failed("kms:GetKeyPolicy", e))?;
        if current.map(|p| policy::canonical(&p)).as_ref() == Some(&wanted) {
            return Ok(BTreeMap::new());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(StepError {
        retryable: true,
        ..StepError::fatal(format!(
            "the key policy of {key} did not read back as written"
        ))
    })
}

pub(super) async fn update_key_description(at: &At<'_>, key: &Ref, description: &str) -> Outcome {
    let request = at.kms.update_key_description().key_id(at.resolve(key)?);
    let answer = request.description(description).send().await;
    at.done("kms:UpdateKeyDescription", answer)
}

pub(super) async fn enable_key_rotation(at: &At<'_>, key: &Ref, period_days: u32) -> Outcome {
    let period = i32::try_from(period_days).unwrap_or(365);
    let request = at.kms.enable_key_rotation().key_id(at.resolve(key)?);
    let answer = request.rotation_period_in_days(period).send().await;
    at.done("kms:EnableKeyRotation", answer)
}

pub(super) async fn disable_key_rotation(at: &At<'_>, key: &Ref) -> Outcome {
    let request = at.kms.disable_key_rotation().key_id(at.resolve(key)?);
    at.done("kms:DisableKeyRotation", request.send().await)
}

/// A key already pending deletion counts as done.
pub(super) async fn schedule_key_deletion(
    at: &At<'_>,
    key: &Ref,
    pending_window_days: u32,
) -> Outcome {
    let window = i32::try_from(pending_window_days).unwrap_or(30);
    let request = at.kms.schedule_key_deletion().key_id(at.resolve(key)?);
    let answer = request.pending_window_in_days(window).send().await;
    at.done_or_already("kms:ScheduleKeyDeletion", answer, |error| {
        code_is(error, "KMSInvalidStateException") && error.message.contains("pending deletion")
    })
}

pub(super) async fn cancel_key_deletion(at: &At<'_>, key: &Ref) -> Outcome {
    let request = at.kms.cancel_key_deletion().key_id(at.resolve(key)?);
    at.done("kms:CancelKeyDeletion", request.send().await)
}

pub(super) async fn enable_key(at: &At<'_>, key: &Ref) -> Outcome {
    let request = at.kms.enable_key().key_id(at.resolve(key)?);
    at.done("kms:EnableKey", request.send().await)
}

pub(super) async fn tag_key(at: &At<'_>, key: &Ref, tags: &Tags) -> Outcome {
    let tags = kms_tags(tags)?;
    let request = at.kms.tag_resource().key_id(at.resolve(key)?);
    at.done("kms:TagResource", request.set_tags(Some(tags)).send().await)
}

pub(super) async fn untag_key(at: &At<'_>, key: &Ref, tag_keys: &[String]) -> Outcome {
    let request = at.kms.untag_resource().key_id(at.resolve(key)?);
    let answer = request.set_tag_keys(Some(tag_keys.to_vec())).send().await;
    at.done("kms:UntagResource", answer)
}

/// An alias that already exists counts as done when it points to the key.
pub(super) async fn create_alias(at: &At<'_>, alias_name: &str, key: &Ref) -> Outcome {
    let key = at.resolve(key)?;
    let request = at.kms.create_alias().alias_name(alias_name);
    let Err(e) = request.target_key_id(&key).send().await else {
        return Ok(BTreeMap::new());
    };
    let error = at.call("kms:CreateAlias").step_error(e);
    if !code_is(&error, "AlreadyExistsException") {
        return Err(step_error(error));
    }
    match alias_target(at, alias_name).await? {
        Some(target) if target == key || key.ends_with(&format!("/{target}")) => {
            Ok(BTreeMap::new())
        }
        other => Err(StepError::fatal(format!(
            "{error}; the alias points to key {}, not to {key}: run `coffer plan` again",
            other.unwrap_or_else(|| "(unknown)".into())
        ))),
    }
}

/// The key an alias points to.
async fn alias_target(at: &At<'_>, alias_name: &str) -> Result<Option<String>, StepError> {
    let aliases = at.kms.list_aliases().into_paginator().items().send();
    for alias in aliases.collect::<Vec<_>>().await {
        let alias = alias.map_err(|e| at.failed("kms:ListAliases", e))?;
        if alias.alias_name() == Some(alias_name) {
            return Ok(alias.target_key_id().map(str::to_string));
        }
    }
    Ok(None)
}

pub(super) async fn update_alias(at: &At<'_>, alias_name: &str, key: &Ref) -> Outcome {
    let request = at.kms.update_alias().alias_name(alias_name);
    let answer = request.target_key_id(at.resolve(key)?).send().await;
    at.done("kms:UpdateAlias", answer)
}

pub(super) async fn delete_alias(at: &At<'_>, alias_name: &str) -> Outcome {
    let answer = at.kms.delete_alias().alias_name(alias_name).send().await;
    at.gone_is_done("kms:DeleteAlias", answer, "NotFoundException")
}
