//! The backup stage: the resource backed up into its rule's vault, tagged with the drill's
//! ID and kept the shortest retention the vault allows.

use std::time::Instant;

use aws_sdk_backup::operation::start_backup_job::StartBackupJobOutput;
use coffer_planner::plan::TAG_TOPOLOGY;
use coffer_spec::diag::plural;

use super::points::{Created, MadePoint};
use super::retention::{deletion_barrier, drill_lifecycle, shortest_retention};
use super::{Drill, DrillError, DrillReport, DrillStage, TAG_DRILL};

impl Drill<'_> {
    /// Backs the resource up into the rule's vault; the recovery point, or `None` when the
    /// stage failed.
    pub(super) async fn backup(
        &self,
        report: &mut DrillReport,
        created: &mut Created,
    ) -> Result<Option<String>, DrillError> {
        let stage = DrillStage::Backup;
        self.progress.start(&stage);
        let started = Instant::now();
        let vault = self.source_vault;
        let start = self
            .source
            .backup
            .start_backup_job()
            .backup_vault_name(&vault.vault_name)
            .resource_arn(self.resource)
            .iam_role_arn(&self.job_role)
            .lifecycle(drill_lifecycle(vault))
            .recovery_point_tags(TAG_DRILL, &self.token)
            .recovery_point_tags(TAG_TOPOLOGY, &self.topology.name)
            .idempotency_token(&self.token)
            .send();
        let call = (self.call)("backup:StartBackupJob");
        let source = self.at_source();
        let id = StartBackupJobOutput::backup_job_id;
        let (_, end) = self
            .run_job(start, call, id, |id| source.backup_end(id))
            .await?;
        let recovery_point = match end {
            Ok((arn, creation)) => {
                created.backup_created = creation;
                arn
            }
            Err(message) => {
                self.progress.failed(report, stage, started, message);
                return Ok(None);
            }
        };
        let retention = shortest_retention(vault);
        let detail = format!(
            "recovery point {recovery_point} in vault {}, kept {}, tagged {TAG_DRILL}={}",
            vault.vault_name,
            plural(retention, "day", "days"),
            self.token
        );
        self.progress.passed(report, stage, started, detail);
        let keep = deletion_barrier(vault, &self.source_account.role_arn);
        created.recovery_points.push(MadePoint::new(
            self.source,
            self.source_account,
            vault,
            &recovery_point,
            self.resource,
            keep,
        ));
        Ok(Some(recovery_point))
    }
}
