//! Helpers shared by the planner tests.
#![allow(dead_code)]

use coffer_planner::live::{LiveRegion, LiveVault};
use coffer_planner::{Change, LiveState, Plan, Step, plan, simulate};
use coffer_spec::Topology;
use serde_json::Value;

pub const SEED: &str = include_str!("../../../../examples/seed/topology.yaml");
pub const MULTI: &str = include_str!("../../../../examples/multi-account/topology.yaml");

/// The seed's accounts: the organization's management account, the source of the backups,
/// and the account of the central vault.
pub const MANAGEMENT: &str = "100200300400";
pub const SOURCE: &str = "111222333444";
pub const BACKUP: &str = "666777888999";

/// The seed's region of an account.
pub fn seed_region<'a>(live: &'a mut LiveState, account: &str) -> &'a mut LiveRegion {
    live.region_mut(account, "eu-west-1")
}

/// The seed's central vault, in the backup account.
pub fn central(live: &mut LiveState) -> &mut LiveVault {
    seed_region(live, BACKUP)
        .vaults
        .iter_mut()
        .find(|v| v.name == "central")
        .expect("central")
}

/// The statements of the central vault's policy, without the guard (whose Deny would win over
/// any Allow a test adds).
pub fn central_unguarded(live: &mut LiveState) -> &mut Vec<Value> {
    let statements = central(live).access_policy.as_mut().expect("policy")["Statement"]
        .as_array_mut()
        .expect("list");
    statements.retain(|s| s["Effect"] != "Deny");
    statements
}

/// The change of the resource at `address`.
pub fn change<'p>(plan: &'p Plan, address: &str) -> &'p Change {
    plan.changes
        .iter()
        .find(|c| c.address == address)
        .unwrap_or_else(|| panic!("no change of {address}"))
}

/// Asserts that one of the reasons of `change` says `text`.
pub fn assert_reason(change: &Change, text: &str) {
    assert!(
        change.reasons.iter().any(|r| r.contains(text)),
        "{}: no reason says `{text}`: {:?}",
        change.address,
        change.reasons
    );
}

/// The step `id` of the plan.
pub fn step<'p>(plan: &'p Plan, id: &str) -> &'p Step {
    plan.steps
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

/// The API calls of the plan's steps, in order.
pub fn calls(plan: &Plan) -> Vec<&'static str> {
    plan.steps.iter().map(|s| s.operation.name()).collect()
}

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
