//! Properties over generated topologies and drifted live states:
//! - planning against the state a plan produces gives an empty plan (convergence);
//! - from any drift, one apply converges;
//! - steps come after the steps they depend on;
//! - the plan is deterministic.

mod common;
#[path = "support/generated.rs"]
mod generated;

use std::collections::BTreeSet;

use coffer_planner::live::LiveState;
use coffer_planner::{destroy, plan, simulate};
use common::{changed, topology};
use generated::{Drift, Shape, apply_drift, drift, shape, yaml};
use proptest::prelude::*;

fn assert_dependency_order(p: &coffer_planner::Plan) {
    let mut seen = BTreeSet::new();
    for step in &p.steps {
        for dep in &step.depends_on {
            assert!(
                seen.contains(dep),
                "step {} runs before its dependency {dep}",
                step.id
            );
        }
        assert!(
            seen.insert(step.id.clone()),
            "duplicate step id {}",
            step.id
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn a_plan_against_the_state_it_produces_is_empty(shape in shape()) {
        let t = topology(&yaml(&shape));
        let mut live = LiveState::default();
        let first = plan(&t, &live);
        assert_dependency_order(&first);
        prop_assert!(first.blocked().next().is_none());
        simulate::play(&first, &mut live, false);
        let second = plan(&t, &live);
        prop_assert_eq!(changed(&second), Vec::<String>::new());
        prop_assert_eq!(coffer_planner::render::json(&plan(&t, &live)), coffer_planner::render::json(&second));
    }

    #[test]
    fn one_apply_converges_from_drift(shape in shape(), drifts in prop::collection::vec(drift(), 1..4)) {
        let t = topology(&yaml(&shape));
        let mut live = common::converge(&t, &LiveState::default());
        // A key without Coffer's tags is a conflict to adopt, not drift to repair.
        for d in drifts.iter().filter(|d| !matches!(d, Drift::KeyUntagged(_))) {
            apply_drift(&mut live, d);
        }
        let repair = plan(&t, &live);
        assert_dependency_order(&repair);
        prop_assert!(repair.blocked().next().is_none(), "{}", coffer_planner::render::text(&repair, false));
        simulate::play(&repair, &mut live, false);
        let after = plan(&t, &live);
        prop_assert_eq!(changed(&after), Vec::<String>::new(), "{}", coffer_planner::render::text(&repair, false));
    }

    /// A plan read back from its JSON file is the plan: what `coffer apply PLAN.json`
    /// compares with the plan it computes now.
    #[test]
    fn a_plan_file_reads_back_as_the_plan(shape in shape(), drifts in prop::collection::vec(drift(), 0..4)) {
        let t = topology(&yaml(&shape));
        let mut live = common::converge(&t, &LiveState::default());
        for d in &drifts {
            apply_drift(&mut live, d);
        }
        let planned = coffer_planner::plan_checked(&t, &coffer_spec::Diagnostics::default(), &live);
        let text = coffer_planner::render::json(&planned);
        let back: coffer_planner::Plan = serde_json::from_str(&text).expect("the plan file parses");
        prop_assert_eq!(&back, &planned, "{}", text);
        let from_empty = coffer_planner::plan_checked(&t, &coffer_spec::Diagnostics::default(), &LiveState::default());
        let back: coffer_planner::Plan = serde_json::from_str(&coffer_planner::render::json(&from_empty)).expect("parses");
        prop_assert_eq!(back, from_empty);
    }

    /// With the guard on, whatever the rest of the topology and whatever drift the apply
    /// repairs, only break-glass principals can delete or shorten a copy: in the policies the
    /// file generates and in AWS as it is after the apply. A plan with a blocked change (a
    /// hand-made key behind Coffer's alias, ...) is refused whole by `coffer-apply`'s preflight:
    /// no apply runs, so only the file's policies are checked then.
    #[test]
    fn with_the_guard_only_break_glass_can_destroy_copies(
        shape in shape(),
        drifts in prop::collection::vec(drift(), 0..4),
    ) {
        let shape = Shape { deny_deletion: true, ..shape };
        let t = topology(&yaml(&shape));
        let mut live = common::converge(&t, &LiveState::default());
        for d in &drifts {
            apply_drift(&mut live, d);
        }
        let mut reports = vec![destroy::report(&t, None)];
        if plan(&t, &live).blocked().next().is_none() {
            reports.push(destroy::report(&t, Some(&simulate::after_plan(&t, &live))));
        }
        for report in reports {
            prop_assert!(!report.vaults.is_empty());
            for vault in &report.vaults {
                for path in vault.paths.iter().filter(|p| p.calls.iter().any(|c| {
                    c == "backup:DeleteRecoveryPoint" || c == "backup:UpdateRecoveryPointLifecycle"
                })) {
                    prop_assert!(
                        path.who.iter().all(|w| w.starts_with("break-glass ")),
                        "{}: {} by {:?}", vault.address, path.action, path.who
                    );
                    prop_assert!(!path.violation);
                }
            }
            prop_assert!(!report.fails(), "{}", destroy::text(&report));
        }
    }

    /// The same report without the guard names the account's administrators, so the property
    /// above can fail.
    #[test]
    fn without_the_guard_administrators_can_destroy_copies(shape in shape()) {
        let shape = Shape { deny_deletion: false, lock: None, ..shape };
        let t = topology(&yaml(&shape));
        let report = destroy::report(&t, None);
        prop_assert!(report.fails(), "{}", destroy::text(&report));
    }
}
