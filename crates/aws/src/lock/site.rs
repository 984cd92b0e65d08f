//! Where a topology's apply lock lives, and the calls on its vault: create it (the claim),
//! read its claim, extend it, delete it.

use std::future::Future;

use aws_sdk_backup::error::{ProvideErrorMetadata, SdkError};
use coffer_spec::{Account, Topology};

use super::claim::{Claim, now_secs};
use super::{LOCK_TTL, LockError};
use crate::error::{AwsError, Call};
use crate::session::{RegionClients, Sessions};

/// The tag naming the claim's unique ID.
const OWNER_TAG: &str = "coffer:lock-owner";
const EXPIRES_TAG: &str = "coffer:lock-expires";
/// Who made the claim, for people: `user@host pid N`.
const HOLDER_TAG: &str = "coffer:lock-holder";

/// The error code of a call on a vault that does not exist.
const NOT_FOUND: &str = "ResourceNotFoundException";

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

/// The expiry of a claim made or extended now, in Unix seconds.
fn expires_from_now() -> String {
    (now_secs() + LOCK_TTL.as_secs()).to_string()
}

/// What [`LockSite::break_claim`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broken {
    /// The claim was deleted.
    Broken,
    /// The lock was released (or broken) by someone else meanwhile: nothing to do.
    Gone,
    /// Another claim holds the lock now; it was left alone.
    Changed(Claim),
    /// The vault carries no Coffer lock tags: not a lock Coffer made; left alone.
    NotALock,
}

/// Where a topology's apply lock lives: the vault `coffer-lock-<topology>` in the
/// organization's management account (or the topology's first account), in that account's
/// first region.
#[derive(Clone)]
pub struct LockSite {
    pub vault: String,
    pub account: Account,
    pub region: String,
    clients: RegionClients,
}

impl LockSite {
    pub async fn of(topology: &Topology, sessions: &Sessions) -> Result<LockSite, LockError> {
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
        Ok(LockSite {
            vault: lock_name(topology),
            account: session.account.clone(),
            region,
            clients,
        })
    }

    pub(super) fn call(&self, operation: &str) -> Call {
        Call::new(
            &self.account,
            &self.region,
            &format!("backup:{operation} (apply lock)"),
        )
        .endpoint(self.clients.endpoint.as_deref())
    }

    /// What `sent`, the call `operation` on the lock vault, answered; `None` when it found no
    /// lock vault.
    async fn unless_gone<T, E, R>(
        &self,
        operation: &str,
        sent: impl Future<Output = Result<T, SdkError<E, R>>>,
    ) -> Result<Option<T>, AwsError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        match sent.await {
            Ok(answer) => Ok(Some(answer)),
            Err(e) => {
                let error = self.call(operation).sdk_error(e);
                if error.code.as_deref() == Some(NOT_FOUND) {
                    Ok(None)
                } else {
                    Err(error)
                }
            }
        }
    }

    /// Claims the lock for `owner` (made by `holder`): creates the lock vault, tagged with
    /// the claim; its ARN. `AlreadyExistsException` when another claim holds it.
    pub(super) async fn create(&self, owner: &str, holder: &str) -> Result<String, AwsError> {
        let created = self
            .clients
            .backup
            .create_backup_vault()
            .backup_vault_name(&self.vault)
            .backup_vault_tags(OWNER_TAG, owner)
            .backup_vault_tags(EXPIRES_TAG, expires_from_now())
            .backup_vault_tags(HOLDER_TAG, holder)
            .creator_request_id(
                owner
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .take(50)
                    .collect::<String>(),
            )
            .send()
            .await
            .map_err(|e| self.call("CreateBackupVault").sdk_error(e))?;
        Ok(created.backup_vault_arn().unwrap_or_default().to_string())
    }

    /// The claim that holds the lock now; `None` when the lock is free.
    pub async fn claim(&self) -> Result<Option<Claim>, AwsError> {
        let backup = &self.clients.backup;
        let sent = backup
            .describe_backup_vault()
            .backup_vault_name(&self.vault);
        let Some(described) = self.unless_gone("DescribeBackupVault", sent.send()).await? else {
            return Ok(None);
        };
        let arn = described.backup_vault_arn().unwrap_or_default();
        let since = described
            .creation_date()
            .and_then(|d| u64::try_from(d.secs()).ok());
        let sent = backup.list_tags().resource_arn(arn).send();
        // `None`: released between the two calls.
        let Some(listed) = self.unless_gone("ListTags", sent).await? else {
            return Ok(None);
        };
        let tag = |key: &str| listed.tags().and_then(|t| t.get(key)).cloned();
        Ok(Some(Claim {
            owner: tag(OWNER_TAG),
            holder: tag(HOLDER_TAG),
            since,
            expires: tag(EXPIRES_TAG).and_then(|e| e.parse().ok()),
        }))
    }

    /// Extends `owner`'s claim on the lock vault `arn` by [`LOCK_TTL`], if it still holds
    /// it; whether it did. A failed extension leaves the claim to expire.
    pub(super) async fn extend(&self, arn: &str, owner: &str) -> bool {
        let expires = expires_from_now();
        let backup = &self.clients.backup;
        let tags = backup.list_tags().resource_arn(arn).send().await;
        let ours = tags.is_ok_and(|t| {
            t.tags().and_then(|t| t.get(OWNER_TAG)).map(String::as_str) == Some(owner)
        });
        if ours {
            let extended = backup
                .tag_resource()
                .resource_arn(arn)
                .tags(EXPIRES_TAG, expires);
            let _ = extended.send().await;
        }
        ours
    }

    /// Deletes the lock vault; "not found" counts as done.
    pub(super) async fn delete(&self) -> Result<(), AwsError> {
        let sent = self.clients.backup.delete_backup_vault();
        let deleted = sent.backup_vault_name(&self.vault).send();
        self.unless_gone("DeleteBackupVault", deleted).await?;
        Ok(())
    }

    /// Breaks `claim`, and only it: the lock is read again and deleted only if the same claim
    /// (the same `coffer:lock-owner`) still holds it. A vault without Coffer's lock tags is
    /// never deleted.
    pub async fn break_claim(&self, claim: &Claim) -> Result<Broken, AwsError> {
        if claim.owner.is_none() {
            return Ok(Broken::NotALock);
        }
        match self.claim().await? {
            None => Ok(Broken::Gone),
            Some(now) if now.owner == claim.owner => {
                self.delete().await?;
                Ok(Broken::Broken)
            }
            Some(now) if now.owner.is_none() => Ok(Broken::NotALock),
            Some(now) => Ok(Broken::Changed(now)),
        }
    }

    /// The lock is held by `claim`: the error when the wait is over.
    pub(super) fn held(&self, claim: &Claim) -> LockError {
        LockError::Held {
            vault: self.vault.clone(),
            account: self.account.id.clone(),
            region: self.region.clone(),
            claim: claim.to_string(),
        }
    }

    /// The lock vault's name is still taken by a deleted vault: the error when the wait is
    /// over.
    pub(super) fn deleting(&self) -> LockError {
        LockError::Deleting {
            vault: self.vault.clone(),
            account: self.account.id.clone(),
            region: self.region.clone(),
        }
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
        assert!(
            coffer_spec::aws_limits::vault_name(&long_a).is_ok(),
            "{long_a}"
        );
        assert_ne!(long_a, long_b);
    }
}
