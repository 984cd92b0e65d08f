//! The restore drill: the reference scenario's procedure, automated and timed. Back a resource
//! up into its plan's vault, copy the recovery point to every `copy_to` destination, restore it
//! in the destination account, check the restored resource is encrypted with that account's
//! key, and clean up what may be deleted.
//!
//! Guarded vaults deny deleting recovery points to everyone but their break-glass principals,
//! and a locked vault keeps them until their retention ends; so every recovery point the drill
//! makes gets the shortest retention its vault's lock allows, and the copies in destination
//! vaults are left to expire rather than deleted.

mod backup;
mod clean_up;
mod copy;
mod jobs;
mod pick;
mod points;
mod report;
mod restore;
mod retention;
mod stage;

use std::sync::Arc;
use std::time::{Duration, Instant};

use coffer_spec::{Account, BackupPlan, Rule, Topology, Vault};

pub(crate) use pick::{copies, pick};
pub use report::{DrillReport, LeftToExpire, Stage, describe_left};
pub use retention::{deletion_barrier, expiry, is_refusal, shortest_retention};
pub use stage::{DrillEvent, DrillStage, StageKind};

use self::jobs::Caller;
use self::points::{Created, newest_recovery_point_age, now_secs};
use self::stage::Progress;
use crate::error::AwsError;
use crate::propagation::DEFAULT_WINDOW;
use crate::session::{AccountSession, RegionClients, Sessions};

#[derive(Debug, Clone)]
pub struct DrillOptions {
    /// The plan to drill; the topology's only plan with a copy action when unset.
    pub plan: Option<String>,
    /// The resource to back up; the plan's first RDS resource when unset.
    pub resource: Option<String>,
    /// Leave the restored resource and the source recovery point in place.
    pub keep: bool,
    pub poll_interval: Duration,
    /// Give up on a job after this long.
    pub job_timeout: Duration,
    /// How long a copy refused for lack of access is started again, while AWS may not have
    /// propagated a change yet (`propagation.rs`); zero turns the retrying off.
    pub propagation_window: Duration,
}

impl Default for DrillOptions {
    fn default() -> Self {
        DrillOptions {
            plan: None,
            resource: None,
            keep: false,
            poll_interval: Duration::from_secs(5),
            job_timeout: Duration::from_secs(4 * 3600),
            propagation_window: DEFAULT_WINDOW,
        }
    }
}

/// Why the drill could not start.
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Aws(Box<AwsError>),
    /// AWS Backup cannot assume a role the drill would pass it (`crate::service_roles`).
    #[error("{0}")]
    ServiceRoles(String),
}

impl From<AwsError> for DrillError {
    fn from(error: AwsError) -> Self {
        DrillError::Aws(Box::new(error))
    }
}

/// The session of account `account_id`; the drill cannot start without it.
pub(crate) fn session(
    sessions: &Sessions,
    account_id: &str,
) -> Result<Arc<AccountSession>, DrillError> {
    sessions
        .account(account_id)
        .ok_or_else(|| DrillError::Setup(format!("no session for account {account_id}")))
}

/// The tag naming the drill on what it creates; its value is the drill's ID.
pub const TAG_DRILL: &str = "coffer:drill";

/// Runs the drill, sending `on_event` its progress as stages start and end. AWS errors after
/// the first job started end the drill as a failed stage; whatever it created is still
/// cleaned up.
pub async fn run(
    topology: &Topology,
    sessions: &Sessions,
    options: &DrillOptions,
    on_event: &(dyn Fn(DrillEvent) + Send + Sync),
) -> Result<DrillReport, DrillError> {
    let drill_started = Instant::now();
    let (plan, rule, resource) = pick(topology, options)?;
    crate::service_roles::preflight(topology, sessions, plan, rule).await?;
    let source_vault = topology
        .vaults
        .get(&rule.vault)
        .ok_or_else(|| DrillError::Setup("the rule's vault is not in the topology".into()))?;
    let source_session = session(sessions, topology.account_id(&plan.account))?;
    let source = source_session.region(&plan.region).await;
    let call = |name: &str| source_session.call(&plan.region, name);
    let token = drill_id(now_secs());
    let rpo_seen = newest_recovery_point_age(&source, &source_vault.vault_name, &resource, &call);
    let mut report = DrillReport::new(
        topology.name.clone(),
        plan.name.to_string(),
        resource.clone(),
        token.clone(),
        rpo_seen.await?,
    );
    on_event(DrillEvent::DrillStarted {
        drill_id: report.drill_id.clone(),
        topology: report.topology.clone(),
        plan: report.plan.clone(),
        resource: report.resource.clone(),
    });
    let progress = Progress::new(on_event);
    let mut created = Created::default();
    let drill = Drill {
        topology,
        sessions,
        options,
        plan,
        rule,
        source_vault,
        source: &source,
        source_account: &source_session.account,
        call: &call,
        resource: &resource,
        job_role: crate::service_roles::job_role(topology, plan),
        token,
        progress: &progress,
    };
    match drill.stages(&mut report, &mut created).await {
        Ok(ok) => report.ok = ok,
        Err(error) => {
            let message = error.to_string();
            progress.abort(&message);
            report
                .stages
                .push(Stage::new(DrillStage::Error, false, 0.0, message.clone()));
            report.failure = Some(message);
            report.ok = false;
        }
    }
    clean_up::clean_up(&mut report, created, options.keep, &progress).await;
    on_event(DrillEvent::DrillFinished {
        ok: report.ok,
        seconds: drill_started.elapsed().as_secs_f64(),
    });
    Ok(report)
}

/// A new drill's ID, `coffer-drill-<unix seconds>-<6 random hex digits>`: the value of its tag
/// and the idempotency token of its jobs. AWS Backup answers a `Start*Job` whose token it has seen
/// with the earlier job, so two drills started in the same second (a drill run twice, or drills
/// of two plans side by side) must not share one: the second would be handed the first's jobs,
/// whose recovery points the first's clean-up deletes.
fn drill_id(now_secs: u64) -> String {
    use std::hash::{BuildHasher, Hasher};
    // A fresh `RandomState` is seeded from the operating system's randomness.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!("coffer-drill-{now_secs}-{:06x}", random & 0xff_ffff)
}

/// A drill under way: what it drills, and where.
struct Drill<'a> {
    topology: &'a Topology,
    sessions: &'a Sessions,
    options: &'a DrillOptions,
    plan: &'a BackupPlan,
    rule: &'a Rule,
    source_vault: &'a Vault,
    source: &'a RegionClients,
    source_account: &'a Account,
    call: Caller<'a>,
    resource: &'a str,
    /// The role the backup and copy jobs pass to AWS Backup.
    job_role: String,
    /// The drill's ID: the value of its tag, and its jobs' idempotency token.
    token: String,
    progress: &'a Progress<'a>,
}

impl Drill<'_> {
    /// Runs the stages; `Ok(false)` when one failed (recorded in the report).
    async fn stages(
        &self,
        report: &mut DrillReport,
        created: &mut Created,
    ) -> Result<bool, DrillError> {
        let Some(recovery_point) = self.backup(report, created).await? else {
            return Ok(false);
        };
        for edge in copies(self.topology, self.rule) {
            let destination = edge.destination;
            let Some(copied) = self.copy(destination, &recovery_point, report).await? else {
                return Ok(false);
            };
            if !self.restore(destination, &copied, report, created).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use coffer_spec::Topology;

    const SEED: &str = include_str!("../../../../examples/seed/topology.yaml");

    /// The seed topology, the drill's reference scenario, with each `(old, new)` of
    /// `replacements` made (each `old` stands in it once).
    pub(crate) fn seed(replacements: &[(&str, &str)]) -> Topology {
        let mut text = SEED.to_string();
        for (old, new) in replacements {
            assert_eq!(text.matches(old).count(), 1, "{old:?}");
            text = text.replace(old, new);
        }
        let loaded = coffer_spec::load_str(&text);
        loaded.topology.expect("the seed topology loads")
    }

    #[test]
    fn drills_started_in_the_same_second_have_different_ids() {
        let ids: std::collections::BTreeSet<String> =
            (0..64).map(|_| super::drill_id(1_700_000_000)).collect();
        assert_eq!(ids.len(), 64, "{ids:?}");
        for id in &ids {
            let random = id.strip_prefix("coffer-drill-1700000000-").expect(id);
            assert!(
                random.len() == 6 && random.chars().all(|c| c.is_ascii_hexdigit()),
                "{id}"
            );
        }
    }
}
