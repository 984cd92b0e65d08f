//! The selected RDS resources: they exist, can be copied, and their key is a customer
//! managed key the destination account may use (CB020-CB025).

use coffer_planner::live::{LiveKey, LiveSource};
use coffer_planner::plan_checked;

use crate::fixtures::*;
use crate::table::listing;

rows! {
    cb020_source_missing: "CB020", "the selected orders database does not exist",
        fail: || orders(|source| {
            source.exists = false;
            source.encrypted = false;
            source.kms_key_arn = None;
        }),
        pass: || orders(|_| {}),
        subject: ORDERS_EDGE,
        message: ["does not exist"];

    cb021_source_unencrypted: "CB021", "the orders database is not encrypted",
        fail: || orders(|source| {
            source.encrypted = false;
            source.kms_key_arn = None;
        }),
        pass: || orders(|_| {}),
        subject: ORDERS_EDGE,
        message: ["not encrypted"];

    cb022_source_aws_managed_key: "CB022", "the orders database is encrypted with `aws/rds`",
        fail: || orders(|source| {
            source.kms_key_arn = Some(AWS_RDS_KEY.into());
            source.key = Some(LiveKey {
                key_id: "0aws0rds-0000-0000-0000-000000000000".into(),
                arn: AWS_RDS_KEY.into(),
                description: "Default key that protects my RDS database volumes when no other key is defined".into(),
                key_state: "Enabled".into(),
                key_manager: coffer_planner::live::KeyManager::Aws,
                rotation_enabled: true,
                ..LiveKey::default()
            });
        }),
        pass: || orders(|_| {}),
        subject: ORDERS_EDGE,
        message: [AWS_RDS_KEY, BACKUP];

    cb023_source_key_not_shared: "CB023", "the plan drops `usable_by: [backup]` from the orders database's key",
        fail: || after_plan(&edit(SEED, "    usable_by: [backup]\n", ""), &orders_state()),
        pass: || orders(|_| {}),
        subject: ORDERS_EDGE,
        message: ["arn:aws:kms:eu-west-1:111222333444:key/key-0001", BACKUP];

    cb023_source_key_unreadable: "CB023", "the orders database's key is not in the state",
        fail: || orders(|source| {
            source.kms_key_arn = Some("arn:aws:kms:eu-west-1:111222333444:key/unknown".into());
        }),
        pass: || orders(|_| {}),
        subject: ORDERS_EDGE,
        message: ["arn:aws:kms:eu-west-1:111222333444:key/unknown", "could not be read"];

    cb024_multi_az_cluster: "CB024", "the selected cluster is a Multi-AZ DB cluster",
        fail: || with_source(&cluster_seed(), ORDERS_CLUSTER, "rds-cluster", |source| {
            source.multi_az_cluster = true;
        }),
        pass: || with_source(&cluster_seed(), ORDERS_CLUSTER, "rds-cluster", |_| {}),
        subject: CLUSTER_EDGE,
        message: ["Multi-AZ"];

    cb025_unchecked_resources: "CB025", "the selection names a DynamoDB table and selects by tag",
        fail: || seed_edited(
            "        resources:\n",
            &format!("        tags:\n          backup: daily\n        resources:\n          - {DYNAMODB}\n"),
        ),
        pass: || file(SEED),
        subject: "selection.orders-daily.orders-db",
        message: ["`arn:aws:dynamodb:eu-west-1:111222333444:table/orders`", "resources selected by tags"];
}

#[test]
fn plan_checked_reports_the_source_key_losing_the_destination() {
    let before = orders_state();
    let (topology, diagnostics) = load(&edit(SEED, "    usable_by: [backup]\n", ""));
    let planned = plan_checked(&topology, &diagnostics, &before);
    assert!(
        planned
            .findings
            .iter()
            .any(|f| f.check == "CB023" && f.subject == ORDERS_EDGE && f.message.contains(BACKUP)),
        "{}",
        listing(&planned.findings)
    );
    // The seed as it is keeps the key shared: nothing to report.
    let (topology, diagnostics) = load(SEED);
    let planned = plan_checked(&topology, &diagnostics, &before);
    assert!(
        planned.findings.is_empty(),
        "{}",
        listing(&planned.findings)
    );
}

#[test]
fn sources_are_checked_without_cross_account_copies() {
    // No copy at all: a missing database is still found.
    let local = edit(
        SEED,
        "        copy_to:\n          - vault: central\n            lifecycle:\n              delete_after_days: 90\n",
        "",
    );
    let findings = crate::table::findings(live(&local, |state| {
        region(state, SOURCE).sources.push(LiveSource {
            arn: ORDERS.into(),
            kind: "rds-instance".into(),
            exists: false,
            ..LiveSource::default()
        });
    }));
    assert!(
        findings
            .iter()
            .any(|f| f.check == "CB020" && f.subject.contains("backup_plan.orders-daily")),
        "{findings:#?}"
    );

    // A copy to another region of the same account: a Multi-AZ DB cluster cannot be copied.
    let cluster = "arn:aws:rds:eu-west-1:111222333444:cluster:orders";
    let regional = edit(
        &edit(
            &edit(SEED, ORDERS, cluster),
            "          - vault: central\n",
            "          - vault: source-dr\n",
        ),
        "vaults:\n",
        "vaults:\n  source-dr:\n    account: source\n    region: eu-central-1\n    name: orders-dr\n",
    );
    let findings = crate::table::findings(live(&regional, |state| {
        region(state, SOURCE).sources.push(LiveSource {
            arn: cluster.into(),
            kind: "rds-cluster".into(),
            exists: true,
            encrypted: true,
            multi_az_cluster: true,
            ..LiveSource::default()
        });
    }));
    assert!(findings.iter().any(|f| f.check == "CB024"), "{findings:#?}");
    assert!(
        !findings
            .iter()
            .any(|f| f.check == "CB023" || f.check == "CB021"),
        "{findings:#?}"
    );
}
