//! Running a plan: steps in dependency order, independent steps concurrently under a bound,
//! references to earlier outputs resolved, transient errors retried with backoff until a
//! deadline, everything else stopping the run; progress events and a final report of what was
//! done, what failed and what was not started. A run can be cancelled ([`Cancel`]): it then
//! starts no new step, lets the calls in flight finish and reports the rest as not started.
//!
//! The [`Executor`] trait is the only seam: the `aws` crate implements it with the SDK, tests
//! with a model of AWS. This crate decides nothing the plan did not decide.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use coffer_planner::{Action, Address, Flag, Outputs, Plan, Step};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::Serialize;

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

/// Why a plan may not run at all.
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

/// Why a saved plan may not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SavedPlanError {
    #[error("the topology file changed since this plan was made")]
    TopologyChanged,
    #[error("AWS changed since this plan was made (or the plan was already applied); these resources differ now:\n{}", .differing.iter().map(|d| format!("    {d}")).collect::<Vec<_>>().join("\n"))]
    AwsChanged { differing: Vec<String> },
    #[error(
        "the plan file's changes or steps differ from the plan of this topology and AWS, although both are unchanged: the file was edited or made by another version of Coffer"
    )]
    Edited,
}

/// Checks a saved plan against the plan made now from the same file and AWS as they are: the
/// same topology, the same live state of every resource it looked at, and (since the planner
/// is deterministic) the same changes and steps. Only a plan that passes is applied, and it
/// cannot pass twice: applying it changes the live state.
pub fn check_saved(saved: &Plan, fresh: &Plan) -> Result<(), SavedPlanError> {
    if saved.topology_digest != fresh.topology_digest {
        return Err(SavedPlanError::TopologyChanged);
    }
    if saved.live_fingerprint != fresh.live_fingerprint {
        let seen = |plan: &Plan| -> BTreeMap<String, (Option<serde_json::Value>, bool)> {
            plan.changes
                .iter()
                .map(|c| {
                    (
                        format!("{} ({} {})", c.address, c.account, c.region),
                        (c.before.clone(), c.has(Flag::Blocked)),
                    )
                })
                .collect()
        };
        let (a, b) = (seen(saved), seen(fresh));
        let differing: BTreeSet<String> = a
            .keys()
            .chain(b.keys())
            .filter(|k| a.get(*k) != b.get(*k))
            .cloned()
            .collect();
        return Err(SavedPlanError::AwsChanged {
            differing: differing.into_iter().collect(),
        });
    }
    if saved.changes != fresh.changes || saved.steps != fresh.steps {
        return Err(SavedPlanError::Edited);
    }
    Ok(())
}

/// Cancels a run of [`execute_until`]: once cancelled, the run starts no new step and stops
/// waiting to retry; calls already in flight finish. Clones share one flag.
#[derive(Debug, Clone)]
pub struct Cancel(Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Cancel {
    fn default() -> Self {
        Cancel(Arc::new(tokio::sync::watch::Sender::new(false)))
    }
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Cancels every run (and every waiter) sharing this flag; cancelling twice is harmless.
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once cancelled (at once if already cancelled).
    pub async fn cancelled(&self) {
        let mut receiver = self.0.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail.
        let _ = receiver.wait_for(|cancelled| *cancelled).await;
    }
}

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

/// Runs `plan`'s steps through `executor`. Call [`preflight`] first.
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
            return Err(StepError::fatal(format!(
                "stopped by fault injection after {}",
                coffer_planner::render::plural(n - 1, "call", "calls")
            )));
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
