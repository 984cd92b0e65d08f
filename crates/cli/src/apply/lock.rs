//! The apply lock as the commands show it: waiting for it, holding it for a run, and the claim
//! that holds it (`coffer unlock`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anstream::eprintln;
use coffer_apply::{Executor, StepError};
use coffer_aws::Sessions;
use coffer_aws::lock::{ApplyLock, Broken, Claim, LockError, LockGuard, LockSite, Lost};
use coffer_planner::{Outputs, Step};
use coffer_spec::Topology;

use super::{Interrupts, interrupted_before_changes, refuse};
use crate::progress::{Mode, ProgressArgs, rfc3339};

/// The error code of a step not started because the apply lock was lost.
pub const LOCK_LOST: &str = "ApplyLockLost";

/// The apply lock, held for a run: renewed until released.
pub struct Held<'a> {
    lock: ApplyLock,
    /// Whether the run still holds the lock.
    pub guard: LockGuard,
    renewal: tokio::task::JoinHandle<()>,
    file: &'a Path,
    interrupts: &'a Interrupts,
}

/// Takes the apply lock of `topology` (read from `file`): waits up to `timeout` for another
/// apply to release it, saying whom it waits for as `progress` says, then renews it until
/// [`Held::release`]. `Err` with the exit status when the lock cannot be had.
pub async fn acquire<'a>(
    topology: &Topology,
    file: &'a Path,
    sessions: &Sessions,
    timeout: Duration,
    progress: &ProgressArgs,
    interrupts: &'a Interrupts,
) -> Result<Held<'a>, ExitCode> {
    let on_wait = |_: &LockSite, claim: &Claim, waited: Duration| {
        say_waiting(progress, claim, waited, timeout);
    };
    let acquired =
        ApplyLock::acquire_until(topology, sessions, timeout, &interrupts.cancel, &on_wait).await;
    let lock = match acquired {
        Ok(lock) => lock,
        Err(LockError::Interrupted) => return Err(interrupted_before_changes()),
        Err(err) => {
            let message = err.to_string();
            let help = crate::context::unreachable_help(&message).unwrap_or_else(|| {
                format!(
                    "applies of one topology run one at a time; `coffer unlock -f {}` shows who holds the lock",
                    file.display()
                )
            });
            return Err(refuse(&message, &help));
        }
    };
    let guard = lock.guard();
    interrupts.holding(Some(guard.describe()));
    let renewal = lock.keep_alive();
    Ok(Held {
        lock,
        guard,
        renewal,
        file,
        interrupts,
    })
}

impl Held<'_> {
    /// Says, after a run, that the lock was lost during it (and so the run stopped early).
    pub fn say_if_lost(&self) {
        if let Err(lost) = self.guard.check() {
            eprintln!(
                "error: {}\n  help: {}",
                lost_message(&lost),
                lost_help(self.file)
            );
        }
    }

    /// Reads the lock again before the first step: `Err` with the exit status when this apply
    /// no longer holds it.
    pub async fn verify(&self) -> Result<(), ExitCode> {
        self.guard
            .verify()
            .await
            .map_err(|lost| refuse(&lost_message(&lost), &lost_help(self.file)))
    }

    /// Stops renewing the lock and releases it; when that fails, says how to free it (it
    /// expires otherwise).
    pub async fn release(self) {
        self.renewal.abort();
        if let Err(err) = self.lock.release().await {
            eprintln!(
                "warning: could not release the apply lock: {err}\n  help: the next apply breaks it once it expires, or free it now with `coffer unlock -f {} --force`",
                self.file.display()
            );
        }
        self.interrupts.holding(None);
    }
}

/// Says whom a waiting apply waits for (stderr; a JSON line with `--progress json`).
fn say_waiting(progress: &ProgressArgs, claim: &Claim, waited: Duration, wait: Duration) {
    if progress.quiet {
        return;
    }
    if progress.progress == Mode::Json {
        let line = serde_json::json!({
            "event": "lock_waiting",
            "holder": claim.holder,
            "claim": claim.owner,
            "since": claim.since_timestamp(),
            "expires": claim.expires_timestamp(),
            "waited_seconds": waited.as_secs(),
            "timeout_seconds": wait.as_secs(),
            "at": rfc3339(std::time::SystemTime::now()),
        });
        eprintln!("{line}");
        return;
    }
    eprintln!(
        "waiting for the apply lock: held by {}, since {}, until {}; waited {}s of {}s (--lock-timeout)",
        claim.who(),
        claim.since_text(),
        claim.expires_text(),
        waited.as_secs(),
        wait.as_secs()
    );
}

/// What the apply lock was lost to, for people.
pub fn lost_message(lost: &Lost) -> String {
    format!("this apply no longer holds the apply lock: {lost}")
}

/// What to do after the apply lock was lost.
pub fn lost_help(file: &Path) -> String {
    format!(
        "no step was started after that; another apply may have taken over: `coffer unlock -f {}` shows who holds the lock; once no other apply of this topology runs, run `coffer apply` again to finish (every step is idempotent)",
        file.display()
    )
}

/// An executor that starts no step once the apply lock is lost: each step first checks the
/// flag the renewals keep; a step that deletes or cannot be undone reads the lock again.
pub struct Guarded<E> {
    pub inner: E,
    pub guard: LockGuard,
}

/// Whether `step` deletes something or cannot be undone.
fn destructive(step: &Step) -> bool {
    step.needs_allow_delete || step.irreversible || step.operation.name().starts_with("Delete")
}

impl<E: Executor> Executor for Guarded<E> {
    async fn execute(
        &self,
        step: &Step,
        outputs: &Outputs,
    ) -> Result<BTreeMap<String, String>, StepError> {
        let held = if destructive(step) {
            self.guard.verify().await
        } else {
            self.guard.check()
        };
        if let Err(lost) = held {
            return Err(StepError {
                message: format!("not started: {}", lost_message(&lost)),
                code: Some(LOCK_LOST.to_string()),
                request_id: None,
                retryable: false,
            });
        }
        self.inner.execute(step, outputs).await
    }
}

/// Where the lock of `site` is: generation `generation`'s vault, its account and region.
pub fn place(site: &LockSite, generation: u64) -> String {
    format!(
        "vault `{}` in account `{}` ({}), {}",
        site.vault_name(generation),
        site.account.name,
        site.account.id,
        site.region
    )
}

/// Shows the claim that holds the apply lock of `topology`, found at `place` (stdout).
pub fn show(topology: &Topology, place: &str, claim: &Claim) {
    crate::outln!("The apply lock of topology `{}` is held.", topology.name);
    crate::outln!("  lock:     {place}");
    crate::outln!(
        "  holder:   {}",
        claim
            .holder
            .as_deref()
            .unwrap_or("(not recorded: a claim made by an older Coffer)")
    );
    crate::outln!("  claim:    {}", claim.owner.as_deref().unwrap_or("(none)"));
    crate::outln!("  since:    {}", claim.since_text());
    let expiry = if claim.expired() {
        format!("{}: the next apply breaks it", claim.expires_text())
    } else {
        claim.expires_text()
    };
    crate::outln!("  expires:  {expiry}");
}

/// Breaks `claim` of generation `generation` on the lock of `site` (at `place`) and says what
/// came of it: `Ok(true)` when the lock is free now, `Ok(false)` when a newer claim holds it
/// (shown), `Err` with the message when it was not broken.
pub async fn break_claim(
    topology: &Topology,
    (site, generation): (&LockSite, u64),
    place: &str,
    claim: &Claim,
    file: &Path,
) -> Result<bool, String> {
    match site.break_claim(generation, claim).await {
        Ok(Broken::Broken) => {
            crate::outln!(
                "Broke the apply lock held by {}: the next apply starts at once.",
                claim.who()
            );
            Ok(true)
        }
        Ok(Broken::Gone) => {
            crate::outln!("The lock was released meanwhile: nothing to break.");
            Ok(true)
        }
        Ok(Broken::Changed(now)) => {
            crate::outln!("Not broken: a new claim holds the lock since it was read.");
            show(topology, place, &now);
            eprintln!(
                "  help: another apply has started; to break its claim too, run `coffer unlock -f {}` and then `--force` again",
                file.display()
            );
            Ok(false)
        }
        Ok(Broken::NotALock) => Err(format!(
            "{place} lost its Coffer lock tags meanwhile; it was not deleted"
        )),
        Err(err) => Err(err.to_string()),
    }
}
