//! The SDK-backed executor: one plan step, one (or a few) AWS calls, every one idempotent.
//!
//! - Backup creates carry the plan's `CreatorRequestId`, so a rerun gets back what an
//!   interrupted run created.
//! - A key is created with its ownership tags, and before creating one the executor looks for
//!   a key that already carries them (a run that died between `CreateKey` and `CreateAlias`).
//! - "Already exists" for something Coffer owns counts as done; "not found" on a delete
//!   counts as done.
//! - After writing a key policy, a vault access policy, a vault lock, a backup plan or a
//!   selection, the executor reads it back (`readback`) and fails the step, naming the field,
//!   when AWS holds something else.
//! - `CreateKey` is sent without the SDK's retries: a create whose answer was lost is retried
//!   by the apply engine, whose next attempt finds the key by its tags.
//! - Changes AWS has not propagated yet answer errors that are retried (`propagation.rs`): a
//!   vault name still held by the vault this apply just deleted is waited for, never adopted.
//!
//! One function per operation: `kms` (keys and aliases), `backup` (vaults, backup plans,
//! selections and the global settings).

mod backup;
mod kms;
mod readback;

use std::collections::BTreeMap;

use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use coffer_apply::{Executor, StepError};
use coffer_planner::{Operation, Outputs, Ref, Step};
use coffer_spec::Account;

use crate::error::{AwsError, Call};
use crate::propagation;
use crate::session::{RegionClients, Sessions};

pub struct SdkExecutor {
    pub sessions: Sessions,
}

impl Executor for SdkExecutor {
    async fn execute(
        &self,
        step: &Step,
        outputs: &Outputs,
    ) -> Result<BTreeMap<String, String>, StepError> {
        let session = self.sessions.account(&step.account).ok_or_else(|| {
            StepError::fatal(format!("account {} is not in the topology", step.account))
        })?;
        let clients = session.region(&step.region).await;
        let result = run(&clients, &session.account, &step.operation, outputs).await;
        if let Err(error) = &result {
            propagation::log_retryable(&step.id, error);
        }
        result
    }
}

/// What a step produced (its outputs, by name), or why it failed.
type Outcome = Result<BTreeMap<String, String>, StepError>;

/// Carries out `operation` with the clients of `account` in one Region (what
/// [`SdkExecutor`] does for each step, once it has the step's clients); `earlier` holds the
/// outputs of the steps it depends on.
pub async fn run(
    clients: &RegionClients,
    account: &Account,
    operation: &Operation,
    earlier: &Outputs,
) -> Outcome {
    let at = &At {
        kms: &clients.kms,
        backup: &clients.backup,
        clients,
        account,
        earlier,
    };
    match operation {
        Operation::CreateKey {
            description,
            policy,
            tags,
        } => kms::create_key(at, description, policy, tags).await,
        Operation::PutKeyPolicy { key, policy } => kms::put_key_policy(at, key, policy).await,
        Operation::UpdateKeyDescription { key, description } => {
            kms::update_key_description(at, key, description).await
        }
        Operation::EnableKeyRotation { key, period_days } => {
            kms::enable_key_rotation(at, key, *period_days).await
        }
        Operation::DisableKeyRotation { key } => kms::disable_key_rotation(at, key).await,
        Operation::CancelKeyDeletion { key } => kms::cancel_key_deletion(at, key).await,
        Operation::EnableKey { key } => kms::enable_key(at, key).await,
        Operation::TagKey { key, tags } => kms::tag_key(at, key, tags).await,
        Operation::UntagKey { key, tag_keys } => kms::untag_key(at, key, tag_keys).await,
        Operation::ScheduleKeyDeletion {
            key,
            pending_window_days,
        } => kms::schedule_key_deletion(at, key, *pending_window_days).await,
        Operation::CreateAlias { alias_name, key } => kms::create_alias(at, alias_name, key).await,
        Operation::UpdateAlias { alias_name, key } => kms::update_alias(at, alias_name, key).await,
        Operation::DeleteAlias { alias_name } => kms::delete_alias(at, alias_name).await,
        Operation::CreateBackupVault {
            vault_name,
            encryption_key_arn,
            tags,
            creator_request_id,
        } => {
            let key = encryption_key_arn.as_ref();
            backup::create_vault(at, vault_name, key, tags, creator_request_id).await
        }
        Operation::DeleteBackupVault { vault_name } => backup::delete_vault(at, vault_name).await,
        Operation::PutBackupVaultAccessPolicy { vault_name, policy } => {
            backup::put_vault_access_policy(at, vault_name, policy).await
        }
        Operation::DeleteBackupVaultAccessPolicy { vault_name } => {
            backup::delete_vault_access_policy(at, vault_name).await
        }
        Operation::PutBackupVaultLockConfiguration {
            vault_name,
            min_retention_days: min,
            max_retention_days: max,
            changeable_for_days: changeable,
        } => backup::put_vault_lock(at, vault_name, *min, *max, *changeable).await,
        Operation::CreateBackupPlan {
            plan,
            tags,
            creator_request_id,
        } => backup::create_plan(at, plan, tags, creator_request_id).await,
        Operation::UpdateBackupPlan { plan_id, plan } => {
            backup::update_plan(at, plan_id, plan).await
        }
        Operation::DeleteBackupPlan { plan_id } => backup::delete_plan(at, plan_id).await,
        Operation::CreateBackupSelection {
            plan_id,
            selection,
            creator_request_id,
        } => backup::create_selection(at, plan_id, selection, creator_request_id).await,
        Operation::DeleteBackupSelection {
            plan_id,
            selection_id,
        } => backup::delete_selection(at, plan_id, selection_id).await,
        Operation::TagResource { resource_arn, tags } => {
            backup::tag_resource(at, resource_arn, tags).await
        }
        Operation::UntagResource {
            resource_arn,
            tag_keys,
        } => backup::untag_resource(at, resource_arn, tag_keys).await,
        Operation::UpdateGlobalSettings {
            cross_account_backup,
        } => backup::update_global_settings(at, *cross_account_backup).await,
    }
}

/// Where an operation runs: the clients of one account in one Region, and the outputs of the
/// steps it depends on.
struct At<'a> {
    kms: &'a aws_sdk_kms::Client,
    backup: &'a aws_sdk_backup::Client,
    clients: &'a RegionClients,
    account: &'a Account,
    earlier: &'a Outputs,
}

impl At<'_> {
    /// The call `name` (`kms:CreateKey`), for its errors.
    fn call(&self, name: &str) -> Call {
        Call::new(self.account, &self.clients.region, name)
            .endpoint(self.clients.endpoint.as_deref())
    }

    fn resolve(&self, reference: &Ref) -> Result<String, StepError> {
        reference.resolve(self.earlier).ok_or_else(|| {
            StepError::fatal(format!(
                "no value for {reference:?}: the step that produces it did not run"
            ))
        })
    }

    /// The step error for the failed call `name`.
    fn failed<E, R>(&self, name: &str, error: SdkError<E, R>) -> StepError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        step_error(self.call(name).step_error(error))
    }

    /// A call whose answer carries nothing the plan needs: done, without outputs.
    fn done<T, E, R>(&self, name: &str, answer: Result<T, SdkError<E, R>>) -> Outcome
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        self.done_or_already(name, answer, |_| false)
    }

    /// Like [`At::done`], and done as well when the call fails with an error `already`
    /// accepts: what it asked for is so already.
    fn done_or_already<T, E, R>(
        &self,
        name: &str,
        answer: Result<T, SdkError<E, R>>,
        already: impl Fn(&AwsError) -> bool,
    ) -> Outcome
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        match answer.map_err(|e| self.call(name).step_error(e)) {
            Ok(_) => Ok(BTreeMap::new()),
            Err(error) if already(&error) => Ok(BTreeMap::new()),
            Err(error) => Err(step_error(error)),
        }
    }

    /// A delete whose target is already gone (AWS answers `gone`) counts as done.
    fn gone_is_done<T, E, R>(
        &self,
        name: &str,
        answer: Result<T, SdkError<E, R>>,
        gone: &str,
    ) -> Outcome
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        self.done_or_already(name, answer, |error| code_is(error, gone))
    }
}

fn step_error(error: AwsError) -> StepError {
    // Throttling and transient errors, and AWS's eventual consistency right after a principal,
    // key or vault was created or deleted.
    let retryable = error.retryable || propagation::retryable(&error);
    StepError {
        message: error.to_string(),
        code: error.code.clone(),
        request_id: error.request_id.clone(),
        retryable,
    }
}

fn code_is(error: &AwsError, code: &str) -> bool {
    error.code.as_deref() == Some(code)
}

fn one(key: &str, value: impl Into<String>) -> BTreeMap<String, String> {
    BTreeMap::from([(key.to_string(), value.into())])
}
