//! Coffer's fuzzing harness: generated and mutated topology files and live states, each run
//! through what `coffer validate` and `coffer plan --live-in` run (load and validate, parse
//! the live state, plan with its checks, render), on every core, with a time limit per case.
//!
//! Every case is a pure function of the seed and its index, so a failure is reproduced by
//! its seed and index alone (`coffer-fuzz --seed S --show topology:N`). A case is accepted,
//! rejected with a positioned error, or a failure: a panic, a hang, or a rejection without a
//! position inside the input.

pub mod fleet;
pub mod harness;
pub mod hostile;
pub mod live_case;
pub mod rng;
pub mod topology_case;

pub use harness::{Failure, Kind, Outcome, Report, RunOptions, run};
