//! Live-state cases: the live state of a generated topology, converged, drifted by the
//! planner properties' drifts and then mutated as JSON with hostile values, through what
//! `coffer plan --live-in` runs: parse the file, plan with the checks, render.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use coffer_planner::{LiveState, render};
use coffer_spec::{Diagnostics, Topology};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::fleet;
use crate::harness::Outcome;
use crate::rng::Rng;
use crate::topology_case::generated;

/// A loaded topology, its diagnostics and its converged live state.
type Base = Rc<(Topology, Diagnostics, LiveState)>;

/// The strategies a worker draws from and the topologies it has loaded, built once per
/// thread.
pub struct Generators {
    shape: BoxedStrategy<generated::Shape>,
    drifts: BoxedStrategy<Vec<generated::Drift>>,
    bases: RefCell<HashMap<String, Base>>,
}

/// The input of a live-state case: the topology file and the live state file.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub topology: String,
    pub live: String,
}

impl Generators {
    /// Builds the strategies.
    pub fn new() -> Generators {
        Generators {
            shape: generated::shape().boxed(),
            drifts: prop::collection::vec(generated::drift(), 0..4).boxed(),
            bases: RefCell::new(HashMap::new()),
        }
    }

    /// The topology, its diagnostics and converged state of `text` (loaded once).
    fn base(&self, text: &str) -> Option<Base> {
        if let Some(base) = self.bases.borrow().get(text) {
            return Some(base.clone());
        }
        let loaded = coffer_spec::load_str(text);
        let topology = loaded.topology?;
        let live = fleet::converged(&topology);
        let base = Rc::new((topology, loaded.diagnostics, live));
        self.bases
            .borrow_mut()
            .insert(text.to_string(), base.clone());
        Some(base)
    }

    /// A generated topology file: a generated shape, or a small fleet.
    fn topology_text(&self, rng: &mut Rng) -> String {
        if rng.one_in(4) {
            fleet::topology(1 + rng.below(5))
        } else {
            generated::yaml(&rng.draw(&self.shape))
        }
    }

    /// The input of case `index` of the run seeded with `seed`.
    pub fn input(&self, seed: u64, index: u64) -> Input {
        let mut rng = Rng::for_case(seed, 2, index);
        let topology = self.topology_text(&mut rng);
        // Now and then the live state of another topology.
        let live_of = if rng.one_in(10) {
            self.topology_text(&mut rng)
        } else {
            topology.clone()
        };
        let mut live = self.base(&live_of).map(|b| b.2.clone()).unwrap_or_default();
        for drift in &rng.draw(&self.drifts) {
            generated::apply_drift(&mut live, drift);
        }
        let mut value = serde_json::to_value(&live).unwrap_or(Value::Null);
        for _ in 0..rng.below(6) {
            mutate(&mut rng, &mut value);
        }
        let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
        if rng.one_in(20) {
            text = crate::hostile::mutate(&mut rng, &text);
        }
        Input {
            topology,
            live: text,
        }
    }

    /// Runs one input through `--live-in`'s parse, the plan with its checks, and rendering.
    pub fn run(&self, input: &Input, index: u64) -> Outcome {
        let Some(base) = self.base(&input.topology) else {
            return Outcome::Unpositioned("the generated topology does not load".to_string());
        };
        let live = match serde_json::from_str::<LiveState>(&input.live) {
            Ok(live) => live,
            Err(err) if err.line() >= 1 => return Outcome::Rejected,
            Err(err) => return Outcome::Unpositioned(format!("no position: {err}")),
        };
        let plan = coffer_planner::plan_checked(&base.0, &base.1, &live);
        // One of the formats `plan --format` prints, as the command does.
        let _ = match index % 3 {
            0 => render::text(&plan, false),
            1 => render::json(&plan),
            _ => render::markdown(&plan),
        };
        Outcome::Accepted
    }
}

impl Default for Generators {
    fn default() -> Generators {
        Generators::new()
    }
}

/// JSON values a live-state value is swapped for.
fn hostile_value(rng: &mut Rng) -> Value {
    let statement = json!({
        "Sid": rng.pick(&["", "x", "ü🦀"]),
        "Effect": rng.pick(&["Allow", "Deny", "allow", ""]),
        "Principal": rng.pick(&[json!("*"), json!({"AWS": ["*", "arn:aws:iam::111122223333:root", "AROAEXAMPLE"]}), json!({"Service": "backup.amazonaws.com"}), json!({}), json!(null)]),
        "Action": rng.pick(&[json!("*"), json!(["kms:*", "backup:CopyIntoBackupVault"]), json!([]), json!(7)]),
        "Resource": rng.pick(&[json!("*"), json!(["arn:aws:kms:*:*:key/*"]), json!(null)]),
        "Condition": rng.pick(&[json!({}), json!({"StringEquals": {"aws:PrincipalOrgID": "o-generated00"}}), json!({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["o-*/*"]}}), json!({"Bogus": {"k": 1}}), json!("x")]),
    });
    match rng.below(26) {
        0 => json!(u64::MAX),
        1 => json!(i64::MIN),
        2 => json!(1e308),
        3 => json!(-1),
        4 => json!(0),
        5 => json!(""),
        6 => json!("ü漢字🦀\u{202e}"),
        7 => json!("\u{0}"),
        8 => json!("a".repeat(1 << rng.below(16))),
        9 => Value::Null,
        10 => json!(true),
        11 => json!([]),
        12 => json!({}),
        13 => nested(rng.below(127)),
        14 => json!(rng.pick(&["PendingDeletion", "Disabled", "Enabled", "PendingImport"])),
        15 => json!("*"),
        16 => json!("arn:aws:kms:eu-west-1:*:key/*"),
        17 => json!({"Version": "2012-10-17", "Statement": [statement]}),
        18 => json!({"Statement": statement}),
        19 => json!({"Statement": "x"}),
        20 => json!({"Version": 1}),
        21 => statement,
        22 => json!(rng.pick(&["eu-west-1", "us-east-1", "", "-"])),
        23 => json!(rng.pick(&["100000000000", "900000000000", "0", "abc"])),
        24 => json!(f64::MIN_POSITIVE),
        _ => json!(["x", 1, null, {}]),
    }
}

/// `depth` nested arrays.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!([inner]))
}

/// The JSON pointer of a value of `root` found by a random descent: each step stops at the
/// value it reached one time in four, and otherwise goes on into one of its children.
fn pointer(rng: &mut Rng, root: &Value) -> String {
    let (mut at, mut value) = (String::new(), root);
    loop {
        let child = match value {
            Value::Object(map) if !map.is_empty() && !rng.one_in(4) => map
                .iter()
                .nth(rng.below(map.len()))
                .map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v)),
            Value::Array(items) if !items.is_empty() && !rng.one_in(4) => {
                let i = rng.below(items.len());
                Some((i.to_string(), &items[i]))
            }
            _ => None,
        };
        let Some((key, child)) = child else {
            return at;
        };
        at.push('/');
        at.push_str(&key);
        value = child;
    }
}

/// One hostile edit of a JSON value: a value replaced, removed, repeated, swapped with
/// another, or an object's key renamed or added.
pub fn mutate(rng: &mut Rng, root: &mut Value) {
    let at = pointer(rng, root);
    let other = pointer(rng, root);
    let op = rng.below(7);
    let replacement = match op {
        0..=2 => hostile_value(rng),
        3 => root.pointer(&other).cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    };
    let Some(target) = root.pointer_mut(&at) else {
        return;
    };
    match (op, target) {
        (0..=3, target) => *target = replacement,
        (4, Value::Object(map)) => {
            if let Some(key) = map.keys().nth(rng.below(map.len())).cloned() {
                map.remove(&key);
            }
        }
        (4, Value::Array(items)) if !items.is_empty() => {
            items.remove(rng.below(items.len()));
        }
        (5, Value::Array(items)) if !items.is_empty() => {
            let item = items[rng.below(items.len())].clone();
            items.push(item);
        }
        (5 | 6, Value::Object(map)) => {
            let name = rng
                .pick(&[
                    "",
                    "x",
                    "ü🦀",
                    "Statement",
                    "regions",
                    "eu-west-1",
                    "100000000000",
                ])
                .to_string();
            let value = match map.keys().nth(rng.below(map.len())).cloned() {
                Some(key) if op == 5 => map.remove(&key).unwrap_or(Value::Null),
                _ => hostile_value(rng),
            };
            map.insert(name, value);
        }
        (_, target) => *target = hostile_value(rng),
    }
}
