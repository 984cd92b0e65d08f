//! Loading benchmark (`just bench`): how long `coffer_spec::load_str` takes for the examples,
//! for generated topologies of growing size, and for hostile files it must refuse quickly.
//! Timings are printed, never asserted: they depend on the machine.

use std::time::{Duration, Instant};

#[path = "fleet_topology.rs"]
mod fleet_topology;

use fleet_topology::fleet;

const SEED: &str = include_str!("../../../examples/seed/topology.yaml");
const MULTI: &str = include_str!("../../../examples/multi-account/topology.yaml");

/// The median of `runs` loads of `text`.
fn time(text: &str, runs: usize) -> (Duration, bool) {
    let mut times = Vec::with_capacity(runs);
    let mut loaded = false;
    for _ in 0..runs {
        let started = Instant::now();
        loaded = coffer_spec::load_str(text).topology.is_some();
        times.push(started.elapsed());
    }
    times.sort();
    (times[times.len() / 2], loaded)
}

fn alias_bomb() -> String {
    let mut text = String::from(
        "version: 1\nname: x\naccounts: {}\nbomb0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..12 {
        let prev = i - 1;
        text.push_str(&format!(
            "bomb{i}: &a{i} [{}]\n",
            vec![format!("*a{prev}"); 10].join(", ")
        ));
    }
    text
}

fn main() {
    println!(
        "{:<34} {:>10} {:>12} {:>8}",
        "input", "bytes", "median", "loads"
    );
    let mut rows: Vec<(String, String)> = vec![
        ("examples/seed".into(), SEED.into()),
        ("examples/multi-account".into(), MULTI.into()),
        ("alias bomb (10^12 nodes)".into(), alias_bomb()),
        (
            "5000-deep nesting".into(),
            format!(
                "version: 1\nname: x\naccounts: {}{}\n",
                "[".repeat(5000),
                "]".repeat(5000)
            ),
        ),
    ];
    for n in [10, 100, 500, 2000, 8000, 20000] {
        rows.push((format!("fleet of {n} source accounts"), fleet(n)));
    }
    for (name, text) in rows {
        let runs = if text.len() > 100_000 { 3 } else { 11 };
        let (median, loaded) = time(&text, runs);
        println!(
            "{name:<34} {:>10} {:>12} {:>8}",
            text.len(),
            format!("{:.2?}", median),
            if loaded { "yes" } else { "refused" }
        );
    }
}
