//! The apply lock: one apply of a topology at a time, across machines.
//!
//! The lock is a claim on a unique name: an empty AWS Backup vault `coffer-lock-<topology>`
//! in the organization's management account (or the topology's first account). Creating a
//! vault whose name exists fails, so exactly one apply wins; the others wait. The vault's
//! tags name the holder and when the claim expires, so a lock left by a killed apply is
//! broken once it is stale. See `docs/operations.md` (concurrency) and `docs/decisions.md`.

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
    vault_arn: String,
    owner: String,
}

/// How often a held claim is extended while the apply runs.
pub const RENEW_EVERY: Duration = Duration::from_secs(5 * 60);

/// Environment variable for tests: renew the claim every this many seconds instead.
pub const RENEW_ENV: &str = "COFFER_TEST_LOCK_RENEW_SECONDS";

fn renew_every() -> Duration {
    std::env::var(RENEW_ENV)
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| *s > 0.0 && *s < 3600.0)
        .map_or(RENEW_EVERY, Duration::from_secs_f64)
}

/// Why the lock could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another apply of this topology holds the lock (vault `{vault}` in account {account}, {region}, held by {owner}, until {expires}); wait for it to finish, or if no apply is running, delete that empty vault"
    )]
    Held {
        vault: String,
        account: String,
        region: String,
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

/// The lock vault's name for a topology: `coffer-lock-<name>`, or for long names a prefix and
/// a hash of the whole name (vault names have at most 50 characters).
pub fn lock_name(topology: &Topology) -> String {
    let name = format!("coffer-lock-{}", topology.name);
    if name.len() <= 50 {
        return name;
    }
    let hash = topology
        .name
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    format!("{}-{:08x}", &name[..41], hash & 0xffff_ffff)
}

fn when(epoch: &str) -> String {
    epoch
        .parse::<i64>()
        .ok()
        .and_then(|secs| {
            aws_sdk_backup::primitives::DateTime::from_secs(secs)
                .fmt(aws_sdk_backup::primitives::DateTimeFormat::DateTime)
                .ok()
        })
        .unwrap_or_else(|| epoch.to_string())
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
                Ok(created) => {
                    let vault_arn = created.backup_vault_arn().unwrap_or_default().to_string();
                    return Ok(ApplyLock {
                        clients,
                        call,
                        vault_name,
                        vault_arn,
                        owner,
                    });
                }
                Err(e) => call.sdk_error(e),
            };
            if error.code.as_deref() != Some("AlreadyExistsException") {
                return Err(error.into());
            }
            let Some((holder, holder_expires)) = Self::holder(&clients, &vault_name, &call).await?
            else {
                // Released between our create and this read: try again at once.
                continue;
            };
            let expired = holder_expires.parse::<u64>().is_ok_and(|t| t < now_secs());
            if expired {
                // Break the stale claim only if it still names the same holder, so two waiters
                // do not delete each other's fresh claim.
                let still = Self::holder(&clients, &vault_name, &call).await?;
                if still.as_ref().is_some_and(|(h, _)| *h == holder) {
                    let deleted = clients
                        .backup
                        .delete_backup_vault()
                        .backup_vault_name(&vault_name)
                        .send()
                        .await;
                    if let Err(e) = deleted {
                        let error = call.sdk_error(e);
                        if error.code.as_deref() != Some("ResourceNotFoundException") {
                            return Err(error.into());
                        }
                    }
                }
                continue;
            }
            if started.elapsed() >= wait {
                return Err(LockError::Held {
                    vault: vault_name,
                    account: account.id.clone(),
                    region,
                    owner: holder,
                    expires: when(&holder_expires),
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn holder(
        clients: &RegionClients,
        vault_name: &str,
        call: &Call,
    ) -> Result<Option<(String, String)>, AwsError> {
        let described = match clients
            .backup
            .describe_backup_vault()
            .backup_vault_name(vault_name)
            .send()
            .await
        {
            Ok(d) => d,
            Err(e) => {
                let error = call.sdk_error(e);
                if error.code.as_deref() == Some("ResourceNotFoundException") {
                    return Ok(None);
                }
                return Err(error);
            }
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
        Ok(Some((tag(OWNER_TAG), tag(EXPIRES_TAG))))
    }

    /// Extends the claim by [`LOCK_TTL`] every [`RENEW_EVERY`] for as long as the returned
    /// task runs, so an apply longer than the TTL keeps its lock. Abort the task when done.
    pub fn keep_alive(&self) -> tokio::task::JoinHandle<()> {
        let clients = self.clients.clone();
        let arn = self.vault_arn.clone();
        let owner = self.owner.clone();
        let every = renew_every();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let expires = (now_secs() + LOCK_TTL.as_secs()).to_string();
                // Extend only our own claim; a failed extension leaves the claim to expire.
                let tags = clients.backup.list_tags().resource_arn(&arn).send().await;
                let ours =
                    tags.is_ok_and(|t| t.tags().and_then(|t| t.get(OWNER_TAG)) == Some(&owner));
                if !ours {
                    return;
                }
                let _ = clients
                    .backup
                    .tag_resource()
                    .resource_arn(&arn)
                    .tags(EXPIRES_TAG, expires)
                    .send()
                    .await;
            }
        })
    }

    /// Gives the lock back (only if this apply still holds it).
    pub async fn release(self) -> Result<(), AwsError> {
        let holder = Self::holder(&self.clients, &self.vault_name, &self.call).await?;
        if holder.is_some_and(|(holder, _)| holder == self.owner) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> Topology {
        let text = format!("version: 1\nname: {name}\naccounts:\n  a: {{id: \"111122223333\"}}\n");
        coffer_spec::load_str(&text).topology.expect("loads")
    }

    #[test]
    fn lock_names_are_valid_vault_names_and_distinct() {
        assert_eq!(lock_name(&named("seed")), "coffer-lock-seed");
        let long_a = lock_name(&named(&format!("{}-a", "x".repeat(60))));
        let long_b = lock_name(&named(&format!("{}-b", "x".repeat(60))));
        assert!(coffer_spec::aws::vault_name(&long_a).is_ok(), "{long_a}");
        assert_ne!(long_a, long_b);
        assert_eq!(when("0"), "1970-01-01T00:00:00Z");
    }
}
