//! Hooks for the end-to-end tests, in a binary built with the `test-hooks` feature only.

use coffer_apply::{Cancel, Event, Executor, FaultInjector, Prepared, Report};

/// Environment variable for crash tests: stop the run after this many AWS-changing calls, as
/// if the process had been killed.
pub const STOP_AFTER_ENV: &str = "COFFER_TEST_STOP_AFTER_CALLS";

/// Runs `prepared` through `executor`; when [`STOP_AFTER_ENV`] is set, through a
/// [`FaultInjector`] around it that stops the run after that many calls.
pub async fn execute<E: Executor>(
    prepared: &Prepared,
    executor: E,
    cancel: &Cancel,
    on_event: &(dyn Fn(Event) + Send + Sync),
) -> Report {
    let stop_after = std::env::var(STOP_AFTER_ENV)
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    let Some(limit) = stop_after else {
        return prepared.execute(&executor, cancel, on_event).await;
    };
    let mut injector = FaultInjector::new(executor);
    injector.stop_after = Some(limit);
    let report = prepared.execute(&injector, cancel, on_event).await;
    injector.conclude(report, STOP_AFTER_ENV)
}
