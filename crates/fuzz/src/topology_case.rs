//! Topology cases: generated and mutated topology files through what `coffer validate` and
//! `coffer plan` run: load and validate, render the diagnostics, and plan (with the checks)
//! the topologies that load, against no live state and against a converged one.

use coffer_planner::{LiveState, render};
use coffer_spec::Limits;
use proptest::prelude::*;
use proptest::string::{RegexGeneratorStrategy, string_regex};

use crate::fleet;
use crate::harness::Outcome;
use crate::hostile;
use crate::rng::Rng;

#[path = "../../spec/tests/support/mutation.rs"]
mod mutation;

#[path = "../../planner/tests/support/generated.rs"]
pub(crate) mod generated;

/// The example topologies of the repository.
pub const EXAMPLES: &[&str] = &[
    include_str!("../../../examples/seed/topology.yaml"),
    include_str!("../../../examples/multi-account/topology.yaml"),
];

/// The text the robustness property generates: YAML-like tokens in any order.
const YAMLISH: &str = "([a-z_]{1,8}: ?|  |- |\\[|\\]|\\{|\\}|\"|'|[0-9]{1,13}|\n|&a |\\*a|#){0,60}";

/// The strategies a worker draws from, built once per thread.
pub struct Generators {
    yamlish: RegexGeneratorStrategy<String>,
    mutations: BoxedStrategy<Vec<mutation::Mutation>>,
    shape: BoxedStrategy<generated::Shape>,
    /// The seed example converged: what planning a loaded topology runs against half the time.
    seed_live: LiveState,
}

impl Generators {
    /// Builds the strategies.
    pub fn new() -> Generators {
        let seed_live = coffer_spec::load_str(EXAMPLES[0])
            .topology
            .map(|t| fleet::converged(&t))
            .unwrap_or_default();
        Generators {
            yamlish: string_regex(YAMLISH).unwrap_or_else(|e| panic!("{YAMLISH}: {e}")),
            mutations: prop::collection::vec(mutation::mutation(), 1..5).boxed(),
            shape: generated::shape().boxed(),
            seed_live,
        }
    }

    /// A valid file to mutate: an example, a small generated fleet or a generated shape.
    fn base(&self, rng: &mut Rng) -> String {
        match rng.below(4) {
            0 => EXAMPLES[0].to_string(),
            1 => EXAMPLES[1].to_string(),
            2 => fleet::topology(1 + rng.below(6)),
            _ => generated::yaml(&rng.draw(&self.shape)),
        }
    }

    /// The input of case `index` of the run seeded with `seed`.
    pub fn input(&self, seed: u64, index: u64) -> String {
        let mut rng = Rng::for_case(seed, 1, index);
        match rng.below(20) {
            0 => {
                let bytes: Vec<u8> = (0..rng.below(512)).map(|_| rng.bits() as u8).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
            1 | 2 => rng.draw(&self.yamlish),
            3 | 4 => generated::yaml(&rng.draw(&self.shape)),
            5..=9 => {
                let mut text = self.base(&mut rng);
                for m in &rng.draw(&self.mutations) {
                    text = mutation::apply(&text, m);
                }
                text
            }
            _ => {
                let mut text = self.base(&mut rng);
                for _ in 0..1 + rng.below(4) {
                    text = hostile::mutate(&mut rng, &text);
                }
                text
            }
        }
    }

    /// Runs one input through load, validate and plan.
    pub fn run(&self, text: &str, index: u64) -> Outcome {
        let loaded = coffer_spec::load_str_with(text, &Limits::default());
        let _ = loaded.render("topology.yaml");
        if let Some(problem) = unpositioned(text, &loaded) {
            return Outcome::Unpositioned(problem);
        }
        let Some(topology) = &loaded.topology else {
            return Outcome::Rejected;
        };
        let empty = LiveState::default();
        let live = if index.is_multiple_of(2) {
            &empty
        } else {
            &self.seed_live
        };
        let plan = coffer_planner::plan_checked(topology, &loaded.diagnostics, live);
        let _ = match index % 3 {
            0 => render::text(&plan, false),
            1 => render::json(&plan),
            _ => render::markdown(&plan),
        };
        if loaded.diagnostics.has_errors() {
            Outcome::Rejected
        } else {
            Outcome::Accepted
        }
    }
}

impl Default for Generators {
    fn default() -> Generators {
        Generators::new()
    }
}

/// What is wrong with the errors of `loaded`: none when the file was refused, or an error
/// whose position is not inside the file (line 1 to one past the last, as YAML counts lines,
/// column 1 or more).
pub fn unpositioned(text: &str, loaded: &coffer_spec::Loaded) -> Option<String> {
    if loaded.topology.is_none() && !loaded.diagnostics.has_errors() {
        return Some("no topology and no error".to_string());
    }
    let lines = coffer_spec::yaml::lines(text).count().max(1) as u32;
    loaded
        .diagnostics
        .errors()
        .find(|e| e.pos.line < 1 || e.pos.line > lines + 1 || e.pos.col < 1)
        .map(|e| {
            format!(
                "error {} at {}:{} is outside the file's {lines} lines: {}",
                e.code, e.pos.line, e.pos.col, e.message
            )
        })
}
