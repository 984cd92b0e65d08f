//! The restore and verify stages: a copy restored in its destination account, and the
//! restored database checked to be encrypted with a key of that account.

use std::time::Instant;

use aws_sdk_backup::operation::start_restore_job::StartRestoreJobOutput;
use coffer_spec::Vault;

use super::jobs::JobSite;
use super::points::{Created, MadePoint};
use super::retention::deletion_barrier;
use super::{Drill, DrillError, DrillReport, DrillStage, Stage, session};

/// What RDS allows in a DB instance identifier: 1 to 63 characters.
const MAX_DB_IDENTIFIER: usize = 63;

/// The identifier of the database restored from a copy in the vault named `vault_name`:
/// `<drill ID>-<vault name>`, in what RDS allows (letters, digits and hyphens, no two hyphens
/// in a row, none at the end, at most 63 characters). A vault name (2 to 50 letters, digits,
/// `-` and `_`) that is not already so, or does not fit, is written in lowercase with single
/// hyphens, cut, and followed by a digest of the whole name: two vaults of one account and
/// Region, which AWS Backup tells apart by case, `_` and length, restore under two names.
/// It is also the restore job's idempotency token.
fn restored_identifier(drill_id: &str, vault_name: &str) -> String {
    let mut clean = String::with_capacity(vault_name.len());
    for c in vault_name.chars() {
        if c.is_ascii_alphanumeric() {
            clean.push(c.to_ascii_lowercase());
        } else if !clean.is_empty() && !clean.ends_with('-') {
            clean.push('-');
        }
    }
    let clean = clean.trim_end_matches('-');
    let room = MAX_DB_IDENTIFIER.saturating_sub(drill_id.len() + 1);
    if clean == vault_name && clean.len() <= room {
        return format!("{drill_id}-{clean}");
    }
    // FNV-1a of the whole name, 24 bits: stable across runs and platforms.
    let digest = vault_name
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
        & 0xff_ffff;
    let kept = clean[..clean.len().min(room.saturating_sub(7))].trim_end_matches('-');
    if kept.is_empty() {
        format!("{drill_id}-{digest:06x}")
    } else {
        format!("{drill_id}-{kept}-{digest:06x}")
    }
}

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
        let identifier = restored_identifier(&self.token, vault.name.as_str());
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

#[cfg(test)]
mod tests {
    use super::{MAX_DB_IDENTIFIER, restored_identifier};

    const DRILL: &str = "coffer-drill-1700000000-0a1b2c";

    /// RDS's rule for a DB instance identifier.
    fn allowed(identifier: &str) -> bool {
        (1..=MAX_DB_IDENTIFIER).contains(&identifier.len())
            && identifier.starts_with(|c: char| c.is_ascii_alphabetic())
            && identifier
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !identifier.ends_with('-')
            && !identifier.contains("--")
    }

    #[test]
    fn a_plain_vault_name_is_kept_whole() {
        assert_eq!(
            restored_identifier(DRILL, "central"),
            format!("{DRILL}-central")
        );
    }

    #[test]
    fn every_vault_name_gives_an_identifier_rds_allows_and_no_two_give_the_same() {
        let long = "a".repeat(50);
        let names = [
            "central",
            "Central",
            "central_",
            "central-",
            "central_vault",
            "central-vault",
            "a-_-b",
            "a--b",
            "__",
            "--",
            "-x",
            long.as_str(),
            "central-vault-of-the-organization-backups-eu-1",
            "central-vault-of-the-organization-backups-eu-2",
            "central-vault-of-the-organization-backups-eu-",
        ];
        let mut seen = std::collections::BTreeMap::new();
        for name in names {
            let identifier = restored_identifier(DRILL, name);
            assert!(allowed(&identifier), "{name:?} gave {identifier:?}");
            assert!(identifier.starts_with(&format!("{DRILL}-")), "{identifier}");
            if let Some(other) = seen.insert(identifier.clone(), name) {
                panic!("{other:?} and {name:?} both gave {identifier:?}");
            }
        }
    }
}
