//! AWS is eventually consistent: a new role, a changed key policy or vault access policy, a
//! deleted vault and the cross-account backup switch are acknowledged at once but take seconds
//! to minutes to take effect everywhere (docs/aws-behaviour.md section 10). What Coffer does about
//! its own changes that AWS has not propagated yet:
//!
//! - apply: the errors AWS answers meanwhile are retryable ([`retryable`]): the apply retries
//!   them with backoff until its deadline. A vault Coffer replaces (deletes, then creates with
//!   the same name) answers `AlreadyExistsException` while the deletion propagates: the create
//!   is retried, never taken for an existing vault to adopt ([`vault_deleted`],
//!   [`deleted_vault_name`]).
//! - drill: a copy job that fails for lack of access right after `coffer apply` (the
//!   destination vault's policy, a key policy or the cross-account switch not propagated yet)
//!   is started again with backoff for a bounded window ([`Waiting`]), provided Coffer's checks,
//!   on AWS as it reads now, find nothing that explains the failure: a real misconfiguration
//!   fails the drill at once.
//!
//! Every retry is logged at `warn` under the target [`TARGET`] (`COFFER_LOG=warn` or `-v`).

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use coffer_apply::StepError;
use coffer_planner::checks::{self, Severity};
use coffer_planner::model::Address;
use coffer_planner::prediction::{DrillFailure, concerns};
use coffer_spec::{Diagnostics, Topology};

use crate::error::AwsError;
use crate::session::Sessions;

/// The tracing target of the retry lines.
pub const TARGET: &str = "coffer_aws::propagation";

/// What a retried error says about the wait.
pub const WAITING: &str = "waiting for AWS to propagate";

/// How long the drill waits for AWS to propagate a change before it reports the failure, by
/// default (`DrillOptions::propagation_window`): IAM and KMS changes usually settle within
/// seconds but may take minutes.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(5 * 60);

/// The drill's backoff between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropagationWait {
    /// No new attempt starts once this much time has passed since the first failure.
    pub window: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl PropagationWait {
    /// A window of `window` with a backoff from a tenth of it (at most 5 s) to 60 s.
    pub fn within(window: Duration) -> PropagationWait {
        PropagationWait {
            window,
            initial_backoff: (window / 10)
                .clamp(Duration::from_millis(100), Duration::from_secs(5)),
            max_backoff: Duration::from_secs(60),
        }
    }
}

// ------------------------------------------------------------------ apply

/// Whether an AWS error means "a change has not propagated yet": KMS right after a key was
/// created, IAM principals not visible yet to KMS or AWS Backup, and a vault that still holds
/// a recovery point just deleted. Throttling and transient errors are [`AwsError::retryable`].
pub fn retryable(error: &AwsError) -> bool {
    let code = error.code.as_deref().unwrap_or_default();
    let message = error.message.to_ascii_lowercase();
    match code {
        // [source: https://docs.aws.amazon.com/kms/latest/developerguide/programming-eventual-consistency.html]
        "NotFoundException" | "KMSInvalidStateException" => true,
        // A principal not visible to KMS yet (BOTO-KMS PutKeyPolicy: "The principals in the key
        // policy must exist and be visible to KMS").
        "MalformedPolicyDocumentException" => message.contains("invalid principals"),
        // A role not visible to AWS Backup yet (docs/aws-behaviour.md section 10: "IAM Role arn:…
        // cannot be assumed by AWS Backup" is retryable).
        "InvalidParameterValueException" => message.contains("cannot be assumed"),
        // DeleteBackupVault right after its last recovery point was deleted.
        "InvalidRequestException" => message.contains("recovery points"),
        _ => false,
    }
}

/// Vaults this process deleted: (account ID, region, vault name, when).
static DELETED_VAULTS: Mutex<Vec<(String, String, String, Instant)>> = Mutex::new(Vec::new());

/// How long a vault Coffer deleted counts as "being deleted" for a create of the same name.
const DELETION_MEMORY: Duration = Duration::from_secs(3600);

/// Coffer deleted vault `name` of `account_id` in `region` (a replacement's first step).
pub fn vault_deleted(account_id: &str, region: &str, name: &str) {
    let mut deleted = DELETED_VAULTS.lock().unwrap_or_else(|e| e.into_inner());
    deleted.retain(|(_, _, _, at)| at.elapsed() < DELETION_MEMORY);
    deleted.push((
        account_id.to_string(),
        region.to_string(),
        name.to_string(),
        Instant::now(),
    ));
}

/// Whether this process deleted vault `name` of `account_id` in `region` recently.
pub fn deleted_vault_name(account_id: &str, region: &str, name: &str) -> bool {
    let deleted = DELETED_VAULTS.lock().unwrap_or_else(|e| e.into_inner());
    deleted.iter().any(|(account, r, n, at)| {
        account == account_id && r == region && n == name && at.elapsed() < DELETION_MEMORY
    })
}

/// `CreateBackupVault` answered `AlreadyExistsException` (`error`) for a vault whose deletion
/// AWS has not finished propagating: a retryable error that says so, never an adoption.
pub fn vault_still_being_deleted(error: &AwsError, name: &str) -> StepError {
    StepError {
        message: format!(
            "{error}; vault `{name}` was just deleted and AWS still holds its name: {WAITING} the deletion"
        ),
        code: error.code.clone(),
        request_id: error.request_id.clone(),
        retryable: true,
    }
}

/// Logs a step error the apply will retry (if its deadline allows).
pub fn log_retryable(step: &str, error: &StepError) {
    if error.retryable {
        tracing::warn!(
            target: TARGET,
            step = %step,
            code = %error.code.as_deref().unwrap_or("-"),
            "retryable error, the apply retries the step until its deadline: {}",
            error.message
        );
    }
}

// ------------------------------------------------------------------ drill

/// The change a failed copy job's status message points to, when AWS may simply not have
/// propagated it yet: a refusal for lack of access, as AWS reports it for the destination
/// vault's access policy, the keys' policies and the cross-account backup switch.
pub fn copy_failure_cause(status_message: &str) -> Option<&'static str> {
    let lower = status_message.to_ascii_lowercase();
    if lower.contains("access denied trying to call aws backup service") {
        Some("the destination vault's access policy")
    } else if lower.contains("is not enabled or you do not have permissions to access it") {
        Some("a key policy")
    } else if lower.contains("cross-account backup is not enabled") {
        Some("the cross-account backup setting")
    } else if lower.contains("access denied")
        || lower.contains("accessdenied")
        || lower.contains("not authorized to perform")
    {
        Some("a policy or role")
    } else {
        None
    }
}

/// Whether Coffer's checks, on AWS as it reads now, find nothing of severity error or above
/// about the drilled resource, its backup plan `plan` or the destination `vault`
/// ([`coffer_planner::prediction::concerns`]): then a refused copy can only be a change AWS has not
/// propagated yet. A state that cannot be read explains nothing either way: the drill does
/// not wait on it.
pub async fn checks_pass(
    topology: &Topology,
    sessions: &Sessions,
    plan: &Address,
    resource: &str,
    vault: &Address,
) -> bool {
    let live = match crate::read(topology, sessions, 8).await {
        Ok(live) => live,
        Err(error) => {
            tracing::info!(target: TARGET, %error, "live state not read: not waiting for propagation");
            return false;
        }
    };
    let failure = DrillFailure {
        plan: &plan.name,
        resource,
        failed_copy_to: Some(&vault.name),
    };
    let explaining: Vec<String> = checks::evaluate(topology, &Diagnostics::default(), Some(&live))
        .into_iter()
        .filter(|f| f.severity >= Severity::Error && concerns(f.subject.kind(), &failure))
        .map(|f| format!("{} {}", f.check, f.subject))
        .collect();
    if !explaining.is_empty() {
        tracing::info!(
            target: TARGET,
            findings = %explaining.join(", "),
            "checks explain the failure: not waiting for propagation"
        );
    }
    explaining.is_empty()
}

/// The attempts of one drill job under [`PropagationWait`].
#[derive(Debug)]
pub struct Waiting {
    wait: PropagationWait,
    started: Instant,
    backoff: Duration,
    attempts: u32,
    /// The first failure, and whether checks found it unexplained (asked once).
    first_failure: Option<String>,
    unexplained: Option<bool>,
}

impl Waiting {
    pub fn new(wait: PropagationWait) -> Waiting {
        Waiting {
            wait,
            started: Instant::now(),
            backoff: wait.initial_backoff,
            attempts: 1,
            first_failure: None,
            unexplained: None,
        }
    }

    /// The idempotency token of the current attempt: `base` for the first one (a rerun of the
    /// same drill gets the same job back), then `base-retry<n>` (a new job each time).
    pub fn token(&self, base: &str) -> String {
        if self.attempts == 1 {
            base.to_string()
        } else {
            format!("{base}-retry{}", self.attempts - 1)
        }
    }

    /// Attempts made so far (the current one included).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// After attempt [`Self::attempts`] failed with `failure` (`job` names the job): when the
    /// failure may be a change AWS has not propagated yet (its message, then `unexplained`,
    /// asked once: whether checks find nothing that explains it) and the window allows another
    /// attempt, logs it, sleeps the backoff and returns true for another attempt.
    pub async fn retry<F, Fut>(
        &mut self,
        stage: &str,
        job: &str,
        failure: &str,
        unexplained: F,
    ) -> bool
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = bool>,
    {
        let Some(cause) = copy_failure_cause(failure) else {
            return false;
        };
        if self.started.elapsed() + self.backoff > self.wait.window {
            return false;
        }
        if self.unexplained.is_none() {
            self.unexplained = Some(unexplained().await);
        }
        if self.unexplained != Some(true) {
            return false;
        }
        self.first_failure
            .get_or_insert_with(|| failure.to_string());
        tracing::warn!(
            target: TARGET,
            stage = %stage,
            job = %job,
            attempt = self.attempts,
            wait_seconds = self.backoff.as_secs_f64(),
            "{job} failed, {WAITING} a recent change of {cause} (retrying in {:.1}s): {failure}",
            self.backoff.as_secs_f64()
        );
        tokio::time::sleep(self.backoff).await;
        self.backoff = (self.backoff * 2).min(self.wait.max_backoff);
        self.attempts += 1;
        true
    }

    /// What the report says about the waiting, when there was any: appended to the stage's
    /// detail (success) or failure message.
    pub fn note(&self) -> Option<String> {
        let first = self.first_failure.as_ref()?;
        Some(format!(
            "after {} attempts over {:.1}s, {WAITING} a recent change (first attempt: {first})",
            self.attempts,
            self.started.elapsed().as_secs_f64()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: &str, message: &str) -> AwsError {
        AwsError {
            account_name: "source".into(),
            account_id: "111222333444".into(),
            role_arn: "arn:aws:iam::111222333444:role/CofferDeployRole".into(),
            region: "eu-west-1".into(),
            call: "backup:CreateBackupVault".into(),
            code: Some(code.into()),
            message: message.into(),
            request_id: Some("req-1".into()),
            retryable: false,
        }
    }

    #[test]
    fn errors_of_changes_not_propagated_yet_are_retryable() {
        for (code, message) in [
            ("NotFoundException", "Key 'arn:...' does not exist"),
            ("KMSInvalidStateException", "arn:... is pending import"),
            (
                "MalformedPolicyDocumentException",
                "Policy contains a statement with one or more invalid principals.",
            ),
            (
                "InvalidParameterValueException",
                "IAM Role arn:aws:iam::111222333444:role/x cannot be assumed by AWS Backup",
            ),
            (
                "InvalidRequestException",
                "Backup vault cannot be deleted because it contains recovery points.",
            ),
        ] {
            assert!(retryable(&error(code, message)), "{code}: {message}");
        }
        for (code, message) in [
            (
                "MalformedPolicyDocumentException",
                "The new key policy will not allow you to update the key policy in the future.",
            ),
            (
                "InvalidParameterValueException",
                "AWS Backup access policies don't support a wildcard in the Action key",
            ),
            ("AccessDeniedException", "User: x is not authorized"),
            (
                "AlreadyExistsException",
                "Backup vault with the same name already exists",
            ),
        ] {
            assert!(!retryable(&error(code, message)), "{code}: {message}");
        }
    }

    #[test]
    fn only_vaults_this_process_deleted_are_being_deleted() {
        vault_deleted("111222333444", "eu-west-1", "replaced-here");
        assert!(deleted_vault_name(
            "111222333444",
            "eu-west-1",
            "replaced-here"
        ));
        assert!(!deleted_vault_name(
            "111222333444",
            "eu-west-2",
            "replaced-here"
        ));
        assert!(!deleted_vault_name(
            "666777888999",
            "eu-west-1",
            "replaced-here"
        ));
        assert!(!deleted_vault_name("111222333444", "eu-west-1", "other"));
        let step = vault_still_being_deleted(
            &error(
                "AlreadyExistsException",
                "Backup vault with the same name already exists",
            ),
            "replaced-here",
        );
        assert!(step.retryable);
        assert_eq!(step.code.as_deref(), Some("AlreadyExistsException"));
        assert!(step.message.contains(WAITING), "{}", step.message);
        assert!(
            step.message
                .contains("vault `replaced-here` was just deleted"),
            "{}",
            step.message
        );
    }

    #[test]
    fn access_refusals_of_copy_jobs_may_be_propagation() {
        let cases = [
            (
                "Access Denied trying to call AWS Backup service: destination vault arn:x has no access policy allowing backup:CopyIntoBackupVault.",
                Some("the destination vault's access policy"),
            ),
            (
                "The source snapshot KMS key [arn:k] does not exist, is not enabled or you do not have permissions to access it. (The key policy does not allow destination account 666777888999 kms:Decrypt.)",
                Some("a key policy"),
            ),
            (
                "Copy job failed. The destination backup vault key [arn:k] does not exist, is not enabled or you do not have permissions to access it. (x)",
                Some("a key policy"),
            ),
            (
                "Copy job failed. Cross-account backup is not enabled for the organization: ...",
                Some("the cross-account backup setting"),
            ),
            (
                "User: arn:x is not authorized to perform: iam:PassRole",
                Some("a policy or role"),
            ),
            (
                "Copy job failed. Both source and destination account must be a member of the same organization",
                None,
            ),
            (
                "Copy job failed. Destination backup vault arn:v does not exist.",
                None,
            ),
            ("the job did not finish within 4h", None),
        ];
        for (message, cause) in cases {
            assert_eq!(copy_failure_cause(message), cause, "{message}");
        }
    }

    fn quick(window_ms: u64) -> PropagationWait {
        PropagationWait {
            window: Duration::from_millis(window_ms),
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
        }
    }

    const DENIED: &str = "Access Denied trying to call AWS Backup service: no policy";

    #[tokio::test]
    async fn waits_with_backoff_while_the_window_lasts_and_says_so() {
        let mut waiting = Waiting::new(quick(60_000));
        assert_eq!(waiting.token("drill-central"), "drill-central");
        assert_eq!(waiting.note(), None);
        let asked = std::sync::atomic::AtomicU32::new(0);
        let unexplained = || async {
            asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            true
        };
        assert!(
            waiting
                .retry("copy", "copy job c-1", DENIED, unexplained)
                .await
        );
        assert_eq!(waiting.token("drill-central"), "drill-central-retry1");
        assert!(
            waiting
                .retry("copy", "copy job c-2", DENIED, unexplained)
                .await
        );
        assert_eq!(waiting.attempts(), 3);
        assert_eq!(waiting.token("drill-central"), "drill-central-retry2");
        // The backoff doubles up to its maximum.
        assert_eq!(waiting.backoff, Duration::from_millis(40));
        // Checks are asked once.
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
        let note = waiting.note().expect("a note");
        assert!(note.starts_with("after 3 attempts over "), "{note}");
        assert!(note.contains(WAITING), "{note}");
        assert!(
            note.ends_with(&format!("(first attempt: {DENIED})")),
            "{note}"
        );
    }

    #[tokio::test]
    async fn gives_up_when_the_window_is_spent() {
        let mut waiting = Waiting::new(quick(300));
        let mut attempts = 0;
        while waiting
            .retry("copy", "job", DENIED, || async { true })
            .await
        {
            attempts += 1;
            assert!(attempts < 50, "the window must end the retries");
        }
        assert!(attempts >= 1, "one retry fits in the window");
        assert_eq!(waiting.attempts(), attempts + 1);
        // No window at all: no retry.
        let mut none = Waiting::new(quick(0));
        assert!(!none.retry("copy", "job", DENIED, || async { true }).await);
        assert_eq!(none.note(), None);
    }

    #[tokio::test]
    async fn does_not_wait_on_failures_propagation_cannot_explain() {
        let mut waiting = Waiting::new(quick(60_000));
        let no_check = || async { panic!("checks are not needed for this message") };
        let missing = "Copy job failed. Destination backup vault arn:v does not exist.";
        assert!(!waiting.retry("copy", "job", missing, no_check).await);
        // Checks that explain the refusal: a misconfiguration, reported at once.
        assert!(
            !waiting
                .retry("copy", "job", DENIED, || async { false })
                .await
        );
        assert!(
            !waiting
                .retry("copy", "job", DENIED, || async { true })
                .await,
            "asked once"
        );
        assert_eq!(waiting.attempts(), 1);
        assert_eq!(waiting.note(), None);
    }

    #[test]
    fn the_backoff_follows_the_window() {
        let default = PropagationWait::within(DEFAULT_WINDOW);
        assert_eq!(default.initial_backoff, Duration::from_secs(5));
        assert_eq!(default.max_backoff, Duration::from_secs(60));
        let short = PropagationWait::within(Duration::from_secs(20));
        assert_eq!(short.initial_backoff, Duration::from_secs(2));
        let none = PropagationWait::within(Duration::ZERO);
        assert_eq!(none.window, Duration::ZERO);
    }
}
