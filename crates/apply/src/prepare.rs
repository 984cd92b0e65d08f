//! Everything an apply decides before its first call: the saved plan it was given (readable,
//! of this format, and still true of the topology and AWS), the checks it may ignore (each in
//! the catalog), the blockers that stand, the changes its options do not allow, and how many
//! calls it makes.

use std::path::Path;

use coffer_planner::checks::{self, Finding};
use coffer_planner::{Action, Plan};

use crate::{Cancel, CannotApply, Event, Executor, Options, Report, check_saved, preflight};

/// What the user asked to apply, checked as far as it can be before AWS is read.
#[derive(Debug, Clone)]
pub struct Request {
    /// A plan saved by `coffer plan --out`; without it, the plan made now is applied.
    pub saved: Option<Plan>,
    /// The blockers to apply despite, by check ID.
    pub ignore_checks: Vec<String>,
    pub options: Options,
}

impl Request {
    /// Reads the plan saved at `saved`, if any, and checks that each of `ignore_checks` names a
    /// check of the catalog.
    pub fn new(
        saved: Option<&Path>,
        ignore_checks: &[String],
        options: Options,
    ) -> Result<Request, CannotApply> {
        let saved = saved.map(crate::read_saved).transpose()?;
        let unknown: Vec<String> = ignore_checks
            .iter()
            .filter(|id| checks::find(id).is_none())
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(CannotApply::UnknownChecks(unknown));
        }
        Ok(Request {
            saved,
            ignore_checks: ignore_checks.to_vec(),
            options,
        })
    }
}

/// Decides whether `fresh`, the plan of the topology and AWS as they are now, may run: it is
/// the saved plan, if one was given ([`check_saved`]); no blocker stands but those
/// the request ignores; and the options allow every change ([`preflight`]).
pub fn prepare(request: &Request, fresh: Plan) -> Result<Prepared, CannotApply> {
    if let Some(saved) = &request.saved {
        check_saved(saved, &fresh).map_err(CannotApply::Stale)?;
    }
    let blockers: Vec<Finding> = fresh
        .blockers()
        .filter(|f| !request.ignore_checks.contains(&f.check))
        .cloned()
        .collect();
    if !blockers.is_empty() {
        return Err(CannotApply::Blockers(blockers));
    }
    let refusals = preflight(&fresh, &request.options);
    if !refusals.is_empty() {
        return Err(CannotApply::Refused(refusals));
    }
    Ok(Prepared {
        plan: fresh,
        options: request.options.clone(),
    })
}

/// A plan cleared to run, with the options it runs with.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub plan: Plan,
    pub options: Options,
}

impl Prepared {
    /// The calls the run makes: every step but the deletions that wait for `allow_delete`.
    pub fn calls(&self) -> usize {
        self.plan
            .steps
            .iter()
            .filter(|s| !s.needs_allow_delete || self.options.allow_delete)
            .count()
    }

    /// The changes that delete a resource: when the run makes no call, they all wait for
    /// `allow_delete`.
    pub fn deletions(&self) -> usize {
        self.plan
            .changes
            .iter()
            .filter(|c| c.action == Action::Delete)
            .count()
    }

    /// Runs the plan through `executor` until `cancel` is cancelled ([`crate::execute_until`]).
    pub async fn execute<E: Executor>(
        &self,
        executor: &E,
        cancel: &Cancel,
        on_event: &(dyn Fn(Event) + Send + Sync),
    ) -> Report {
        crate::execute_until(&self.plan, executor, &self.options, cancel, on_event).await
    }
}
