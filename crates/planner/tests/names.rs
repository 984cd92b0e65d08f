//! Plan changes, drift entries and findings name the AWS resource next to the logical address:
//! its name in AWS and, where Coffer knows it, its ARN. Text shows the name; JSON and
//! Markdown also the ARN.

mod common;

use coffer_planner::checks::{self, Finding};
use coffer_planner::live::LiveState;
use coffer_planner::{Plan, drift, plan, plan_checked, render};
use common::*;
use serde_json::{Value, json};

const CENTRAL_ARN: &str = "arn:aws:backup:eu-west-1:666777888999:backup-vault:central";

#[test]
fn a_missing_vault_policy_is_named_by_its_vault() {
    let (t, mut live) = seed_converged();
    central(&mut live).access_policy = None;
    let report = drift::report(&plan(&t, &live));
    let text = drift::text(&report);
    assert!(
        text.contains("vault_policy.central (central, missing, 666777888999 eu-west-1)"),
        "{text}"
    );
    let json = serde_json::to_value(&report).expect("json");
    let drifted = &json["drifted"][0];
    assert_eq!(drifted["address"], "vault_policy.central");
    assert_eq!(drifted["aws_name"], "central");
    assert_eq!(drifted["arn"], CENTRAL_ARN);
    let markdown = drift::markdown(&report);
    assert!(
        markdown.contains(&format!("| `central` (`{CENTRAL_ARN}`) |")),
        "{markdown}"
    );
}

#[test]
fn every_kind_of_change_has_its_aws_name_and_the_arns_that_are_known() {
    let t = topology(SEED);
    let named = |p: &Plan| -> Vec<(String, Option<String>, Option<String>)> {
        p.changes
            .iter()
            .map(|c| (c.address.to_string(), c.aws_name.clone(), c.arn.clone()))
            .collect()
    };
    let s = |v: &str| Some(v.to_string());
    let fresh = plan(&t, &LiveState::default());
    // Before creation: names, and the ARNs that follow from them (aliases, vaults), not
    // those AWS picks (keys, backup plans).
    assert_eq!(
        named(&fresh),
        vec![
            (
                "alias.backup-vault".into(),
                s("alias/coffer/backup-vault"),
                s("arn:aws:kms:eu-west-1:666777888999:alias/coffer/backup-vault")
            ),
            (
                "alias.source-rds".into(),
                s("alias/coffer/source-rds"),
                s("arn:aws:kms:eu-west-1:111222333444:alias/coffer/source-rds")
            ),
            ("backup_plan.orders-daily".into(), s("orders-daily"), None),
            ("cross_account_backup.eu-west-1".into(), None, None),
            (
                "key.backup-vault".into(),
                s("alias/coffer/backup-vault"),
                None
            ),
            ("key.source-rds".into(), s("alias/coffer/source-rds"), None),
            (
                "selection.orders-daily.orders-db".into(),
                s("orders-db"),
                None
            ),
            ("vault.central".into(), s("central"), s(CENTRAL_ARN)),
            (
                "vault.source".into(),
                s("orders-source"),
                s("arn:aws:backup:eu-west-1:111222333444:backup-vault:orders-source")
            ),
            ("vault_lock.central".into(), s("central"), s(CENTRAL_ARN)),
            ("vault_policy.central".into(), s("central"), s(CENTRAL_ARN)),
            (
                "vault_policy.source".into(),
                s("orders-source"),
                s("arn:aws:backup:eu-west-1:111222333444:backup-vault:orders-source")
            ),
        ]
    );
    // Once they exist, keys and backup plans have the ARNs AWS gave them.
    let (_, live) = seed_converged();
    let converged = plan(&t, &live);
    let region = live.region(SOURCE, "eu-west-1").expect("region");
    let arn_of = |address: &str| {
        converged
            .changes
            .iter()
            .find(|c| c.address == address)
            .and_then(|c| c.arn.clone())
    };
    assert_eq!(arn_of("key.source-rds"), s(&region.keys[0].arn));
    assert_eq!(
        arn_of("backup_plan.orders-daily"),
        s(&region.backup_plans[0].arn)
    );
}

#[test]
fn findings_name_the_resource_in_text_and_json() {
    let (t, mut live) = seed_converged();
    central_unguarded(&mut live).push(json!({
        "Sid": "Oops", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111222333444:root"},
        "Action": "backup:DeleteRecoveryPoint", "Resource": "*"
    }));
    let findings = checks::evaluate(&t, &coffer_spec::Diagnostics::default(), Some(&live));
    let finding: &Finding = findings
        .iter()
        .find(|f| f.subject == "vault_policy.central")
        .expect("a finding on the vault policy");
    assert_eq!(
        finding.subject_text(),
        "vault_policy.central (central, 666777888999 eu-west-1)"
    );
    assert!(
        finding
            .to_string()
            .contains("] vault_policy.central (central, 666777888999 eu-west-1): ")
    );
    let json = serde_json::to_value(finding).expect("json");
    assert_eq!(
        (
            &json["aws_name"],
            &json["arn"],
            &json["account"],
            &json["region"]
        ),
        (
            &json!("central"),
            &json!(CENTRAL_ARN),
            &json!(BACKUP),
            &json!("eu-west-1")
        )
    );
}

#[test]
fn a_plan_does_not_show_the_arns_its_simulation_makes_up() {
    // The copy edge's finding is about a backup plan the plan creates.
    let text = SEED.replace("      allow_copy_from: [backup]\n", "");
    let loaded = coffer_spec::load_str(&text);
    let t = loaded.topology.expect("topology");
    let p = plan_checked(&t, &loaded.diagnostics, &LiveState::default());
    let finding = p
        .findings
        .iter()
        .find(|f| f.subject.starts_with("backup_plan.orders-daily rule daily"))
        .expect("finding");
    assert_eq!(
        (finding.aws_name.as_deref(), finding.arn.as_deref()),
        (Some("orders-daily"), None)
    );
    let text = render::text(&p, false);
    assert!(
        text.contains(
            "backup_plan.orders-daily rule daily -> vault.central (orders-daily, 111222333444 eu-west-1): "
        ),
        "{text}"
    );
}

#[test]
fn plans_without_names_still_read_and_names_round_trip() {
    let (t, live) = seed_converged();
    let p = plan(&t, &live);
    let mut json = serde_json::to_value(&p).expect("json");
    let read: Plan = serde_json::from_value(json.clone()).expect("plan");
    assert_eq!(read, p);
    // A plan file written before the names: every change reads, without names.
    for change in json["changes"].as_array_mut().expect("changes") {
        let change = change.as_object_mut().expect("change");
        change.remove("aws_name");
        change.remove("arn");
    }
    let old: Plan = serde_json::from_value(json).expect("an older plan");
    assert!(
        old.changes
            .iter()
            .all(|c| c.aws_name.is_none() && c.arn.is_none())
    );
    // Unknown names are left out of the JSON, not written as null.
    let fresh = serde_json::to_value(plan(&t, &LiveState::default())).expect("json");
    let switch = fresh["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["address"] == "cross_account_backup.eu-west-1")
        .expect("switch");
    assert!(switch.get("aws_name").is_none() && switch.get("arn").is_none());
    assert_eq!(switch.get("account"), Some(&Value::from("100200300400")));
}
