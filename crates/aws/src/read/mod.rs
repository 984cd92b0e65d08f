//! Reading the live state of everything a topology scopes: its accounts and regions, every
//! page of every list, concurrently under bounds, with the fewest calls that give a complete
//! picture. Which resources Coffer owns comes from one Tagging API listing per region
//! (`tagged`), not from a tag read per resource; details (policies, rules, selections) are
//! fetched only for resources Coffer owns or that carry a name the file wants. A region costs
//! one `tag:GetResources`, `kms:ListAliases` and `backup:ListBackupVaults` (each left out when
//! nothing owned or wanted could be there), plus the detail reads of its resources; an
//! account costs its AssumeRole, and membership of the organization is one listing in the
//! management account for the whole fleet.
//!
//! The trade-off: the Tagging API is eventually consistent, so an owned resource tagged
//! moments ago may be missing from the listing. Every resource the file wants is still found
//! by name from an authoritative read (`kms:ListAliases`, `backup:ListBackupVaults`, and
//! `backup:ListBackupPlans` whenever a wanted plan is not among the owned ones), so creates,
//! updates, adoption and the foreign-resource checks never rely on the listing; only a
//! resource that left the file and was tagged moments ago can be missed, and the next run
//! deletes it.
//!
//! One module per service: `tagged` (the owned resources), `kms` (keys and aliases), `backup`
//! (vaults and backup plans), `organizations` (the organization and AWS Backup's
//! cross-account switch), `rds` (the databases selections name).

mod backup;
mod kms;
pub mod limits;
pub(crate) mod organizations;
mod rds;
mod tagged;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

use aws_sdk_backup::primitives::{DateTime, DateTimeFormat};
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use coffer_planner::TAG_TOPOLOGY;
use coffer_planner::live::*;
use coffer_planner::model::ResourceKind;
use coffer_spec::{AccountName, Topology};
use futures::future::join_all;

use crate::error::{AwsError, Call, ReadErrors};
use crate::session::{AccountSession, RegionClients, Sessions};

pub(crate) use backup::{live_rule, live_selection};
pub(crate) use kms::{default_key_policy, key_state};
pub use limits::Limits;

/// What a region's read looks for besides owned resources: the names the file wants there.
#[derive(Debug, Clone, Default)]
struct Wanted {
    aliases: BTreeSet<String>,
    vaults: BTreeSet<String>,
    backup_plans: BTreeSet<String>,
    /// RDS instances and clusters the region's selections name.
    sources: BTreeSet<String>,
    global_settings: bool,
}

/// Where the file wants things, and what, by account ID and region.
type WantedBySlot = BTreeMap<(String, String), Wanted>;

fn wanted(topology: &Topology) -> WantedBySlot {
    let mut out = WantedBySlot::new();
    for (account, region) in topology.scopes() {
        slot(&mut out, topology, &account, &region);
    }
    for key in topology.keys.values() {
        slot(&mut out, topology, &key.account, &key.region)
            .aliases
            .insert(key.alias.clone());
    }
    for vault in topology.vaults.values() {
        slot(&mut out, topology, &vault.account, &vault.region)
            .vaults
            .insert(vault.vault_name.clone());
    }
    for plan in topology.backup_plans.values() {
        let wanted = slot(&mut out, topology, &plan.account, &plan.region);
        wanted.backup_plans.insert(plan.plan_name.clone());
        let sources = plan
            .selections
            .iter()
            .flat_map(|s| &s.resources)
            .filter(|r| coffer_planner::checks::rds_kind(r).is_some());
        wanted.sources.extend(sources.cloned());
    }
    if let Some(org) = &topology.organization {
        let management = topology.account_id(&org.management_account).to_string();
        let regions: BTreeSet<String> = out.keys().map(|(_, r)| r.clone()).collect();
        for region in regions {
            out.entry((management.clone(), region))
                .or_default()
                .global_settings = true;
        }
    }
    out
}

/// What the file wants in `region` of `account`.
fn slot<'a>(
    out: &'a mut WantedBySlot,
    topology: &Topology,
    account: &AccountName,
    region: &str,
) -> &'a mut Wanted {
    let id = topology.account_id(account).to_string();
    out.entry((id, region.to_string())).or_default()
}

/// Reads the live state of every account and region `topology` scopes. `concurrency` bounds
/// the calls in flight (with the per-account and per-service bounds of [`Limits`]). Failures
/// are collected per account and region; the reads elsewhere go on.
pub async fn read(
    topology: &Topology,
    sessions: &Sessions,
    concurrency: usize,
) -> Result<LiveState, ReadErrors> {
    let limit = Arc::new(Limits::new(concurrency));
    let topology_name = topology.name.clone();

    let verified = per_account(sessions.all(), &limit, "sts", |s| s.verify()).await;
    let mut errors = Vec::new();
    let mut usable = BTreeSet::new();
    for (id, result) in verified {
        match result {
            Ok(()) => {
                usable.insert(id);
            }
            Err(e) => errors.push(e),
        }
    }
    // Only accounts whose role could be assumed: the others failed already. The membership
    // of the organization (a listing whose pages follow one another), the roles the
    // selections pass to AWS Backup (`crate::service_roles`) and the regions are read side by
    // side: none needs another's answer, and the listing's pages would otherwise add their
    // latency to every region's.
    let organizations = organizations::memberships(topology, sessions, &usable, &limit);
    let roles = crate::service_roles::read_selection_roles(topology, sessions, &usable, &limit);

    let tasks = wanted(topology)
        .into_iter()
        .filter(|((id, _), _)| usable.contains(id))
        .filter_map(|((id, region), wanted)| {
            let session = sessions.account(&id)?;
            let limit = limit.clone();
            let topology_name = topology_name.clone();
            Some(async move {
                let reader = RegionReader {
                    session: session.clone(),
                    clients: session.reads(&region).await,
                    limit,
                    topology: topology_name,
                };
                let result = reader.read(&wanted).await;
                (id, region, result)
            })
        });
    let (organizations, roles, results) = futures::join!(organizations, roles, join_all(tasks));
    let mut live = LiveState::default();
    for (id, organization) in organizations {
        let account = live.accounts.entry(id).or_default();
        account.organization_read = organization.is_some();
        account.organization_id = organization.flatten();
    }
    for (id, account_roles) in roles {
        live.accounts.entry(id).or_default().roles = account_roles;
    }
    for (id, region, result) in results {
        match result {
            Ok(state) => {
                live.accounts
                    .entry(id)
                    .or_default()
                    .regions
                    .insert(region, state);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(live)
    } else {
        Err(ReadErrors(errors))
    }
}

/// `call` (to `service`) for each of `sessions`, concurrently under `limit`, by account ID.
async fn per_account<'a, T, Fut>(
    sessions: impl Iterator<Item = &'a Arc<AccountSession>>,
    limit: &Arc<Limits>,
    service: &str,
    call: impl Fn(&'a AccountSession) -> Fut,
) -> Vec<(String, T)>
where
    Fut: Future<Output = T>,
{
    join_all(sessions.map(|session| {
        let pending = call(session);
        async move {
            let _permit = limit.permit(&session.account.id, service).await;
            (session.account.id.clone(), pending.await)
        }
    }))
    .await
}

fn rfc3339(time: &DateTime) -> String {
    time.fmt(DateTimeFormat::DateTime).unwrap_or_default()
}

/// The readers of a region, one per service call pattern; each reads one or more kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Reader {
    Keys,
    Vaults,
    BackupPlans,
    CrossAccountBackup,
}

impl Reader {
    /// The reader of `kind`. Exhaustive: a new kind is read once it names its reader here.
    fn of(kind: ResourceKind) -> Reader {
        match kind {
            ResourceKind::Key | ResourceKind::Alias => Reader::Keys,
            ResourceKind::Vault | ResourceKind::VaultPolicy | ResourceKind::VaultLock => {
                Reader::Vaults
            }
            ResourceKind::BackupPlan | ResourceKind::Selection => Reader::BackupPlans,
            ResourceKind::CrossAccountBackup => Reader::CrossAccountBackup,
        }
    }
}

/// What one reader found, to be stored in the region.
enum Part {
    Keys(Vec<LiveKey>, Vec<LiveAlias>),
    Vaults(Vec<LiveVault>),
    BackupPlans(Vec<LiveBackupPlan>),
    CrossAccountBackup(Option<bool>),
}

impl Part {
    fn store(self, region: &mut LiveRegion) {
        match self {
            Part::Keys(keys, aliases) => {
                region.keys = keys;
                region.aliases = aliases;
            }
            Part::Vaults(vaults) => region.vaults = vaults,
            Part::BackupPlans(plans) => region.backup_plans = plans,
            Part::CrossAccountBackup(enabled) => region.cross_account_backup = enabled,
        }
    }
}

struct RegionReader {
    session: Arc<AccountSession>,
    clients: RegionClients,
    limit: Arc<Limits>,
    topology: String,
}

impl RegionReader {
    fn call(&self, name: &str) -> Call {
        self.session.call(&self.clients.region, name)
    }

    fn ours(&self, tags: &Tags) -> bool {
        tags.get(TAG_TOPOLOGY).is_some_and(|t| *t == self.topology)
    }

    /// A call (a single request, or every page of a list) under the bound; its error names
    /// `call`.
    async fn sent<T, E, R>(
        &self,
        call: &str,
        request: impl Future<Output = Result<T, SdkError<E, R>>>,
    ) -> Result<T, AwsError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let service = call.split(':').next().unwrap_or(call);
        let _permit = self.limit.permit(&self.clients.account_id, service).await;
        request.await.map_err(|e| self.call(call).sdk_error(e))
    }

    /// Like [`RegionReader::sent`]; `None` when AWS answers one of the `absent` codes (the
    /// resource is not there, or not Coffer's to read).
    async fn found<T, E, R>(
        &self,
        call: &str,
        request: impl Future<Output = Result<T, SdkError<E, R>>>,
        absent: &[&str],
    ) -> Result<Option<T>, AwsError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        match self.sent(call, request).await {
            Ok(out) => Ok(Some(out)),
            Err(e) if e.code.as_deref().is_some_and(|c| absent.contains(&c)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The region: what Coffer owns there, each kind's reader (concurrently), then the
    /// sources its selections name.
    async fn read(&self, wanted: &Wanted) -> Result<LiveRegion, Vec<AwsError>> {
        let owned = self.tagged().await.map_err(|e| vec![e])?;
        let readers: BTreeSet<Reader> = ResourceKind::ALL.into_iter().map(Reader::of).collect();
        let parts = join_all(readers.into_iter().map(|r| self.part(r, wanted, &owned))).await;
        let mut errors = Vec::new();
        let mut region = LiveRegion::default();
        for part in parts {
            match part {
                Ok(part) => part.store(&mut region),
                Err(e) => errors.extend(e),
            }
        }
        match self.sources(wanted, &region.keys).await {
            Ok(s) => region.sources = s,
            Err(e) => errors.extend(e),
        }
        if errors.is_empty() {
            Ok(region)
        } else {
            Err(errors)
        }
    }

    async fn part(
        &self,
        reader: Reader,
        wanted: &Wanted,
        owned: &tagged::Tagged,
    ) -> Result<Part, Vec<AwsError>> {
        match reader {
            Reader::Keys => {
                let (keys, aliases) = self.keys(wanted, &owned.keys).await?;
                Ok(Part::Keys(keys, aliases))
            }
            Reader::Vaults => self.vaults(wanted, &owned.vaults).await.map(Part::Vaults),
            Reader::BackupPlans => {
                let plans = self.backup_plans(wanted, &owned.plans).await;
                plans.map(Part::BackupPlans)
            }
            Reader::CrossAccountBackup => self
                .global_settings(wanted.global_settings)
                .await
                .map(Part::CrossAccountBackup)
                .map_err(|e| vec![e]),
        }
    }
}

/// Runs `read` for every item, concurrently (each call takes its permit): what was read,
/// without the items `read` passed over (`None`), and every failure rather than the first, so
/// one unreadable resource does not hide the others.
async fn each<T, O, Fut>(
    items: impl IntoIterator<Item = T>,
    read: impl FnMut(T) -> Fut,
) -> (Vec<O>, Vec<AwsError>)
where
    Fut: Future<Output = Result<Option<O>, AwsError>>,
{
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for result in join_all(items.into_iter().map(read)).await {
        match result {
            Ok(Some(item)) => found.push(item),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    (found, errors)
}

/// `found` when nothing failed, else every failure.
fn all_or_errors<T>(found: T, errors: Vec<AwsError>) -> Result<T, Vec<AwsError>> {
    if errors.is_empty() {
        Ok(found)
    } else {
        Err(errors)
    }
}
