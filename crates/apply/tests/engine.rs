//! The engine against a model of AWS: order, failure, retries, skipped deletions, and
//! convergence after a crash at every call.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use coffer_apply::{
    Event, Executor, FaultInjector, ModelExecutor, Options, StepError, execute, preflight,
};
use coffer_planner::{LiveState, Outputs, Step, plan};

mod common;
use common::{SEED, quiet, topology};

fn fast() -> Options {
    common::options(4)
}

/// Records when each step starts and finishes.
struct Recorder {
    model: ModelExecutor,
    log: Mutex<Vec<String>>,
    fail: Option<String>,
}

impl Executor for Recorder {
    async fn execute(
        &self,
        step: &Step,
        outputs: &Outputs,
    ) -> Result<BTreeMap<String, String>, StepError> {
        self.log
            .lock()
            .expect("log")
            .push(format!("start {}", step.id));
        tokio::time::sleep(Duration::from_millis(2)).await;
        if self.fail.as_deref() == Some(step.id.as_str()) {
            return Err(StepError::fatal("AccessDeniedException: not allowed"));
        }
        let out = self.model.execute(step, outputs).await;
        self.log
            .lock()
            .expect("log")
            .push(format!("end {}", step.id));
        out
    }
}

#[tokio::test]
async fn steps_start_only_after_their_dependencies_finish() {
    let t = topology();
    let p = plan(&t, &LiveState::default());
    let recorder = Recorder {
        model: ModelExecutor::default(),
        log: Mutex::new(Vec::new()),
        fail: None,
    };
    let report = execute(&p, &recorder, &fast(), &quiet).await;
    assert!(report.ok(), "{report:?}");
    let log = recorder.log.lock().expect("log").clone();
    for step in &p.steps {
        let start = log
            .iter()
            .position(|l| *l == format!("start {}", step.id))
            .expect("started");
        for dep in &step.depends_on {
            let end = log
                .iter()
                .position(|l| *l == format!("end {dep}"))
                .expect("dependency ended");
            assert!(end < start, "{} started before {dep} ended", step.id);
        }
    }
    let live = recorder.model.live.lock().expect("live").clone();
    assert!(!plan(&t, &live).has_changes());
}

#[tokio::test]
async fn a_failure_stops_the_run_and_reports_what_was_not_started() {
    let t = topology();
    let p = plan(&t, &LiveState::default());
    let recorder = Recorder {
        model: ModelExecutor::default(),
        log: Mutex::new(Vec::new()),
        fail: Some("vault.central:create".into()),
    };
    let report = execute(
        &p,
        &recorder,
        &Options {
            concurrency: 1,
            ..fast()
        },
        &quiet,
    )
    .await;
    assert!(!report.ok());
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0, "vault.central:create");
    assert!(report.failed[0].1.message.contains("AccessDenied"));
    assert!(
        report
            .not_started
            .contains(&"backup_plan.orders-daily:create".to_string()),
        "{:?}",
        report.not_started
    );
    assert!(
        !report
            .succeeded
            .iter()
            .any(|s| s.starts_with("vault_policy.central"))
    );
}

#[tokio::test]
async fn retryable_errors_are_retried() {
    let t = topology();
    let p = plan(&t, &LiveState::default());
    let mut injector = FaultInjector::new(ModelExecutor::default());
    injector.flaky_steps = p.steps.iter().map(|s| s.id.clone()).collect();
    let events = Mutex::new(Vec::new());
    let record = |e: Event| events.lock().expect("events").push(e);
    let report = execute(&p, &injector, &fast(), &record).await;
    assert!(report.ok(), "{report:?}");
    let retries = events
        .lock()
        .expect("events")
        .iter()
        .filter(|e| matches!(e, Event::Retrying { .. }))
        .count();
    assert_eq!(retries, p.steps.len());
}

#[tokio::test]
async fn deletions_are_skipped_without_allow_delete() {
    let t = topology();
    let model = ModelExecutor::default();
    let first = plan(&t, &LiveState::default());
    assert!(execute(&first, &model, &fast(), &quiet).await.ok());
    let smaller = coffer_spec::load_str(&SEED.replace("    selections:\n      - name: orders-db\n        role: service-default\n        resources:\n          - arn:aws:rds:eu-west-1:111222333444:db:orders\n", ""))
        .topology
        .expect("loads");
    let live = model.live.lock().expect("live").clone();
    let p = plan(&smaller, &live);
    assert!(preflight(&p, &fast()).is_empty());
    let report = execute(&p, &model, &fast(), &quiet).await;
    assert_eq!(report.skipped.len(), 1, "{report:?}");
    assert!(report.succeeded.is_empty());
    let report = execute(
        &p,
        &model,
        &Options {
            allow_delete: true,
            ..fast()
        },
        &quiet,
    )
    .await;
    assert_eq!(report.succeeded.len(), 1);
}

#[tokio::test]
async fn a_crash_after_any_call_converges_on_the_next_run() {
    let t = topology();
    let total = plan(&t, &LiveState::default()).steps.len();
    for k in 1..=total {
        let live = Arc::new(Mutex::new(LiveState::default()));
        let mut crashing = FaultInjector::new(ModelExecutor { live: live.clone() });
        crashing.stop_after = Some(k);
        let first = plan(&t, &live.lock().expect("live").clone());
        let report = execute(
            &first,
            &crashing,
            &Options {
                concurrency: 1,
                ..fast()
            },
            &quiet,
        )
        .await;
        assert_eq!(report.succeeded.len(), k.min(total), "k={k}");
        let rerun = plan(&t, &live.lock().expect("live").clone());
        let report = execute(
            &rerun,
            &ModelExecutor { live: live.clone() },
            &fast(),
            &quiet,
        )
        .await;
        assert!(report.ok(), "k={k}: {report:?}");
        let state = live.lock().expect("live").clone();
        assert!(!plan(&t, &state).has_changes(), "k={k}");
        let keys: usize = state
            .accounts
            .values()
            .flat_map(|a| a.regions.values())
            .map(|r| r.keys.len())
            .sum();
        assert_eq!(keys, t.keys.len(), "k={k}: exactly one key per logical key");
    }
}

#[tokio::test]
async fn a_run_stopped_right_after_its_last_allowed_call_does_not_report_success() {
    let t = topology();
    let p = plan(&t, &LiveState::default());
    let total = p.steps.len();
    for (limit, stopped) in [(total, true), (total + 1, false)] {
        let mut crashing = FaultInjector::new(ModelExecutor::default());
        crashing.stop_after = Some(limit);
        let report = execute(&p, &crashing, &fast(), &quiet).await;
        assert!(report.ok(), "limit={limit}: {report:?}");
        let report = crashing.conclude(report, "STOP");
        assert_eq!(report.ok(), !stopped, "limit={limit}: {report:?}");
        if stopped {
            assert_eq!(report.failed[0].0, "STOP");
            assert_eq!(
                report.failed[0].1.message,
                format!("stopped by fault injection after {total} calls")
            );
        }
    }
}

#[tokio::test]
async fn changes_that_weaken_protection_need_allow_weaken() {
    let t = topology();
    let model = ModelExecutor::default();
    let first = plan(&t, &LiveState::default());
    assert!(execute(&first, &model, &fast(), &quiet).await.ok());
    let unguarded = coffer_spec::load_str(&SEED.replace(
        "deny_recovery_point_deletion: true",
        "deny_recovery_point_deletion: false",
    ))
    .topology
    .expect("loads");
    let live = model.live.lock().expect("live").clone();
    let p = plan(&unguarded, &live);
    let refusals = preflight(&p, &fast());
    let refused: Vec<String> = refusals
        .iter()
        .filter_map(|r| match r {
            coffer_apply::Refusal::Weakens { address, .. } => Some(address.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(refused, vec!["key.backup-vault", "vault_policy.central"]);
    assert!(refusals[0].to_string().contains("--allow-weaken"));
    let allowed = Options {
        allow_weaken: true,
        ..fast()
    };
    assert!(preflight(&p, &allowed).is_empty());
}
