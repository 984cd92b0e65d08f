//! The organization an account belongs to, and AWS Backup's cross-account switch, which only
//! the organization's management account reads.

use super::RegionReader;
use crate::error::AwsError;
use crate::session::AccountSession;

/// The account's organization: `Some(Some(id))` a member, `Some(None)` in none, `None` when
/// it could not be read (Organizations permissions are optional: the membership check is
/// then skipped). Asked once per session.
pub(super) async fn read_organization(session: &AccountSession) -> Option<Option<String>> {
    session.organization(|| describe(session)).await
}

async fn describe(session: &AccountSession) -> Option<Option<String>> {
    match session.organizations().describe_organization().send().await {
        Ok(out) => Some(out.organization().and_then(|o| o.id()).map(str::to_string)),
        Err(e) => {
            let error = session
                .call("-", "organizations:DescribeOrganization")
                .sdk_error(e);
            if error.code.as_deref() == Some("AWSOrganizationsNotInUseException") {
                Some(None)
            } else {
                tracing::warn!(%error, "organization membership not read");
                None
            }
        }
    }
}

impl RegionReader {
    /// Whether cross-account backup is on (AWS Backup's global settings); `None` unless
    /// `wanted` (the region of the organization's management account).
    pub(super) async fn global_settings(&self, wanted: bool) -> Result<Option<bool>, AwsError> {
        if !wanted {
            return Ok(None);
        }
        let request = self.clients.backup.describe_global_settings().send();
        let out = self.sent("backup:DescribeGlobalSettings", request).await?;
        Ok(Some(
            out.global_settings()
                .and_then(|g| g.get("isCrossAccountBackupEnabled"))
                .is_some_and(|v| v == "true"),
        ))
    }
}
