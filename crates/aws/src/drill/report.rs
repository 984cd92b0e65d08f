//! The drill's report: its stages, the recovery points it left to expire, the RPO and RTO it
//! saw, and how it reads for people.

use coffer_planner::model::Address;
use coffer_spec::diag::plural;
use serde::Serialize;

use super::stage::DrillStage;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stage {
    /// `backup`, `copy to vault.<name>`, `restore in <account>`, `verify`, `clean up`.
    pub name: String,
    pub ok: bool,
    pub seconds: f64,
    pub detail: String,
    /// The stage `name` names.
    #[serde(skip)]
    pub stage: DrillStage,
}

impl Stage {
    pub fn new(stage: DrillStage, ok: bool, seconds: f64, detail: String) -> Stage {
        Stage {
            name: stage.to_string(),
            ok,
            seconds,
            detail,
            stage,
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

impl DrillReport {
    /// The report of a drill that has not run a stage yet.
    pub fn new(
        topology: String,
        plan: String,
        resource: String,
        drill_id: String,
        rpo_seen_seconds: Option<u64>,
    ) -> DrillReport {
        DrillReport {
            format_version: 1,
            topology,
            plan,
            resource,
            drill_id,
            stages: Vec::new(),
            left_to_expire: Vec::new(),
            rpo_seen_seconds,
            rto_seen_seconds: None,
            ok: false,
            failure: None,
            predicted_by: Vec::new(),
        }
    }

    /// The vault of the first failed stage, when that stage is a copy.
    pub fn failed_copy_destination(&self) -> Option<&Address> {
        self.stages
            .iter()
            .find(|s| !s.ok)
            .and_then(|s| s.stage.copy_destination())
    }

    /// A restore took `seconds`: the RTO seen is the longest restore.
    pub(super) fn restored_in(&mut self, seconds: f64) {
        self.rto_seen_seconds = Some(self.rto_seen_seconds.map_or(seconds, |s| s.max(seconds)));
    }
}

/// When a recovery point left behind expires: `on <RFC 3339 date>`, or how long after its
/// creation when its creation date is unknown.
pub(super) fn expires_when(left: &LeftToExpire) -> String {
    match &left.expires_at {
        Some(at) => format!("on {at}"),
        None => format!("{} after its creation", retention(left)),
    }
}

/// `<n> day(s)`: how long the drill kept `left`.
fn retention(left: &LeftToExpire) -> String {
    plural(left.delete_after_days, "day", "days")
}

/// `<arn> in vault <name> (<account ID>): left to expire on <date>, <n> days after its
/// creation (<reason>)`: one recovery point the drill left behind, for the report.
pub fn describe_left(left: &LeftToExpire) -> String {
    let when = match &left.expires_at {
        Some(at) => format!("on {at}, {} after its creation", retention(left)),
        None => expires_when(left),
    };
    format!(
        "{} in vault {} ({}): left to expire {when} ({})",
        left.recovery_point_arn, left.vault, left.account_id, left.reason
    )
}

#[cfg(test)]
mod tests {
    use coffer_planner::model::ResourceKind;

    use super::*;

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

    #[test]
    fn the_failed_copy_names_its_vault_and_the_restore_takes_the_longest_time() {
        let mut report = DrillReport::new("seed".into(), "p".into(), "r".into(), "d".into(), None);
        report
            .stages
            .push(Stage::new(DrillStage::Backup, true, 1.0, String::new()));
        assert_eq!(report.failed_copy_destination(), None);
        let central = ResourceKind::Vault.at("central");
        report.stages.push(Stage::new(
            DrillStage::Copy {
                destination: central.clone(),
            },
            false,
            1.0,
            String::new(),
        ));
        assert_eq!(report.failed_copy_destination(), Some(&central));
        report.restored_in(2.0);
        report.restored_in(1.0);
        assert_eq!(report.rto_seen_seconds, Some(2.0));
        assert_eq!(
            serde_json::to_value(&report.stages[1]).expect("JSON"),
            serde_json::json!({"name": "copy to vault.central", "ok": false, "seconds": 1.0, "detail": ""})
        );
    }
}
