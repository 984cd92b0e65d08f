//! Arbitrary input never panics, never hangs, and always yields either a topology or at
//! least one positioned error. How fast loading is belongs to `just bench`
//! (`crates/spec/examples/load_bench.rs`); the limit here only catches hangs.

use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;

#[path = "support/mutation.rs"]
mod mutation;

use mutation::{apply, mutation};

const SEED: &str = include_str!("../../../examples/seed/topology.yaml");
const MULTI: &str = include_str!("../../../examples/multi-account/topology.yaml");

/// Far above any load time seen on a busy machine; reaching it means a hang.
const HANG: Duration = Duration::from_secs(30);

/// Loads `text` on another thread; panics only if no answer comes within [`HANG`].
fn load_or_hang(text: &str) -> coffer_spec::Loaded {
    let (sender, receiver) = mpsc::channel();
    let owned = text.to_string();
    std::thread::spawn(move || {
        let _ = sender.send(coffer_spec::load_str(&owned));
    });
    receiver
        .recv_timeout(HANG)
        .unwrap_or_else(|_| panic!("loading hung (no answer within {HANG:?}) for {text:?}"))
}

fn check_outcome(text: &str) {
    let loaded = load_or_hang(text);
    match &loaded.topology {
        // Errors that are catalog checks (copy-chain failures AWS accepts) still load.
        Some(_) => assert!(
            !loaded.diagnostics.has_blocking_errors(),
            "a topology despite blocking errors for {text:?}"
        ),
        None => {
            assert!(
                loaded.diagnostics.has_errors(),
                "no topology and no error for {text:?}"
            );
            let lines = coffer_spec::yaml::lines(text).count().max(1) as u32;
            for error in loaded.diagnostics.errors() {
                assert!(
                    error.pos.line >= 1 && error.pos.line <= lines + 1 && error.pos.col >= 1,
                    "error without a position inside the file: {error:?} for {text:?}"
                );
                assert!(!error.help.is_empty(), "error without help: {error:?}");
            }
        }
    }
    // Rendering never panics either.
    let _ = loaded.render("t.yaml");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_outcome(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn yamlish_text(text in "([a-z_]{1,8}: ?|  |- |\\[|\\]|\\{|\\}|\"|'|[0-9]{1,13}|\n|&a |\\*a|#){0,60}") {
        check_outcome(&text);
    }

    #[test]
    fn mutated_valid_files(
        base in prop::sample::select(vec![SEED, MULTI]),
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        let mut text = base.to_string();
        for m in &mutations {
            text = apply(&text, m);
        }
        check_outcome(&text);
    }
}

#[test]
fn alias_bomb_is_refused_quickly() {
    let mut text = String::from(
        "version: 1\nname: x\naccounts: {}\nbomb0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..12 {
        let prev = i - 1;
        text.push_str(&format!(
            "bomb{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
        ));
    }
    check_outcome(&text);
    assert!(coffer_spec::load_str(&text).topology.is_none());
}

#[test]
fn deep_nesting_is_refused_quickly() {
    let text = format!(
        "version: 1\nname: x\naccounts: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    check_outcome(&text);
    assert!(coffer_spec::load_str(&text).topology.is_none());
}

/// A carriage return alone ends a line for YAML, so positions count it: the error's line is
/// inside the file and its source line is shown.
#[test]
fn lone_carriage_returns_end_lines() {
    let text = "version: 1\rname: x\raccounts: [\0]\r";
    let loaded = coffer_spec::load_str(text);
    check_outcome(text);
    let error = loaded.diagnostics.errors().next().expect("an error");
    assert_eq!(error.pos.line, 3, "{error:?}");
    let rendered = loaded.render("t.yaml");
    assert!(rendered.contains("3 | accounts: ["), "{rendered}");
}
