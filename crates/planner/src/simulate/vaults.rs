//! Vaults, with their access policy and lock, as AWS Backup keeps them.

use super::{Aws, Produced};
use crate::live::{LiveLock, LiveVault};
use crate::model::{Ref, Tags, outputs};

/// `CreateBackupVault`: a vault of that name, unless there is one already; its ARN.
pub(super) fn create(
    aws: &mut Aws<'_>,
    vault_name: &str,
    encryption_key_arn: Option<&Ref>,
    tags: &Tags,
) -> Produced {
    let arn = aws.arn("backup", &format!("backup-vault:{vault_name}"));
    if !aws.region.vaults.iter().any(|v| v.name == vault_name) {
        let encryption_key_arn = encryption_key_arn.map(|key| aws.resolve(key));
        aws.region.vaults.push(LiveVault {
            name: vault_name.to_string(),
            arn: arn.clone(),
            encryption_key_arn,
            tags: tags.clone(),
            ..LiveVault::default()
        });
    }
    Produced::from([(outputs::ARN.to_string(), arn)])
}

pub(super) fn delete(aws: &mut Aws<'_>, vault_name: &str) {
    aws.region.vaults.retain(|v| v.name != vault_name);
}

/// Changes the vault named `vault_name`.
pub(super) fn update(aws: &mut Aws<'_>, vault_name: &str, change: impl FnMut(&mut LiveVault)) {
    aws.region
        .vaults
        .iter_mut()
        .filter(|v| v.name == vault_name)
        .for_each(change);
}

/// `PutBackupVaultLockConfiguration`: in compliance mode, the lock date is shown as the grace
/// time from now.
pub(super) fn put_lock(
    aws: &mut Aws<'_>,
    vault_name: &str,
    min_retention_days: Option<i64>,
    max_retention_days: Option<i64>,
    changeable_for_days: Option<i64>,
) {
    update(aws, vault_name, |v| {
        v.lock = Some(LiveLock {
            min_retention_days,
            max_retention_days,
            lock_date: changeable_for_days.map(|d| format!("+{d} days")),
            immutable: false,
        });
    });
}
