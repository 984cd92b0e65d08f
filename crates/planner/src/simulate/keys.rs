//! Keys and aliases as KMS keeps them.

use serde_json::Value;

use super::{Aws, Produced};
use crate::live::{KeyManager, KeyState, LiveAlias, LiveKey};
use crate::model::{Ref, Tags, outputs};

/// `CreateKey`: a customer managed key, enabled, rotation off; its ID and ARN.
pub(super) fn create(
    aws: &mut Aws<'_>,
    description: &str,
    policy: &Value,
    tags: &Tags,
) -> Produced {
    let key_id = format!("key-{:04}", aws.region.keys.len() + 1);
    let arn = aws.arn("kms", &format!("key/{key_id}"));
    aws.region.keys.push(LiveKey {
        key_id: key_id.clone(),
        arn: arn.clone(),
        description: description.to_string(),
        key_state: KeyState::Enabled,
        key_manager: KeyManager::Customer,
        rotation_enabled: false,
        rotation_period_days: None,
        policy: Some(policy.clone()),
        tags: tags.clone(),
        creation_date: None,
    });
    Produced::from([
        (outputs::KEY_ID.to_string(), key_id),
        (outputs::ARN.to_string(), arn),
    ])
}

/// Changes the key `key` (a key ARN or key ID) names.
pub(super) fn update(aws: &mut Aws<'_>, key: &Ref, change: impl FnMut(&mut LiveKey)) {
    let id = aws.resolve(key);
    aws.region
        .keys
        .iter_mut()
        .filter(|k| k.arn == id || k.key_id == id)
        .for_each(change);
}

/// `CancelKeyDeletion` leaves the key disabled.
pub(super) fn cancel_deletion(aws: &mut Aws<'_>, key: &Ref) {
    update(aws, key, |k| k.key_state = KeyState::Disabled);
}

pub(super) fn enable(aws: &mut Aws<'_>, key: &Ref) {
    update(aws, key, |k| k.key_state = KeyState::Enabled);
}

pub(super) fn schedule_deletion(aws: &mut Aws<'_>, key: &Ref) {
    update(aws, key, |k| k.key_state = KeyState::PendingDeletion);
}

/// `CreateAlias` or `UpdateAlias`: the alias points to the key.
pub(super) fn put_alias(aws: &mut Aws<'_>, alias_name: &str, key: &Ref) {
    let target = aws.resolve(key);
    delete_alias(aws, alias_name);
    aws.region.aliases.push(LiveAlias {
        name: alias_name.to_string(),
        target_key_id: Some(target),
    });
}

pub(super) fn delete_alias(aws: &mut Aws<'_>, alias_name: &str) {
    aws.region.aliases.retain(|a| a.name != alias_name);
}
