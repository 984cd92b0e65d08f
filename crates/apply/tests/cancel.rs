//! Cancelling a run (Ctrl-C during `coffer apply`): no new step starts, the steps in flight
//! finish, the report lists the rest as not started, and the next run converges.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use coffer_apply::{
    Cancel, Event, Executor, ModelExecutor, Options, RetryPolicy, StepError, execute, execute_until,
};
use coffer_planner::{LiveState, Outputs, Plan, Step, plan};

mod common;
use common::{options, quiet, topology};

/// The model of AWS, cancelling the run when the `cancel_at`-th call starts (`on_start`) or
/// once it has finished; logs every start and end.
struct Cancelling {
    model: ModelExecutor,
    cancel: Cancel,
    cancel_at: usize,
    on_start: bool,
    calls: AtomicUsize,
    log: Mutex<Vec<String>>,
}

impl Cancelling {
    fn new(live: Arc<Mutex<LiveState>>, cancel_at: usize, on_start: bool) -> Cancelling {
        Cancelling {
            model: ModelExecutor { live },
            cancel: Cancel::new(),
            cancel_at,
            on_start,
            calls: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
        }
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }
}

impl Executor for Cancelling {
    async fn execute(
        &self,
        step: &Step,
        outputs: &Outputs,
    ) -> Result<BTreeMap<String, String>, StepError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.log
            .lock()
            .expect("log")
            .push(format!("start {}", step.id));
        if self.on_start && n == self.cancel_at {
            self.cancel.cancel();
        }
        // Long enough for other steps to be in flight at the same time.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let out = self.model.execute(step, outputs).await;
        self.log
            .lock()
            .expect("log")
            .push(format!("end {}", step.id));
        if !self.on_start && n == self.cancel_at {
            self.cancel.cancel();
        }
        out
    }
}

fn ids(plan: &Plan) -> Vec<String> {
    plan.steps.iter().map(|s| s.id.clone()).collect()
}

async fn converges_from(live: &Arc<Mutex<LiveState>>) {
    let t = topology();
    let rerun = plan(&t, &live.lock().expect("live").clone());
    let report = execute(
        &rerun,
        &ModelExecutor { live: live.clone() },
        &options(4),
        &quiet,
    )
    .await;
    assert!(report.ok(), "{report:?}");
    assert!(!plan(&t, &live.lock().expect("live").clone()).has_changes());
}

#[tokio::test]
async fn cancelling_after_k_steps_starts_no_new_step_and_lists_the_rest_as_not_started() {
    let t = topology();
    let total = plan(&t, &LiveState::default()).steps.len();
    assert!(total > 2);
    for k in 1..total {
        let live = Arc::new(Mutex::new(LiveState::default()));
        let p = plan(&t, &LiveState::default());
        let executor = Cancelling::new(live.clone(), k, false);
        let cancel = executor.cancel.clone();
        let report = execute_until(&p, &executor, &options(1), &cancel, &quiet).await;
        // One step at a time: the k-th finished, then nothing else started.
        assert_eq!(executor.calls.load(Ordering::SeqCst), k, "k={k}");
        assert_eq!(report.succeeded.len(), k, "k={k}: {report:?}");
        assert!(report.failed.is_empty(), "k={k}: {report:?}");
        let mut expected_rest = ids(&p);
        expected_rest.retain(|id| !report.succeeded.contains(id));
        let mut not_started = report.not_started.clone();
        not_started.sort();
        expected_rest.sort();
        assert_eq!(not_started, expected_rest, "k={k}");
        assert!(report.interrupted && !report.ok(), "k={k}: {report:?}");
        // The rerun continues where this one stopped.
        converges_from(&live).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_in_flight_when_cancelled_finish_and_nothing_starts_after() {
    let t = topology();
    for k in 1..=4 {
        let live = Arc::new(Mutex::new(LiveState::default()));
        let p = plan(&t, &LiveState::default());
        let executor = Cancelling::new(live.clone(), k, true);
        let cancel = executor.cancel.clone();
        // Each step the engine starts, and whether the run was cancelled by then.
        let starts = Mutex::new(Vec::new());
        let record = |e: Event| {
            if let Event::Started { step, .. } = e {
                let cancelled = cancel.is_cancelled();
                starts.lock().expect("starts").push((step, cancelled));
            }
        };
        let report = execute_until(&p, &executor, &options(8), &cancel, &record).await;
        let starts = starts.lock().expect("starts").clone();
        assert!(
            starts.iter().all(|(_, cancelled)| !cancelled),
            "k={k}: a step started after the cancellation: {starts:?}"
        );
        // Every step that started finished (its call ran to the end) and is reported as done.
        let log = executor.log();
        let ended: Vec<&str> = log.iter().filter_map(|l| l.strip_prefix("end ")).collect();
        assert_eq!(ended.len(), starts.len(), "k={k}: {log:?}");
        let mut succeeded = report.succeeded.clone();
        succeeded.sort();
        let mut started: Vec<String> = starts.into_iter().map(|(step, _)| step).collect();
        started.sort();
        assert_eq!(succeeded, started, "k={k}");
        assert!(report.failed.is_empty(), "k={k}: {report:?}");
        // Everything else is listed as not started.
        let mut rest = ids(&p);
        rest.retain(|id| !report.succeeded.contains(id));
        rest.sort();
        let mut not_started = report.not_started.clone();
        not_started.sort();
        assert_eq!(not_started, rest, "k={k}");
        assert!(!rest.is_empty() && report.interrupted, "k={k}: {report:?}");
        converges_from(&live).await;
    }
}

#[tokio::test]
async fn a_run_cancelled_before_it_starts_changes_nothing() {
    let p = plan(&topology(), &LiveState::default());
    let live = Arc::new(Mutex::new(LiveState::default()));
    let executor = Cancelling::new(live.clone(), usize::MAX, false);
    let cancel = Cancel::new();
    cancel.cancel();
    cancel.cancel();
    let report = execute_until(&p, &executor, &options(4), &cancel, &quiet).await;
    assert_eq!(executor.calls.load(Ordering::SeqCst), 0);
    assert!(report.succeeded.is_empty());
    assert_eq!(report.not_started, ids(&p));
    assert!(report.interrupted);
    assert_eq!(*live.lock().expect("live"), LiveState::default());
}

#[tokio::test]
async fn a_cancel_after_the_last_step_started_leaves_nothing_undone() {
    let p = plan(&topology(), &LiveState::default());
    let total = p.steps.len();
    let live = Arc::new(Mutex::new(LiveState::default()));
    // One step at a time: cancelling when the last call starts leaves nothing to skip.
    let executor = Cancelling::new(live, total, true);
    let cancel = executor.cancel.clone();
    let report = execute_until(&p, &executor, &options(1), &cancel, &quiet).await;
    assert!(cancel.is_cancelled());
    assert!(report.ok() && !report.interrupted, "{report:?}");
    assert_eq!(report.succeeded.len(), total);
}

/// Always throttled.
struct Throttled;

impl Executor for Throttled {
    async fn execute(&self, _: &Step, _: &Outputs) -> Result<BTreeMap<String, String>, StepError> {
        Err(StepError {
            message: "ThrottlingException: slow down".into(),
            code: Some("ThrottlingException".into()),
            request_id: None,
            retryable: true,
        })
    }
}

#[tokio::test]
async fn a_step_waiting_to_retry_gives_up_when_cancelled() {
    let p = plan(&topology(), &LiveState::default());
    let cancel = Cancel::new();
    let later = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        later.cancel();
    });
    // A backoff of an hour: only the cancellation ends this run (the timeout guards a hang).
    let slow = Options {
        concurrency: 2,
        retry: RetryPolicy {
            initial_backoff: Duration::from_secs(3600),
            max_backoff: Duration::from_secs(3600),
            deadline: Duration::from_secs(7200),
        },
        ..Options::default()
    };
    let report = tokio::time::timeout(
        Duration::from_secs(60),
        execute_until(&p, &Throttled, &slow, &cancel, &quiet),
    )
    .await
    .expect("the run ends once cancelled");
    assert!(report.interrupted && !report.ok());
    assert!(report.succeeded.is_empty());
    assert!(!report.failed.is_empty());
    for (_, error) in &report.failed {
        assert!(
            error
                .message
                .starts_with("interrupted before retrying: ThrottlingException"),
            "{error:?}"
        );
    }
    assert_eq!(
        report.failed.len() + report.not_started.len(),
        p.steps.len(),
        "{report:?}"
    );
}
