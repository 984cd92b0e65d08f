//! The apply lock: one apply of a topology at a time, across machines.
//!
//! The lock is a claim on a unique name: an empty AWS Backup vault `coffer-lock-<topology>`
//! in the organization's management account (or the topology's first account). Creating a
//! vault whose name exists fails, so exactly one apply wins; the others wait. The vault's
//! tags name the holder and when the claim expires, so a lock left by a killed apply is
//! broken once it is stale; `coffer unlock` shows the claim and, with `--force`, breaks it. See
//! `docs/operations.md` (concurrency) and `docs/decisions.md`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use coffer_apply::Cancel;
use coffer_spec::{Account, Topology};

use crate::error::{AwsError, Call};
use crate::session::{RegionClients, Sessions};

const OWNER_TAG: &str = "coffer:lock-owner";
const EXPIRES_TAG: &str = "coffer:lock-expires";
/// Who made the claim, for people: `user@host pid N`.
const HOLDER_TAG: &str = "coffer:lock-holder";

/// How long a claim holds before another apply may break it.
pub const LOCK_TTL: Duration = Duration::from_secs(30 * 60);

/// A held apply lock; [`ApplyLock::release`] gives it back.
pub struct ApplyLock {
    site: LockSite,
    pub vault_name: String,
    vault_arn: String,
    owner: String,
}

/// How often a held claim is extended while the apply runs.
pub const RENEW_EVERY: Duration = Duration::from_secs(5 * 60);

/// Environment variable for tests: renew the claim every this many seconds instead.
pub const RENEW_ENV: &str = "COFFER_TEST_LOCK_RENEW_SECONDS";

/// How often a waiting apply says whom it waits for.
pub const WAIT_REPORT_EVERY: Duration = Duration::from_secs(5);

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
        "another apply of this topology holds the lock (vault `{vault}` in account {account}, {region}, held by {claim}); wait for it to finish, or if no apply is running, break it with `coffer unlock --force`"
    )]
    Held {
        vault: String,
        account: String,
        region: String,
        claim: String,
    },
    #[error(
        "the lock vault `{vault}` in account {account}, {region} was deleted but AWS has not freed its name yet (its deletion is still propagating); run the command again in a minute"
    )]
    Deleting {
        vault: String,
        account: String,
        region: String,
    },
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("the topology has no account to hold the apply lock in")]
    NoAccount,
    #[error("interrupted while waiting for the apply lock")]
    Interrupted,
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

/// Unix seconds as an RFC 3339 UTC timestamp.
fn timestamp(secs: i64) -> String {
    aws_sdk_backup::primitives::DateTime::from_secs(secs)
        .fmt(aws_sdk_backup::primitives::DateTimeFormat::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

/// A span of time, roughly: `42s`, `12m05s`, `3h05m`.
fn span(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

/// `at` relative to `now`: `3m10s ago`, `in 27m`.
fn relative(at: u64, now: u64) -> String {
    if at <= now {
        format!("{} ago", span(now - at))
    } else {
        format!("in {}", span(at - now))
    }
}

/// Who this process is, for people reading the lock: `user@host pid N`, in the characters
/// AWS allows in tag values.
fn holder_name() -> String {
    let user = ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    format!("{user}@{host} pid {}", std::process::id())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect()
}

/// A claim on the apply lock, as its vault's tags and creation date say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The claim's unique ID (`coffer:lock-owner`: process ID and start time); `None` when
    /// the vault does not carry Coffer's lock tags.
    pub owner: Option<String>,
    /// Who made it (`coffer:lock-holder`: `user@host pid N`); claims of older versions of
    /// Coffer do not say.
    pub holder: Option<String>,
    /// When it was made (the vault's creation), in Unix seconds.
    pub since: Option<u64>,
    /// When it expires, in Unix seconds: a later apply breaks it then.
    pub expires: Option<u64>,
}

impl Claim {
    /// Whether its expiry has passed (a claim without a readable expiry never expires).
    pub fn expired(&self) -> bool {
        self.expires.is_some_and(|t| t < now_secs())
    }

    /// Who holds it: the holder and the claim ID.
    pub fn who(&self) -> String {
        let owner = self.owner.as_deref().unwrap_or("(no Coffer lock tags)");
        match &self.holder {
            Some(holder) => format!("{holder} ({owner})"),
            None => owner.to_string(),
        }
    }

    /// When it was made, RFC 3339.
    pub fn since_timestamp(&self) -> Option<String> {
        self.since.map(timestamp_u)
    }

    /// When it expires, RFC 3339.
    pub fn expires_timestamp(&self) -> Option<String> {
        self.expires.map(timestamp_u)
    }

    /// When it was made, with how long ago: `2025-11-28T10:00:00Z (3m10s ago)`.
    pub fn since_text(&self) -> String {
        self.since.map_or_else(
            || "(unknown)".into(),
            |t| format!("{} ({})", timestamp_u(t), relative(t, now_secs())),
        )
    }

    /// When it expires, with how long from now: `2025-11-28T10:30:00Z (in 26m50s)`.
    pub fn expires_text(&self) -> String {
        self.expires.map_or_else(
            || "(unknown)".into(),
            |t| {
                let now = now_secs();
                if t < now {
                    format!("{} (expired {} ago)", timestamp_u(t), span(now - t))
                } else {
                    format!("{} ({})", timestamp_u(t), relative(t, now))
                }
            },
        )
    }
}

fn timestamp_u(secs: u64) -> String {
    timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
}

impl std::fmt::Display for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, since {}, until {}",
            self.who(),
            self.since_text(),
            self.expires_text()
        )
    }
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

    fn call(&self, operation: &str) -> Call {
        Call::new(
            &self.account,
            &self.region,
            &format!("backup:{operation} (apply lock)"),
        )
        .endpoint(self.clients.endpoint.as_deref())
    }

    /// The claim that holds the lock now; `None` when the lock is free.
    pub async fn claim(&self) -> Result<Option<Claim>, AwsError> {
        let described = match self
            .clients
            .backup
            .describe_backup_vault()
            .backup_vault_name(&self.vault)
            .send()
            .await
        {
            Ok(d) => d,
            Err(e) => {
                let error = self.call("DescribeBackupVault").sdk_error(e);
                if error.code.as_deref() == Some("ResourceNotFoundException") {
                    return Ok(None);
                }
                return Err(error);
            }
        };
        let arn = described.backup_vault_arn().unwrap_or_default().to_string();
        let since = described
            .creation_date()
            .and_then(|d| u64::try_from(d.secs()).ok());
        let tags = match self
            .clients
            .backup
            .list_tags()
            .resource_arn(&arn)
            .send()
            .await
        {
            Ok(tags) => tags,
            Err(e) => {
                let error = self.call("ListTags").sdk_error(e);
                // Released between the two calls.
                if error.code.as_deref() == Some("ResourceNotFoundException") {
                    return Ok(None);
                }
                return Err(error);
            }
        };
        let tag = |k: &str| tags.tags().and_then(|t| t.get(k)).cloned();
        Ok(Some(Claim {
            owner: tag(OWNER_TAG),
            holder: tag(HOLDER_TAG),
            since,
            expires: tag(EXPIRES_TAG).and_then(|e| e.parse().ok()),
        }))
    }

    /// Deletes the lock vault; "not found" counts as done.
    async fn delete(&self) -> Result<(), AwsError> {
        let deleted = self
            .clients
            .backup
            .delete_backup_vault()
            .backup_vault_name(&self.vault)
            .send()
            .await;
        if let Err(e) = deleted {
            let error = self.call("DeleteBackupVault").sdk_error(e);
            if error.code.as_deref() != Some("ResourceNotFoundException") {
                return Err(error);
            }
        }
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
}

impl ApplyLock {
    /// Claims the lock, waiting up to `wait` for another apply to finish.
    pub async fn acquire(
        topology: &Topology,
        sessions: &Sessions,
        wait: Duration,
    ) -> Result<ApplyLock, LockError> {
        Self::acquire_until(topology, sessions, wait, &Cancel::new(), &|_, _, _| {}).await
    }

    /// [`ApplyLock::acquire`], calling `on_wait` with the holder and the time waited when it
    /// first finds the lock held and then every [`WAIT_REPORT_EVERY`], and giving up with
    /// [`LockError::Interrupted`] once `cancel` is cancelled (between calls, never in the middle
    /// of a claim: a claim made is returned, for the caller to release).
    pub async fn acquire_until(
        topology: &Topology,
        sessions: &Sessions,
        wait: Duration,
        cancel: &Cancel,
        on_wait: &(dyn Fn(&LockSite, &Claim, Duration) + Send + Sync),
    ) -> Result<ApplyLock, LockError> {
        let site = LockSite::of(topology, sessions).await?;
        let owner = format!(
            "pid-{}-at-{}-{}",
            std::process::id(),
            now_secs(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        );
        let holder = holder_name();
        let started = std::time::Instant::now();
        let mut reported: Option<std::time::Instant> = None;
        loop {
            if cancel.is_cancelled() {
                return Err(LockError::Interrupted);
            }
            let expires = (now_secs() + LOCK_TTL.as_secs()).to_string();
            let created = site
                .clients
                .backup
                .create_backup_vault()
                .backup_vault_name(&site.vault)
                .backup_vault_tags(OWNER_TAG, &owner)
                .backup_vault_tags(EXPIRES_TAG, &expires)
                .backup_vault_tags(HOLDER_TAG, &holder)
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
                        vault_name: site.vault.clone(),
                        site,
                        vault_arn,
                        owner,
                    });
                }
                Err(e) => site.call("CreateBackupVault").sdk_error(e),
            };
            if error.code.as_deref() != Some("AlreadyExistsException") {
                return Err(error.into());
            }
            let Some(claim) = site.claim().await? else {
                // Released between our create and this read, or deleted and the name not yet
                // free again (AWS propagates a vault's deletion): try again shortly, never in a
                // tight loop, and not past the wait.
                if started.elapsed() >= wait {
                    return Err(LockError::Deleting {
                        vault: site.vault.clone(),
                        account: site.account.id.clone(),
                        region: site.region.clone(),
                    });
                }
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(250)) => {}
                    () = cancel.cancelled() => return Err(LockError::Interrupted),
                }
                continue;
            };
            if claim.expired() {
                // Break the stale claim only if it still names the same holder, so two waiters
                // do not delete each other's fresh claim. A vault without Coffer's lock tags
                // is never deleted: wait for it as for a held lock.
                if site.break_claim(&claim).await? != Broken::NotALock {
                    continue;
                }
            }
            if started.elapsed() >= wait {
                return Err(LockError::Held {
                    vault: site.vault.clone(),
                    account: site.account.id.clone(),
                    region: site.region.clone(),
                    claim: claim.to_string(),
                });
            }
            if reported.is_none_or(|at| at.elapsed() >= WAIT_REPORT_EVERY) {
                on_wait(&site, &claim, started.elapsed());
                reported = Some(std::time::Instant::now());
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                () = cancel.cancelled() => return Err(LockError::Interrupted),
            }
        }
    }

    /// Where this lock lives.
    pub fn site(&self) -> &LockSite {
        &self.site
    }

    /// Extends the claim by [`LOCK_TTL`] every [`RENEW_EVERY`] for as long as the returned
    /// task runs, so an apply longer than the TTL keeps its lock. Abort the task when done.
    pub fn keep_alive(&self) -> tokio::task::JoinHandle<()> {
        let clients = self.site.clients.clone();
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
        let claim = self.site.claim().await?;
        if claim.is_some_and(|c| c.owner.as_deref() == Some(self.owner.as_str())) {
            self.site.delete().await?;
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
        assert!(
            coffer_spec::aws_limits::vault_name(&long_a).is_ok(),
            "{long_a}"
        );
        assert_ne!(long_a, long_b);
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn times_read_for_people() {
        assert_eq!(span(42), "42s");
        assert_eq!(span(725), "12m05s");
        assert_eq!(span(3 * 3600 + 5 * 60 + 9), "3h05m");
        assert_eq!(relative(100, 290), "3m10s ago");
        assert_eq!(relative(1000, 10), "in 16m30s");
        let claim = Claim {
            owner: Some("pid-7-at-0-1".into()),
            holder: Some("alice@ci pid 7".into()),
            since: Some(0),
            expires: Some(1800),
        };
        assert!(claim.expired());
        assert_eq!(claim.who(), "alice@ci pid 7 (pid-7-at-0-1)");
        let shown = claim.to_string();
        assert!(
            shown.starts_with("alice@ci pid 7 (pid-7-at-0-1), since 1970-01-01T00:00:00Z ("),
            "{shown}"
        );
        assert!(
            shown.contains("until 1970-01-01T00:30:00Z (expired "),
            "{shown}"
        );
        let fresh = Claim {
            owner: None,
            holder: None,
            since: None,
            expires: None,
        };
        assert!(!fresh.expired());
        assert_eq!(
            fresh.to_string(),
            "(no Coffer lock tags), since (unknown), until (unknown)"
        );
    }

    #[test]
    fn the_holder_is_named_in_characters_tags_allow() {
        let name = holder_name();
        assert!(name.contains('@') && name.contains(" pid "), "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c)),
            "{name}"
        );
    }
}
