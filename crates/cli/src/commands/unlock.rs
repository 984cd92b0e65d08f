//! `coffer unlock`: who holds a topology's apply lock, since when and until when; with
//! `--force`, break that claim (and only it).

use std::process::ExitCode;

use anstream::eprintln;
use coffer_aws::Sessions;
use coffer_aws::lock::LockSite;
use coffer_spec::Topology;

use crate::apply::lock::{self, show};
use crate::context::{EXIT_FAILED, Online, online};

/// Exit status 2: the lock is held, and was not broken.
pub const EXIT_HELD: u8 = 2;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub online: Online,
    /// Break the lock: delete the claim shown, and only it (a claim made after it was read is
    /// left alone). First make sure no apply of this topology is running.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &Args) -> ExitCode {
    online(
        &args.online.topology,
        &args.online.connection,
        async |t, _, s| {
            unlock(args, t, s)
                .await
                .unwrap_or_else(|message| failed(&message))
        },
    )
}

fn failed(message: &str) -> ExitCode {
    eprintln!(
        "error: {message}\n  help: `coffer unlock` needs the apply role in the account that holds the lock (`coffer iam-policy --mode apply`)"
    );
    ExitCode::from(EXIT_FAILED)
}

/// Shows the claim on the lock and breaks it when asked to; `Err` with the message when the
/// lock cannot be read or broken.
async fn unlock(args: &Args, topology: &Topology, sessions: &Sessions) -> Result<ExitCode, String> {
    let site = LockSite::of(topology, sessions)
        .await
        .map_err(|e| e.to_string())?;
    let current = site.current().await.map_err(|e| e.to_string())?;
    let Some((generation, claim)) = current.filter(|(_, c)| c.released.is_none()) else {
        crate::outln!(
            "No apply lock: no apply of topology `{}` holds it (no unreleased vault `{}-<n>` in account {}, {}).",
            topology.name,
            site.vault,
            site.account.id,
            site.region
        );
        return Ok(ExitCode::SUCCESS);
    };
    let place = lock::place(&site, generation);
    show(topology, &place, &claim);
    let file = args.online.topology.file.display();
    if claim.owner.is_none() {
        eprintln!(
            "error: {place} carries no Coffer lock tags: Coffer did not make it and does not delete it\n  help: applies of `{}` wait for this vault; rename the topology or remove the vault yourself",
            topology.name
        );
        return Ok(ExitCode::from(if args.force {
            EXIT_FAILED
        } else {
            EXIT_HELD
        }));
    }
    if !args.force {
        eprintln!(
            "  help: wait for that apply to finish; if none is running (check CI jobs and colleagues), break the lock with `coffer unlock -f {file} --force`"
        );
        return Ok(ExitCode::from(EXIT_HELD));
    }
    let file = &args.online.topology.file;
    let free = lock::break_claim(topology, (&site, generation), &place, &claim, file).await?;
    Ok(if free {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_HELD)
    })
}
