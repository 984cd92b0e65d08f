//! The selections' service roles (CB031).

use coffer_planner::LiveState;
use coffer_planner::checks::Finding;
use coffer_planner::live::{LiveRole, RoleStatus};

use crate::fixtures::*;

rows! {
    cb031_selection_role_missing: "CB031", "the selection's service-default role does not exist",
        fail: || seed_live(|state| source_role(state, RoleStatus::Missing, "it does not exist")),
        pass: || seed_live(|state| source_role(state, RoleStatus::TrustsBackup, "")),
        subject: "selection.orders-daily.orders-db",
        message: [SOURCE_SERVICE_ROLE, "`orders-db`", "`source` (111222333444)", "does not exist"];

    cb031_selection_role_not_trusted: "CB031", "the selection's role does not trust AWS Backup",
        fail: || seed_live(|state| source_role(
            state,
            RoleStatus::NotTrusted,
            "its trust policy does not allow backup.amazonaws.com sts:AssumeRole",
        )),
        pass: || seed_live(|_| {}),
        subject: "selection.orders-daily.orders-db",
        message: [SOURCE_SERVICE_ROLE, "AWS Backup cannot assume", "does not allow backup.amazonaws.com"];
}

/// The seed selection's role (`service-default` in the source account).
const SOURCE_SERVICE_ROLE: &str =
    "arn:aws:iam::111222333444:role/service-role/AWSBackupDefaultServiceRole";

/// The seed selection's role, as read from IAM: `status`, with `detail` (none when it trusts
/// AWS Backup) and a fix naming the role.
fn source_role(state: &mut LiveState, status: RoleStatus, detail: &str) {
    let role = LiveRole {
        status,
        detail: (!detail.is_empty()).then(|| detail.to_string()),
        fix: (status != RoleStatus::TrustsBackup).then(|| format!("create {SOURCE_SERVICE_ROLE}")),
    };
    state
        .accounts
        .entry(SOURCE.into())
        .or_default()
        .roles
        .insert(SOURCE_SERVICE_ROLE.into(), role);
}

#[test]
fn a_selection_role_finding_carries_the_role_s_fix_and_an_unreadable_role_none() {
    let findings = crate::table::findings(seed_live(|state| {
        source_role(state, RoleStatus::Missing, "it does not exist")
    }));
    let found: Vec<&Finding> = findings.iter().filter(|f| f.check == "CB031").collect();
    assert_eq!(found.len(), 1, "{findings:#?}");
    assert_eq!(found[0].fix, format!("create {SOURCE_SERVICE_ROLE}"));
    assert_eq!(
        (found[0].account.as_deref(), found[0].aws_name.as_deref()),
        (Some(SOURCE), Some("orders-db"))
    );
    // Coffer's role may not read IAM: nothing is known, nothing is reported.
    let findings = crate::table::findings(seed_live(|state| {
        source_role(state, RoleStatus::Unreadable, "iam:GetRole was refused")
    }));
    assert!(findings.iter().all(|f| f.check != "CB031"), "{findings:#?}");
}
