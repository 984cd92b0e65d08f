//! The copy stage: the recovery point copied into a `copy_to` destination vault, started
//! again while a refusal may be a change AWS has not propagated yet.

use std::time::Instant;

use aws_sdk_backup::operation::start_copy_job::StartCopyJobOutput;
use coffer_planner::model::ResourceKind;
use coffer_spec::Vault;
use coffer_spec::diag::plural;

use super::jobs::JobEnd;
use super::retention::{drill_lifecycle, shortest_retention};
use super::{Drill, DrillError, DrillReport, DrillStage};
use crate::error::AwsError;
use crate::propagation::{self, PropagationWait, Waiting};

impl Drill<'_> {
    /// Copies `recovery_point` into `destination`; the copy, or `None` when the stage failed.
    pub(super) async fn copy(
        &self,
        destination: &Vault,
        recovery_point: &str,
        report: &mut DrillReport,
    ) -> Result<Option<String>, DrillError> {
        let vault = ResourceKind::Vault.at(destination.name.as_str());
        let stage = DrillStage::Copy {
            destination: vault.clone(),
        };
        self.progress.start(&stage);
        let started = Instant::now();
        let plan = ResourceKind::BackupPlan.at(self.plan.name.as_str());
        // A refusal right after `coffer apply` may be AWS propagating it: start the copy again.
        let mut waiting = Waiting::new(PropagationWait::within(self.options.propagation_window));
        let copied = loop {
            let token = waiting.token(&format!("{}-{}", self.token, destination.name));
            let (job_id, end) = self.copy_job(destination, recovery_point, token).await?;
            let message = match end {
                Ok(arn) => break arn,
                Err(message) => message,
            };
            let unexplained = || {
                let (topology, sessions) = (self.topology, self.sessions);
                propagation::checks_pass(topology, sessions, &plan, self.resource, &vault)
            };
            let name = stage.to_string();
            let job = format!("copy job {job_id}");
            if waiting.retry(&name, &job, &message, unexplained).await {
                continue;
            }
            let message = match waiting.note() {
                Some(note) => format!("{message} (still failing {note})"),
                None => message,
            };
            self.progress.failed(report, stage, started, message);
            return Ok(None);
        };
        let waited = waiting
            .note()
            .map(|note| format!(" ({note})"))
            .unwrap_or_default();
        let detail = format!(
            "recovery point {copied} in vault {}, kept {}{waited}",
            destination.vault_name,
            plural(shortest_retention(destination), "day", "days")
        );
        self.progress.passed(report, stage, started, detail);
        Ok(Some(copied))
    }

    /// One attempt: the copy job of `recovery_point` into `destination`, with idempotency
    /// token `token`; its ID and end.
    async fn copy_job(
        &self,
        destination: &Vault,
        recovery_point: &str,
        token: String,
    ) -> Result<(String, JobEnd), AwsError> {
        let start = self
            .source
            .backup
            .start_copy_job()
            .recovery_point_arn(recovery_point)
            .source_backup_vault_name(&self.source_vault.vault_name)
            .destination_backup_vault_arn(self.topology.vault_arn(destination))
            .iam_role_arn(&self.job_role)
            .lifecycle(drill_lifecycle(destination))
            .idempotency_token(token)
            .send();
        let source = self.at_source();
        let call = (self.call)("backup:StartCopyJob");
        let id = StartCopyJobOutput::copy_job_id;
        self.run_job(start, call, id, |id| source.copy_end(id))
            .await
    }
}
