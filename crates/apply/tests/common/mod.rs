//! Fixtures shared by the engine tests: the seed topology, fast retries, a silent event sink.
#![allow(dead_code)]

use std::time::Duration;

use coffer_apply::{Event, Options, RetryPolicy};

pub const SEED: &str = include_str!("../../../../examples/seed/topology.yaml");

pub fn topology() -> coffer_spec::Topology {
    coffer_spec::load_str(SEED).topology.expect("seed loads")
}

/// Options with `concurrency` steps in flight and retries in milliseconds.
pub fn options(concurrency: usize) -> Options {
    Options {
        concurrency,
        retry: RetryPolicy {
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            deadline: Duration::from_secs(2),
        },
        ..Options::default()
    }
}

pub fn quiet(_: Event) {}
