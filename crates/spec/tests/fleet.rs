//! Large generated topologies load whole, and every limit that refuses a file says which limit,
//! its value and the variable that raises it. Timings belong to `just bench`; the guard here
//! only catches hangs.

use std::sync::mpsc;
use std::time::Duration;

use coffer_spec::{Diagnostic, Limits, Loaded};

#[path = "../examples/fleet_topology.rs"]
mod fleet_topology;

/// Far above any load time seen on a busy machine; reaching it means a hang.
const HANG: Duration = Duration::from_secs(300);

/// Loads `text` with `limits` on another thread; panics only if no answer comes within
/// [`HANG`].
fn load_or_hang(text: String, limits: Limits) -> Loaded {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(coffer_spec::load_str_with(&text, &limits));
    });
    receiver
        .recv_timeout(HANG)
        .unwrap_or_else(|_| panic!("loading hung (no answer within {HANG:?})"))
}

/// The only diagnostic of `loaded`, an error that never asks to fix the syntax.
fn only_limit_error(loaded: &Loaded) -> Diagnostic {
    assert!(loaded.topology.is_none(), "loaded despite the limit");
    let [error] = loaded.diagnostics.0.as_slice() else {
        panic!("not one diagnostic: {}", loaded.render("t.yaml"));
    };
    assert_eq!(error.code, "E001", "{error:?}");
    assert!(!error.help.contains("syntax"), "{error:?}");
    error.clone()
}

fn alias_bomb() -> String {
    let mut text = String::from(
        "version: 1\nname: x\naccounts: {}\nbomb0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..12 {
        let alias = format!("*a{}", i - 1);
        text.push_str(&format!(
            "bomb{i}: &a{i} [{}]\n",
            vec![alias; 10].join(", ")
        ));
    }
    text
}

#[test]
fn a_fleet_of_ten_thousand_accounts_loads_and_validates() {
    let text = fleet_topology::fleet(10_000);
    assert!(text.len() > 1024 * 1024, "the fleet outgrows the floor");
    let loaded = load_or_hang(text, Limits::default());
    let topology = loaded
        .topology
        .as_ref()
        .unwrap_or_else(|| panic!("{}", loaded.render("fleet.yaml")));
    assert!(
        !loaded.diagnostics.has_errors(),
        "{}",
        loaded.render("fleet.yaml")
    );
    assert_eq!(topology.accounts.len(), 10_002);
    assert_eq!(topology.vaults.len(), 10_001);
    assert_eq!(topology.backup_plans.len(), 10_000);
    assert_eq!(topology.copy_edges().count(), 10_000);
}

#[test]
fn the_value_limit_grows_with_the_file() {
    let limits = Limits::default();
    const MIB: usize = 1024 * 1024;
    assert_eq!(limits.nodes_for(0), limits.max_nodes);
    assert_eq!(limits.nodes_for(MIB / 2), limits.max_nodes);
    assert_eq!(limits.nodes_for(3 * MIB), 3 * limits.max_nodes);
    assert!(
        limits.nodes_for(usize::MAX) > limits.max_nodes,
        "no overflow"
    );
}

#[test]
fn an_alias_bomb_is_refused_naming_the_limit() {
    let loaded = load_or_hang(alias_bomb(), Limits::default());
    let error = only_limit_error(&loaded);
    assert!(
        error.message.contains("aliases") && error.message.contains("more than 200000 YAML values"),
        "{error:?}"
    );
    assert!(
        error.help.contains("write the repeated values out")
            && error.help.contains("COFFER_MAX_YAML_VALUES=400000"),
        "{error:?}"
    );
}

#[test]
fn a_large_file_over_the_value_limit_names_the_scaled_limit() {
    let limits = Limits {
        max_nodes: 1_000,
        ..Limits::default()
    };
    let text = fleet_topology::fleet(6_000);
    let expected = limits.nodes_for(text.len());
    assert!(expected > limits.max_nodes);
    let error = only_limit_error(&load_or_hang(text, limits));
    assert!(
        error
            .message
            .contains(&format!("more than {expected} YAML values"))
            && error.message.contains("(1000 per MiB)"),
        "{error:?}"
    );
    assert!(
        error.help.contains("split the topology")
            && error.help.contains("COFFER_MAX_YAML_VALUES=2000"),
        "{error:?}"
    );
}

#[test]
fn each_limit_names_its_value_and_variable() {
    let fleet = fleet_topology::fleet(3);
    let cases = [
        (
            Limits {
                max_nodes: 30,
                ..Limits::default()
            },
            fleet.clone(),
            "more than 30 YAML values",
            "COFFER_MAX_YAML_VALUES=60",
        ),
        (
            Limits {
                max_depth: 8,
                ..Limits::default()
            },
            format!("{fleet}extra: {}{}\n", "[".repeat(20), "]".repeat(20)),
            "nested more than 8 levels",
            "COFFER_MAX_YAML_DEPTH=16",
        ),
        (
            Limits {
                max_bytes: 500,
                ..Limits::default()
            },
            fleet.clone(),
            "at most 500 bytes",
            "COFFER_MAX_FILE_BYTES=",
        ),
    ];
    for (limits, text, message, help) in cases {
        let error = only_limit_error(&load_or_hang(text, limits));
        assert!(error.message.contains(message), "{error:?}");
        assert!(error.help.contains(help), "{error:?}");
    }
}
