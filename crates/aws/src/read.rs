//! Reading the live state of everything a topology scopes: its accounts and regions, every
//! page of every list, concurrently under a bound, with the fewest calls that give a complete
//! picture. Details (policies, rules, selections) are fetched only for resources Coffer owns
//! or that carry a name the file wants, so a busy account costs one list call per kind plus
//! one tag call per resource.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_sdk_backup::primitives::{DateTime, DateTimeFormat};
use coffer_planner::TAG_TOPOLOGY;
use coffer_planner::live::*;
use coffer_spec::Topology;
use futures::future::join_all;
use tokio::sync::Semaphore;

use crate::error::{AwsError, Call, ReadErrors};
use crate::session::{AccountSession, RegionClients, Sessions};

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

fn wanted(topology: &Topology) -> BTreeMap<(String, String), Wanted> {
    let mut out: BTreeMap<(String, String), Wanted> = BTreeMap::new();
    for (account, region) in topology.scopes() {
        out.entry((topology.account_id(&account).to_string(), region))
            .or_default();
    }
    for key in topology.keys.values() {
        let slot = (
            topology.account_id(&key.account).to_string(),
            key.region.clone(),
        );
        out.entry(slot)
            .or_default()
            .aliases
            .insert(key.alias.clone());
    }
    for vault in topology.vaults.values() {
        let slot = (
            topology.account_id(&vault.account).to_string(),
            vault.region.clone(),
        );
        out.entry(slot)
            .or_default()
            .vaults
            .insert(vault.vault_name.clone());
    }
    for plan in topology.backup_plans.values() {
        let slot = (
            topology.account_id(&plan.account).to_string(),
            plan.region.clone(),
        );
        let wanted = out.entry(slot).or_default();
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

/// Reads the live state of every account and region `topology` scopes. `concurrency` bounds
/// the calls in flight. Failures are collected per account and region; the reads elsewhere
/// go on.
pub async fn read(
    topology: &Topology,
    sessions: &Sessions,
    concurrency: usize,
) -> Result<LiveState, ReadErrors> {
    let limit = Arc::new(Semaphore::new(concurrency.max(1)));
    let topology_name = topology.name.clone();

    let verified = join_all(sessions.all().map(|session| {
        let limit = limit.clone();
        async move {
            let _permit = limit.acquire().await;
            (session.account.id.clone(), session.verify().await)
        }
    }))
    .await;
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
    // Only accounts whose role could be assumed: the others failed already.
    let organizations = join_all(
        sessions
            .all()
            .filter(|s| usable.contains(&s.account.id))
            .map(|session| {
                let limit = limit.clone();
                async move {
                    let _permit = limit.acquire().await;
                    (session.account.id.clone(), read_organization(session).await)
                }
            }),
    )
    .await;
    // The roles the selections pass to AWS Backup (`crate::service_roles`).
    let roles =
        crate::service_roles::read_selection_roles(topology, sessions, &usable, &limit).await;

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
                    clients: session.region(&region).await,
                    limit,
                    topology: topology_name,
                };
                let result = reader.read(&wanted).await;
                (id, region, result)
            })
        });
    let results = join_all(tasks).await;
    let mut live = LiveState::default();
    for (id, organization) in organizations {
        if usable.contains(&id) {
            let account = live.accounts.entry(id).or_default();
            account.organization_read = organization.is_some();
            account.organization_id = organization.flatten();
        }
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

/// The account's organization: `Some(Some(id))` a member, `Some(None)` in none, `None` when
/// it could not be read (Organizations permissions are optional: the membership check is
/// then skipped).
async fn read_organization(session: &AccountSession) -> Option<Option<String>> {
    match session.organizations().describe_organization().send().await {
        Ok(out) => Some(out.organization().and_then(|o| o.id()).map(str::to_string)),
        Err(e) => {
            let error = session
                .call("-", "organizations:DescribeOrganization")
                .sdk_error(e);
            if error.code.as_deref() == Some("AWSOrganizationsNotInUseException") {
                Some(None)
            } else {
                tracing::warn!(%error, "organization membership not read");
                None
            }
        }
    }
}

fn rfc3339(time: &DateTime) -> String {
    time.fmt(DateTimeFormat::DateTime).unwrap_or_default()
}

struct RegionReader {
    session: Arc<AccountSession>,
    clients: RegionClients,
    limit: Arc<Semaphore>,
    topology: String,
}

impl RegionReader {
    fn call(&self, name: &str) -> Call {
        self.session.call(&self.clients.region, name)
    }

    fn ours(&self, tags: &Tags) -> bool {
        tags.get(TAG_TOPOLOGY).is_some_and(|t| *t == self.topology)
    }

    async fn read(&self, wanted: &Wanted) -> Result<LiveRegion, Vec<AwsError>> {
        let (keys, vaults, plans, global) = tokio::join!(
            self.keys(wanted),
            self.vaults(wanted),
            self.backup_plans(wanted),
            self.global_settings(wanted.global_settings),
        );
        let mut errors = Vec::new();
        let mut region = LiveRegion::default();
        match keys {
            Ok((keys, aliases)) => {
                region.keys = keys;
                region.aliases = aliases;
            }
            Err(e) => errors.extend(e),
        }
        match vaults {
            Ok(v) => region.vaults = v,
            Err(e) => errors.extend(e),
        }
        match plans {
            Ok(p) => region.backup_plans = p,
            Err(e) => errors.extend(e),
        }
        match global {
            Ok(g) => region.cross_account_backup = g,
            Err(e) => errors.push(e),
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

    // ----- source resources (RDS) -----

    async fn sources(
        &self,
        wanted: &Wanted,
        known_keys: &[LiveKey],
    ) -> Result<Vec<LiveSource>, Vec<AwsError>> {
        let results = join_all(
            wanted
                .sources
                .iter()
                .map(|arn| self.source(arn, known_keys)),
        )
        .await;
        let (ok, errors): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
        if errors.is_empty() {
            Ok(ok.into_iter().filter_map(Result::ok).collect())
        } else {
            Err(errors.into_iter().filter_map(Result::err).collect())
        }
    }

    async fn source(&self, arn: &str, known_keys: &[LiveKey]) -> Result<LiveSource, AwsError> {
        let kind = coffer_planner::checks::rds_kind(arn).unwrap_or("rds-instance");
        let name = arn.rsplit(':').next().unwrap_or_default();
        let mut source = LiveSource {
            arn: arn.to_string(),
            kind: kind.to_string(),
            ..LiveSource::default()
        };
        let rds = &self.clients.rds;
        {
            let _permit = self.limit.acquire().await;
            if kind == "rds-cluster" {
                match rds
                    .describe_db_clusters()
                    .db_cluster_identifier(name)
                    .send()
                    .await
                {
                    Ok(out) => {
                        if let Some(cluster) = out.db_clusters().first() {
                            source.exists = true;
                            source.encrypted = cluster.storage_encrypted().unwrap_or(false);
                            source.kms_key_arn = cluster.kms_key_id().map(str::to_string);
                            let aurora = cluster.engine().is_some_and(|e| e.starts_with("aurora"));
                            source.multi_az_cluster =
                                !aurora && cluster.db_cluster_instance_class().is_some();
                        }
                    }
                    Err(e) => {
                        let error = self.call("rds:DescribeDBClusters").sdk_error(e);
                        if error.code.as_deref() != Some("DBClusterNotFoundFault") {
                            return Err(error);
                        }
                    }
                }
            } else {
                match rds
                    .describe_db_instances()
                    .db_instance_identifier(name)
                    .send()
                    .await
                {
                    Ok(out) => {
                        if let Some(instance) = out.db_instances().first() {
                            source.exists = true;
                            source.encrypted = instance.storage_encrypted().unwrap_or(false);
                            source.kms_key_arn = instance.kms_key_id().map(str::to_string);
                        }
                    }
                    Err(e) => {
                        let error = self.call("rds:DescribeDBInstances").sdk_error(e);
                        if error.code.as_deref() != Some("DBInstanceNotFound")
                            && error.code.as_deref() != Some("DBInstanceNotFoundFault")
                        {
                            return Err(error);
                        }
                    }
                }
            }
        }
        let Some(key_ref) = source.kms_key_arn.clone() else {
            return Ok(source);
        };
        if known_keys
            .iter()
            .any(|k| k.arn == key_ref || k.key_id == key_ref)
        {
            return Ok(source);
        }
        let described = {
            let _permit = self.limit.acquire().await;
            match self
                .clients
                .kms
                .describe_key()
                .key_id(&key_ref)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => {
                    let error = self.call("kms:DescribeKey").sdk_error(e);
                    // An alias that does not exist yet, or a key in another account Coffer cannot read.
                    if matches!(
                        error.code.as_deref(),
                        Some("NotFoundException" | "AccessDeniedException")
                    ) {
                        return Ok(source);
                    }
                    return Err(error);
                }
            }
        };
        let Some(metadata) = described.key_metadata() else {
            return Ok(source);
        };
        if known_keys.iter().any(|k| k.key_id == metadata.key_id()) {
            return Ok(source);
        }
        let key_manager = metadata
            .key_manager()
            .map(|m| KeyManager::parse(m.as_str()));
        let policy = if key_manager == Some(KeyManager::Customer) {
            let _permit = self.limit.acquire().await;
            match self
                .clients
                .kms
                .get_key_policy()
                .key_id(metadata.key_id())
                .policy_name("default")
                .send()
                .await
            {
                Ok(out) => out.policy().and_then(|p| serde_json::from_str(p).ok()),
                Err(_) => None,
            }
        } else {
            None
        };
        source.key = Some(LiveKey {
            key_id: metadata.key_id().to_string(),
            arn: metadata.arn().unwrap_or_default().to_string(),
            description: metadata.description().unwrap_or_default().to_string(),
            key_state: key_state(metadata),
            key_manager: key_manager.unwrap_or_default(),
            policy,
            ..LiveKey::default()
        });
        Ok(source)
    }

    // ----- KMS -----

    async fn keys(&self, wanted: &Wanted) -> Result<(Vec<LiveKey>, Vec<LiveAlias>), Vec<AwsError>> {
        let kms = &self.clients.kms;
        let (aliases, key_ids) = {
            let _permit = self.limit.acquire().await;
            let aliases = kms
                .list_aliases()
                .into_paginator()
                .items()
                .send()
                .collect::<Vec<_>>()
                .await;
            let keys = kms
                .list_keys()
                .into_paginator()
                .items()
                .send()
                .collect::<Vec<_>>()
                .await;
            (aliases, keys)
        };
        let aliases: Vec<_> = aliases
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|e| vec![self.call("kms:ListAliases").sdk_error(e)])?;
        let key_ids: Vec<_> = key_ids
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|e| vec![self.call("kms:ListKeys").sdk_error(e)])?;

        let aws_managed: BTreeSet<&str> = aliases
            .iter()
            .filter(|a| a.alias_name().is_some_and(|n| n.starts_with("alias/aws/")))
            .filter_map(|a| a.target_key_id())
            .collect();
        let wanted_targets: BTreeSet<&str> = aliases
            .iter()
            .filter(|a| a.alias_name().is_some_and(|n| wanted.aliases.contains(n)))
            .filter_map(|a| a.target_key_id())
            .collect();
        let live_aliases: Vec<LiveAlias> = aliases
            .iter()
            .filter_map(|a| {
                let name = a.alias_name()?;
                (!name.starts_with("alias/aws/")).then(|| LiveAlias {
                    name: name.to_string(),
                    target_key_id: a.target_key_id().map(str::to_string),
                })
            })
            .collect();

        let candidates: Vec<String> = key_ids
            .iter()
            .filter_map(|k| k.key_id())
            .filter(|id| !aws_managed.contains(id))
            .map(str::to_string)
            .collect();
        let tagged = join_all(candidates.iter().map(|id| self.key_tags(id))).await;
        let mut errors = Vec::new();
        let mut relevant = Vec::new();
        for (id, tags) in candidates.iter().zip(tagged) {
            match tags {
                // Another team's key Coffer may not read: not Coffer's, and no alias it wants
                // points to it (those keys are read below and must be readable).
                Err(e)
                    if e.code.as_deref() == Some("AccessDeniedException")
                        && !wanted_targets.contains(id.as_str()) => {}
                Ok(tags) if self.ours(&tags) || wanted_targets.contains(id.as_str()) => {
                    relevant.push((id.clone(), tags))
                }
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        let details = join_all(
            relevant
                .into_iter()
                .map(|(id, tags)| self.key_details(id, tags)),
        )
        .await;
        let mut keys = Vec::new();
        for detail in details {
            match detail {
                Ok(Some(key)) => keys.push(key),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
        if errors.is_empty() {
            Ok((keys, live_aliases))
        } else {
            Err(errors)
        }
    }

    /// The keys that encrypt the recovery points of a vault (a recovery point of an RDS
    /// database keeps the database's key, whatever the vault's key).
    async fn recovery_point_keys(&self, vault_name: &str) -> Result<Vec<String>, AwsError> {
        let _permit = self.limit.acquire().await;
        let pages = self
            .clients
            .backup
            .list_recovery_points_by_backup_vault()
            .backup_vault_name(vault_name)
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut keys = std::collections::BTreeSet::new();
        for page in pages {
            let page = page.map_err(|e| {
                self.call("backup:ListRecoveryPointsByBackupVault")
                    .sdk_error(e)
            })?;
            keys.extend(
                page.recovery_points()
                    .iter()
                    .filter_map(|p| p.encryption_key_arn().map(str::to_string)),
            );
        }
        Ok(keys.into_iter().collect())
    }

    async fn key_tags(&self, key_id: &str) -> Result<Tags, AwsError> {
        let _permit = self.limit.acquire().await;
        let pages = self
            .clients
            .kms
            .list_resource_tags()
            .key_id(key_id)
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut tags = Tags::new();
        for page in pages {
            let page = page.map_err(|e| self.call("kms:ListResourceTags").sdk_error(e))?;
            tags.extend(
                page.tags()
                    .iter()
                    .map(|t| (t.tag_key().to_string(), t.tag_value().to_string())),
            );
        }
        Ok(tags)
    }

    async fn key_details(&self, key_id: String, tags: Tags) -> Result<Option<LiveKey>, AwsError> {
        let kms = &self.clients.kms;
        let described = {
            let _permit = self.limit.acquire().await;
            kms.describe_key()
                .key_id(&key_id)
                .send()
                .await
                .map_err(|e| self.call("kms:DescribeKey").sdk_error(e))?
        };
        let Some(metadata) = described.key_metadata() else {
            return Ok(None);
        };
        let key_manager = metadata
            .key_manager()
            .map_or(KeyManager::Customer, |m| KeyManager::parse(m.as_str()));
        if key_manager != KeyManager::Customer {
            return Ok(None);
        }
        let key_state = key_state(metadata);
        let policy = {
            let _permit = self.limit.acquire().await;
            let out = kms
                .get_key_policy()
                .key_id(&key_id)
                .policy_name("default")
                .send()
                .await
                .map_err(|e| self.call("kms:GetKeyPolicy").sdk_error(e))?;
            out.policy().and_then(|p| serde_json::from_str(p).ok())
        };
        let (rotation_enabled, rotation_period_days) = if key_state == KeyState::PendingDeletion {
            (false, None)
        } else {
            let _permit = self.limit.acquire().await;
            let out = kms
                .get_key_rotation_status()
                .key_id(&key_id)
                .send()
                .await
                .map_err(|e| self.call("kms:GetKeyRotationStatus").sdk_error(e))?;
            (
                out.key_rotation_enabled(),
                out.rotation_period_in_days()
                    .and_then(|d| u32::try_from(d).ok()),
            )
        };
        Ok(Some(LiveKey {
            key_id: metadata.key_id().to_string(),
            arn: metadata.arn().unwrap_or_default().to_string(),
            description: metadata.description().unwrap_or_default().to_string(),
            key_state,
            key_manager,
            rotation_enabled,
            rotation_period_days,
            policy,
            tags,
            creation_date: metadata.creation_date().map(rfc3339),
        }))
    }

    // ----- AWS Backup -----

    async fn backup_tags(&self, arn: &str) -> Result<Tags, AwsError> {
        let _permit = self.limit.acquire().await;
        let pages = self
            .clients
            .backup
            .list_tags()
            .resource_arn(arn)
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut tags = Tags::new();
        for page in pages {
            let page = page.map_err(|e| self.call("backup:ListTags").sdk_error(e))?;
            tags.extend(
                page.tags()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
        }
        Ok(tags)
    }

    async fn vaults(&self, wanted: &Wanted) -> Result<Vec<LiveVault>, Vec<AwsError>> {
        let listed = {
            let _permit = self.limit.acquire().await;
            self.clients
                .backup
                .list_backup_vaults()
                .into_paginator()
                .items()
                .send()
                .collect::<Vec<_>>()
                .await
        };
        let listed: Vec<_> = listed
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|e| vec![self.call("backup:ListBackupVaults").sdk_error(e)])?;
        let now = DateTime::from(std::time::SystemTime::now());
        let results = join_all(listed.iter().map(|member| async move {
            let name = member.backup_vault_name().unwrap_or_default().to_string();
            let arn = member.backup_vault_arn().unwrap_or_default().to_string();
            let tags = self.backup_tags(&arn).await?;
            if !self.ours(&tags) && !wanted.vaults.contains(&name) {
                return Ok(None);
            }
            let access_policy = {
                let _permit = self.limit.acquire().await;
                match self
                    .clients
                    .backup
                    .get_backup_vault_access_policy()
                    .backup_vault_name(&name)
                    .send()
                    .await
                {
                    Ok(out) => out.policy().and_then(|p| serde_json::from_str(p).ok()),
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_resource_not_found_exception()) =>
                    {
                        None
                    }
                    Err(e) => {
                        return Err(self.call("backup:GetBackupVaultAccessPolicy").sdk_error(e));
                    }
                }
            };
            let lock = member.locked().unwrap_or(false).then(|| LiveLock {
                min_retention_days: member.min_retention_days(),
                max_retention_days: member.max_retention_days(),
                lock_date: member.lock_date().map(rfc3339),
                immutable: member.lock_date().is_some_and(|d| d.secs() <= now.secs()),
            });
            let recovery_points = u64::try_from(member.number_of_recovery_points()).unwrap_or(0);
            let recovery_point_keys = if recovery_points > 0 {
                self.recovery_point_keys(&name).await?
            } else {
                Vec::new()
            };
            Ok(Some(LiveVault {
                name,
                arn,
                encryption_key_arn: member.encryption_key_arn().map(str::to_string),
                tags,
                recovery_points,
                recovery_point_keys,
                access_policy,
                lock,
            }))
        }))
        .await;
        let mut vaults = Vec::new();
        let mut errors = Vec::new();
        for result in results {
            match result {
                Ok(Some(v)) => vaults.push(v),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        vaults.sort_by(|a, b| a.name.cmp(&b.name));
        if errors.is_empty() {
            Ok(vaults)
        } else {
            Err(errors)
        }
    }

    async fn backup_plans(&self, wanted: &Wanted) -> Result<Vec<LiveBackupPlan>, Vec<AwsError>> {
        let listed = {
            let _permit = self.limit.acquire().await;
            self.clients
                .backup
                .list_backup_plans()
                .into_paginator()
                .items()
                .send()
                .collect::<Vec<_>>()
                .await
        };
        let listed: Vec<_> = listed
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|e| vec![self.call("backup:ListBackupPlans").sdk_error(e)])?;
        let results = join_all(listed.iter().map(|member| async move {
            let name = member.backup_plan_name().unwrap_or_default().to_string();
            let arn = member.backup_plan_arn().unwrap_or_default().to_string();
            let plan_id = member.backup_plan_id().unwrap_or_default().to_string();
            let tags = self.backup_tags(&arn).await?;
            if !self.ours(&tags) && !wanted.backup_plans.contains(&name) {
                return Ok(None);
            }
            let plan = {
                let _permit = self.limit.acquire().await;
                self.clients
                    .backup
                    .get_backup_plan()
                    .backup_plan_id(&plan_id)
                    .send()
                    .await
                    .map_err(|e| self.call("backup:GetBackupPlan").sdk_error(e))?
            };
            let rules = plan
                .backup_plan()
                .map(|p| p.rules().iter().map(live_rule).collect())
                .unwrap_or_default();
            let selections = self.selections(&plan_id).await?;
            Ok(Some(LiveBackupPlan {
                plan_id,
                arn,
                name,
                version_id: plan.version_id().unwrap_or_default().to_string(),
                rules,
                tags,
                selections,
            }))
        }))
        .await;
        let mut plans = Vec::new();
        let mut errors = Vec::new();
        for result in results {
            match result {
                Ok(Some(p)) => plans.push(p),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        plans.sort_by(|a, b| a.name.cmp(&b.name).then(a.plan_id.cmp(&b.plan_id)));
        if errors.is_empty() {
            Ok(plans)
        } else {
            Err(errors)
        }
    }

    async fn selections(&self, plan_id: &str) -> Result<Vec<LiveSelection>, AwsError> {
        let listed = {
            let _permit = self.limit.acquire().await;
            self.clients
                .backup
                .list_backup_selections()
                .backup_plan_id(plan_id)
                .into_paginator()
                .items()
                .send()
                .collect::<Vec<_>>()
                .await
        };
        let listed: Vec<_> = listed
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|e| self.call("backup:ListBackupSelections").sdk_error(e))?;
        let fetched = join_all(listed.iter().filter_map(|m| m.selection_id()).map(
            |selection_id| async move {
                let _permit = self.limit.acquire().await;
                let out = self
                    .clients
                    .backup
                    .get_backup_selection()
                    .backup_plan_id(plan_id)
                    .selection_id(selection_id)
                    .send()
                    .await
                    .map_err(|e| self.call("backup:GetBackupSelection").sdk_error(e))?;
                let selection = out.backup_selection();
                Ok::<_, AwsError>(LiveSelection {
                    selection_id: selection_id.to_string(),
                    name: selection
                        .map(|s| s.selection_name().to_string())
                        .unwrap_or_default(),
                    role_arn: selection
                        .map(|s| s.iam_role_arn().to_string())
                        .unwrap_or_default(),
                    resources: selection
                        .map(|s| s.resources().to_vec())
                        .unwrap_or_default(),
                    not_resources: selection
                        .map(|s| s.not_resources().to_vec())
                        .unwrap_or_default(),
                    tags: selection
                        .map(|s| {
                            s.list_of_tags()
                                .iter()
                                .map(|c| {
                                    (
                                        c.condition_key().to_string(),
                                        c.condition_value().to_string(),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    conditions: selection
                        .and_then(|s| s.conditions())
                        .and_then(conditions_json),
                })
            },
        ))
        .await;
        let mut selections = fetched.into_iter().collect::<Result<Vec<_>, _>>()?;
        selections.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then(a.selection_id.cmp(&b.selection_id))
        });
        Ok(selections)
    }

    async fn global_settings(&self, wanted: bool) -> Result<Option<bool>, AwsError> {
        if !wanted {
            return Ok(None);
        }
        let _permit = self.limit.acquire().await;
        let out = self
            .clients
            .backup
            .describe_global_settings()
            .send()
            .await
            .map_err(|e| self.call("backup:DescribeGlobalSettings").sdk_error(e))?;
        Ok(Some(
            out.global_settings()
                .and_then(|g| g.get("isCrossAccountBackupEnabled"))
                .is_some_and(|v| v == "true"),
        ))
    }
}

/// A selection's `Conditions` as JSON, `None` when it has none.
fn conditions_json(conditions: &aws_sdk_backup::types::Conditions) -> Option<serde_json::Value> {
    let list = |items: &[aws_sdk_backup::types::ConditionParameter]| -> Vec<serde_json::Value> {
        items
            .iter()
            .map(|c| serde_json::json!({"key": c.condition_key(), "value": c.condition_value()}))
            .collect()
    };
    let all = [
        ("StringEquals", list(conditions.string_equals())),
        ("StringNotEquals", list(conditions.string_not_equals())),
        ("StringLike", list(conditions.string_like())),
        ("StringNotLike", list(conditions.string_not_like())),
    ];
    let present: serde_json::Map<String, serde_json::Value> = all
        .into_iter()
        .filter(|(_, items)| !items.is_empty())
        .map(|(name, items)| (name.to_string(), serde_json::Value::Array(items)))
        .collect();
    (!present.is_empty()).then_some(serde_json::Value::Object(present))
}

fn live_lifecycle(lifecycle: Option<&aws_sdk_backup::types::Lifecycle>) -> LiveLifecycle {
    LiveLifecycle {
        move_to_cold_storage_after_days: lifecycle
            .and_then(|l| l.move_to_cold_storage_after_days()),
        delete_after_days: lifecycle.and_then(|l| l.delete_after_days()),
    }
}

fn live_rule(rule: &aws_sdk_backup::types::BackupRule) -> LiveRule {
    LiveRule {
        name: rule.rule_name().to_string(),
        target_vault_name: rule.target_backup_vault_name().to_string(),
        schedule: rule.schedule_expression().map(str::to_string),
        schedule_timezone: rule.schedule_expression_timezone().map(str::to_string),
        start_window_minutes: rule.start_window_minutes(),
        completion_window_minutes: rule.completion_window_minutes(),
        lifecycle: live_lifecycle(rule.lifecycle()),
        copy_actions: rule
            .copy_actions()
            .iter()
            .map(|c| LiveCopyAction {
                destination_vault_arn: c.destination_backup_vault_arn().to_string(),
                lifecycle: live_lifecycle(c.lifecycle()),
            })
            .collect(),
        continuous_backup: rule.enable_continuous_backup().unwrap_or(false),
        recovery_point_tags: rule
            .recovery_point_tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    }
}

/// The key's state as KMS describes it (empty when KMS leaves it out).
fn key_state(metadata: &aws_sdk_kms::types::KeyMetadata) -> KeyState {
    KeyState::from(metadata.key_state().map_or("", |s| s.as_str()))
}
