//! Helpers shared by the planner tests.
#![allow(dead_code)]

use coffer_planner::{LiveState, Plan, plan, simulate};
use coffer_spec::Topology;

pub const SEED: &str = include_str!("../../../../examples/seed/topology.yaml");
pub const MULTI: &str = include_str!("../../../../examples/multi-account/topology.yaml");

pub fn topology(text: &str) -> Topology {
    let loaded = coffer_spec::load_str(text);
    match loaded.topology {
        Some(t) => t,
        None => panic!("topology does not load:\n{}", loaded.render("t.yaml")),
    }
}

/// The live state after applying the plan from `live` (deletions included).
pub fn converge(topology: &Topology, live: &LiveState) -> LiveState {
    let mut live = live.clone();
    let first = plan(topology, &live);
    simulate::play(&first, &mut live, true);
    live
}

pub fn seed_converged() -> (Topology, LiveState) {
    let t = topology(SEED);
    let live = converge(&t, &LiveState::default());
    (t, live)
}

/// Changes other than no-ops, as `action address` lines.
pub fn changed(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|c| c.action != coffer_planner::Action::NoOp)
        .map(|c| format!("{} {}", c.action, c.address))
        .collect()
}
