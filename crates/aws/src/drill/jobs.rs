//! AWS Backup jobs, polled until they end: how a backup, copy or restore job's state reads.

use std::future::Future;
use std::time::Instant;

use aws_sdk_backup::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_backup::primitives::DateTime;

use super::{Drill, DrillOptions};
use crate::error::{AwsError, Call};
use crate::session::RegionClients;

/// A job's end: `Ok(what it made)` when it completed, `Err(status message)` otherwise.
pub(super) type JobEnd<T = String> = Result<T, String>;

/// Names an AWS call of the drill, for its errors: `backup:DescribeBackupJob`.
pub(super) type Caller<'a> = &'a (dyn Fn(&str) -> Call + Sync);

/// Calls `check` every [`DrillOptions::poll_interval`] until it reads an end, or the job
/// outlives [`DrillOptions::job_timeout`].
async fn poll<T, F, Fut>(options: &DrillOptions, mut check: F) -> Result<JobEnd<T>, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<JobEnd<T>>, AwsError>>,
{
    let started = Instant::now();
    loop {
        if let Some(end) = check().await? {
            return Ok(end);
        }
        if started.elapsed() > options.job_timeout {
            return Ok(Err(format!(
                "the job did not finish within {:?}",
                options.job_timeout
            )));
        }
        tokio::time::sleep(options.poll_interval).await;
    }
}

/// How a backup, copy or restore job's state reads: `COMPLETED` ends it with what `done` takes
/// from the job; `FAILED`, `ABORTED`, `EXPIRED` and `PARTIAL` with the state and AWS's status
/// message; any other state (created, pending, running) is `None`: still waiting.
pub(super) fn job_end<T>(
    job: &str,
    state: Option<&str>,
    status_message: Option<&str>,
    done: impl FnOnce() -> T,
) -> Option<JobEnd<T>> {
    let state = state.unwrap_or_default();
    match state {
        "COMPLETED" => Some(Ok(done())),
        "FAILED" | "ABORTED" | "EXPIRED" | "PARTIAL" => Some(Err(format!(
            "{job} {state}: {}",
            status_message.unwrap_or("no status message")
        ))),
        _ => None,
    }
}

/// What `sent`, a call of the drill, answered; its error names `call`.
async fn answer<T, E, R>(
    sent: impl Future<Output = Result<T, SdkError<E, R>>>,
    call: Call,
) -> Result<T, AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    sent.await.map_err(|e| call.sdk_error(e))
}

/// Where the drill works: the clients of an account and region, and how its calls there are
/// named.
#[derive(Clone, Copy)]
pub(super) struct JobSite<'a> {
    pub(super) clients: &'a RegionClients,
    pub(super) call: Caller<'a>,
}

impl JobSite<'_> {
    /// Backup job `id`: when it completed, its recovery point and creation date.
    pub(super) async fn backup_end(
        self,
        id: String,
    ) -> Result<Option<JobEnd<(String, Option<DateTime>)>>, AwsError> {
        let sent = self.clients.backup.describe_backup_job().backup_job_id(&id);
        let job = answer(sent.send(), (self.call)("backup:DescribeBackupJob")).await?;
        let point = job.recovery_point_arn().unwrap_or_default().to_string();
        let made = (point, job.creation_date().copied());
        let state = job.state().map(|s| s.as_str());
        Ok(job_end(
            &format!("backup job {id}"),
            state,
            job.status_message(),
            || made,
        ))
    }

    /// Copy job `id`: when it completed, the recovery point it made.
    pub(super) async fn copy_end(self, id: String) -> Result<Option<JobEnd>, AwsError> {
        let sent = self.clients.backup.describe_copy_job().copy_job_id(&id);
        let out = answer(sent.send(), (self.call)("backup:DescribeCopyJob")).await?;
        let job = out.copy_job();
        let state = job.and_then(|j| j.state()).map(|s| s.as_str());
        let message = job.and_then(|j| j.status_message());
        Ok(job_end(&format!("copy job {id}"), state, message, || {
            let arn = job.and_then(|j| j.destination_recovery_point_arn());
            arn.unwrap_or_default().to_string()
        }))
    }

    /// Restore job `id`: when it completed, the resource it made.
    pub(super) async fn restore_end(self, id: String) -> Result<Option<JobEnd>, AwsError> {
        let sent = self
            .clients
            .backup
            .describe_restore_job()
            .restore_job_id(&id);
        let job = answer(sent.send(), (self.call)("backup:DescribeRestoreJob")).await?;
        let state = job.status().map(|s| s.as_str());
        Ok(job_end(
            &format!("restore job {id}"),
            state,
            job.status_message(),
            || job.created_resource_arn().unwrap_or_default().to_string(),
        ))
    }
}

impl<'a> Drill<'a> {
    /// Where the backup and copy jobs run: the plan's account and region.
    pub(super) fn at_source(&self) -> JobSite<'a> {
        JobSite {
            clients: self.source,
            call: self.call,
        }
    }

    /// Starts a job of the stage in progress (`start`, the call `call`; `id` reads the job's
    /// ID from AWS's answer), says it started, and polls `status` with its ID until it ends:
    /// the job's ID and end.
    pub(super) async fn run_job<A, E, R, T, F, Fut>(
        &self,
        start: impl Future<Output = Result<A, SdkError<E, R>>>,
        call: Call,
        id: impl FnOnce(&A) -> Option<&str>,
        status: F,
    ) -> Result<(String, JobEnd<T>), AwsError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<Option<JobEnd<T>>, AwsError>>,
    {
        let started = answer(start, call).await?;
        let job_id = id(&started).unwrap_or_default().to_string();
        self.progress.job(&job_id);
        let end = poll(self.options, || status(job_id.clone())).await?;
        Ok((job_id, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_states_read_as_done_failed_or_waiting() {
        assert_eq!(
            job_end("copy job 1", Some("COMPLETED"), None, || 7),
            Some(Ok(7))
        );
        assert_eq!(
            job_end("copy job 1", Some("FAILED"), Some("Access Denied"), || 7),
            Some(Err("copy job 1 FAILED: Access Denied".to_string()))
        );
        assert_eq!(
            job_end::<i32>("restore job 2", Some("ABORTED"), None, || 7),
            Some(Err("restore job 2 ABORTED: no status message".to_string()))
        );
        assert_eq!(job_end("backup job 3", Some("RUNNING"), None, || 7), None);
        assert_eq!(job_end("backup job 3", None, None, || 7), None);
    }
}
