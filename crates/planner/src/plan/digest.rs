//! The digests a plan carries and the IDs derived from its content: the topology's digest, the
//! fingerprint of the live state the plan saw, and the `CreatorRequestId`s of its creations.

use serde_json::Value;
use std::io::Write;

use sha2::{Digest, Sha256};

use coffer_spec::Topology;
use coffer_spec::sets::Membership;

use crate::model::{Change, Flag};

pub(super) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
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
///
/// The digest is that of the compact JSON array of `[address, account, region, before,
/// blocked]` per change, serialized straight into the hash (a fleet's array is tens of
/// megabytes).
pub fn fingerprint(changes: &[Change]) -> String {
    let mut hasher = HashWriter(Sha256::new());
    let mut write = || -> std::io::Result<()> {
        hasher.write_all(b"[")?;
        for (i, c) in changes.iter().enumerate() {
            if i > 0 {
                hasher.write_all(b",")?;
            }
            let seen = (
                &c.address,
                &c.account,
                &c.region,
                &c.before,
                c.has(Flag::Blocked),
            );
            serde_json::to_writer(&mut hasher, &seen)?;
        }
        hasher.write_all(b"]")
    };
    // Writing into a hash cannot fail, nor can serializing a `Value`.
    let _ = write();
    hex(&hasher.0.finalize())
}

/// Feeds what is written to it into a SHA-256.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.update(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, ResourceKind};
    use serde_json::json;

    fn change(name: &str, before: Option<Value>, flags: Vec<Flag>) -> Change {
        Change {
            address: ResourceKind::Vault.at(name),
            kind: ResourceKind::Vault,
            account: "111111111111".into(),
            account_name: Some("backup".into()),
            region: "eu-west-1".into(),
            aws_name: None,
            arn: None,
            action: Action::NoOp,
            before,
            after: None,
            fields: Vec::new(),
            flags,
            reasons: Vec::new(),
        }
    }

    /// The streamed fingerprint is the digest of the compact JSON array it describes, so
    /// plans saved before it was streamed keep their fingerprint.
    #[test]
    fn fingerprint_is_the_digest_of_the_compact_array() {
        let changes = vec![
            change(
                "central",
                Some(json!({"name": "central \"quoted\" ✓", "tags": {"b": 2, "a": [1, null]}})),
                Vec::new(),
            ),
            change("gone", None, vec![Flag::Blocked]),
        ];
        let array: Vec<Value> = changes
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
        let expected = sha256_hex(Value::Array(array).to_string().as_bytes());
        assert_eq!(fingerprint(&changes), expected);
        assert_eq!(fingerprint(&[]), sha256_hex(b"[]"));
        assert_ne!(fingerprint(&changes[..1]), fingerprint(&changes));
    }
}
