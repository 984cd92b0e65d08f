//! The apply lock as the commands show it: waiting for it, holding it for a run, and the claim
//! that holds it (`coffer unlock`).

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anstream::eprintln;
use coffer_aws::Sessions;
use coffer_aws::lock::{ApplyLock, Broken, Claim, LockError, LockSite};
use coffer_spec::Topology;

use super::{Interrupts, interrupted_before_changes, refuse};
use crate::progress::{Mode, ProgressArgs, rfc3339};

/// The apply lock, held for a run: renewed until released.
pub struct Held<'a> {
    lock: ApplyLock,
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
    let site = lock.site();
    interrupts.holding(Some(format!(
        "vault `{}` in account {}, {}",
        site.vault, site.account.id, site.region
    )));
    let renewal = lock.keep_alive();
    Ok(Held {
        lock,
        renewal,
        file,
        interrupts,
    })
}

impl Held<'_> {
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

/// Where the lock of `site` is: the vault, its account and region.
pub fn place(site: &LockSite) -> String {
    format!(
        "vault `{}` in account `{}` ({}), {}",
        site.vault, site.account.name, site.account.id, site.region
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

/// Breaks `claim` on the lock of `site` (at `place`) and says what came of it: `Ok(true)` when
/// the lock is free now, `Ok(false)` when a newer claim holds it (shown), `Err` with the
/// message when it was not broken.
pub async fn break_claim(
    topology: &Topology,
    site: &LockSite,
    place: &str,
    claim: &Claim,
    file: &Path,
) -> Result<bool, String> {
    match site.break_claim(claim).await {
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
