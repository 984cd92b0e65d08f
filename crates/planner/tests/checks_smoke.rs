mod common;

use coffer_planner::checks::{Severity, evaluate};
use coffer_planner::{LiveState, plan, simulate};

#[test]
fn the_seed_topology_has_no_blocker_before_or_after_its_plan() {
    let loaded = coffer_spec::load_str(common::SEED);
    let t = loaded.topology.clone().expect("loads");
    let static_findings = evaluate(&t, &loaded.diagnostics, None);
    for f in &static_findings {
        eprintln!("static: {f}");
    }
    assert!(
        static_findings.iter().all(|f| f.severity < Severity::Error),
        "{static_findings:#?}"
    );
    let mut after = LiveState::default();
    simulate::play(&plan(&t, &after), &mut after, false);
    let live_findings = evaluate(&t, &loaded.diagnostics, Some(&after));
    for f in &live_findings {
        eprintln!("after plan: {f}");
    }
    assert!(
        live_findings.iter().all(|f| f.severity < Severity::Error),
        "{live_findings:#?}"
    );
    // Before the plan, AWS is empty: the destination vault does not exist yet.
    let before = evaluate(&t, &loaded.diagnostics, Some(&LiveState::default()));
    assert!(before.iter().any(|f| f.check == "CB027"), "{before:#?}");
}

#[test]
fn docs_checks_md_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/checks.md");
    let committed = std::fs::read_to_string(&path).expect("docs/checks.md exists");
    assert!(
        committed == coffer_planner::checks::catalog_markdown(),
        "docs/checks.md is stale: run `just docs` (cargo run -p coffer -- check --list > docs/checks.md)"
    );
}

#[test]
fn the_catalog_has_every_id_once_and_at_least_25_checks() {
    let ids: Vec<&str> = coffer_planner::checks::CATALOG
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, coffer_spec::checks::ALL);
    assert!(ids.len() >= 25);
}

#[test]
fn denying_one_role_of_the_account_the_policy_change_is_hardening_not_lockout() {
    let hardened = common::SEED.replace(
        "    usable_by: [backup]\n",
        "    usable_by: [backup]\n    statements:\n      - Sid: NoDevelopers\n        Effect: Deny\n        Principal: {AWS: \"arn:aws:iam::111222333444:role/Developers\"}\n        Action: kms:PutKeyPolicy\n        Resource: \"*\"\n",
    );
    let loaded = coffer_spec::load_str(&hardened);
    let t = loaded.topology.clone().expect("loads");
    let findings = evaluate(&t, &loaded.diagnostics, None);
    assert!(
        !findings.iter().any(|f| f.check == "CB019"),
        "{findings:#?}"
    );

    let locked = hardened.replace(
        "arn:aws:iam::111222333444:role/Developers",
        "arn:aws:iam::111222333444:root",
    );
    let loaded = coffer_spec::load_str(&locked);
    let t = loaded.topology.clone().expect("loads");
    let findings = evaluate(&t, &loaded.diagnostics, None);
    assert!(findings.iter().any(|f| f.check == "CB019"), "{findings:#?}");
}

#[test]
fn sources_are_checked_without_cross_account_copies() {
    use coffer_planner::live::LiveSource;
    // No copy at all: a missing database is still found.
    let local = common::SEED.replace(
        "        copy_to:\n          - vault: central\n            lifecycle:\n              delete_after_days: 90\n",
        "",
    );
    let loaded = coffer_spec::load_str(&local);
    let t = loaded.topology.clone().expect("loads");
    let mut live = common::converge(&t, &LiveState::default());
    live.region_mut("111222333444", "eu-west-1")
        .sources
        .push(LiveSource {
            arn: "arn:aws:rds:eu-west-1:111222333444:db:orders".into(),
            kind: "rds-instance".into(),
            exists: false,
            ..LiveSource::default()
        });
    let findings = evaluate(&t, &loaded.diagnostics, Some(&live));
    assert!(
        findings
            .iter()
            .any(|f| f.check == "CB020" && f.subject.contains("backup_plan.orders-daily")),
        "{findings:#?}"
    );

    // A copy to another region of the same account: a Multi-AZ DB cluster cannot be copied.
    let regional = common::SEED
        .replace("arn:aws:rds:eu-west-1:111222333444:db:orders", "arn:aws:rds:eu-west-1:111222333444:cluster:orders")
        .replace(
            "          - vault: central\n",
            "          - vault: source-dr\n",
        )
        .replace(
            "vaults:\n",
            "vaults:\n  source-dr:\n    account: source\n    region: eu-central-1\n    name: orders-dr\n",
        );
    let loaded = coffer_spec::load_str(&regional);
    let t = loaded
        .topology
        .clone()
        .unwrap_or_else(|| panic!("{}", loaded.render("t.yaml")));
    let mut live = common::converge(&t, &LiveState::default());
    live.region_mut("111222333444", "eu-west-1")
        .sources
        .push(LiveSource {
            arn: "arn:aws:rds:eu-west-1:111222333444:cluster:orders".into(),
            kind: "rds-cluster".into(),
            exists: true,
            encrypted: true,
            multi_az_cluster: true,
            ..LiveSource::default()
        });
    let findings = evaluate(&t, &loaded.diagnostics, Some(&live));
    assert!(findings.iter().any(|f| f.check == "CB024"), "{findings:#?}");
    assert!(
        !findings
            .iter()
            .any(|f| f.check == "CB023" || f.check == "CB021"),
        "{findings:#?}"
    );
}
