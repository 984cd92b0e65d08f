//! The apply lock: one apply of a topology at a time, across machines.
//!
//! The lock is a claim on a unique name: an empty AWS Backup vault `coffer-lock-<topology>`
//! in the organization's management account (or the topology's first account). Creating a
//! vault whose name exists fails, so exactly one apply wins; the others wait. The vault's
//! tags name the holder and when the claim expires, so a lock left by a killed apply is
//! broken once it is stale; `coffer unlock` shows the claim and, with `--force`, breaks it. See
//! `docs/operations.md` (concurrency) and `docs/decisions.md`.

mod claim;
mod site;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use coffer_apply::Cancel;
use coffer_spec::Topology;

pub use claim::Claim;
pub use site::{Broken, LockSite, lock_name};

use self::claim::{holder_name, now_secs};
use crate::error::AwsError;
use crate::session::Sessions;

/// How long a claim holds before another apply may break it.
pub const LOCK_TTL: Duration = Duration::from_secs(30 * 60);

/// How often a held claim is extended while the apply runs.
pub const RENEW_EVERY: Duration = Duration::from_secs(5 * 60);

/// Environment variable read only in a build with the `test-hooks` feature: renew the claim
/// every this many seconds instead of [`RENEW_EVERY`].
#[cfg(feature = "test-hooks")]
pub const RENEW_ENV: &str = "COFFER_TEST_LOCK_RENEW_SECONDS";

/// How often a waiting apply says whom it waits for.
pub const WAIT_REPORT_EVERY: Duration = Duration::from_secs(5);

/// How often the held claim is extended: [`RENEW_EVERY`], or with the `test-hooks` feature
/// [`RENEW_ENV`] seconds when that is set (above 0, below an hour).
fn renew_every() -> Duration {
    #[cfg(feature = "test-hooks")]
    {
        let every = std::env::var(RENEW_ENV)
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| *s > 0.0 && *s < 3600.0);
        if let Some(every) = every {
            return Duration::from_secs_f64(every);
        }
    }
    RENEW_EVERY
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

/// A held apply lock; [`ApplyLock::release`] gives it back.
pub struct ApplyLock {
    site: LockSite,
    pub vault_name: String,
    vault_arn: String,
    owner: String,
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
        let started = Instant::now();
        let mut reported: Option<Instant> = None;
        loop {
            if cancel.is_cancelled() {
                return Err(LockError::Interrupted);
            }
            let error = match site.create(&owner, &holder).await {
                Ok(vault_arn) => {
                    return Ok(ApplyLock {
                        vault_name: site.vault.clone(),
                        site,
                        vault_arn,
                        owner,
                    });
                }
                Err(error) => error,
            };
            if error.code.as_deref() != Some("AlreadyExistsException") {
                return Err(error.into());
            }
            let pause = match site.claim().await? {
                // Released between our create and this read, or deleted and the name not yet
                // free again (AWS propagates a vault's deletion): try again shortly, never in a
                // tight loop, and not past the wait.
                None if started.elapsed() >= wait => return Err(site.deleting()),
                None => Duration::from_millis(250),
                Some(claim) => {
                    // Break the stale claim only if it still names the same holder, so two
                    // waiters do not delete each other's fresh claim. A vault without Coffer's
                    // lock tags is never deleted: wait for it as for a held lock.
                    if claim.expired() && site.break_claim(&claim).await? != Broken::NotALock {
                        continue;
                    }
                    if started.elapsed() >= wait {
                        return Err(site.held(&claim));
                    }
                    if reported.is_none_or(|at| at.elapsed() >= WAIT_REPORT_EVERY) {
                        on_wait(&site, &claim, started.elapsed());
                        reported = Some(Instant::now());
                    }
                    Duration::from_millis(500)
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
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
        let site = self.site.clone();
        let arn = self.vault_arn.clone();
        let owner = self.owner.clone();
        let every = renew_every();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                // Extend only our own claim; a failed extension leaves the claim to expire.
                if !site.extend(&arn, &owner).await {
                    return;
                }
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
