//! A plan saved by `coffer plan --out`: read back, and applied only while the topology and
//! AWS are as they were when it was made.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use coffer_planner::Plan;

use crate::CannotApply;
use crate::refusal::indented;

/// Why a saved plan may not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SavedPlanError {
    #[error("the members of the topology's account sets changed since this plan was made:\n{}", indented(.changes))]
    MembershipChanged { changes: Vec<String> },
    #[error("the topology file changed since this plan was made")]
    TopologyChanged,
    #[error("AWS changed since this plan was made (or the plan was already applied); these resources differ now:\n{}", indented(.differing))]
    AwsChanged { differing: Vec<String> },
    #[error(
        "the plan file's changes or steps differ from the plan of this topology and AWS, although both are unchanged: the file was edited or made by another version of Coffer"
    )]
    Edited,
}

/// Reads a plan written by `coffer plan --out`, of the format this Coffer writes.
pub fn read_saved(path: &Path) -> Result<Plan, CannotApply> {
    let plan = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str::<Plan>(&text).map_err(|e| e.to_string()))
        .map_err(|error| CannotApply::Unreadable {
            path: path.to_path_buf(),
            error,
        })?;
    if plan.format_version != coffer_planner::FORMAT_VERSION {
        return Err(CannotApply::OtherFormat {
            path: path.to_path_buf(),
            found: plan.format_version,
        });
    }
    Ok(plan)
}

/// Checks a saved plan against the plan made now from the same file and AWS as they are: the
/// same topology, the same live state of every resource it looked at, and (since the planner
/// is deterministic) the same changes and steps. Only a plan that passes is applied, and it
/// cannot pass twice: applying it changes the live state.
pub fn check_saved(saved: &Plan, fresh: &Plan) -> Result<(), SavedPlanError> {
    if saved.membership != fresh.membership {
        let (before, now) = (saved.membership.clone(), fresh.membership.clone());
        let (joined, left) = before
            .unwrap_or_default()
            .changes_to(&now.unwrap_or_default());
        let joined = joined.into_iter().map(|m| format!("joined {m}"));
        let left = left.into_iter().map(|m| format!("left {m}"));
        return Err(SavedPlanError::MembershipChanged {
            changes: joined.chain(left).collect(),
        });
    }
    if saved.topology_digest != fresh.topology_digest {
        return Err(SavedPlanError::TopologyChanged);
    }
    if saved.live_fingerprint != fresh.live_fingerprint {
        return Err(SavedPlanError::AwsChanged {
            differing: differing(saved, fresh),
        });
    }
    if saved.changes != fresh.changes || saved.steps != fresh.steps {
        return Err(SavedPlanError::Edited);
    }
    Ok(())
}

/// The resources the two plans saw differently: each change's own
/// [`fingerprint`](coffer_planner::fingerprint), by address, account and region.
fn differing(saved: &Plan, fresh: &Plan) -> Vec<String> {
    let seen = |plan: &Plan| -> BTreeMap<String, String> {
        plan.changes
            .iter()
            .map(|c| {
                (
                    format!("{} ({} {})", c.address, c.account, c.region),
                    coffer_planner::fingerprint(std::slice::from_ref(c)),
                )
            })
            .collect()
    };
    let (a, b) = (seen(saved), seen(fresh));
    let differing: BTreeSet<&String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .collect();
    differing.into_iter().cloned().collect()
}
