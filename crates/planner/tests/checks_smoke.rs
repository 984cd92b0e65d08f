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
    simulate::apply(&plan(&t, &after), &mut after, false);
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
