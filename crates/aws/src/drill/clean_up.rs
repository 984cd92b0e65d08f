//! The drill's last stage: delete what it may delete, and say what it left to expire.

use std::time::Instant;

use super::points::{Created, MadePoint};
use super::report::{DrillReport, LeftToExpire, Stage, expires_when};
use super::retention::is_refusal;
use super::stage::{DrillStage, Progress};
use crate::error::Call;
use crate::session::RegionClients;

/// What the clean-up did, by outcome.
#[derive(Default)]
struct Outcome {
    deleted: Vec<String>,
    kept: Vec<String>,
    failed: Vec<String>,
    /// Recovery points left to expire, and why.
    left: Vec<(MadePoint, String)>,
}

/// Deletes what the drill may delete (unless `keep`, `--keep`): the restored databases, then
/// the source recovery point when no deletion guard or vault lock of the topology keeps it.
/// Copies in destination vaults are never deleted. What stays is left to expire, with the
/// date; a deletion AWS refuses (access denied, a locked vault) leaves the recovery point to
/// expire too and is not a failure.
pub(super) async fn clean_up(
    report: &mut DrillReport,
    created: Created,
    keep: bool,
    progress: &Progress<'_>,
) {
    progress.start(&DrillStage::CleanUp);
    let started = Instant::now();
    let mut outcome = Outcome::default();
    for (clients, identifier) in created.databases {
        outcome.delete_database(&clients, identifier, keep).await;
    }
    for point in created.recovery_points {
        outcome.delete_recovery_point(point, keep).await;
    }
    for (point, reason) in outcome.left.drain(..) {
        let expires_at = point.expires_at(created.backup_created.as_ref()).await;
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
    // A failed deletion fails the stage, not the drill: the report's failure stays unset.
    let ok = outcome.failed.is_empty();
    let detail = outcome.detail(&report.left_to_expire);
    let seconds = started.elapsed().as_secs_f64();
    progress.record(report, Stage::new(DrillStage::CleanUp, ok, seconds, detail));
}

impl Outcome {
    async fn delete_database(&mut self, clients: &RegionClients, identifier: String, keep: bool) {
        let database = format!("database {identifier}");
        if keep {
            self.kept.push(database);
            return;
        }
        let deleted = clients
            .rds
            .delete_db_instance()
            .db_instance_identifier(&identifier)
            .skip_final_snapshot(true)
            .send()
            .await;
        match deleted {
            Ok(_) => self.deleted.push(database),
            Err(e) => self.failed.push(format!(
                "{database}: {}",
                e.as_service_error()
                    .map_or_else(|| "request failed".to_string(), |s| s.to_string())
            )),
        }
    }

    async fn delete_recovery_point(&mut self, point: MadePoint, keep: bool) {
        let reason = point
            .keep
            .clone()
            .or_else(|| keep.then(|| "--keep".to_string()));
        if let Some(reason) = reason {
            self.left.push((point, reason));
            return;
        }
        let result = point
            .clients
            .backup
            .delete_recovery_point()
            .backup_vault_name(&point.vault)
            .recovery_point_arn(&point.arn)
            .send()
            .await;
        let Err(e) = result else {
            self.deleted.push(format!("recovery point {}", point.arn));
            return;
        };
        let error =
            Call::new(&point.account, &point.region, "backup:DeleteRecoveryPoint").sdk_error(e);
        let answer = match &error.code {
            Some(code) => format!("{code}: {}", error.message),
            None => error.message.clone(),
        };
        if is_refusal(error.code.as_deref()) {
            self.left
                .push((point, format!("AWS refused its deletion ({answer})")));
        } else {
            self.failed
                .push(format!("recovery point {}: {answer}", point.arn));
            self.left
                .push((point, format!("its deletion failed ({answer})")));
        }
    }

    /// The stage's detail: what was deleted, kept, left to expire (`left`), and not deleted.
    fn detail(&self, left: &[LeftToExpire]) -> String {
        let mut parts = Vec::new();
        if !self.deleted.is_empty() {
            parts.push(format!("deleted: {}", self.deleted.join(", ")));
        }
        if !self.kept.is_empty() {
            parts.push(format!("kept (--keep): {}", self.kept.join(", ")));
        }
        if !left.is_empty() {
            let points: Vec<String> = left
                .iter()
                .map(|left| {
                    format!(
                        "recovery point {} in vault {} {}",
                        left.recovery_point_arn,
                        left.vault,
                        expires_when(left)
                    )
                })
                .collect();
            parts.push(format!("left to expire: {}", points.join(", ")));
        }
        if !self.failed.is_empty() {
            parts.push(format!("could not delete: {}", self.failed.join("; ")));
        }
        if parts.is_empty() {
            "nothing to delete".to_string()
        } else {
            parts.join("; ")
        }
    }
}
