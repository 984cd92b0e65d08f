//! Loading benchmark (`just bench`): how long `coffer_spec::load_str` takes for the examples,
//! for generated topologies of growing size, and for hostile files it must refuse quickly.
//! Timings are printed, never asserted: they depend on the machine.

use std::time::{Duration, Instant};

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

/// A topology with `n` source accounts, each with a key, a vault and a plan copying to one
/// central vault.
fn fleet(n: usize) -> String {
    let mut out = String::from(
        "version: 1\nname: bench\norganization:\n  id: o-benchmark00\n  management_account: management\n  cross_account_backup: enabled\ndefaults:\n  region: eu-west-1\n  role: CofferDeployRole\naccounts:\n  management: {id: \"100000000000\"}\n  backup: {id: \"900000000000\"}\n",
    );
    for i in 0..n {
        out.push_str(&format!(
            "  s{i}: {{id: \"{:012}\"}}\n",
            200_000_000_000u64 + i as u64
        ));
    }
    out.push_str("keys:\n  central: {account: backup, alias: alias/backup/central}\n");
    for i in 0..n {
        out.push_str(&format!(
            "  k{i}: {{account: s{i}, alias: alias/backup/source, usable_by: [backup]}}\n"
        ));
    }
    out.push_str("vaults:\n  central:\n    account: backup\n    name: central\n    key: central\n    access_policy: {organization: true, deny_recovery_point_deletion: true}\n");
    for i in 0..n {
        out.push_str(&format!(
            "  v{i}: {{account: s{i}, name: local, key: k{i}}}\n"
        ));
    }
    out.push_str("backup_plans:\n");
    for i in 0..n {
        out.push_str(&format!(
            "  p{i}:\n    account: s{i}\n    rules:\n      - name: daily\n        vault: v{i}\n        lifecycle: {{delete_after_days: 35}}\n        copy_to: [{{vault: central, lifecycle: {{delete_after_days: 90}}}}]\n"
        ));
    }
    out
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
    for n in [10, 100, 500] {
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
