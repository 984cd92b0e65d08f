//! The restore and verify stages: a copy restored in its destination account, and the
//! restored database checked to be encrypted with a key of that account.

use std::time::Instant;

use aws_sdk_backup::operation::start_restore_job::StartRestoreJobOutput;
use coffer_spec::Vault;

use super::jobs::JobSite;
use super::points::{Created, MadePoint};
use super::retention::deletion_barrier;
use super::{Drill, DrillError, DrillReport, DrillStage, Stage, session};

impl Drill<'_> {
    /// Restores `recovery_point` in `vault`'s account and verifies the restored database.
    pub(super) async fn restore(
        &self,
        vault: &Vault,
        recovery_point: &str,
        report: &mut DrillReport,
        created: &mut Created,
    ) -> Result<bool, DrillError> {
        let account_id = self.topology.account_id(&vault.account).to_string();
        let stage = DrillStage::Restore {
            account: vault.account.clone(),
            account_id: account_id.clone(),
        };
        self.progress.start(&stage);
        let session = session(self.sessions, &account_id)?;
        let clients = session.region(&vault.region).await;
        // The drill never deletes a copy in a destination vault: it expires.
        let keep = deletion_barrier(vault, &session.account.role_arn).unwrap_or_else(|| {
            "the drill does not delete copies in destination vaults".to_string()
        });
        created.recovery_points.push(MadePoint::new(
            &clients,
            &session.account,
            vault,
            recovery_point,
            self.resource,
            Some(keep),
        ));
        let call = |name: &str| session.call(&vault.region, name);
        let identifier = format!("{}-{}", self.token, vault.name)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(63)
            .collect::<String>();
        let started = Instant::now();
        let start = clients
            .backup
            .start_restore_job()
            .recovery_point_arn(recovery_point)
            .iam_role_arn(crate::service_roles::restore_role(&account_id))
            .metadata("DBInstanceIdentifier", &identifier)
            .idempotency_token(&identifier)
            .send();
        let site = JobSite {
            clients: &clients,
            call: &call,
        };
        let start_call = call("backup:StartRestoreJob");
        let id = StartRestoreJobOutput::restore_job_id;
        let (_, end) = self
            .run_job(start, start_call, id, |id| site.restore_end(id))
            .await?;
        let restored = match end {
            Ok(arn) => arn,
            Err(message) => {
                self.progress.failed(report, stage, started, message);
                return Ok(false);
            }
        };
        created
            .databases
            .push((clients.clone(), identifier.clone()));
        // The stage's time is the RTO seen.
        let seconds = started.elapsed().as_secs_f64();
        report.restored_in(seconds);
        let detail = format!("restored {restored}");
        let stage = Stage::new(stage, true, seconds, detail);
        self.progress.record(report, stage);
        let restored = Restored {
            site,
            identifier: &identifier,
            account_id: &account_id,
        };
        self.verify(vault, &restored, report).await
    }

    /// Verify: the restored database exists and is encrypted with a key of the destination
    /// account.
    async fn verify(
        &self,
        vault: &Vault,
        restored: &Restored<'_>,
        report: &mut DrillReport,
    ) -> Result<bool, DrillError> {
        let stage = DrillStage::Verify {
            account: vault.account.clone(),
        };
        self.progress.start(&stage);
        let started = Instant::now();
        let (identifier, account_id) = (restored.identifier, restored.account_id);
        let described = restored
            .site
            .clients
            .rds
            .describe_db_instances()
            .db_instance_identifier(identifier)
            .send()
            .await
            .map_err(|e| (restored.site.call)("rds:DescribeDBInstances").sdk_error(e))?;
        let Some(instance) = described.db_instances().first() else {
            let message = format!("{identifier} does not exist in account {account_id}");
            self.progress.failed(report, stage, started, message);
            return Ok(false);
        };
        let encrypted = instance.storage_encrypted().unwrap_or(false);
        let key = instance.kms_key_id().unwrap_or_default();
        let key_account = key.split(':').nth(4).unwrap_or_default();
        if !encrypted || key_account != account_id {
            let state = if encrypted {
                "encrypted"
            } else {
                "not encrypted"
            };
            let message = format!(
                "{identifier} is {state}, with key {key}, not a key of account {account_id}"
            );
            self.progress.failed(report, stage, started, message);
            return Ok(false);
        }
        let detail = format!("{identifier} exists, encrypted with {key}");
        self.progress.passed(report, stage, started, detail);
        Ok(true)
    }
}

/// A database the drill restored, and where.
struct Restored<'a> {
    site: JobSite<'a>,
    identifier: &'a str,
    account_id: &'a str,
}
