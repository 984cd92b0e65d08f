//! The restore drill: the reference scenario's procedure, automated and timed. Back a resource
//! up into its plan's vault, copy the recovery point to every `copy_to` destination, restore it
//! in the destination account, check the restored resource is encrypted with that account's
//! key, and clean up.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_backup::types::Lifecycle;
use coffer_spec::{BackupPlan, Rule, Topology, Vault};
use serde::Serialize;

use crate::error::{AwsError, Call};
use crate::session::{RegionClients, Sessions};

#[derive(Debug, Clone)]
pub struct DrillOptions {
    /// The plan to drill; the topology's only plan with a copy action when unset.
    pub plan: Option<String>,
    /// The resource to back up; the plan's first RDS resource when unset.
    pub resource: Option<String>,
    /// Leave the recovery points and the restored resource in place.
    pub keep: bool,
    pub poll_interval: Duration,
    /// Give up on a job after this long.
    pub job_timeout: Duration,
}

impl Default for DrillOptions {
    fn default() -> Self {
        DrillOptions {
            plan: None,
            resource: None,
            keep: false,
            poll_interval: Duration::from_secs(5),
            job_timeout: Duration::from_secs(4 * 3600),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stage {
    /// `backup`, `copy to vault.<name>`, `restore in <account>`, `verify`, `clean up`.
    pub name: String,
    pub ok: bool,
    pub seconds: f64,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DrillReport {
    pub format_version: u32,
    pub topology: String,
    pub plan: String,
    pub resource: String,
    pub stages: Vec<Stage>,
    /// Age of the newest recovery point of the resource before the drill (the RPO seen).
    pub rpo_seen_seconds: Option<u64>,
    /// How long the restore took (the RTO seen).
    pub rto_seen_seconds: Option<f64>,
    pub ok: bool,
    /// The failing stage's AWS status message.
    pub failure: Option<String>,
    /// Check IDs that predict the failure (filled by the caller from the checks catalog).
    pub predicted_by: Vec<String>,
}

/// Why the drill could not start.
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Aws(Box<AwsError>),
}

impl From<AwsError> for DrillError {
    fn from(error: AwsError) -> Self {
        DrillError::Aws(Box::new(error))
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn pick<'t>(
    topology: &'t Topology,
    options: &DrillOptions,
) -> Result<(&'t BackupPlan, &'t Rule, String), DrillError> {
    let candidates: Vec<&BackupPlan> = match &options.plan {
        Some(name) => topology
            .plans
            .values()
            .filter(|p| p.name.as_str() == name || p.plan_name == *name)
            .collect(),
        None => topology
            .plans
            .values()
            .filter(|p| p.rules.iter().any(|r| !r.copy_to.is_empty()))
            .collect(),
    };
    let plan = match candidates.as_slice() {
        [one] => *one,
        [] => {
            return Err(DrillError::Setup(match &options.plan {
                Some(name) => format!("no backup plan `{name}` in the topology"),
                None => {
                    "no backup plan of the topology copies anywhere; name one with --plan".into()
                }
            }));
        }
        many => {
            return Err(DrillError::Setup(format!(
                "several plans copy recovery points ({}); choose one with --plan",
                many.iter()
                    .map(|p| p.name.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    let rule = plan
        .rules
        .iter()
        .find(|r| !r.copy_to.is_empty())
        .or_else(|| plan.rules.first())
        .ok_or_else(|| DrillError::Setup(format!("plan `{}` has no rules", plan.name)))?;
    let resource = match &options.resource {
        Some(arn) => arn.clone(),
        None => plan
            .selections
            .iter()
            .flat_map(|s| &s.resources)
            .find(|r| r.starts_with("arn:aws:rds:") && r.contains(":db:") && !r.contains('*'))
            .cloned()
            .ok_or_else(|| {
                DrillError::Setup(format!(
                    "plan `{}` selects no RDS instance by ARN; name one with --resource",
                    plan.name
                ))
            })?,
    };
    Ok((plan, rule, resource))
}

/// A job's end: `Ok(detail)` when it completed, `Err(status message)` otherwise.
type JobEnd = Result<String, String>;

async fn poll<F, Fut>(options: &DrillOptions, mut check: F) -> Result<JobEnd, AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<JobEnd>, AwsError>>,
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

fn role_arn(account_id: &str, role: &str) -> String {
    format!("arn:aws:iam::{account_id}:role/{role}")
}

/// What the drill created, to clean up.
#[derive(Default)]
struct Created {
    recovery_points: Vec<(RegionClients, String, String)>,
    databases: Vec<(RegionClients, String)>,
}

/// Runs the drill. AWS errors after the first job started end the drill as a failed stage;
/// whatever it created is still cleaned up.
pub async fn run(
    topology: &Topology,
    sessions: &Sessions,
    options: &DrillOptions,
) -> Result<DrillReport, DrillError> {
    let (plan, rule, resource) = pick(topology, options)?;
    let source_vault = topology
        .vaults
        .get(&rule.vault)
        .ok_or_else(|| DrillError::Setup("the rule's vault is not in the topology".into()))?;
    let source_id = topology.account_id(&plan.account).to_string();
    let source_session = sessions
        .account(&source_id)
        .ok_or_else(|| DrillError::Setup(format!("no session for account {source_id}")))?;
    let source = source_session.region(&plan.region).await;
    let call = |name: &str| Call::new(&source_session.account, &plan.region, name);
    let mut report = DrillReport {
        format_version: 1,
        topology: topology.name.clone(),
        plan: plan.name.to_string(),
        resource: resource.clone(),
        stages: Vec::new(),
        rpo_seen_seconds: newest_recovery_point_age(
            &source,
            &source_vault.vault_name,
            &resource,
            &call,
        )
        .await?,
        rto_seen_seconds: None,
        ok: false,
        failure: None,
        predicted_by: Vec::new(),
    };
    let mut created = Created::default();
    let drill = Drill {
        topology,
        sessions,
        options,
        plan,
        rule,
        source_vault,
        source: &source,
        call: &call,
        resource: &resource,
        token: format!("coffer-drill-{}", now_secs()),
    };
    match drill.stages(&mut report, &mut created).await {
        Ok(ok) => report.ok = ok,
        Err(error) => {
            let message = error.to_string();
            report.stages.push(Stage {
                name: "error".into(),
                ok: false,
                seconds: 0.0,
                detail: message.clone(),
            });
            report.failure = Some(message);
            report.ok = false;
        }
    }
    clean_up(&mut report, created, options).await;
    Ok(report)
}

struct Drill<'a> {
    topology: &'a Topology,
    sessions: &'a Sessions,
    options: &'a DrillOptions,
    plan: &'a BackupPlan,
    rule: &'a Rule,
    source_vault: &'a Vault,
    source: &'a RegionClients,
    call: &'a (dyn Fn(&str) -> Call + Sync),
    resource: &'a str,
    token: String,
}

fn lifecycle(lifecycle: &coffer_spec::Lifecycle) -> Option<Lifecycle> {
    (lifecycle.delete_after_days.is_some() || lifecycle.move_to_cold_storage_after_days.is_some())
        .then(|| {
            Lifecycle::builder()
                .set_delete_after_days(lifecycle.delete_after_days)
                .set_move_to_cold_storage_after_days(lifecycle.move_to_cold_storage_after_days)
                .build()
        })
}

fn failed(report: &mut DrillReport, stage: &str, started: Instant, message: String) -> bool {
    report.stages.push(Stage {
        name: stage.to_string(),
        ok: false,
        seconds: started.elapsed().as_secs_f64(),
        detail: message.clone(),
    });
    report.failure = Some(message);
    false
}

impl Drill<'_> {
    /// Runs the stages; `Ok(false)` when one failed (recorded in the report).
    async fn stages(
        &self,
        report: &mut DrillReport,
        created: &mut Created,
    ) -> Result<bool, DrillError> {
        let call = self.call;
        let job_role = self
            .plan
            .selections
            .first()
            .map(|s| s.role_arn.clone())
            .unwrap_or_else(|| {
                role_arn(
                    self.topology.account_id(&self.plan.account),
                    coffer_spec::aws::SERVICE_DEFAULT_ROLE,
                )
            });
        let started = Instant::now();
        let job = self
            .source
            .backup
            .start_backup_job()
            .backup_vault_name(&self.source_vault.vault_name)
            .resource_arn(self.resource)
            .iam_role_arn(&job_role)
            .set_lifecycle(lifecycle(&self.rule.lifecycle))
            .idempotency_token(&self.token)
            .send()
            .await
            .map_err(|e| call("backup:StartBackupJob").sdk_error(e))?;
        let job_id = job.backup_job_id().unwrap_or_default().to_string();
        let end = poll(self.options, || async {
            let out = self
                .source
                .backup
                .describe_backup_job()
                .backup_job_id(&job_id)
                .send()
                .await
                .map_err(|e| call("backup:DescribeBackupJob").sdk_error(e))?;
            let state = out
                .state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            Ok(match state.as_str() {
                "COMPLETED" => Some(Ok(out.recovery_point_arn().unwrap_or_default().to_string())),
                "FAILED" | "ABORTED" | "EXPIRED" | "PARTIAL" => Some(Err(format!(
                    "backup job {job_id} {state}: {}",
                    out.status_message().unwrap_or("no status message")
                ))),
                _ => None,
            })
        })
        .await?;
        let recovery_point = match end {
            Ok(arn) => arn,
            Err(message) => return Ok(failed(report, "backup", started, message)),
        };
        report.stages.push(Stage {
            name: "backup".into(),
            ok: true,
            seconds: started.elapsed().as_secs_f64(),
            detail: format!(
                "recovery point {recovery_point} in vault {}",
                self.source_vault.vault_name
            ),
        });
        created.recovery_points.push((
            self.source.clone(),
            self.source_vault.vault_name.clone(),
            recovery_point.clone(),
        ));

        for copy in &self.rule.copy_to {
            let Some(destination) = self.topology.vaults.get(&copy.vault) else {
                continue;
            };
            let stage = format!("copy to vault.{}", destination.name);
            let started = Instant::now();
            let copy_job = self
                .source
                .backup
                .start_copy_job()
                .recovery_point_arn(&recovery_point)
                .source_backup_vault_name(&self.source_vault.vault_name)
                .destination_backup_vault_arn(self.topology.vault_arn(destination))
                .iam_role_arn(&job_role)
                .set_lifecycle(lifecycle(&copy.lifecycle))
                .idempotency_token(format!("{}-{}", self.token, destination.name))
                .send()
                .await
                .map_err(|e| call("backup:StartCopyJob").sdk_error(e))?;
            let copy_job_id = copy_job.copy_job_id().unwrap_or_default().to_string();
            let end = poll(self.options, || async {
                let out = self
                    .source
                    .backup
                    .describe_copy_job()
                    .copy_job_id(&copy_job_id)
                    .send()
                    .await
                    .map_err(|e| call("backup:DescribeCopyJob").sdk_error(e))?;
                let job = out.copy_job();
                let state = job
                    .and_then(|j| j.state())
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default();
                Ok(match state.as_str() {
                    "COMPLETED" => Some(Ok(job
                        .and_then(|j| j.destination_recovery_point_arn())
                        .unwrap_or_default()
                        .to_string())),
                    "FAILED" | "ABORTED" | "PARTIAL" => Some(Err(format!(
                        "copy job {copy_job_id} {state}: {}",
                        job.and_then(|j| j.status_message())
                            .unwrap_or("no status message")
                    ))),
                    _ => None,
                })
            })
            .await?;
            let copied = match end {
                Ok(arn) => arn,
                Err(message) => return Ok(failed(report, &stage, started, message)),
            };
            report.stages.push(Stage {
                name: stage,
                ok: true,
                seconds: started.elapsed().as_secs_f64(),
                detail: format!("recovery point {copied}"),
            });
            if !self.restore(destination, &copied, report, created).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Restores `recovery_point` in `vault`'s account and verifies the restored database.
    async fn restore(
        &self,
        vault: &Vault,
        recovery_point: &str,
        report: &mut DrillReport,
        created: &mut Created,
    ) -> Result<bool, DrillError> {
        let account_id = self.topology.account_id(&vault.account).to_string();
        let session = self
            .sessions
            .account(&account_id)
            .ok_or_else(|| DrillError::Setup(format!("no session for account {account_id}")))?;
        let clients = session.region(&vault.region).await;
        created.recovery_points.push((
            clients.clone(),
            vault.vault_name.clone(),
            recovery_point.to_string(),
        ));
        let call = |name: &str| Call::new(&session.account, &vault.region, name);
        let identifier = format!("{}-{}", self.token, vault.name)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(63)
            .collect::<String>();
        let stage = format!("restore in {} ({account_id})", vault.account);
        let started = Instant::now();
        let job = clients
            .backup
            .start_restore_job()
            .recovery_point_arn(recovery_point)
            .iam_role_arn(role_arn(
                &account_id,
                coffer_spec::aws::SERVICE_DEFAULT_ROLE,
            ))
            .metadata("DBInstanceIdentifier", &identifier)
            .idempotency_token(&identifier)
            .send()
            .await
            .map_err(|e| call("backup:StartRestoreJob").sdk_error(e))?;
        let job_id = job.restore_job_id().unwrap_or_default().to_string();
        let end = poll(self.options, || async {
            let out = clients
                .backup
                .describe_restore_job()
                .restore_job_id(&job_id)
                .send()
                .await
                .map_err(|e| call("backup:DescribeRestoreJob").sdk_error(e))?;
            let status = out
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            Ok(match status.as_str() {
                "COMPLETED" => Some(Ok(out
                    .created_resource_arn()
                    .unwrap_or_default()
                    .to_string())),
                "FAILED" | "ABORTED" => Some(Err(format!(
                    "restore job {job_id} {status}: {}",
                    out.status_message().unwrap_or("no status message")
                ))),
                _ => None,
            })
        })
        .await?;
        let restored = match end {
            Ok(arn) => arn,
            Err(message) => return Ok(failed(report, &stage, started, message)),
        };
        created
            .databases
            .push((clients.clone(), identifier.clone()));
        let seconds = started.elapsed().as_secs_f64();
        report.rto_seen_seconds = Some(
            report
                .rto_seen_seconds
                .map_or(seconds, |s: f64| s.max(seconds)),
        );
        report.stages.push(Stage {
            name: stage,
            ok: true,
            seconds,
            detail: format!("restored {restored}"),
        });

        // Verify: the restored database exists and is encrypted with a key of the destination account.
        let started = Instant::now();
        let described = clients
            .rds
            .describe_db_instances()
            .db_instance_identifier(&identifier)
            .send()
            .await
            .map_err(|e| call("rds:DescribeDBInstances").sdk_error(e))?;
        let instance = described.db_instances().first();
        let encrypted = instance
            .and_then(|i| i.storage_encrypted())
            .unwrap_or(false);
        let key = instance
            .and_then(|i| i.kms_key_id())
            .unwrap_or_default()
            .to_string();
        let key_account = key.split(':').nth(4).unwrap_or_default().to_string();
        let stage = format!("verify in {}", vault.account);
        if instance.is_none() {
            return Ok(failed(
                report,
                &stage,
                started,
                format!("{identifier} does not exist in account {account_id}"),
            ));
        }
        if !encrypted || key_account != account_id {
            let state = if encrypted {
                "encrypted"
            } else {
                "not encrypted"
            };
            return Ok(failed(
                report,
                &stage,
                started,
                format!(
                    "{identifier} is {state}, with key {key}, not a key of account {account_id}"
                ),
            ));
        }
        report.stages.push(Stage {
            name: stage,
            ok: true,
            seconds: started.elapsed().as_secs_f64(),
            detail: format!("{identifier} exists, encrypted with {key}"),
        });
        Ok(true)
    }
}

/// Deletes what the drill created (unless `--keep`): restored databases, then recovery
/// points, newest first. A vault lock may keep recovery points; that is reported.
async fn clean_up(report: &mut DrillReport, created: Created, options: &DrillOptions) {
    if options.keep {
        report.stages.push(Stage {
            name: "clean up".into(),
            ok: true,
            seconds: 0.0,
            detail: "skipped (--keep): the recovery points and restored databases stay".into(),
        });
        return;
    }
    let started = Instant::now();
    let mut done = Vec::new();
    let mut kept = Vec::new();
    let mut failed = Vec::new();
    for (clients, identifier) in created.databases {
        match clients
            .rds
            .delete_db_instance()
            .db_instance_identifier(&identifier)
            .skip_final_snapshot(true)
            .send()
            .await
        {
            Ok(_) => done.push(format!("database {identifier}")),
            Err(e) => failed.push(format!(
                "database {identifier}: {}",
                e.as_service_error()
                    .map_or_else(|| "request failed".to_string(), |s| s.to_string())
            )),
        }
    }
    for (clients, vault, arn) in created.recovery_points.into_iter().rev() {
        match clients
            .backup
            .delete_recovery_point()
            .backup_vault_name(&vault)
            .recovery_point_arn(&arn)
            .send()
            .await
        {
            Ok(_) => done.push(format!("recovery point {arn}")),
            Err(e) => {
                let reason = e
                    .as_service_error()
                    .map_or_else(|| "request failed".to_string(), |s| s.to_string());
                if reason.contains("Vault Lock") || reason.contains("retain") {
                    kept.push(format!("{arn} ({reason})"));
                } else {
                    failed.push(format!("recovery point {arn}: {reason}"));
                }
            }
        }
    }
    let mut detail = if done.is_empty() {
        "nothing to delete".to_string()
    } else {
        format!("deleted: {}", done.join(", "))
    };
    if !kept.is_empty() {
        detail.push_str(&format!("; kept by a vault lock: {}", kept.join("; ")));
    }
    if !failed.is_empty() {
        detail.push_str(&format!("; could not delete: {}", failed.join("; ")));
    }
    report.stages.push(Stage {
        name: "clean up".into(),
        ok: failed.is_empty(),
        seconds: started.elapsed().as_secs_f64(),
        detail,
    });
}

async fn newest_recovery_point_age(
    clients: &RegionClients,
    vault: &str,
    resource: &str,
    call: &dyn Fn(&str) -> Call,
) -> Result<Option<u64>, AwsError> {
    let points = clients
        .backup
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(vault)
        .by_resource_arn(resource)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    let mut newest: Option<i64> = None;
    for point in points {
        let point =
            point.map_err(|e| call("backup:ListRecoveryPointsByBackupVault").sdk_error(e))?;
        if let Some(created) = point.creation_date() {
            newest = Some(newest.map_or(created.secs(), |n| n.max(created.secs())));
        }
    }
    Ok(newest.map(|n| now_secs().saturating_sub(u64::try_from(n).unwrap_or(0))))
}
