//! Executors for tests: one that injects faults into another, one over a model of AWS.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use coffer_planner::{Outputs, Step};

use crate::{Executor, Report, StepError};

/// Wraps an executor to stop a run after a number of calls, or to fail chosen steps: crash
/// and error tests for the apply path.
pub struct FaultInjector<E> {
    pub inner: E,
    /// Calls allowed before every further call fails as if the process had died.
    pub stop_after: Option<usize>,
    /// Steps that fail once with a retryable error before going through.
    pub flaky_steps: BTreeSet<String>,
    calls: AtomicUsize,
    flaked: std::sync::Mutex<BTreeSet<String>>,
}

impl<E> FaultInjector<E> {
    pub fn new(inner: E) -> FaultInjector<E> {
        FaultInjector {
            inner,
            stop_after: None,
            flaky_steps: BTreeSet::new(),
            calls: AtomicUsize::new(0),
            flaked: std::sync::Mutex::new(BTreeSet::new()),
        }
    }

    /// Calls that reached the inner executor.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The report of a run through this injector as a killed process leaves it: a process
    /// killed right after its last allowed call never reports success either, so a run that
    /// made every allowed call without failing fails under `name`.
    pub fn conclude(&self, mut report: Report, name: &str) -> Report {
        if let Some(limit) = self.stop_after
            && report.ok()
            && self.calls() >= limit
        {
            report
                .failed
                .push((name.to_string(), StepError::fatal(stopped_after(limit))));
        }
        report
    }
}

/// What a call refused by fault injection says.
fn stopped_after(calls: usize) -> String {
    format!(
        "stopped by fault injection after {}",
        coffer_planner::render::plural(calls, "call", "calls")
    )
}

impl<E: Executor> Executor for FaultInjector<E> {
    async fn execute(
        &self,
        step: &Step,
        outputs: &Outputs,
    ) -> Result<BTreeMap<String, String>, StepError> {
        if self.flaky_steps.contains(&step.id) {
            let first_time = self
                .flaked
                .lock()
                .map(|mut f| f.insert(step.id.clone()))
                .unwrap_or(false);
            if first_time {
                return Err(StepError {
                    message: "injected throttling".into(),
                    code: Some("ThrottlingException".into()),
                    request_id: None,
                    retryable: true,
                });
            }
        }
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if self.stop_after.is_some_and(|limit| n > limit) {
            return Err(StepError::fatal(stopped_after(n - 1)));
        }
        self.inner.execute(step, outputs).await
    }
}

/// An executor over an in-memory model of AWS ([`coffer_planner::simulate`]), for tests.
#[derive(Default)]
pub struct ModelExecutor {
    pub live: Arc<std::sync::Mutex<coffer_planner::LiveState>>,
}

impl Executor for ModelExecutor {
    async fn execute(
        &self,
        step: &Step,
        outputs: &Outputs,
    ) -> Result<BTreeMap<String, String>, StepError> {
        let mut live = self
            .live
            .lock()
            .map_err(|_| StepError::fatal("model poisoned"))?;
        Ok(coffer_planner::simulate::play_step(
            step, &mut live, outputs,
        ))
    }
}
