//! Generated fleets: the topology of `crates/spec/examples/fleet_topology.rs` and the live
//! state AWS holds once it is applied (what `coffer plan --live-out` would write), in sync so
//! the plan is empty, or with drift in every tenth source account.

use coffer_planner::{LiveState, plan, simulate};
use coffer_spec::Topology;

#[path = "../../spec/examples/fleet_topology.rs"]
mod fleet_topology;

/// The fleet topology with `n` source accounts.
pub fn topology(n: usize) -> String {
    fleet_topology::fleet(n)
}

/// The live state once the plan from nothing is applied: planning against it changes nothing.
pub fn converged(topology: &Topology) -> LiveState {
    let mut live = LiveState::default();
    let first = plan(topology, &live);
    simulate::play(&first, &mut live, true);
    live
}

/// Drift in every tenth source account: its plan's lifecycle shortened and its vault's tags
/// changed by hand (one account at least, however small the fleet). Returns how many accounts
/// drifted.
pub fn drift(live: &mut LiveState) -> usize {
    let mut drifted = 0;
    let first = 5 % live.accounts.len().max(1);
    for (i, account) in live.accounts.values_mut().enumerate() {
        if i % 10 != first {
            continue;
        }
        for region in account.regions.values_mut() {
            let mut touched = false;
            if let Some(rule) = region
                .backup_plans
                .first_mut()
                .and_then(|p| p.rules.first_mut())
            {
                rule.lifecycle.delete_after_days = Some(7);
                touched = true;
            }
            if let Some(vault) = region.vaults.first_mut() {
                vault.tags.insert("changed".into(), "by hand".into());
                touched = true;
            }
            drifted += usize::from(touched);
        }
    }
    drifted
}

/// The topology (YAML) and its live state (JSON, as `--live-out` writes it) for a fleet of
/// `n` source accounts, with drift when `drifted`. `None` when the fleet does not load.
pub fn files(n: usize, drifted: bool) -> Option<(String, String)> {
    let text = topology(n);
    let topology = coffer_spec::load_str(&text).topology?;
    let mut live = converged(&topology);
    if drifted {
        drift(&mut live);
    }
    let json = serde_json::to_string_pretty(&live).ok()?;
    Some((text, json))
}
