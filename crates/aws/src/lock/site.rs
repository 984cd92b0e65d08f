//! Where a topology's apply lock lives, and the calls on its generations' vaults: the
//! [`LockStore`] of the protocol, made of AWS Backup calls.

use std::future::Future;

use aws_sdk_backup::error::{ProvideErrorMetadata, SdkError};
use coffer_spec::{Account, Topology};

use super::LockError;
use super::claim::Claim;
use super::protocol::LockStore;
use crate::error::{AwsError, Call};
use crate::session::{RegionClients, Sessions};

/// The tag naming the claim's unique ID.
const OWNER_TAG: &str = "coffer:lock-owner";
const EXPIRES_TAG: &str = "coffer:lock-expires";
/// Who made the claim, for people: `user@host pid N`.
const HOLDER_TAG: &str = "coffer:lock-holder";
/// When the holder gave the claim back (Unix seconds).
const RELEASED_TAG: &str = "coffer:lock-released";

/// The error code of a call on a vault that does not exist.
const NOT_FOUND: &str = "ResourceNotFoundException";
/// The error code of a create whose name is taken.
const EXISTS: &str = "AlreadyExistsException";

/// The longest lock name: a vault name has at most 50 characters, and `-<generation>` takes up
/// to 12 of them.
const BASE_MAX: usize = 38;

/// The lock's name for a topology, to which `-<generation>` is added for each generation's
/// vault: `coffer-lock-<name>`, or for long names a prefix and a hash of the whole name.
pub fn lock_name(topology: &Topology) -> String {
    let name = format!("coffer-lock-{}", topology.name);
    if name.len() <= BASE_MAX {
        return name;
    }
    let hash = topology
        .name
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    format!("{}-{:08x}", &name[..BASE_MAX - 9], hash & 0xffff_ffff)
}

/// The generation a vault named `vault` is of the lock `base`, if it is one: `<base>-<g>`
/// with `g` written as Coffer writes it (no sign, no leading zero).
fn generation_of(base: &str, vault: &str) -> Option<u64> {
    let rest = vault.strip_prefix(base)?.strip_prefix('-')?;
    let generation: u64 = rest.parse().ok()?;
    (generation.to_string() == rest).then_some(generation)
}

/// What [`LockSite::break_claim`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broken {
    /// The claim was superseded by a released generation: the lock is free.
    Broken,
    /// The lock was released (or broken) by someone else meanwhile: nothing to do.
    Gone,
    /// Another claim holds the lock now; it was left alone.
    Changed(Claim),
    /// The vault carries no Coffer lock tags: not a lock Coffer made; left alone.
    NotALock,
}

/// Where a topology's apply lock lives: the vaults `coffer-lock-<topology>-<generation>` in
/// the organization's management account (or the topology's first account), in that
/// account's first region.
#[derive(Clone)]
pub struct LockSite {
    /// The lock's name: each generation's vault is `<vault>-<generation>`.
    pub vault: String,
    pub account: Account,
    pub region: String,
    clients: RegionClients,
}

impl LockSite {
    /// Where the apply lock of `topology` lives.
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

    /// The name of generation `generation`'s vault.
    pub fn vault_name(&self, generation: u64) -> String {
        format!("{}-{generation}", self.vault)
    }

    pub(super) fn call(&self, operation: &str) -> Call {
        Call::new(
            &self.account,
            &self.region,
            &format!("backup:{operation} (apply lock)"),
        )
        .endpoint(self.clients.endpoint.as_deref())
    }

    /// What `sent`, the call `operation` on a lock vault, answered; `None` when it found no
    /// such vault.
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

    /// The highest generation and its claim: the lock's state; `None` when no generation
    /// exists (the lock was never taken, or its vaults were deleted by hand).
    pub async fn current(&self) -> Result<Option<(u64, Claim)>, AwsError> {
        for _ in 0..40 {
            let Some(generation) = self.generations().await?.into_iter().max() else {
                return Ok(None);
            };
            // `None`: cleaned up between the two calls by the winner of a newer generation, or
            // deleted and still listed while the deletion propagates.
            if let Some(claim) = self.claim(generation).await? {
                return Ok(Some((generation, claim)));
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        Ok(None)
    }

    /// The ARN of generation `generation`'s vault; `None` when it does not exist.
    async fn arn(&self, generation: u64) -> Result<Option<String>, AwsError> {
        let sent = self.clients.backup.describe_backup_vault();
        let sent = sent.backup_vault_name(self.vault_name(generation)).send();
        let described = self.unless_gone("DescribeBackupVault", sent).await?;
        Ok(described.map(|d| d.backup_vault_arn().unwrap_or_default().to_string()))
    }

    /// Sets tag `key` of generation `generation`'s vault to `value`; `false` when it does not
    /// exist.
    async fn tag(&self, generation: u64, key: &str, value: String) -> Result<bool, AwsError> {
        let Some(arn) = self.arn(generation).await? else {
            return Ok(false);
        };
        let sent = self.clients.backup.tag_resource().resource_arn(arn);
        let tagged = self.unless_gone("TagResource", sent.tags(key, value).send());
        Ok(tagged.await?.is_some())
    }

    /// Breaks `claim` of generation `generation`, and only it: the lock is read again, and if
    /// that claim is still the highest, generation `generation + 1` is created (the same
    /// atomic step an apply takes to break an expired claim), released at once, and the old
    /// generation deleted. A vault without Coffer's lock tags is never broken.
    pub async fn break_claim(&self, generation: u64, claim: &Claim) -> Result<Broken, AwsError> {
        if claim.owner.is_none() {
            return Ok(Broken::NotALock);
        }
        match self.current().await? {
            None => return Ok(Broken::Gone),
            Some((g, now)) if g == generation && now.owner == claim.owner => {}
            Some((_, now)) if now.released.is_some() => return Ok(Broken::Gone),
            Some((_, now)) if now.owner.is_none() => return Ok(Broken::NotALock),
            Some((_, now)) => return Ok(Broken::Changed(now)),
        }
        let breaker = super::claim::new_owner("unlock");
        let at = super::claim::now_secs();
        let mine = Claim {
            owner: Some(breaker),
            holder: Some(super::claim::holder_name()),
            since: Some(at),
            expires: Some(at),
            released: Some(at),
        };
        if !self.create(generation + 1, &mine).await? {
            return Ok(match self.current().await? {
                Some((_, now)) if now.released.is_none() => Broken::Changed(now),
                _ => Broken::Gone,
            });
        }
        self.delete(generation).await?;
        Ok(Broken::Broken)
    }

    /// Generation `generation`, claimed by `claim`, holds the lock: the error when the wait is
    /// over.
    pub(super) fn held(&self, generation: u64, claim: &Claim) -> LockError {
        LockError::Held {
            vault: self.vault_name(generation),
            account: self.account.id.clone(),
            region: self.region.clone(),
            claim: claim.to_string(),
        }
    }

    /// The name of generation `generation` is still taken by a deleted vault: the error when
    /// the wait is over.
    pub(super) fn deleting(&self, generation: u64) -> LockError {
        LockError::Deleting {
            vault: self.vault_name(generation),
            account: self.account.id.clone(),
            region: self.region.clone(),
        }
    }
}

impl LockStore for LockSite {
    async fn generations(&self) -> Result<Vec<u64>, AwsError> {
        let mut generations = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let sent = self.clients.backup.list_backup_vaults().max_results(1000);
            let listed = sent
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| self.call("ListBackupVaults").sdk_error(e))?;
            generations.extend(
                listed
                    .backup_vault_list()
                    .iter()
                    .filter_map(|v| generation_of(&self.vault, v.backup_vault_name()?)),
            );
            match listed.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(generations),
            }
        }
    }

    async fn claim(&self, generation: u64) -> Result<Option<Claim>, AwsError> {
        let backup = &self.clients.backup;
        let sent = backup
            .describe_backup_vault()
            .backup_vault_name(self.vault_name(generation));
        let Some(described) = self.unless_gone("DescribeBackupVault", sent.send()).await? else {
            return Ok(None);
        };
        let arn = described.backup_vault_arn().unwrap_or_default();
        let since = described
            .creation_date()
            .and_then(|d| u64::try_from(d.secs()).ok());
        let sent = backup.list_tags().resource_arn(arn).send();
        // `None`: deleted between the two calls.
        let Some(listed) = self.unless_gone("ListTags", sent).await? else {
            return Ok(None);
        };
        let tag = |key: &str| listed.tags().and_then(|t| t.get(key)).cloned();
        Ok(Some(Claim {
            owner: tag(OWNER_TAG),
            holder: tag(HOLDER_TAG),
            since,
            expires: tag(EXPIRES_TAG).and_then(|e| e.parse().ok()),
            released: tag(RELEASED_TAG).and_then(|e| e.parse().ok()),
        }))
    }

    async fn create(&self, generation: u64, claim: &Claim) -> Result<bool, AwsError> {
        let owner = claim.owner.clone().unwrap_or_default();
        let request_id: String = format!("{generation}-{owner}")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(50)
            .collect();
        let mut sent = self
            .clients
            .backup
            .create_backup_vault()
            .backup_vault_name(self.vault_name(generation))
            .backup_vault_tags(OWNER_TAG, owner)
            .backup_vault_tags(HOLDER_TAG, claim.holder.clone().unwrap_or_default())
            .backup_vault_tags(EXPIRES_TAG, claim.expires.unwrap_or(0).to_string())
            .creator_request_id(request_id);
        if let Some(at) = claim.released {
            sent = sent.backup_vault_tags(RELEASED_TAG, at.to_string());
        }
        match sent.send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                let error = self.call("CreateBackupVault").sdk_error(e);
                if error.code.as_deref() == Some(EXISTS) {
                    Ok(false)
                } else {
                    Err(error)
                }
            }
        }
    }

    async fn extend(&self, generation: u64, expires: u64) -> Result<bool, AwsError> {
        self.tag(generation, EXPIRES_TAG, expires.to_string()).await
    }

    async fn release(&self, generation: u64, at: u64) -> Result<bool, AwsError> {
        self.tag(generation, RELEASED_TAG, at.to_string()).await
    }

    async fn delete(&self, generation: u64) -> Result<bool, AwsError> {
        let sent = self.clients.backup.delete_backup_vault();
        let deleted = sent.backup_vault_name(self.vault_name(generation)).send();
        Ok(self
            .unless_gone("DeleteBackupVault", deleted)
            .await?
            .is_some())
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
        assert_eq!(long_a.len(), BASE_MAX, "{long_a}");
        let last = format!("{long_a}-{}", u64::MAX / 1_000_000_000);
        assert!(coffer_spec::aws_limits::vault_name(&last).is_ok(), "{last}");
        assert_ne!(long_a, long_b);
    }

    #[test]
    fn only_the_lock_s_own_generations_are_read_from_vault_names() {
        let base = "coffer-lock-seed";
        assert_eq!(generation_of(base, "coffer-lock-seed-7"), Some(7));
        assert_eq!(
            generation_of(base, "coffer-lock-seed-12345678901"),
            Some(12_345_678_901)
        );
        for other in [
            "coffer-lock-seed",
            "coffer-lock-seed-",
            "coffer-lock-seed-07",
            "coffer-lock-seed-+7",
            "coffer-lock-seed-1-7",
            "coffer-lock-seeds-7",
            "central-vault",
        ] {
            assert_eq!(generation_of(base, other), None, "{other}");
        }
    }
}
