//! `coffer unlock`: who holds a topology's apply lock, since when and until when; with
//! `--force`, break that claim (and only it).

use std::process::ExitCode;

use anstream::eprintln;
use coffer_aws::lock::{Broken, Claim, LockSite};
use coffer_spec::Topology;

use super::{Connection, EXIT_FAILED, TopologyArg, load_topology, runtime};

/// Exit status 2: the lock is held, and was not broken.
pub const EXIT_HELD: u8 = 2;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub topology: TopologyArg,
    #[command(flatten)]
    pub connection: Connection,
    /// Break the lock: delete the claim shown, and only it (a claim made after it was read is
    /// left alone). First make sure no apply of this topology is running.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &Args) -> ExitCode {
    let Some((topology, _)) = load_topology(&args.topology) else {
        return ExitCode::from(EXIT_FAILED);
    };
    let Some(rt) = runtime() else {
        return ExitCode::from(EXIT_FAILED);
    };
    rt.block_on(unlock(args, &topology))
}

fn failed(message: &str) -> ExitCode {
    eprintln!(
        "error: {message}\n  help: `coffer unlock` needs the apply role in the account that holds the lock (`coffer iam-policy --mode apply`)"
    );
    ExitCode::from(EXIT_FAILED)
}

async fn unlock(args: &Args, topology: &Topology) -> ExitCode {
    let sessions = coffer_aws::Sessions::connect(topology, &args.connection.options()).await;
    let site = match LockSite::of(topology, &sessions).await {
        Ok(site) => site,
        Err(err) => return failed(&err.to_string()),
    };
    let place = format!(
        "vault `{}` in account `{}` ({}), {}",
        site.vault, site.account.name, site.account.id, site.region
    );
    let claim = match site.claim().await {
        Ok(claim) => claim,
        Err(err) => return failed(&err.to_string()),
    };
    let Some(claim) = claim else {
        crate::outln!(
            "No apply lock: no apply of topology `{}` holds it ({place} does not exist).",
            topology.name
        );
        return ExitCode::SUCCESS;
    };
    show(topology, &place, &claim);
    let file = args.topology.file.display();
    if claim.owner.is_none() {
        eprintln!(
            "error: {place} carries no Coffer lock tags: Coffer did not make it and does not delete it\n  help: applies of `{}` wait for this vault; rename the topology or remove the vault yourself",
            topology.name
        );
        return ExitCode::from(if args.force { EXIT_FAILED } else { EXIT_HELD });
    }
    if !args.force {
        eprintln!(
            "  help: wait for that apply to finish; if none is running (check CI jobs and colleagues), break the lock with `coffer unlock -f {file} --force`"
        );
        return ExitCode::from(EXIT_HELD);
    }
    match site.break_claim(&claim).await {
        Ok(Broken::Broken) => {
            crate::outln!(
                "Broke the apply lock held by {}: the next apply starts at once.",
                claim.who()
            );
            ExitCode::SUCCESS
        }
        Ok(Broken::Gone) => {
            crate::outln!("The lock was released meanwhile: nothing to break.");
            ExitCode::SUCCESS
        }
        Ok(Broken::Changed(now)) => {
            crate::outln!("Not broken: a new claim holds the lock since it was read.");
            show(topology, &place, &now);
            eprintln!(
                "  help: another apply has started; to break its claim too, run `coffer unlock -f {file}` and then `--force` again"
            );
            ExitCode::from(EXIT_HELD)
        }
        Ok(Broken::NotALock) => failed(&format!(
            "{place} lost its Coffer lock tags meanwhile; it was not deleted"
        )),
        Err(err) => failed(&err.to_string()),
    }
}

fn show(topology: &Topology, place: &str, claim: &Claim) {
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
