//! The restore drill: the reference scenario's procedure, automated and timed. Back a resource
//! up into its plan's vault, copy the recovery point to every `copy_to` destination, restore it
//! in the destination account, check the restored resource is encrypted with that account's
//! key, and clean up what may be deleted.
//!
//! Guarded vaults deny deleting recovery points to everyone but their break-glass principals,
//! and a locked vault keeps them until their retention ends; so every recovery point the drill
//! makes gets the shortest retention its vault's lock allows, and the copies in destination
//! vaults are left to expire rather than deleted.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_backup::primitives::{DateTime, DateTimeFormat};
use aws_sdk_backup::types::Lifecycle;
use coffer_planner::plan::TAG_TOPOLOGY;
use coffer_spec::{Account, BackupPlan, Rule, Topology, Vault};
use serde::Serialize;

use crate::error::{AwsError, Call};
use crate::propagation::{self, PropagationWait};
use crate::session::{RegionClients, Sessions};

#[derive(Debug, Clone)]
pub struct DrillOptions {
    /// The plan to drill; the topology's only plan with a copy action when unset.
    pub plan: Option<String>,
    /// The resource to back up; the plan's first RDS resource when unset.
    pub resource: Option<String>,
    /// Leave the restored resource and the source recovery point in place.
    pub keep: bool,
    pub poll_interval: Duration,
    /// Give up on a job after this long.
    pub job_timeout: Duration,
    /// How long a copy refused for lack of access is started again, while AWS may not have
    /// propagated a change yet (`propagation.rs`; `COFFER_PROPAGATION_WINDOW_SECONDS`).
    pub propagation: PropagationWait,
}

impl Default for DrillOptions {
    fn default() -> Self {
        DrillOptions {
            plan: None,
            resource: None,
            keep: false,
            poll_interval: Duration::from_secs(5),
            job_timeout: Duration::from_secs(4 * 3600),
            propagation: PropagationWait::from_env(),
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

/// What a stage of the drill does: the `stage` of its progress events.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    Backup,
    Copy,
    Restore,
    Verify,
    CleanUp,
}

/// Progress of a drill, as it happens (the report comes at the end). Each stage starts, may
/// start an AWS job, and then completes or fails; `name` is the stage's name in the report.
/// Serialized with an `event` tag: `{"event":"stage_started","stage":"backup","name":"backup"}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DrillEvent {
    /// The drill picked its plan and resource.
    DrillStarted {
        drill_id: String,
        topology: String,
        plan: String,
        resource: String,
    },
    StageStarted {
        stage: StageKind,
        name: String,
    },
    /// The stage's AWS Backup job (backup, copy or restore job) started.
    JobStarted {
        stage: StageKind,
        name: String,
        job_id: String,
    },
    StageCompleted {
        stage: StageKind,
        name: String,
        seconds: f64,
        detail: String,
    },
    StageFailed {
        stage: StageKind,
        name: String,
        seconds: f64,
        error: String,
    },
    /// After the clean-up; the report follows.
    DrillFinished {
        ok: bool,
        seconds: f64,
    },
}

/// Sends the drill's events, and remembers the stage in progress so that each stage that
/// starts also ends with an event, an AWS error included.
struct Progress<'a> {
    on_event: &'a (dyn Fn(DrillEvent) + Send + Sync),
    open: Mutex<Option<(StageKind, String, Instant)>>,
}

impl Progress<'_> {
    fn open(&self) -> std::sync::MutexGuard<'_, Option<(StageKind, String, Instant)>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn start(&self, stage: StageKind, name: &str) {
        *self.open() = Some((stage, name.to_string(), Instant::now()));
        (self.on_event)(DrillEvent::StageStarted {
            stage,
            name: name.to_string(),
        });
    }

    fn job(&self, job_id: &str) {
        let open = self.open().clone();
        if let Some((stage, name, _)) = open {
            (self.on_event)(DrillEvent::JobStarted {
                stage,
                name,
                job_id: job_id.to_string(),
            });
        }
    }

    /// Ends the stage in progress with `stage`'s outcome, and adds `stage` to the report.
    fn record(&self, report: &mut DrillReport, stage: Stage) {
        let open = self.open().take();
        if let Some((kind, name, _)) = open {
            (self.on_event)(if stage.ok {
                DrillEvent::StageCompleted {
                    stage: kind,
                    name,
                    seconds: stage.seconds,
                    detail: stage.detail.clone(),
                }
            } else {
                DrillEvent::StageFailed {
                    stage: kind,
                    name,
                    seconds: stage.seconds,
                    error: stage.detail.clone(),
                }
            });
        }
        report.stages.push(stage);
    }

    /// Ends the stage in progress, if any, with an error that stopped the drill.
    fn abort(&self, error: &str) {
        let open = self.open().take();
        if let Some((stage, name, started)) = open {
            (self.on_event)(DrillEvent::StageFailed {
                stage,
                name,
                seconds: started.elapsed().as_secs_f64(),
                error: error.to_string(),
            });
        }
    }
}

/// A recovery point the drill made and did not delete: AWS Backup deletes it when its
/// retention ends.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LeftToExpire {
    pub recovery_point_arn: String,
    /// The vault's name in AWS.
    pub vault: String,
    pub account_id: String,
    pub region: String,
    /// The retention the drill gave it.
    pub delete_after_days: i64,
    /// When it expires (its creation date plus `delete_after_days`), in RFC 3339; `None` when
    /// its creation date could not be read.
    pub expires_at: Option<String>,
    /// Why the drill left it.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DrillReport {
    pub format_version: u32,
    pub topology: String,
    pub plan: String,
    pub resource: String,
    /// The drill's ID, the value of the `coffer:drill` tag on what it creates.
    pub drill_id: String,
    pub stages: Vec<Stage>,
    /// The recovery points the drill made and left to expire.
    pub left_to_expire: Vec<LeftToExpire>,
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
    /// AWS Backup cannot assume a role the drill would pass it (`crate::service_roles`).
    #[error("{0}")]
    ServiceRoles(String),
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

pub(crate) fn pick<'t>(
    topology: &'t Topology,
    options: &DrillOptions,
) -> Result<(&'t BackupPlan, &'t Rule, String), DrillError> {
    let candidates: Vec<&BackupPlan> = match &options.plan {
        Some(name) => topology
            .backup_plans
            .values()
            .filter(|p| p.name.as_str() == name || p.plan_name == *name)
            .collect(),
        None => topology
            .backup_plans
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

/// A job's end: `Ok(what it made)` when it completed, `Err(status message)` otherwise.
type JobEnd<T = String> = Result<T, String>;

async fn poll<T, F, Fut>(options: &DrillOptions, mut check: F) -> Result<JobEnd<T>, AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<JobEnd<T>>, AwsError>>,
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
fn job_end<T>(
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

/// The tag naming the drill on what it creates; its value is the drill's ID.
pub const TAG_DRILL: &str = "coffer:drill";

/// A recovery point the drill made.
struct MadePoint {
    clients: RegionClients,
    account: Account,
    region: String,
    /// The vault's name in AWS.
    vault: String,
    arn: String,
    resource: String,
    delete_after_days: i64,
    /// Why the clean-up must not try to delete it; `None`: it tries.
    keep: Option<String>,
}

/// What the drill created, to clean up.
#[derive(Default)]
struct Created {
    recovery_points: Vec<MadePoint>,
    databases: Vec<(RegionClients, String)>,
    /// When the backup job was created: the creation date of its recovery point and of every
    /// copy (copies keep their source's), when reading the recovery point's own fails.
    backup_created: Option<DateTime>,
}

/// The shortest retention, in days, `vault`'s lock allows: its minimum retention when the
/// topology declares one, else 1 day.
pub fn shortest_retention(vault: &Vault) -> i64 {
    vault
        .lock
        .as_ref()
        .and_then(|lock| lock.min_retention_days)
        .map_or(1, |days| days.max(1))
}

/// The lifecycle of what the drill creates in `vault`: its shortest retention, never cold storage.
fn drill_lifecycle(vault: &Vault) -> Lifecycle {
    Lifecycle::builder()
        .delete_after_days(shortest_retention(vault))
        .build()
}

/// What keeps the drill from deleting a recovery point it made in `vault`, as the topology
/// declares it: the vault's deletion guard (unless `role_arn` is one of its break-glass
/// principals) and its lock's minimum retention (equal to the drill's retention, so the
/// recovery point can only expire). `None`: nothing declared keeps it.
pub fn deletion_barrier(vault: &Vault, role_arn: &str) -> Option<String> {
    let mut reasons = Vec::new();
    if let Some(policy) = &vault.access_policy
        && policy.deny_recovery_point_deletion
        && !policy.break_glass_principals.iter().any(|p| p == role_arn)
    {
        reasons.push(format!(
            "the deletion guard of vault {} denies backup:DeleteRecoveryPoint",
            vault.vault_name
        ));
    }
    if let Some(days) = vault.lock.as_ref().and_then(|lock| lock.min_retention_days) {
        reasons.push(format!(
            "the vault lock keeps recovery points at least {}",
            coffer_spec::diag::plural(days, "day", "days")
        ));
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// Whether AWS refused a deletion (rather than failed to process it): access denied (a
/// deletion guard) or an invalid request (a locked vault's retention).
pub fn is_refusal(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("AccessDeniedException" | "AccessDenied" | "InvalidRequestException")
    )
}

/// `created` plus `days`, in RFC 3339 (to the second).
pub fn expiry(created: &DateTime, days: i64) -> Option<String> {
    DateTime::from_secs(created.secs().checked_add(days.checked_mul(86_400)?)?)
        .fmt(DateTimeFormat::DateTime)
        .ok()
}

/// Runs the drill, sending `on_event` its progress as stages start and end. AWS errors after
/// the first job started end the drill as a failed stage; whatever it created is still
/// cleaned up.
pub async fn run(
    topology: &Topology,
    sessions: &Sessions,
    options: &DrillOptions,
    on_event: &(dyn Fn(DrillEvent) + Send + Sync),
) -> Result<DrillReport, DrillError> {
    let drill_started = Instant::now();
    let (plan, rule, resource) = pick(topology, options)?;
    crate::service_roles::preflight(topology, sessions, plan, rule).await?;
    let source_vault = topology
        .vaults
        .get(&rule.vault)
        .ok_or_else(|| DrillError::Setup("the rule's vault is not in the topology".into()))?;
    let source_id = topology.account_id(&plan.account).to_string();
    let source_session = sessions
        .account(&source_id)
        .ok_or_else(|| DrillError::Setup(format!("no session for account {source_id}")))?;
    let source = source_session.region(&plan.region).await;
    let call = |name: &str| source_session.call(&plan.region, name);
    let token = format!("coffer-drill-{}", now_secs());
    let mut report = DrillReport {
        format_version: 1,
        topology: topology.name.clone(),
        plan: plan.name.to_string(),
        resource: resource.clone(),
        drill_id: token.clone(),
        stages: Vec::new(),
        left_to_expire: Vec::new(),
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
    on_event(DrillEvent::DrillStarted {
        drill_id: report.drill_id.clone(),
        topology: report.topology.clone(),
        plan: report.plan.clone(),
        resource: report.resource.clone(),
    });
    let progress = Progress {
        on_event,
        open: Mutex::new(None),
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
        source_account: &source_session.account,
        call: &call,
        resource: &resource,
        token,
        progress: &progress,
    };
    match drill.stages(&mut report, &mut created).await {
        Ok(ok) => report.ok = ok,
        Err(error) => {
            let message = error.to_string();
            progress.abort(&message);
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
    clean_up(&mut report, created, options, &progress).await;
    on_event(DrillEvent::DrillFinished {
        ok: report.ok,
        seconds: drill_started.elapsed().as_secs_f64(),
    });
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
    source_account: &'a Account,
    call: &'a (dyn Fn(&str) -> Call + Sync),
    resource: &'a str,
    token: String,
    progress: &'a Progress<'a>,
}

fn failed(
    progress: &Progress,
    report: &mut DrillReport,
    stage: &str,
    started: Instant,
    message: String,
) -> bool {
    progress.record(
        report,
        Stage {
            name: stage.to_string(),
            ok: false,
            seconds: started.elapsed().as_secs_f64(),
            detail: message.clone(),
        },
    );
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
        let job_role = crate::service_roles::job_role(self.topology, self.plan);
        self.progress.start(StageKind::Backup, "backup");
        let started = Instant::now();
        let retention = shortest_retention(self.source_vault);
        let job = self
            .source
            .backup
            .start_backup_job()
            .backup_vault_name(&self.source_vault.vault_name)
            .resource_arn(self.resource)
            .iam_role_arn(&job_role)
            .lifecycle(drill_lifecycle(self.source_vault))
            .recovery_point_tags(TAG_DRILL, &self.token)
            .recovery_point_tags(TAG_TOPOLOGY, &self.topology.name)
            .idempotency_token(&self.token)
            .send()
            .await
            .map_err(|e| call("backup:StartBackupJob").sdk_error(e))?;
        let job_id = job.backup_job_id().unwrap_or_default().to_string();
        self.progress.job(&job_id);
        let end = poll(self.options, || async {
            let out = self
                .source
                .backup
                .describe_backup_job()
                .backup_job_id(&job_id)
                .send()
                .await
                .map_err(|e| call("backup:DescribeBackupJob").sdk_error(e))?;
            Ok(job_end(
                &format!("backup job {job_id}"),
                out.state().map(|s| s.as_str()),
                out.status_message(),
                || {
                    (
                        out.recovery_point_arn().unwrap_or_default().to_string(),
                        out.creation_date().copied(),
                    )
                },
            ))
        })
        .await?;
        let recovery_point = match end {
            Ok((arn, creation)) => {
                created.backup_created = creation;
                arn
            }
            Err(message) => {
                return Ok(failed(self.progress, report, "backup", started, message));
            }
        };
        self.progress.record(
            report,
            Stage {
                name: "backup".into(),
                ok: true,
                seconds: started.elapsed().as_secs_f64(),
                detail: format!(
                    "recovery point {recovery_point} in vault {}, kept {retention} {}, tagged {TAG_DRILL}={}",
                    self.source_vault.vault_name,
                    days(retention),
                    self.token
                ),
            },
        );
        created.recovery_points.push(MadePoint {
            clients: self.source.clone(),
            account: self.source_account.clone(),
            region: self.plan.region.clone(),
            vault: self.source_vault.vault_name.clone(),
            arn: recovery_point.clone(),
            resource: self.resource.to_string(),
            delete_after_days: retention,
            keep: deletion_barrier(self.source_vault, &self.source_account.role_arn),
        });

        for copy in &self.rule.copy_to {
            let Some(destination) = self.topology.vaults.get(&copy.vault) else {
                continue;
            };
            let stage = format!("copy to vault.{}", destination.name);
            self.progress.start(StageKind::Copy, &stage);
            let started = Instant::now();
            let retention = shortest_retention(destination);
            // A refusal right after `coffer apply` may be AWS propagating it: start the copy again.
            let mut waiting = propagation::Waiting::new(self.options.propagation);
            let vault_subject = format!("vault.{}", destination.name);
            let copied = loop {
                let copy_job = self
                    .source
                    .backup
                    .start_copy_job()
                    .recovery_point_arn(&recovery_point)
                    .source_backup_vault_name(&self.source_vault.vault_name)
                    .destination_backup_vault_arn(self.topology.vault_arn(destination))
                    .iam_role_arn(&job_role)
                    .lifecycle(drill_lifecycle(destination))
                    .idempotency_token(
                        waiting.token(&format!("{}-{}", self.token, destination.name)),
                    )
                    .send()
                    .await
                    .map_err(|e| call("backup:StartCopyJob").sdk_error(e))?;
                let copy_job_id = copy_job.copy_job_id().unwrap_or_default().to_string();
                self.progress.job(&copy_job_id);
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
                    Ok(job_end(
                        &format!("copy job {copy_job_id}"),
                        job.and_then(|j| j.state()).map(|s| s.as_str()),
                        job.and_then(|j| j.status_message()),
                        || {
                            job.and_then(|j| j.destination_recovery_point_arn())
                                .unwrap_or_default()
                                .to_string()
                        },
                    ))
                })
                .await?;
                match end {
                    Ok(arn) => break arn,
                    Err(message) => {
                        let job = format!("copy job {copy_job_id}");
                        let unexplained = || {
                            propagation::checks_pass(
                                self.topology,
                                self.sessions,
                                self.plan.name.as_str(),
                                self.resource,
                                &vault_subject,
                            )
                        };
                        if waiting.retry(&stage, &job, &message, unexplained).await {
                            continue;
                        }
                        let message = match waiting.note() {
                            Some(note) => format!("{message} (still failing {note})"),
                            None => message,
                        };
                        return Ok(failed(self.progress, report, &stage, started, message));
                    }
                }
            };
            let waited = waiting
                .note()
                .map(|note| format!(" ({note})"))
                .unwrap_or_default();
            self.progress.record(
                report,
                Stage {
                    name: stage,
                    ok: true,
                    seconds: started.elapsed().as_secs_f64(),
                    detail: format!(
                        "recovery point {copied} in vault {}, kept {retention} {}{waited}",
                        destination.vault_name,
                        days(retention)
                    ),
                },
            );
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
        let stage = format!("restore in {} ({account_id})", vault.account);
        self.progress.start(StageKind::Restore, &stage);
        let session = self
            .sessions
            .account(&account_id)
            .ok_or_else(|| DrillError::Setup(format!("no session for account {account_id}")))?;
        let clients = session.region(&vault.region).await;
        // The drill never deletes a copy in a destination vault: it expires.
        let keep = deletion_barrier(vault, &session.account.role_arn).unwrap_or_else(|| {
            "the drill does not delete copies in destination vaults".to_string()
        });
        created.recovery_points.push(MadePoint {
            clients: clients.clone(),
            account: session.account.clone(),
            region: vault.region.clone(),
            vault: vault.vault_name.clone(),
            arn: recovery_point.to_string(),
            resource: self.resource.to_string(),
            delete_after_days: shortest_retention(vault),
            keep: Some(keep),
        });
        let call = |name: &str| session.call(&vault.region, name);
        let identifier = format!("{}-{}", self.token, vault.name)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(63)
            .collect::<String>();
        let started = Instant::now();
        let job = clients
            .backup
            .start_restore_job()
            .recovery_point_arn(recovery_point)
            .iam_role_arn(crate::service_roles::restore_role(&account_id))
            .metadata("DBInstanceIdentifier", &identifier)
            .idempotency_token(&identifier)
            .send()
            .await
            .map_err(|e| call("backup:StartRestoreJob").sdk_error(e))?;
        let job_id = job.restore_job_id().unwrap_or_default().to_string();
        self.progress.job(&job_id);
        let end = poll(self.options, || async {
            let out = clients
                .backup
                .describe_restore_job()
                .restore_job_id(&job_id)
                .send()
                .await
                .map_err(|e| call("backup:DescribeRestoreJob").sdk_error(e))?;
            Ok(job_end(
                &format!("restore job {job_id}"),
                out.status().map(|s| s.as_str()),
                out.status_message(),
                || out.created_resource_arn().unwrap_or_default().to_string(),
            ))
        })
        .await?;
        let restored = match end {
            Ok(arn) => arn,
            Err(message) => return Ok(failed(self.progress, report, &stage, started, message)),
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
        self.progress.record(
            report,
            Stage {
                name: stage,
                ok: true,
                seconds,
                detail: format!("restored {restored}"),
            },
        );

        // Verify: the restored database exists and is encrypted with a key of the destination account.
        let stage = format!("verify in {}", vault.account);
        self.progress.start(StageKind::Verify, &stage);
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
        if instance.is_none() {
            return Ok(failed(
                self.progress,
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
                self.progress,
                report,
                &stage,
                started,
                format!(
                    "{identifier} is {state}, with key {key}, not a key of account {account_id}"
                ),
            ));
        }
        self.progress.record(
            report,
            Stage {
                name: stage,
                ok: true,
                seconds: started.elapsed().as_secs_f64(),
                detail: format!("{identifier} exists, encrypted with {key}"),
            },
        );
        Ok(true)
    }
}

fn days(n: i64) -> &'static str {
    if n == 1 { "day" } else { "days" }
}

/// Deletes what the drill may delete (unless `--keep`): the restored databases, then the
/// source recovery point when no deletion guard or vault lock of the topology keeps it. Copies
/// in destination vaults are never deleted. What stays is left to expire, with the date; a
/// deletion AWS refuses (access denied, a locked vault) leaves the recovery point to expire
/// too and is not a failure.
async fn clean_up(
    report: &mut DrillReport,
    created: Created,
    options: &DrillOptions,
    progress: &Progress<'_>,
) {
    progress.start(StageKind::CleanUp, "clean up");
    let started = Instant::now();
    let mut done = Vec::new();
    let mut kept = Vec::new();
    let mut failed = Vec::new();
    let mut left: Vec<(MadePoint, String)> = Vec::new();
    for (clients, identifier) in created.databases {
        if options.keep {
            kept.push(format!("database {identifier}"));
            continue;
        }
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
    for point in created.recovery_points {
        let reason = point
            .keep
            .clone()
            .or_else(|| options.keep.then(|| "--keep".to_string()));
        if let Some(reason) = reason {
            left.push((point, reason));
            continue;
        }
        let result = point
            .clients
            .backup
            .delete_recovery_point()
            .backup_vault_name(&point.vault)
            .recovery_point_arn(&point.arn)
            .send()
            .await;
        match result {
            Ok(_) => done.push(format!("recovery point {}", point.arn)),
            Err(e) => {
                let error = Call::new(&point.account, &point.region, "backup:DeleteRecoveryPoint")
                    .sdk_error(e);
                let answer = match &error.code {
                    Some(code) => format!("{code}: {}", error.message),
                    None => error.message.clone(),
                };
                if is_refusal(error.code.as_deref()) {
                    left.push((point, format!("AWS refused its deletion ({answer})")));
                } else {
                    failed.push(format!("recovery point {}: {answer}", point.arn));
                    left.push((point, format!("its deletion failed ({answer})")));
                }
            }
        }
    }
    for (point, reason) in left {
        let expires_at = expires_at(&point, created.backup_created.as_ref()).await;
        report.left_to_expire.push(LeftToExpire {
            recovery_point_arn: point.arn,
            vault: point.vault,
            account_id: point.account.id,
            region: point.region,
            delete_after_days: point.delete_after_days,
            expires_at,
            reason,
        });
    }
    let mut parts = Vec::new();
    if !done.is_empty() {
        parts.push(format!("deleted: {}", done.join(", ")));
    }
    if !kept.is_empty() {
        parts.push(format!("kept (--keep): {}", kept.join(", ")));
    }
    if !report.left_to_expire.is_empty() {
        parts.push(format!(
            "left to expire: {}",
            report
                .left_to_expire
                .iter()
                .map(|left| format!(
                    "recovery point {} in vault {} {}",
                    left.recovery_point_arn,
                    left.vault,
                    expires_when(left)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !failed.is_empty() {
        parts.push(format!("could not delete: {}", failed.join("; ")));
    }
    let detail = if parts.is_empty() {
        "nothing to delete".to_string()
    } else {
        parts.join("; ")
    };
    progress.record(
        report,
        Stage {
            name: "clean up".into(),
            ok: failed.is_empty(),
            seconds: started.elapsed().as_secs_f64(),
            detail,
        },
    );
}

/// When a recovery point left behind expires: `on <RFC 3339 date>`, or how long after its
/// creation when its creation date is unknown.
fn expires_when(left: &LeftToExpire) -> String {
    match &left.expires_at {
        Some(at) => format!("on {at}"),
        None => format!(
            "{} {} after its creation",
            left.delete_after_days,
            days(left.delete_after_days)
        ),
    }
}

/// `<arn> in vault <name> (<account ID>): left to expire on <date>, <n> days after its
/// creation (<reason>)`: one recovery point the drill left behind, for the report.
pub fn describe_left(left: &LeftToExpire) -> String {
    let when = match &left.expires_at {
        Some(at) => format!(
            "on {at}, {} {} after its creation",
            left.delete_after_days,
            days(left.delete_after_days)
        ),
        None => expires_when(left),
    };
    format!(
        "{} in vault {} ({}): left to expire {when} ({})",
        left.recovery_point_arn, left.vault, left.account_id, left.reason
    )
}

/// When `point` expires: AWS Backup's own date (`CalculatedLifecycle.DeleteAt`, else its
/// creation date plus its retention), else the backup job's creation date plus its retention
/// (a copy keeps its source's creation date).
async fn expires_at(point: &MadePoint, backup_created: Option<&DateTime>) -> Option<String> {
    let listed = point
        .clients
        .backup
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(&point.vault)
        .by_resource_arn(&point.resource)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    let found = listed
        .into_iter()
        .filter_map(Result::ok)
        .find(|p| p.recovery_point_arn() == Some(point.arn.as_str()));
    if let Some(found) = found {
        if let Some(at) = found.calculated_lifecycle().and_then(|l| l.delete_at()) {
            return expiry(at, 0);
        }
        if let Some(created) = found.creation_date() {
            return expiry(created, point.delete_after_days);
        }
    }
    backup_created.and_then(|created| expiry(created, point.delete_after_days))
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

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = include_str!("../../../examples/seed/topology.yaml");

    fn seed(replacements: &[(&str, &str)]) -> Topology {
        let mut text = SEED.to_string();
        for (old, new) in replacements {
            assert_eq!(text.matches(old).count(), 1, "{old:?}");
            text = text.replace(old, new);
        }
        let loaded = coffer_spec::load_str(&text);
        loaded.topology.expect("the seed topology loads")
    }

    fn vault<'t>(topology: &'t Topology, name: &str) -> &'t Vault {
        topology
            .vaults
            .values()
            .find(|v| v.name.as_str() == name)
            .expect("vault")
    }

    const COFFER_ROLE: &str = "arn:aws:iam::666777888999:role/CofferDeployRole";

    #[test]
    fn retention_is_the_lock_minimum_else_one_day() {
        let topology = seed(&[]);
        assert_eq!(shortest_retention(vault(&topology, "central")), 7);
        assert_eq!(shortest_retention(vault(&topology, "source")), 1);
        let lifecycle = drill_lifecycle(vault(&topology, "central"));
        assert_eq!(lifecycle.delete_after_days(), Some(7));
        assert_eq!(lifecycle.move_to_cold_storage_after_days(), None);
        // A lock with only a maximum: 1 day.
        let topology = seed(&[("      min_retention_days: 7\n", "")]);
        assert_eq!(shortest_retention(vault(&topology, "central")), 1);
    }

    #[test]
    fn guarded_or_locked_vaults_keep_what_the_drill_makes() {
        let topology = seed(&[]);
        let central = deletion_barrier(vault(&topology, "central"), COFFER_ROLE)
            .expect("the central vault keeps its recovery points");
        assert!(
            central.contains("deletion guard of vault central"),
            "{central}"
        );
        assert!(central.contains("at least 7 days"), "{central}");
        assert_eq!(
            deletion_barrier(
                vault(&topology, "source"),
                "arn:aws:iam::111222333444:role/CofferDeployRole"
            ),
            None
        );
        // Coffer's role as a break-glass principal: only the lock is left.
        let topology = seed(&[(
            "arn:aws:iam::666777888999:role/BreakGlass",
            "arn:aws:iam::666777888999:role/CofferDeployRole",
        )]);
        let central = deletion_barrier(vault(&topology, "central"), COFFER_ROLE).expect("lock");
        assert!(!central.contains("deletion guard"), "{central}");
        assert!(central.contains("vault lock"), "{central}");
    }

    #[test]
    fn each_stage_that_starts_ends_with_an_event_and_lands_in_the_report() {
        let events = Mutex::new(Vec::new());
        let on_event = |event: DrillEvent| events.lock().expect("events").push(event);
        let progress = Progress {
            on_event: &on_event,
            open: Mutex::new(None),
        };
        let mut report = DrillReport {
            format_version: 1,
            topology: "seed".into(),
            plan: "orders-daily".into(),
            resource: "arn".into(),
            drill_id: "coffer-drill-1".into(),
            stages: Vec::new(),
            left_to_expire: Vec::new(),
            rpo_seen_seconds: None,
            rto_seen_seconds: None,
            ok: false,
            failure: None,
            predicted_by: Vec::new(),
        };
        progress.start(StageKind::Backup, "backup");
        progress.job("job-1");
        progress.record(
            &mut report,
            Stage {
                name: "backup".into(),
                ok: true,
                seconds: 1.5,
                detail: "recovery point".into(),
            },
        );
        progress.start(StageKind::Copy, "copy to vault.central");
        assert!(!failed(
            &progress,
            &mut report,
            "copy to vault.central",
            Instant::now(),
            "copy job FAILED".into()
        ));
        // An AWS error with no stage in progress sends nothing; with one, that stage fails.
        progress.abort("not sent");
        progress.start(StageKind::Restore, "restore in backup (666777888999)");
        progress.abort("AccessDeniedException");
        let events = events.into_inner().expect("events");
        let summary: Vec<(&str, String)> = events
            .iter()
            .map(|e| match e {
                DrillEvent::StageStarted { name, .. } => ("started", name.clone()),
                DrillEvent::JobStarted { name, job_id, .. } => ("job", format!("{name} {job_id}")),
                DrillEvent::StageCompleted { name, seconds, .. } => {
                    ("completed", format!("{name} {seconds}"))
                }
                DrillEvent::StageFailed { name, error, .. } => {
                    ("failed", format!("{name} {error}"))
                }
                DrillEvent::DrillStarted { .. } | DrillEvent::DrillFinished { .. } => {
                    ("other", String::new())
                }
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("started", "backup".to_string()),
                ("job", "backup job-1".to_string()),
                ("completed", "backup 1.5".to_string()),
                ("started", "copy to vault.central".to_string()),
                (
                    "failed",
                    "copy to vault.central copy job FAILED".to_string()
                ),
                ("started", "restore in backup (666777888999)".to_string()),
                (
                    "failed",
                    "restore in backup (666777888999) AccessDeniedException".to_string()
                ),
            ]
        );
        assert_eq!(
            report
                .stages
                .iter()
                .map(|s| (s.name.as_str(), s.ok))
                .collect::<Vec<_>>(),
            [("backup", true), ("copy to vault.central", false)]
        );
        assert_eq!(report.failure.as_deref(), Some("copy job FAILED"));
        assert_eq!(
            serde_json::to_string(&events[0]).expect("JSON"),
            r#"{"event":"stage_started","stage":"backup","name":"backup"}"#
        );
        assert!(
            serde_json::to_string(&DrillEvent::StageStarted {
                stage: StageKind::CleanUp,
                name: "clean up".into()
            })
            .expect("JSON")
            .contains(r#""stage":"clean_up""#)
        );
    }

    #[test]
    fn access_denied_and_locked_vaults_are_refusals() {
        assert!(is_refusal(Some("AccessDeniedException")));
        assert!(is_refusal(Some("AccessDenied")));
        assert!(is_refusal(Some("InvalidRequestException")));
        assert!(!is_refusal(Some("ResourceNotFoundException")));
        assert!(!is_refusal(Some("ThrottlingException")));
        assert!(!is_refusal(None));
    }

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

    #[test]
    fn expiry_is_creation_plus_retention_in_rfc3339() {
        // 2024-03-01T10:20:30.5Z
        let created = DateTime::from_secs_and_nanos(1_709_288_430, 500_000_000);
        assert_eq!(expiry(&created, 7).as_deref(), Some("2024-03-08T10:20:30Z"));
        assert_eq!(expiry(&created, 0).as_deref(), Some("2024-03-01T10:20:30Z"));
        assert_eq!(expiry(&created, i64::MAX), None);
    }

    #[test]
    fn left_to_expire_reads_with_its_date_and_reason() {
        let mut left = LeftToExpire {
            recovery_point_arn: "arn:aws:rds:eu-west-1:666777888999:snapshot:awsbackup:copyjob-1"
                .into(),
            vault: "central".into(),
            account_id: "666777888999".into(),
            region: "eu-west-1".into(),
            delete_after_days: 7,
            expires_at: Some("2024-03-08T10:20:30Z".into()),
            reason: "the vault lock keeps recovery points at least 7 days".into(),
        };
        assert_eq!(
            describe_left(&left),
            "arn:aws:rds:eu-west-1:666777888999:snapshot:awsbackup:copyjob-1 in vault central \
             (666777888999): left to expire on 2024-03-08T10:20:30Z, 7 days after its creation \
             (the vault lock keeps recovery points at least 7 days)"
        );
        left.expires_at = None;
        left.delete_after_days = 1;
        assert!(
            describe_left(&left).ends_with(": left to expire 1 day after its creation (the vault lock keeps recovery points at least 7 days)"),
            "{}",
            describe_left(&left)
        );
    }
}
