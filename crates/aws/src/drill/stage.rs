//! The drill's stages, typed, and the progress events they send as they start and end.

use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use coffer_planner::model::Address;
use coffer_spec::AccountName;
use serde::Serialize;

use super::report::{DrillReport, Stage};

/// A stage of the drill; it reads (`Display`) as its name in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrillStage {
    /// `backup`: the resource backed up into its plan's vault.
    Backup,
    /// `copy to vault.<name>`: the recovery point copied into a `copy_to` destination.
    Copy { destination: Address },
    /// `restore in <account> (<account ID>)`: the copy restored in the destination account.
    Restore {
        account: AccountName,
        account_id: String,
    },
    /// `verify in <account>`: the restored database checked.
    Verify { account: AccountName },
    /// `clean up`: what the drill may delete, deleted.
    CleanUp,
    /// `error`: an AWS error stopped the drill (no event announces it).
    Error,
}

impl DrillStage {
    /// The `stage` of the stage's progress events; `None` for [`DrillStage::Error`].
    pub fn kind(&self) -> Option<StageKind> {
        match self {
            DrillStage::Backup => Some(StageKind::Backup),
            DrillStage::Copy { .. } => Some(StageKind::Copy),
            DrillStage::Restore { .. } => Some(StageKind::Restore),
            DrillStage::Verify { .. } => Some(StageKind::Verify),
            DrillStage::CleanUp => Some(StageKind::CleanUp),
            DrillStage::Error => None,
        }
    }

    /// The vault a copy stage copies into.
    pub fn copy_destination(&self) -> Option<&Address> {
        match self {
            DrillStage::Copy { destination } => Some(destination),
            _ => None,
        }
    }
}

impl fmt::Display for DrillStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DrillStage::Backup => f.write_str("backup"),
            DrillStage::Copy { destination } => write!(f, "copy to {destination}"),
            DrillStage::Restore {
                account,
                account_id,
            } => write!(f, "restore in {account} ({account_id})"),
            DrillStage::Verify { account } => write!(f, "verify in {account}"),
            DrillStage::CleanUp => f.write_str("clean up"),
            DrillStage::Error => f.write_str("error"),
        }
    }
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

/// The stage in progress: what it is, its name, and when it started.
type Open = Option<(StageKind, String, Instant)>;

/// Sends the drill's events, and remembers the stage in progress so that each stage that
/// starts also ends with an event, an AWS error included.
pub(super) struct Progress<'a> {
    on_event: &'a (dyn Fn(DrillEvent) + Send + Sync),
    open: Mutex<Open>,
}

impl<'a> Progress<'a> {
    pub(super) fn new(on_event: &'a (dyn Fn(DrillEvent) + Send + Sync)) -> Progress<'a> {
        Progress {
            on_event,
            open: Mutex::new(None),
        }
    }

    pub(super) fn send(&self, event: DrillEvent) {
        (self.on_event)(event);
    }

    fn open(&self) -> MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn start(&self, stage: &DrillStage) {
        let Some(kind) = stage.kind() else { return };
        let name = stage.to_string();
        *self.open() = Some((kind, name.clone(), Instant::now()));
        self.send(DrillEvent::StageStarted { stage: kind, name });
    }

    pub(super) fn job(&self, job_id: &str) {
        let open = self.open().clone();
        if let Some((stage, name, _)) = open {
            self.send(DrillEvent::JobStarted {
                stage,
                name,
                job_id: job_id.to_string(),
            });
        }
    }

    /// Ends the stage in progress, if any: completed with `detail`, or failed with `detail`
    /// as its error; it took `seconds`, else the time since it started.
    fn end(&self, ok: bool, seconds: Option<f64>, detail: &str) {
        let open = self.open().take();
        let Some((stage, name, started)) = open else {
            return;
        };
        let seconds = seconds.unwrap_or_else(|| started.elapsed().as_secs_f64());
        let detail = detail.to_string();
        self.send(if ok {
            DrillEvent::StageCompleted {
                stage,
                name,
                seconds,
                detail,
            }
        } else {
            DrillEvent::StageFailed {
                stage,
                name,
                seconds,
                error: detail,
            }
        });
    }

    /// Ends the stage in progress with `stage`'s outcome, and adds `stage` to the report.
    pub(super) fn record(&self, report: &mut DrillReport, stage: Stage) {
        self.end(stage.ok, Some(stage.seconds), &stage.detail);
        report.stages.push(stage);
    }

    /// Ends `stage`, started at `started`, as passed.
    pub(super) fn passed(
        &self,
        report: &mut DrillReport,
        stage: DrillStage,
        started: Instant,
        detail: String,
    ) {
        let seconds = started.elapsed().as_secs_f64();
        self.record(report, Stage::new(stage, true, seconds, detail));
    }

    /// Ends `stage`, started at `started`, as failed: `message` is the drill's failure.
    pub(super) fn failed(
        &self,
        report: &mut DrillReport,
        stage: DrillStage,
        started: Instant,
        message: String,
    ) {
        let seconds = started.elapsed().as_secs_f64();
        self.record(report, Stage::new(stage, false, seconds, message.clone()));
        report.failure = Some(message);
    }

    /// Ends the stage in progress, if any, with an error that stopped the drill.
    pub(super) fn abort(&self, error: &str) {
        self.end(false, None, error);
    }
}

#[cfg(test)]
mod tests {
    use coffer_planner::model::ResourceKind;

    use super::*;

    fn central() -> DrillStage {
        DrillStage::Copy {
            destination: ResourceKind::Vault.at("central"),
        }
    }

    #[test]
    fn stages_read_as_their_names_in_the_report() {
        let backup_account = AccountName("backup".into());
        let cases = [
            (DrillStage::Backup, "backup", Some(StageKind::Backup)),
            (central(), "copy to vault.central", Some(StageKind::Copy)),
            (
                DrillStage::Restore {
                    account: backup_account.clone(),
                    account_id: "666777888999".into(),
                },
                "restore in backup (666777888999)",
                Some(StageKind::Restore),
            ),
            (
                DrillStage::Verify {
                    account: backup_account,
                },
                "verify in backup",
                Some(StageKind::Verify),
            ),
            (DrillStage::CleanUp, "clean up", Some(StageKind::CleanUp)),
            (DrillStage::Error, "error", None),
        ];
        for (stage, name, kind) in cases {
            assert_eq!(stage.to_string(), name);
            assert_eq!(stage.kind(), kind, "{name}");
        }
        assert_eq!(
            central().copy_destination().map(ToString::to_string),
            Some("vault.central".to_string())
        );
        assert_eq!(DrillStage::Backup.copy_destination(), None);
    }

    #[test]
    fn each_stage_that_starts_ends_with_an_event_and_lands_in_the_report() {
        let events = Mutex::new(Vec::new());
        let on_event = |event: DrillEvent| events.lock().expect("events").push(event);
        let progress = Progress::new(&on_event);
        let mut report = DrillReport::new(
            "seed".into(),
            "orders-daily".into(),
            "arn".into(),
            "coffer-drill-1".into(),
            None,
        );
        progress.start(&DrillStage::Backup);
        progress.job("job-1");
        progress.record(
            &mut report,
            Stage::new(DrillStage::Backup, true, 1.5, "recovery point".into()),
        );
        progress.start(&central());
        progress.failed(
            &mut report,
            central(),
            Instant::now(),
            "copy job FAILED".into(),
        );
        // An AWS error with no stage in progress sends nothing; with one, that stage fails.
        progress.abort("not sent");
        progress.start(&DrillStage::Restore {
            account: AccountName("backup".into()),
            account_id: "666777888999".into(),
        });
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
        assert_eq!(report.stages[1].stage, central());
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
}
