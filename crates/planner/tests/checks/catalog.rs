//! The catalog: every check has rows, the seed reports nothing, and findings point at the
//! entries of the file they are about.

use std::collections::BTreeSet;

use coffer_planner::LiveState;
use coffer_planner::checks::{CATALOG, Finding, Severity, catalog_markdown, evaluate};
use coffer_planner::plan_checked;

use crate::fixtures::*;
use crate::table::listing;

#[test]
fn the_table_covers_every_check() {
    let catalog: Vec<&str> = CATALOG.iter().map(|c| c.id).collect();
    assert_eq!(catalog, coffer_spec::checks::ALL);
    assert!(catalog.len() >= 25);
    let rows = [
        crate::organization::rows(),
        crate::copies::rows(),
        crate::vaults::rows(),
        crate::keys::rows(),
        crate::sources::rows(),
        crate::roles::rows(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>();
    let covered: BTreeSet<&str> = rows.iter().map(|r| r.id).collect();
    let missing: Vec<&&str> = coffer_spec::checks::ALL
        .iter()
        .filter(|id| !covered.contains(**id))
        .collect();
    assert!(
        missing.is_empty(),
        "checks without a failing and a passing fixture: {missing:?}"
    );
    for row in &rows {
        assert!(
            coffer_spec::checks::ALL.contains(&row.id),
            "{}: {} is not a check",
            row.name,
            row.id
        );
    }
    let names: BTreeSet<&str> = rows.iter().map(|r| r.name).collect();
    assert_eq!(names.len(), rows.len(), "row names are unique");
    // The validator's checks fail both from the file alone and from the state.
    for id in ["CB002", "CB005", "CB013", "CB014"] {
        let modes: BTreeSet<bool> = rows
            .iter()
            .filter(|r| r.id == id)
            .map(|r| (r.fail)().2.is_some())
            .collect();
        assert_eq!(
            modes,
            BTreeSet::from([false, true]),
            "{id} needs a static and a live failing fixture"
        );
    }
}

#[test]
fn the_seed_reports_nothing_before_or_after_applying_it() {
    let (topology, diagnostics) = load(SEED);
    let static_findings = evaluate(&topology, &diagnostics, None);
    assert!(static_findings.is_empty(), "{}", listing(&static_findings));
    let live_findings = evaluate(&topology, &diagnostics, Some(&seed_converged()));
    assert!(live_findings.is_empty(), "{}", listing(&live_findings));
    // AWS as it will be after the seed's first plan (deletions left out): no blocker.
    let (_, _, after) = after_plan(SEED, &LiveState::default());
    let after_findings = evaluate(&topology, &diagnostics, after.as_ref());
    assert!(
        after_findings.iter().all(|f| f.severity < Severity::Error),
        "{}",
        listing(&after_findings)
    );
    // Before the plan, AWS is empty: the destination vault does not exist yet.
    let before = evaluate(&topology, &diagnostics, Some(&LiveState::default()));
    assert!(
        before.iter().any(|f| f.check == "CB027"),
        "{}",
        listing(&before)
    );
}

#[test]
fn live_mode_does_not_repeat_the_files_diagnostics() {
    // Static mode reports the validator's diagnostic by position; live mode evaluates the
    // state instead, so the same defect is reported once, for the copy edge.
    let (topology, diagnostics) = load(&disabled());
    let static_findings = evaluate(&topology, &diagnostics, None);
    let static_hits: Vec<&Finding> = static_findings
        .iter()
        .filter(|f| f.check == "CB002")
        .collect();
    assert_eq!(static_hits.len(), 1, "{}", listing(&static_findings));
    assert!(static_hits[0].subject.starts_with("line "));
    let planned = plan_checked(&topology, &diagnostics, &seed_converged());
    let live_hits: Vec<&Finding> = planned
        .findings
        .iter()
        .filter(|f| f.check == "CB002")
        .collect();
    assert_eq!(live_hits.len(), 1, "{}", listing(&planned.findings));
    assert_eq!(live_hits[0].subject, EDGE);
}

#[test]
fn findings_point_at_the_entry_they_are_about() {
    use coffer_planner::checks::Anchor;
    let anchor = |subject: &str| {
        let finding = Finding {
            check: "CB001".into(),
            severity: coffer_planner::checks::Severity::Blocker,
            title: String::new(),
            subject: subject.into(),
            aws_name: None,
            arn: None,
            account: None,
            region: None,
            message: String::new(),
            fix: String::new(),
        };
        finding.anchor().and_then(|a| match a {
            Anchor::Position { line, col } => Some(format!("{line}:{col}")),
            entry => entry.path(),
        })
    };
    let expected = [
        ("line 12 column 7", Some("12:7")),
        ("organization", Some("organization")),
        ("account.source", Some("accounts.source")),
        ("key.source-rds", Some("keys.source-rds")),
        ("vault.central", Some("vaults.central")),
        ("vault_policy.central", Some("vaults.central")),
        ("vault_lock.central", Some("vaults.central")),
        (EDGE, Some("backup_plans.orders-daily")),
        (
            "backup_plan.orders-daily rule daily -> arn:aws:backup:eu-west-1:666777888999:backup-vault:gone",
            Some("backup_plans.orders-daily"),
        ),
        (
            "selection.orders-daily.orders-db",
            Some("backup_plans.orders-daily"),
        ),
        (ORDERS_EDGE, Some("backup_plans.orders-daily")),
        (
            "arn:aws:rds:eu-west-1:111222333444:db:orders (backup_plan.orders-daily)",
            Some("backup_plans.orders-daily"),
        ),
        ("arn:aws:rds:eu-west-1:111222333444:db:orders", None),
        ("", None),
    ];
    for (subject, want) in expected {
        assert_eq!(anchor(subject).as_deref(), want, "subject `{subject}`");
    }
}

#[test]
fn docs_checks_md_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/checks.md");
    let committed = std::fs::read_to_string(&path).expect("docs/checks.md exists");
    assert!(
        committed == catalog_markdown(),
        "docs/checks.md is stale: run `just docs` (cargo run -p coffer -- check --list > docs/checks.md)"
    );
}
