mod common;
use coffer_planner::LiveState;
use coffer_planner::checks::evaluate;
#[test]
fn dump() {
    let loaded = coffer_spec::load_str(common::SEED);
    let t = loaded.topology.clone().unwrap();
    let live = common::converge(&t, &LiveState::default());
    println!("{}", serde_json::to_string_pretty(&live).unwrap());
    for f in evaluate(&t, &loaded.diagnostics, None) {
        println!("static: {f}");
    }
    for f in evaluate(&t, &loaded.diagnostics, Some(&live)) {
        println!("live: {f}");
    }
    for d in &loaded.diagnostics.0 {
        println!("diag: {d:?}");
    }
}
