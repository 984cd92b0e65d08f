//! Running a plan: steps in dependency order, independent steps concurrently under a bound,
//! references to earlier outputs resolved, transient errors retried with backoff until a
//! deadline, everything else stopping the run; progress events and a final report of what was
//! done, what failed and what was not started. A run can be cancelled ([`Cancel`]): it then
//! starts no new step, lets the calls in flight finish and reports the rest as not started.
//! Before a run, [`prepare`] decides whether the plan may run at all.
//!
//! The [`Executor`] trait is the only seam: the `aws` crate implements it with the SDK, tests
//! with a model of AWS. This crate decides nothing the plan did not decide.

mod cancel;
mod engine;
mod faults;
mod prepare;
mod refusal;
mod saved;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use coffer_planner::{Outputs, Step};
use serde::Serialize;

pub use cancel::Cancel;
pub use engine::{Event, Report, execute, execute_until};
pub use faults::{FaultInjector, ModelExecutor};
pub use prepare::{Prepared, Request, prepare};
pub use refusal::{CannotApply, Refusal, preflight};
pub use saved::{SavedPlanError, check_saved, read_saved};

/// A failed call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct StepError {
    /// What AWS (or the executor) said, with the account, region and call.
    pub message: String,
    /// AWS's error code.
    pub code: Option<String>,
    pub request_id: Option<String>,
    /// Throttling and documented eventual-consistency errors: retried with backoff.
    pub retryable: bool,
}

impl StepError {
    pub fn fatal(message: impl Into<String>) -> StepError {
        StepError {
            message: message.into(),
            code: None,
            request_id: None,
            retryable: false,
        }
    }
}

/// Carries out one step. `outputs` holds the outputs of every step this one depends on.
pub trait Executor: Send + Sync {
    fn execute(
        &self,
        step: &Step,
        outputs: &Outputs,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, StepError>> + Send;
}

/// Backoff for retryable errors.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Give up on a step once this much time has passed since its first attempt.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            deadline: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Steps in flight at once.
    pub concurrency: usize,
    /// Run the deletions of owned resources that left the file.
    pub allow_delete: bool,
    /// The user confirmed the irreversible changes.
    pub confirm_irreversible: bool,
    /// The user accepted the changes that weaken protection.
    pub allow_weaken: bool,
    pub retry: RetryPolicy,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            concurrency: 8,
            allow_delete: false,
            confirm_irreversible: false,
            allow_weaken: false,
            retry: RetryPolicy::default(),
        }
    }
}
