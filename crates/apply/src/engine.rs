//! The run itself: steps in dependency order, independent steps concurrently under a bound,
//! retries with backoff, progress events and the report.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use coffer_planner::{Outputs, Plan, Step};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::Serialize;

use crate::{Cancel, Executor, Options, RetryPolicy, StepError};

/// Progress of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Started {
        step: String,
        call: &'static str,
    },
    Retrying {
        step: String,
        attempt: u32,
        error: String,
        wait: Duration,
    },
    Succeeded {
        step: String,
    },
    Failed {
        step: String,
        error: String,
    },
    Skipped {
        step: String,
        reason: String,
    },
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub succeeded: Vec<String>,
    pub failed: Vec<(String, StepError)>,
    /// Not started because an earlier step failed or the run was cancelled.
    pub not_started: Vec<String>,
    /// The run was cancelled while work remained: steps not started, or a step that stopped
    /// waiting to retry (reported as failed, "interrupted before retrying").
    pub interrupted: bool,
    /// Left out on purpose (deletions without `allow_delete`), with the reason.
    pub skipped: Vec<(String, String)>,
    #[serde(skip)]
    pub outputs: Outputs,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.not_started.is_empty()
    }
}

/// Runs `plan`'s steps through `executor`. Call [`preflight`](crate::preflight) first.
pub async fn execute<E: Executor>(
    plan: &Plan,
    executor: &E,
    options: &Options,
    on_event: &(dyn Fn(Event) + Send + Sync),
) -> Report {
    execute_until(plan, executor, options, &Cancel::default(), on_event).await
}

/// [`execute`], until `cancel` is cancelled: from then on no new step starts, a step waiting
/// to retry gives up, and the steps in flight finish; the report lists the rest as not started
/// and sets [`Report::interrupted`].
pub async fn execute_until<E: Executor>(
    plan: &Plan,
    executor: &E,
    options: &Options,
    cancel: &Cancel,
    on_event: &(dyn Fn(Event) + Send + Sync),
) -> Report {
    let mut report = Report::default();
    let mut pending: Vec<&Step> = Vec::new();
    let mut skipped_ids: BTreeSet<String> = BTreeSet::new();
    for step in &plan.steps {
        let skipped_dependency = step.depends_on.iter().any(|d| skipped_ids.contains(d));
        if step.needs_allow_delete && !options.allow_delete || skipped_dependency {
            let reason = if skipped_dependency {
                "depends on a skipped step".to_string()
            } else {
                "deletion of a resource no longer in the file; run with --allow-delete".to_string()
            };
            on_event(Event::Skipped {
                step: step.id.clone(),
                reason: reason.clone(),
            });
            skipped_ids.insert(step.id.clone());
            report.skipped.push((step.id.clone(), reason));
        } else {
            pending.push(step);
        }
    }

    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut running: FuturesUnordered<_> = FuturesUnordered::new();
    let mut stopping = false;
    loop {
        if !stopping && cancel.is_cancelled() {
            stopping = true;
            report.interrupted |= !pending.is_empty();
        }
        if !stopping {
            while running.len() < options.concurrency.max(1) {
                let Some(idx) = pending
                    .iter()
                    .position(|s| s.depends_on.iter().all(|d| done.contains(d)))
                else {
                    break;
                };
                let step = pending.remove(idx);
                let outputs: Outputs = step
                    .depends_on
                    .iter()
                    .filter_map(|d| report.outputs.get(d).map(|o| (d.clone(), o.clone())))
                    .collect();
                on_event(Event::Started {
                    step: step.id.clone(),
                    call: step.operation.name(),
                });
                running.push(run_step(
                    step,
                    outputs,
                    executor,
                    options.retry,
                    cancel,
                    on_event,
                ));
            }
        }
        let Some((step, result, gave_up)) = running.next().await else {
            break;
        };
        report.interrupted |= gave_up;
        match result {
            Ok(produced) => {
                on_event(Event::Succeeded {
                    step: step.id.clone(),
                });
                done.insert(step.id.clone());
                report.succeeded.push(step.id.clone());
                report.outputs.insert(step.id.clone(), produced);
            }
            Err(error) => {
                on_event(Event::Failed {
                    step: step.id.clone(),
                    error: error.message.clone(),
                });
                report.failed.push((step.id.clone(), error));
                stopping = true;
            }
        }
    }
    report.not_started = pending.iter().map(|s| s.id.clone()).collect();
    report
}

/// Runs one step with retries; the `bool` is true when a cancellation stopped it from retrying.
async fn run_step<'a, E: Executor>(
    step: &'a Step,
    outputs: Outputs,
    executor: &E,
    retry: RetryPolicy,
    cancel: &Cancel,
    on_event: &(dyn Fn(Event) + Send + Sync),
) -> (&'a Step, Result<BTreeMap<String, String>, StepError>, bool) {
    let started = Instant::now();
    let mut backoff = retry.initial_backoff;
    let mut attempt = 1;
    loop {
        match executor.execute(step, &outputs).await {
            Ok(produced) => return (step, Ok(produced), false),
            Err(error) if error.retryable && started.elapsed() + backoff < retry.deadline => {
                let gave_up = |error: StepError| {
                    let message = format!("interrupted before retrying: {}", error.message);
                    (step, Err(StepError { message, ..error }), true)
                };
                if cancel.is_cancelled() {
                    return gave_up(error);
                }
                on_event(Event::Retrying {
                    step: step.id.clone(),
                    attempt,
                    error: error.message.clone(),
                    wait: backoff,
                });
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = cancel.cancelled() => return gave_up(error),
                }
                backoff = (backoff * 2).min(retry.max_backoff);
                attempt += 1;
            }
            Err(mut error) => {
                if error.retryable {
                    error.message = format!(
                        "{} (still failing after {} over {:?})",
                        error.message,
                        coffer_planner::render::plural(attempt, "attempt", "attempts"),
                        started.elapsed()
                    );
                }
                return (step, Err(error), false);
            }
        }
    }
}
