//! The apply lock: one apply of a topology at a time, across machines.
//!
//! The lock is a chain of claims on unique names: empty AWS Backup vaults
//! `coffer-lock-<topology>-<generation>` in the organization's management account (or the
//! topology's first account). Creating a vault whose name exists fails, so of all the applies
//! that find generation `g` free (released, or expired), exactly one creates `g + 1` and holds
//! the lock; the others wait. The vault's tags name the holder and when the claim expires, so
//! a lock left by a killed apply is taken over once it is stale; `coffer unlock` shows the
//! claim and, with `--force`, breaks it. The protocol is in `protocol.rs`, its model test in
//! `model.rs`. See `docs/operations.md` (concurrency) and `docs/decisions.md`.

mod claim;
#[cfg(test)]
mod model;
mod protocol;
mod site;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use coffer_apply::Cancel;
use coffer_spec::Topology;

pub use claim::Claim;
pub use protocol::Lost;
pub use site::{Broken, LockSite, lock_name};

use self::claim::{holder_name, new_owner, now_secs};
use self::protocol::{Acquire, Hold, Op, Progress, Timing, perform};
use crate::error::AwsError;
use crate::session::Sessions;

/// How long a claim holds before another apply may break it.
pub const LOCK_TTL: Duration = Duration::from_secs(30 * 60);

/// A holder stops starting steps this long before its claim expires, for clocks that disagree.
pub const LOCK_MARGIN: Duration = Duration::from_secs(60);

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

fn timing() -> Timing {
    Timing {
        ttl: LOCK_TTL.as_secs(),
        margin: LOCK_MARGIN.as_secs(),
    }
}

/// A held apply lock; [`ApplyLock::release`] gives it back.
pub struct ApplyLock {
    site: LockSite,
    /// The vault of the generation held.
    pub vault_name: String,
    hold: Arc<Mutex<Hold>>,
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
        let mut machine = Acquire::new(&new_owner("pid"), &holder_name(), timing());
        let started = Instant::now();
        let mut reported: Option<Instant> = None;
        loop {
            if cancel.is_cancelled() {
                return Err(LockError::Interrupted);
            }
            let sent = now_secs();
            let answer = perform(&site, &machine.op(sent)).await?;
            let pause = match machine.answer(answer, sent, now_secs()) {
                Progress::Continue => continue,
                Progress::Held(hold) => return Ok(Self::held(site, hold).await),
                // The name is taken by a vault being deleted (AWS propagates a deletion): try
                // again shortly, never in a tight loop, and not past the wait.
                Progress::Taken(generation) if started.elapsed() >= wait => {
                    return Err(site.deleting(generation));
                }
                Progress::Taken(_) => Duration::from_millis(250),
                Progress::Wait(generation, claim) => {
                    if started.elapsed() >= wait {
                        return Err(site.held(generation, &claim));
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

    /// The lock, just taken as `hold`: the older generations are deleted (a failure leaves them
    /// for the next winner).
    async fn held(site: LockSite, mut hold: Hold) -> ApplyLock {
        for stale in hold.take_stale() {
            let _ = perform(&site, &stale).await;
        }
        ApplyLock {
            vault_name: site.vault_name(hold.generation),
            site,
            hold: Arc::new(Mutex::new(hold)),
        }
    }

    /// Where this lock lives.
    pub fn site(&self) -> &LockSite {
        &self.site
    }

    /// What tells whether this apply still holds the lock, to check before each step.
    pub fn guard(&self) -> LockGuard {
        LockGuard {
            site: self.site.clone(),
            hold: self.hold.clone(),
        }
    }

    /// Lists the lock's generations and extends the claim by [`LOCK_TTL`] every
    /// [`RENEW_EVERY`] for as long as the returned task runs, so an apply longer than the TTL keeps its lock. The task ends once the lock
    /// is lost (a renewal failed or came too late, or a newer generation superseded it); the
    /// [`LockGuard`] says so from then on. Abort the task when done.
    pub fn keep_alive(&self) -> tokio::task::JoinHandle<()> {
        let guard = self.guard();
        let every = renew_every();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if guard.call(&Op::List).await.is_err() {
                    return;
                }
                let op = guard.state().extend_op(now_secs());
                if guard.call(&op).await.is_err() {
                    return;
                }
            }
        })
    }

    /// Gives the lock back, if this apply still holds it: its claim is marked released, and the
    /// next apply takes the next generation at once.
    pub async fn release(self) -> Result<(), AwsError> {
        let op = self.guard().state().release_op(now_secs());
        if let Some(op) = op {
            perform(&self.site, &op).await?;
        }
        Ok(())
    }
}

/// Whether this apply still holds the lock: a flag the renewals keep, and a fresh read.
#[derive(Clone)]
pub struct LockGuard {
    site: LockSite,
    hold: Arc<Mutex<Hold>>,
}

impl LockGuard {
    fn state(&self) -> MutexGuard<'_, Hold> {
        self.hold.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes `op` on the lock and learns from it; `Err` once the lock is lost.
    async fn call(&self, op: &Op) -> Result<(), Lost> {
        match perform(&self.site, op).await {
            Ok(answer) => self.state().answer(op, &answer, now_secs()),
            Err(error) => self.state().lose(Lost::Failed(error.to_string())),
        }
        self.check()
    }

    /// Whether a step may start now, as far as this process knows (no call): `Err` once a
    /// renewal failed or found the lock taken over, or the claim expired unrenewed.
    pub fn check(&self) -> Result<(), Lost> {
        self.state().may_start(now_secs())
    }

    /// [`LockGuard::check`] after reading the lock again: the claim still names this apply and
    /// no newer generation exists.
    pub async fn verify(&self) -> Result<(), Lost> {
        let generation = self.state().generation;
        self.call(&Op::List).await?;
        self.call(&Op::Read(generation)).await
    }

    /// The vault of the generation held, and where it is.
    pub fn describe(&self) -> String {
        let vault = self.site.vault_name(self.state().generation);
        format!(
            "vault `{vault}` in account {}, {}",
            self.site.account.id, self.site.region
        )
    }
}
