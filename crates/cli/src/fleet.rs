//! Loading a topology with account sets: its members are read in the organization (through
//! the management account) or taken from a saved live state, the file is loaded again with
//! them, and the live state records them. After an apply, the members are recorded on the
//! accounts (see `coffer_aws::sets`).

use std::collections::BTreeSet;

use anstream::eprint;
use coffer_aws::Sessions;
use coffer_aws::sets::Resolved;
use coffer_planner::{Action, LiveState, Plan};
use coffer_spec::sets::Membership;
use coffer_spec::{Diagnostics, Loaded, Topology};

use crate::context::{Connection, Online, TopologyArg, block_on, paint, read_live, report_loaded};

/// A topology with the members of its account sets.
pub struct Fleet {
    pub topology: Topology,
    pub diagnostics: Diagnostics,
    /// What the organization says about the account sets; `None` without account sets (or
    /// when the members came from a saved live state).
    pub resolved: Option<Resolved>,
    /// The members the topology was loaded with; `None` without account sets.
    pub membership: Option<Membership>,
}

impl Fleet {
    /// Loads the topology for `online`; the members of its account sets come from `saved` (a
    /// live state written by `plan --live-out`) or, without it, from the organization. Prints
    /// the diagnostics; `None` when the topology does not load or the members cannot be read.
    pub fn load(online: &Online, saved: Option<&LiveState>) -> Option<Fleet> {
        Fleet::load_from(&online.topology, &online.connection, saved)
    }

    /// [`Fleet::load`] from the file `arg`, reaching AWS as `connection` says.
    pub fn load_from(
        arg: &TopologyArg,
        connection: &Connection,
        saved: Option<&LiveState>,
    ) -> Option<Fleet> {
        let loaded = arg.read()?;
        if loaded.account_sets.is_empty() {
            let loaded = report_loaded(arg, loaded)?;
            let (topology, diagnostics) = (loaded.topology?, loaded.diagnostics);
            return Some(Fleet {
                topology,
                diagnostics,
                resolved: None,
                membership: None,
            });
        }
        if loaded.topology.is_none() {
            report_loaded(arg, loaded);
            return None;
        }
        let (resolved, membership) = match saved {
            Some(live) => (None, saved_members(live)?),
            None => {
                let resolved = resolve(&loaded, connection)?;
                let membership = resolved.membership.clone();
                (Some(resolved), membership)
            }
        };
        let limits = coffer_spec::Limits::from_env().unwrap_or_default();
        let loaded = report_loaded(arg, loaded.with_members(&limits, &membership))?;
        let (topology, diagnostics) = (loaded.topology?, loaded.diagnostics);
        let membership = Some(membership);
        Some(Fleet {
            topology,
            diagnostics,
            resolved,
            membership,
        })
    }

    /// Reads the live state of every account of the topology and records the members in it.
    pub fn read_live(&self, connection: &Connection) -> Option<LiveState> {
        let mut live = read_live(&self.topology, connection)?;
        self.stamp(&mut live);
        Some(live)
    }

    /// Records the members in a live state read for this topology.
    pub fn stamp(&self, live: &mut LiveState) {
        live.membership = self.membership.clone();
    }

    /// After an apply: records the members on their accounts, and forgets the former members
    /// the applied plan left with nothing of the topology. A failure is a warning: the next
    /// apply records them again.
    pub async fn record(&self, sessions: &Sessions, plan: &Plan) {
        let (Some(resolved), Some(org)) = (&self.resolved, &self.topology.organization) else {
            return;
        };
        let management = self.topology.account_id(&org.management_account);
        let Some(session) = sessions.account(management) else {
            return;
        };
        let settled: BTreeSet<String> = resolved
            .membership
            .former
            .values()
            .flatten()
            .filter(|m| {
                !plan
                    .changes
                    .iter()
                    .any(|c| c.account == m.id && c.action != Action::NoOp)
            })
            .map(|m| m.id.clone())
            .collect();
        let recorded = coffer_aws::sets::record(&session, &self.topology.name, resolved, &settled);
        if let Err(err) = recorded.await {
            eprint!(
                "warning: the account set members were not recorded: {err}\n  help: the next `coffer apply` records them\n"
            );
        }
    }
}

/// Loads the topology for `online` and prints its diagnostics; when
/// `live` (the command reads AWS) and the topology has account sets, with the members the
/// organization has instead of the placeholder. `None` when the file cannot be read or the
/// members cannot be.
pub fn load_reported(online: &Online, live: bool) -> Option<Loaded> {
    let loaded = online.topology.read()?;
    if !live || loaded.account_sets.is_empty() || loaded.topology.is_none() {
        return report_loaded(&online.topology, loaded);
    }
    let resolved = resolve(&loaded, &online.connection)?;
    let limits = coffer_spec::Limits::from_env().unwrap_or_default();
    report_loaded(
        &online.topology,
        loaded.with_members(&limits, &resolved.membership),
    )
}

/// The members a saved live state recorded; `None` (reported) when it has none.
fn saved_members(live: &LiveState) -> Option<Membership> {
    if live.membership.is_none() {
        eprint!(
            "{}",
            paint(
                "error: the live state has no account set members, but the topology has account sets\n  help: write the live state again with `coffer plan --live-out` of this topology\n"
            )
        );
    }
    live.membership.clone()
}

/// Reads the members of the account sets through the management account; `None` (reported)
/// when the file has no valid organization or the organization cannot be read.
fn resolve(loaded: &Loaded, connection: &Connection) -> Option<Resolved> {
    let topology = loaded.topology.as_ref()?;
    let org = topology.organization.as_ref()?;
    let management = topology.account(&org.management_account)?.clone();
    let only = Topology {
        accounts: [(management.name.clone(), management.clone())].into(),
        keys: Default::default(),
        vaults: Default::default(),
        backup_plans: Default::default(),
        ..topology.clone()
    };
    let read = block_on(async {
        let sessions = crate::context::connect(&only, connection).await;
        let session = sessions.account(&management.id)?;
        Some(coffer_aws::sets::resolve(&session, &topology.name, &loaded.account_sets).await)
    })??;
    match read {
        Ok(resolved) => Some(resolved),
        Err(err) => {
            let message = format!(
                "error: cannot read the members of the account sets: {err}\n  help: Coffer lists the organization's accounts through the management account `{}`; its role needs the Organizations read permissions of `coffer iam-policy --mode plan`\n",
                management.name
            );
            eprint!("{}", paint(&message));
            None
        }
    }
}
