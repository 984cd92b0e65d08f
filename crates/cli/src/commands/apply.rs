//! `coffer apply`: plan (or read a saved plan), check that it may run, confirm, and run it
//! holding the topology's apply lock.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use coffer_apply::{Request, prepare};
use coffer_aws::Sessions;
use coffer_planner::render;

use crate::apply::lock;
use crate::apply::{self, Allow, Interrupts, cannot_apply, interrupted_before_changes};
use crate::context::{EXIT_FAILED, Online, block_on, connect};
use crate::fleet::Fleet;
use crate::progress::ProgressArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub online: Online,
    /// A plan saved by `coffer plan --out`. Without it, Coffer plans now and asks before applying.
    #[arg(value_name = "PLAN.json")]
    pub plan: Option<PathBuf>,
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    #[command(flatten)]
    pub allow: Allow,
    /// How long to wait for another apply of the same topology to finish, in seconds.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub lock_timeout: u64,
    #[command(flatten)]
    pub progress: ProgressArgs,
}

pub fn run(args: &Args) -> ExitCode {
    let Some(fleet) = Fleet::load(&args.online, None) else {
        return ExitCode::from(EXIT_FAILED);
    };
    let concurrency = args.online.connection.concurrency();
    let request = match args.allow.request(args.plan.as_deref(), concurrency) {
        Ok(request) => request,
        Err(err) => return cannot_apply(&err),
    };
    block_on(async {
        let (file, topology) = (&args.online.topology.file, &fleet.topology);
        let interrupts = Interrupts::listen(file);
        let sessions = connect(topology, &args.online.connection).await;
        let acquired = lock::acquire(
            topology,
            file,
            &sessions,
            Duration::from_secs(args.lock_timeout),
            &args.progress,
            &interrupts,
        );
        let held = match acquired.await {
            Ok(held) => held,
            Err(stopped) => return stopped,
        };
        let code = apply_locked(args, &fleet, &sessions, &request, (&interrupts, &held)).await;
        held.release().await;
        code.unwrap_or_else(|stopped| stopped)
    })
    .unwrap_or(ExitCode::from(EXIT_FAILED))
}

/// Reads AWS, plans, and runs the plan once it may run and is confirmed; `Err` with the exit
/// status of an apply that stops before its first call.
async fn apply_locked(
    args: &Args,
    fleet: &Fleet,
    sessions: &Sessions,
    request: &Request,
    (interrupts, held): (&Interrupts, &lock::Held<'_>),
) -> Result<ExitCode, ExitCode> {
    let topology = &fleet.topology;
    let mut live = apply::read(topology, sessions, &args.online.connection, interrupts).await?;
    fleet.stamp(&mut live);
    let fresh = coffer_planner::plan_checked(topology, &fleet.diagnostics, &live);
    if request.saved.is_none() {
        crate::out!("{}", render::text(&fresh, true));
    }
    let prepared = prepare(request, fresh).map_err(|err| cannot_apply(&err))?;
    if prepared.calls() == 0 {
        fleet.record(sessions, &prepared.plan).await;
        return Ok(apply::nothing_to_apply(&prepared));
    }
    if !args.auto_approve && args.plan.is_none() {
        apply::confirm(prepared.calls(), interrupts).await?;
    }
    if interrupts.cancel.is_cancelled() {
        return Err(interrupted_before_changes());
    }
    let code = apply::run_held(&prepared, sessions, &args.progress, interrupts, held).await?;
    fleet.record(sessions, &prepared.plan).await;
    Ok(code)
}
