//! Coffer's planner: the resource model, desired-state derivation, the live state, canonical
//! policies and their semantic diff, `plan()`, and rendering.
//!
//! Pure: no I/O, no async, no AWS SDK. The same topology and live state always give the same
//! plan, byte for byte.

pub mod access;
pub mod checks;
pub mod destroy;
pub mod drift;
pub mod findings;
pub mod graph;
pub mod live;
pub mod model;
pub mod plan;
pub mod policy;
pub mod prediction;
pub mod render;
pub mod simulate;
pub mod weaken;

pub use live::LiveState;
pub use model::*;
pub use plan::{
    TAG_ID, TAG_TOPOLOGY, diff_fields, fingerprint, plan, plan_checked, topology_digest,
};
