//! A seeded sample of the fuzzing run `just fuzz` makes, so `just test` exercises the same
//! harness: no case panics, hangs or is refused without a position.

use std::time::Duration;

use coffer_fuzz::topology_case::{Generators, unpositioned};
use coffer_fuzz::{Kind, Report, RunOptions, live_case, run};
use coffer_spec::{Diagnostic, Pos};

fn options(cases: u64) -> RunOptions {
    RunOptions {
        seed: 20_261_202,
        cases,
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        // Only a hang reaches this on a busy machine.
        case_limit: Duration::from_secs(120),
        budget: Duration::from_secs(3600),
        save_dir: None,
        progress: None,
    }
}

fn assert_clean(report: &Report, cases: u64) {
    for failure in &report.failures {
        eprintln!(
            "case {}: {}\n{}",
            failure.index, failure.what, failure.input
        );
    }
    assert!(report.failures.is_empty(), "{}", report.summary());
    assert_eq!(report.hangs, 0, "{}", report.summary());
    assert_eq!(report.cases, cases, "{}", report.summary());
    assert!(report.complete, "{}", report.summary());
    // The generators reach both outcomes.
    assert!(report.accepted > 0, "{}", report.summary());
    assert!(report.rejected > 0, "{}", report.summary());
}

#[test]
fn topology_files_never_panic_hang_or_lose_their_position() {
    let report = run(Kind::Topology, &options(2000));
    assert_clean(&report, 2000);
}

#[test]
fn live_states_never_panic_or_hang() {
    let report = run(Kind::Live, &options(600));
    assert_clean(&report, 600);
}

#[test]
fn a_case_is_a_function_of_the_seed_and_its_index() {
    let (a, b) = (Generators::new(), Generators::new());
    let inputs: Vec<String> = (0..50).map(|i| a.input(7, i)).collect();
    assert_eq!(inputs, (0..50).map(|i| b.input(7, i)).collect::<Vec<_>>());
    assert_ne!(a.input(7, 1), a.input(8, 1));
    let (a, b) = (live_case::Generators::new(), live_case::Generators::new());
    assert_eq!(a.input(7, 3), b.input(7, 3));
}

#[test]
fn an_error_without_a_position_in_the_file_is_a_failure() {
    let text = "version: 1\n";
    let mut loaded = coffer_spec::load_str(text);
    assert!(loaded.topology.is_none());
    assert_eq!(unpositioned(text, &loaded), None);
    loaded
        .diagnostics
        .push(Diagnostic::error("E000", Pos::FILE, "somewhere"));
    assert!(unpositioned(text, &loaded).is_some_and(|p| p.contains("E000 at 0:0")));
    loaded.diagnostics.0.clear();
    assert!(unpositioned(text, &loaded).is_some_and(|p| p.contains("no error")));
}
