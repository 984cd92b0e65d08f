//! The digests a plan carries and the IDs derived from its content: the topology's digest, the
//! fingerprint of the live state the plan saw, and the `CreatorRequestId`s of its creations.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use coffer_spec::Topology;
use coffer_spec::sets::Membership;

use crate::model::{Change, Flag};

pub(super) fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SHA-256 of the resolved topology.
pub fn topology_digest(topology: &Topology) -> String {
    sha256_hex(
        serde_json::to_string(topology)
            .unwrap_or_default()
            .as_bytes(),
    )
}

/// SHA-256 over what the plan saw of each resource (its `before` and whether it was blocked).
/// Volatile counters (recovery point counts) are not part of `before`, so backups running
/// between plan and apply do not make a plan stale.
pub fn fingerprint(changes: &[Change]) -> String {
    let seen: Vec<Value> = changes
        .iter()
        .map(|c| {
            json!([
                c.address,
                c.account,
                c.region,
                c.before,
                c.has(Flag::Blocked)
            ])
        })
        .collect();
    sha256_hex(Value::Array(seen).to_string().as_bytes())
}

/// The plan's `live_fingerprint`: the [`fingerprint`] of its changes and, when the topology
/// has account sets, of their members, so a saved plan goes stale when an account joins or
/// leaves a set.
pub(super) fn live_fingerprint(changes: &[Change], membership: Option<&Membership>) -> String {
    let seen = fingerprint(changes);
    match membership {
        None => seen,
        Some(membership) => {
            let members = serde_json::to_string(membership).unwrap_or_default();
            sha256_hex(format!("{seen}\n{members}").as_bytes())
        }
    }
}

/// A `CreatorRequestId` (1–50 of `[A-Za-z0-9-_.]`) derived from the step, so a rerun after
/// a crash sends the same one and AWS returns the resource it already created.
pub(super) fn creator_request_id(topology: &str, step_id: &str, content: &Value) -> String {
    let hash = sha256_hex(format!("{topology}\n{step_id}\n{content}").as_bytes());
    format!("coffer-{}", &hash[..32])
}
