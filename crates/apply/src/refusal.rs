//! Why a plan may not run: a change the options do not allow ([`Refusal`], found by
//! [`preflight`]), and every other reason an apply stops before its first call
//! ([`CannotApply`]), each with the help the user needs.

use std::path::PathBuf;

use coffer_planner::checks::Finding;
use coffer_planner::{Action, Address, Flag, Plan};

use crate::{Options, SavedPlanError};

/// Why a change may not run with the options given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{address} is blocked: {reason}")]
    Blocked { address: Address, reason: String },
    #[error("{address} is irreversible ({reason}); confirm with --confirm-irreversible")]
    Irreversible { address: Address, reason: String },
    #[error("{address} weakens protection ({reason}); accept it with --allow-weaken")]
    Weakens { address: Address, reason: String },
}

/// Checks a plan before running it: blocked changes refuse the whole plan; irreversible ones
/// need confirmation.
pub fn preflight(plan: &Plan, options: &Options) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    for change in &plan.changes {
        if change.has(Flag::Blocked) {
            refusals.push(Refusal::Blocked {
                address: change.address.clone(),
                reason: change.reasons.join("; "),
            });
        }
        let runs = change.action != Action::NoOp
            && (!change.has(Flag::NeedsAllowDelete) || options.allow_delete);
        if change.has(Flag::Weakens) && runs && !options.allow_weaken {
            refusals.push(Refusal::Weakens {
                address: change.address.clone(),
                reason: change
                    .reasons
                    .iter()
                    .filter(|r| r.starts_with("weakens protection"))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        if change.has(Flag::Irreversible) && runs && !options.confirm_irreversible {
            refusals.push(Refusal::Irreversible {
                address: change.address.clone(),
                reason: change.reasons.join("; "),
            });
        }
    }
    refusals
}

/// Why an apply stops before its first call. The message is the error; [`CannotApply::help`]
/// says what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CannotApply {
    #[error("cannot read the plan file {}: {error}", .path.display())]
    Unreadable { path: PathBuf, error: String },
    #[error("{} has plan format {found}, this Coffer reads {}", .path.display(), coffer_planner::FORMAT_VERSION)]
    OtherFormat { path: PathBuf, found: u32 },
    #[error("--ignore-check names no check of the catalog: {}", list(.0.iter().map(|id| format!("`{id}`")), ", "))]
    UnknownChecks(Vec<String>),
    #[error(transparent)]
    Stale(SavedPlanError),
    #[error("checks predict that the copy chain would fail:\n{}", indented(.0))]
    Blockers(Vec<Finding>),
    #[error("this plan cannot be applied:\n{}", indented(.0))]
    Refused(Vec<Refusal>),
}

impl CannotApply {
    pub fn help(&self) -> &'static str {
        match self {
            CannotApply::Unreadable { .. } => "pass a file written by `coffer plan --out`",
            CannotApply::OtherFormat { .. } => "make the plan again with this version of Coffer",
            CannotApply::UnknownChecks(_) => {
                "use the IDs `coffer check` prints (CB001 to CB030; `coffer check --list` lists them)"
            }
            CannotApply::Stale(SavedPlanError::Edited) => {
                "make the plan again with this Coffer: `coffer plan --out PLAN.json`"
            }
            CannotApply::Stale(_) => "review and apply a new plan: `coffer plan --out PLAN.json`",
            CannotApply::Blockers(_) => {
                "fix the topology or AWS as each finding says; to apply anyway, name each check with --ignore-check ID"
            }
            CannotApply::Refused(_) => {
                "resolve the blocked changes, or confirm irreversible ones with --confirm-irreversible"
            }
        }
    }
}

fn list(items: impl Iterator<Item = String>, separator: &str) -> String {
    items.collect::<Vec<_>>().join(separator)
}

/// One item a line, indented under the message.
pub(crate) fn indented<T: std::fmt::Display>(items: &[T]) -> String {
    list(items.iter().map(|item| format!("    {item}")), "\n")
}
