//! The apply lock: one apply of a topology at a time, across machines.
//!
//! The lock is a claim on a unique name: an empty AWS Backup vault `coffer-lock-<topology>`
//! in the organization's management account (or the topology's first account). Creating a
//! vault whose name exists fails, so exactly one apply wins; the others wait. The vault's
//! tags name the holder and when the claim expires, so a lock left by a killed apply is
//! broken once it is stale. See `docs/concurrency.md`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use coffer_spec::Topology;

use crate::error::{AwsError, Call};
use crate::session::{RegionClients, Sessions};

const OWNER_TAG: &str = "coffer:lock-owner";
const EXPIRES_TAG: &str = "coffer:lock-expires";

/// How long a claim holds before another apply may break it.
pub const LOCK_TTL: Duration = Duration::from_secs(30 * 60);

/// A held apply lock; [`ApplyLock::release`] gives it back.
pub struct ApplyLock {
    clients: RegionClients,
    call: Call,
    pub vault_name: String,
    owner: String,
}

/// Why the lock could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another apply of this topology holds the lock (vault `{vault}` in account {account}, held by {owner}, until {expires}); wait for it to finish, or if no apply is running, delete that empty vault"
    )]
    Held {
        vault: String,
        account: String,
        owner: String,
        expires: String,
    },
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("the topology has no account to hold the apply lock in")]
    NoAccount,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The lock vault's name for a topology.
pub fn lock_name(topology: &Topology) -> String {
    let mut name: String = format!("coffer-lock-{}", topology.name);
    name.truncate(50);
    name
}

impl ApplyLock {
    /// Claims the lock, waiting up to `wait` for another apply to finish.
    pub async fn acquire(
        topology: &Topology,
        sessions: &Sessions,
        wait: Duration,
    ) -> Result<ApplyLock, LockError> {
        let account = topology
            .organization
            .as_ref()
            .and_then(|o| topology.account(&o.management_account))
            .or_else(|| topology.accounts.values().next())
            .ok_or(LockError::NoAccount)?;
        let region = account
            .regions
            .iter()
            .next()
            .cloned()
            .unwrap_or_else(|| "us-east-1".to_string());
        let session = sessions.account(&account.id).ok_or(LockError::NoAccount)?;
        let clients = session.region(&region).await;
        let vault_name = lock_name(topology);
        let owner = format!(
            "pid-{}-at-{}-{}",
            std::process::id(),
            now_secs(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        );
        let call = Call::new(
            &session.account,
            &region,
            "backup:CreateBackupVault (apply lock)",
        );
        let started = std::time::Instant::now();
        loop {
            let expires = (now_secs() + LOCK_TTL.as_secs()).to_string();
            let created = clients
                .backup
                .create_backup_vault()
                .backup_vault_name(&vault_name)
                .backup_vault_tags(OWNER_TAG, &owner)
                .backup_vault_tags(EXPIRES_TAG, &expires)
                .creator_request_id(
                    owner
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                        .take(50)
                        .collect::<String>(),
                )
                .send()
                .await;
            let error = match created {
                Ok(_) => {
                    return Ok(ApplyLock {
                        clients,
                        call,
                        vault_name,
                        owner,
                    });
                }
                Err(e) => call.sdk_error(e),
            };
            if error.code.as_deref() != Some("AlreadyExistsException") {
                return Err(error.into());
            }
            let (holder, holder_expires) = Self::holder(&clients, &vault_name, &call).await?;
            let expired = holder_expires.parse::<u64>().is_ok_and(|t| t < now_secs());
            if expired {
                let _ = clients
                    .backup
                    .delete_backup_vault()
                    .backup_vault_name(&vault_name)
                    .send()
                    .await;
                continue;
            }
            if started.elapsed() >= wait {
                return Err(LockError::Held {
                    vault: vault_name,
                    account: account.id.clone(),
                    owner: holder,
                    expires: holder_expires,
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn holder(
        clients: &RegionClients,
        vault_name: &str,
        call: &Call,
    ) -> Result<(String, String), AwsError> {
        let described = match clients
            .backup
            .describe_backup_vault()
            .backup_vault_name(vault_name)
            .send()
            .await
        {
            Ok(d) => d,
            // Released between our create and this read: report an expired claim so the caller retries at once.
            Err(_) => return Ok(("(released)".into(), "0".into())),
        };
        let arn = described.backup_vault_arn().unwrap_or_default().to_string();
        let tags = clients
            .backup
            .list_tags()
            .resource_arn(&arn)
            .send()
            .await
            .map_err(|e| call.sdk_error(e))?;
        let tag = |k: &str| {
            tags.tags()
                .and_then(|t| t.get(k))
                .cloned()
                .unwrap_or_else(|| "(unknown)".into())
        };
        Ok((tag(OWNER_TAG), tag(EXPIRES_TAG)))
    }

    /// Gives the lock back (only if this apply still holds it).
    pub async fn release(self) -> Result<(), AwsError> {
        let (holder, _) = Self::holder(&self.clients, &self.vault_name, &self.call).await?;
        if holder == self.owner {
            self.clients
                .backup
                .delete_backup_vault()
                .backup_vault_name(&self.vault_name)
                .send()
                .await
                .map_err(|e| self.call.sdk_error(e))?;
        }
        Ok(())
    }
}
