//! Account set members are part of a plan's live fingerprint: a plan made before an account
//! joined or left a set does not pass for the plan made after.

use coffer_planner::{LiveState, plan};
use coffer_spec::sets::{Member, Membership};
use coffer_spec::{Limits, load_str_members};

const FLEET: &str = include_str!("../../../examples/fleet/topology.yaml");

fn members(names: &[(&str, &str)]) -> Membership {
    let listed = names
        .iter()
        .map(|(id, name)| Member {
            id: id.to_string(),
            name: name.to_string(),
        })
        .collect();
    Membership {
        sets: [("workloads".to_string(), listed)].into(),
        former: Default::default(),
    }
}

/// The plan of the fleet topology for `membership`, from a live state that records it.
fn fleet_plan(membership: &Membership, live: &LiveState) -> coffer_planner::Plan {
    let loaded = load_str_members(FLEET, &Limits::default(), Some(membership));
    let topology = loaded.topology.expect("the fleet topology loads");
    let mut live = live.clone();
    live.membership = Some(membership.clone());
    plan(&topology, &live)
}

#[test]
fn the_same_members_give_the_same_fingerprint() {
    let one = members(&[("123412341234", "alpha")]);
    let live = LiveState::default();
    let (a, b) = (fleet_plan(&one, &live), fleet_plan(&one, &live));
    assert_eq!(a.live_fingerprint, b.live_fingerprint);
    assert_eq!(a.membership, Some(one));
}

#[test]
fn a_member_that_joins_changes_the_fingerprint() {
    let live = LiveState::default();
    let before = fleet_plan(&members(&[("123412341234", "alpha")]), &live);
    let joined = members(&[("123412341234", "alpha"), ("567856785678", "beta")]);
    let after = fleet_plan(&joined, &live);
    assert_ne!(before.live_fingerprint, after.live_fingerprint);
}

#[test]
fn members_count_even_when_the_changes_are_the_same() {
    // An account listed under `accounts` is left out of the set: the plans' changes are the
    // same, only the members the organization listed differ.
    let live = LiveState::default();
    let alone = fleet_plan(&members(&[("123412341234", "alpha")]), &live);
    let listed = members(&[("123412341234", "alpha"), ("666777888999", "backup")]);
    let with_listed = fleet_plan(&listed, &live);
    assert_eq!(alone.changes, with_listed.changes);
    assert_ne!(alone.live_fingerprint, with_listed.live_fingerprint);
}

#[test]
fn a_topology_without_account_sets_keeps_its_fingerprint() {
    let seed = include_str!("../../../examples/seed/topology.yaml");
    let topology = coffer_spec::load_str(seed).topology.expect("seed loads");
    let plan = plan(&topology, &LiveState::default());
    assert_eq!(
        plan.live_fingerprint,
        coffer_planner::fingerprint(&plan.changes)
    );
    assert_eq!(plan.membership, None);
}
