//! The recovery points the drill makes, and what AWS Backup says of a resource's recovery
//! points in a vault: the newest one's age before the drill (the RPO seen) and when the
//! drill's own expire.

use aws_sdk_backup::primitives::DateTime;
use aws_sdk_backup::types::RecoveryPointByBackupVault;
use coffer_spec::{Account, Vault};

use super::jobs::Caller;
use super::retention::{expiry, shortest_retention};
use crate::error::AwsError;
use crate::session::RegionClients;

/// A recovery point the drill made.
pub(super) struct MadePoint {
    pub(super) clients: RegionClients,
    pub(super) account: Account,
    pub(super) region: String,
    /// The vault's name in AWS.
    pub(super) vault: String,
    pub(super) arn: String,
    pub(super) resource: String,
    pub(super) delete_after_days: i64,
    /// Why the clean-up must not try to delete it; `None`: it tries.
    pub(super) keep: Option<String>,
}

impl MadePoint {
    /// Recovery point `arn` of `resource` in `vault`, reached with `clients` as `account`,
    /// kept the shortest retention `vault` allows.
    pub(super) fn new(
        clients: &RegionClients,
        account: &Account,
        vault: &Vault,
        arn: &str,
        resource: &str,
        keep: Option<String>,
    ) -> MadePoint {
        MadePoint {
            clients: clients.clone(),
            account: account.clone(),
            region: vault.region.clone(),
            vault: vault.vault_name.clone(),
            arn: arn.to_string(),
            resource: resource.to_string(),
            delete_after_days: shortest_retention(vault),
            keep,
        }
    }

    /// When it expires: AWS Backup's own date (`CalculatedLifecycle.DeleteAt`, else its
    /// creation date plus its retention), else the backup job's creation date plus its
    /// retention (a copy keeps its source's creation date).
    pub(super) async fn expires_at(&self, backup_created: Option<&DateTime>) -> Option<String> {
        let listed = recovery_points(&self.clients, &self.vault, &self.resource).await;
        let found = listed
            .into_iter()
            .filter_map(Result::ok)
            .find(|p| p.recovery_point_arn() == Some(self.arn.as_str()));
        if let Some(found) = found {
            if let Some(at) = found.calculated_lifecycle().and_then(|l| l.delete_at()) {
                return expiry(at, 0);
            }
            if let Some(created) = found.creation_date() {
                return expiry(created, self.delete_after_days);
            }
        }
        backup_created.and_then(|created| expiry(created, self.delete_after_days))
    }
}

/// What the drill created, to clean up.
#[derive(Default)]
pub(super) struct Created {
    pub(super) recovery_points: Vec<MadePoint>,
    pub(super) databases: Vec<(RegionClients, String)>,
    /// When the backup job was created: the creation date of its recovery point and of every
    /// copy (copies keep their source's), when reading the recovery point's own fails.
    pub(super) backup_created: Option<DateTime>,
}

type Listed = Result<
    RecoveryPointByBackupVault,
    aws_sdk_backup::error::SdkError<
        aws_sdk_backup::operation::list_recovery_points_by_backup_vault::ListRecoveryPointsByBackupVaultError,
        aws_smithy_runtime_api::http::Response,
    >,
>;

/// `resource`'s recovery points in `vault` (its name in AWS), page by page.
async fn recovery_points(clients: &RegionClients, vault: &str, resource: &str) -> Vec<Listed> {
    let listed = clients.backup.list_recovery_points_by_backup_vault();
    let listed = listed.backup_vault_name(vault).by_resource_arn(resource);
    listed.into_paginator().items().send().collect().await
}

/// The age, in seconds, of `resource`'s newest recovery point in `vault`; `None` when it has
/// none.
pub(super) async fn newest_recovery_point_age(
    clients: &RegionClients,
    vault: &str,
    resource: &str,
    call: Caller<'_>,
) -> Result<Option<u64>, AwsError> {
    let mut newest: Option<i64> = None;
    for point in recovery_points(clients, vault, resource).await {
        let point =
            point.map_err(|e| call("backup:ListRecoveryPointsByBackupVault").sdk_error(e))?;
        if let Some(created) = point.creation_date() {
            newest = Some(newest.map_or(created.secs(), |n| n.max(created.secs())));
        }
    }
    Ok(newest.map(|n| now_secs().saturating_sub(u64::try_from(n).unwrap_or(0))))
}

pub(super) use crate::now_secs;
