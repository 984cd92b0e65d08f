//! Diagrams of the seed topology; a copy edge that fails a blocker check is red.

mod common;

use coffer_planner::{LiveState, graph, plan_checked};

fn diagram(text: &str) -> (coffer_spec::Topology, graph::Graph) {
    let loaded = coffer_spec::load_str(text);
    let t = loaded.topology.clone().expect("loads");
    let findings = plan_checked(&t, &loaded.diagnostics, &LiveState::default()).findings;
    let g = graph::build(&t, &findings);
    (t, g)
}

#[test]
fn seed_mermaid() {
    let (t, g) = diagram(common::SEED);
    assert!(g.edges.iter().all(|e| !e.broken));
    insta::assert_snapshot!("seed_mermaid", graph::mermaid(&t, &g));
}

#[test]
fn seed_dot_has_every_edge_kind() {
    let (t, g) = diagram(common::SEED);
    let dot = graph::dot(&t, &g);
    for label in [
        "encrypts",
        "usable by",
        "backs up to",
        "copies to",
        "allows copy from",
    ] {
        assert!(
            dot.contains(&format!("label=\"{label}\"")),
            "{label} missing:\n{dot}"
        );
    }
    assert!(!dot.contains("color=red"));
}

#[test]
fn a_copy_the_destination_does_not_allow_is_red() {
    let broken = common::SEED.replace(
        "      organization: true\n",
        "      allow_copy_from: [management]\n",
    );
    let (t, g) = diagram(&broken);
    let copies: Vec<&graph::Edge> = g
        .edges
        .iter()
        .filter(|e| e.kind == graph::EdgeKind::CopiesTo)
        .collect();
    assert_eq!(copies.len(), 1);
    assert!(copies[0].broken);
    assert!(graph::mermaid(&t, &g).contains("linkStyle"));
    assert!(graph::dot(&t, &g).contains("color=red"));
}

#[test]
fn seed_dot() {
    // Every node in its account's and region's cluster, in the order the topology declares.
    let (t, g) = diagram(common::SEED);
    insta::assert_snapshot!("seed_dot", graph::dot(&t, &g));
}
