//! A saved plan is applied only while the file and AWS are as they were, and only as Coffer
//! computes it.

use coffer_apply::{SavedPlanError, check_saved};
use coffer_planner::{LiveState, Operation, plan, simulate};

const SEED: &str = include_str!("../../../examples/seed/topology.yaml");

fn topology(text: &str) -> coffer_spec::Topology {
    coffer_spec::load_str(text).topology.expect("loads")
}

#[test]
fn the_same_file_and_aws_pass() {
    let t = topology(SEED);
    let live = LiveState::default();
    assert_eq!(check_saved(&plan(&t, &live), &plan(&t, &live)), Ok(()));
}

#[test]
fn a_changed_file_is_refused() {
    let live = LiveState::default();
    let saved = plan(&topology(SEED), &live);
    let fresh = plan(
        &topology(&SEED.replace("period_days: 365", "period_days: 180")),
        &live,
    );
    assert_eq!(
        check_saved(&saved, &fresh),
        Err(SavedPlanError::TopologyChanged)
    );
}

#[test]
fn changed_aws_names_what_differs_and_an_applied_plan_cannot_pass_again() {
    let t = topology(SEED);
    let mut live = LiveState::default();
    let saved = plan(&t, &live);
    live.region_mut("100200300400", "eu-west-1")
        .cross_account_backup = Some(true);
    match check_saved(&saved, &plan(&t, &live)) {
        Err(SavedPlanError::AwsChanged { differing }) => {
            assert_eq!(
                differing,
                vec!["cross_account_backup.eu-west-1 (100200300400 eu-west-1)".to_string()]
            );
        }
        other => panic!("expected AwsChanged, got {other:?}"),
    }

    let mut live = LiveState::default();
    simulate::play(&saved, &mut live, false);
    assert!(matches!(
        check_saved(&saved, &plan(&t, &live)),
        Err(SavedPlanError::AwsChanged { .. })
    ));
}

#[test]
fn an_edited_step_is_refused() {
    let t = topology(SEED);
    let live = LiveState::default();
    let fresh = plan(&t, &live);
    let mut edited = fresh.clone();
    for step in &mut edited.steps {
        if let Operation::CreateKey { description, .. } = &mut step.operation {
            description.push_str(" (edited)");
        }
    }
    assert_eq!(check_saved(&edited, &fresh), Err(SavedPlanError::Edited));
}

#[test]
fn a_plan_made_before_an_account_joined_an_account_set_is_refused_naming_it() {
    use coffer_spec::sets::{Member, Membership};
    let fleet = include_str!("../../../examples/fleet/topology.yaml");
    let plan_for = |members: Vec<Member>| {
        let membership = Membership {
            sets: [("workloads".to_string(), members)].into(),
            former: Default::default(),
        };
        let limits = coffer_spec::Limits::default();
        let loaded = coffer_spec::load_str_members(fleet, &limits, Some(&membership));
        let live = LiveState {
            membership: Some(membership),
            ..LiveState::default()
        };
        plan(&loaded.topology.expect("loads"), &live)
    };
    let alpha = Member {
        id: "123412341234".into(),
        name: "Alpha".into(),
    };
    let beta = Member {
        id: "567856785678".into(),
        name: "Beta".into(),
    };
    let saved = plan_for(vec![alpha.clone()]);
    let fresh = plan_for(vec![alpha, beta]);
    assert_eq!(
        check_saved(&saved, &fresh),
        Err(SavedPlanError::MembershipChanged {
            changes: vec!["joined workloads: Beta (567856785678)".into()]
        })
    );
    assert_eq!(check_saved(&fresh, &fresh), Ok(()));
}
