//! The organization an account belongs to, and AWS Backup's cross-account switch, which only
//! the organization's management account reads.
//!
//! Membership is read once for the whole fleet: `organizations:DescribeOrganization` and every
//! page of `organizations:ListAccounts` in the management account the file names. An account
//! that list does not name (or every account, when the management account cannot be read or
//! the file has no `organization`) asks `organizations:DescribeOrganization` itself, so an
//! account in another organization is still told apart from one in none.

use std::collections::BTreeSet;

use coffer_spec::Topology;
use futures::future::join_all;

use super::{Limits, RegionReader};
use crate::error::AwsError;
use crate::session::{AccountSession, Members, Sessions};

const SERVICE: &str = "organizations";

/// The organization of every account in `usable`, by account ID (see [`read_organization`]),
/// each call under `limit`.
pub(super) async fn memberships(
    topology: &Topology,
    sessions: &Sessions,
    usable: &BTreeSet<String>,
    limit: &Limits,
) -> Vec<(String, Option<Option<String>>)> {
    let management = topology
        .organization
        .as_ref()
        .map(|org| topology.account_id(&org.management_account))
        .filter(|id| usable.contains(*id))
        .and_then(|id| sessions.account(id));
    let members = match management {
        Some(session) => {
            let _permit = limit.permit(&session.account.id, SERVICE).await;
            let members = session.members(|| list_members(&session)).await;
            members
                .inspect_err(|error| {
                    tracing::warn!(%error, "organization members not read in the management account")
                })
                .ok()
        }
        None => None,
    };
    let reachable = sessions.all().filter(|s| usable.contains(&s.account.id));
    join_all(reachable.map(|session| {
        let listed = members
            .as_ref()
            .filter(|m| m.accounts.contains_key(&session.account.id))
            .map(|m| Some(m.organization_id.clone()));
        async move {
            let organization = match listed {
                Some(listed) => Some(listed),
                None => {
                    let _permit = limit.permit(&session.account.id, SERVICE).await;
                    read_organization(session).await
                }
            };
            (session.account.id.clone(), organization)
        }
    }))
    .await
}

/// The management account's organization and every account it lists (every page of
/// `ListAccounts`); an error when either call fails (the accounts then ask for themselves).
pub(crate) async fn list_members(session: &AccountSession) -> Result<Members, AwsError> {
    let call = session.call("-", "organizations:DescribeOrganization");
    let described = session.organizations().describe_organization().send().await;
    let described = described.map_err(|e| call.sdk_error(e))?;
    let organization_id = described.organization().and_then(|o| o.id());
    let organization_id = organization_id
        .ok_or_else(|| call.message("the answer names no organization".to_string()))?
        .to_string();
    let call = session.call("-", "organizations:ListAccounts");
    let pages = session.organizations().list_accounts().into_paginator();
    let pages = pages.send().try_collect().await;
    let pages = pages.map_err(|e| call.sdk_error(e))?;
    let accounts = pages
        .iter()
        .flat_map(|page| page.accounts())
        .filter_map(|a| Some((a.id()?.to_string(), a.clone())))
        .collect();
    Ok(Members {
        organization_id,
        accounts,
    })
}

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
