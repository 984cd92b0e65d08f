//! Keys and key policies: rotation, the key's state, and what its policy lets others do.

use serde_json::Value;

use coffer_policy::{Decision, Request};
use coffer_spec::checks as id;
use std::collections::BTreeMap;

use coffer_spec::{AccountName, Key, KeyName, Topology, VaultName};

use super::Context;
use super::target::Target;
use crate::live::{KeyState, LiveKey, LiveRegion};
use crate::{access, policy};

/// Key actions that let an account read what the key encrypts.
const KEY_READ_ACTIONS: &[&str] = &["kms:Decrypt", "kms:CreateGrant", "kms:ReEncryptFrom"];

/// A key's policy document, with the finding target and what policy requests about the key
/// name: its resource (any key of its account and region) and owner account.
struct KeyPolicy<'k> {
    key: &'k Key,
    target: &'k Target,
    document: &'k Value,
    resource: String,
    owner: String,
}

/// A key of the state by ARN, key ID or alias ARN.
pub(super) fn live_key<'s>(region: &'s LiveRegion, reference: &str) -> Option<&'s LiveKey> {
    let reference = match reference.split_once(":alias/") {
        Some((_, alias)) => region
            .aliases
            .iter()
            .find(|a| a.name == format!("alias/{alias}"))?
            .target_key_id
            .clone()?,
        None => reference.to_string(),
    };
    region
        .keys
        .iter()
        .find(|k| k.arn == reference || k.key_id == reference)
}

/// Keys of `region` other than `used`, not pending deletion, that carry the ownership tags of
/// `key` in `topology`: duplicates.
fn duplicates(region: &LiveRegion, topology: &str, key: &Key, used: &str) -> Vec<String> {
    let id = format!("{}/{}", crate::ResourceKind::Key, key.name.as_str());
    region
        .keys
        .iter()
        .filter(|k| k.key_id != used && !k.key_state.is_pending_deletion())
        .filter(|k| {
            k.tags.get(crate::TAG_TOPOLOGY).map(String::as_str) == Some(topology)
                && k.tags.get(crate::TAG_ID) == Some(&id)
        })
        .map(|k| k.key_id.clone())
        .collect()
}

impl Context<'_> {
    /// Without live state: the keys as the file declares them, with the policies Coffer
    /// will write.
    pub(super) fn generated_key_policies(&mut self) {
        let topology = self.topology;
        let guards = topology.key_guards();
        for key in topology.keys.values() {
            let target = self.key_target(key, None);
            self.rotation(key, &target, key.rotation_period_days.is_some());
            let guard = guards.get(&key.name).map(Vec::as_slice);
            let document = policy::key_policy_guarded(topology, key, guard);
            self.key_policy(key, &target, &document);
        }
    }

    /// The keys of the topology as the state holds them (through their aliases).
    pub(super) fn live_keys(&mut self) {
        let topology = self.topology;
        for key in topology.keys.values() {
            let Some(region) = self.region(&key.account, &key.region) else {
                continue;
            };
            let Some(live) = region
                .aliases
                .iter()
                .find(|a| a.name == key.alias)
                .and_then(|a| a.target_key_id.clone())
                .and_then(|t| live_key(region, &t))
                .cloned()
            else {
                continue;
            };
            let duplicates = duplicates(region, &topology.name, key, &live.key_id);
            let target = self.key_target(key, Some(&live));
            self.rotation(key, &target, live.rotation_enabled);
            self.key_state(&target, &live);
            if !duplicates.is_empty() {
                let message = format!(
                    "{} also carry the ownership tags of key `{}` (Coffer uses {}): delete them with `coffer apply --allow-delete`",
                    duplicates.join(", "),
                    key.name.as_str(),
                    live.key_id
                );
                self.push(id::ONE_KEY_PER_KEY, &target, message);
            }
            if let Some(document) = &live.policy {
                self.key_policy(key, &target, document);
            }
        }
    }

    fn rotation(&mut self, key: &Key, target: &Target, on: bool) {
        if !on {
            self.push(
                id::KEY_ROTATION_ON,
                target,
                format!("rotation of key `{}` is off", key.name),
            );
        }
    }

    /// A key used by a vault or a source resource must be usable: enabled, not pending
    /// deletion.
    pub(super) fn key_state(&mut self, target: &Target, key: &LiveKey) {
        match &key.key_state {
            state if state.is_pending_deletion() => self.push(
                id::KEY_NOT_PENDING_DELETION,
                target,
                format!("key {} is pending deletion", key.key_id),
            ),
            KeyState::Enabled => {}
            other => self.push(
                id::KEY_ENABLED,
                target,
                format!("key {} is {other}", key.key_id),
            ),
        }
    }

    fn key_policy(&mut self, key: &Key, target: &Target, document: &Value) {
        let owner = self.account_id(&key.account);
        let policy = KeyPolicy {
            key,
            target,
            document,
            resource: format!("arn:aws:kms:{}:{owner}:key/*", key.region),
            owner,
        };
        self.open_key_policy(&policy);
        self.stays_manageable(&policy);
        self.orphaned_principals(target, document);
        self.not_shared_back(&policy);
    }

    /// CB018: no principal outside the organization may use the key, and the organizations
    /// the policy allows are the topology's.
    fn open_key_policy(&mut self, policy: &KeyPolicy<'_>) {
        let KeyPolicy {
            target, document, ..
        } = *policy;
        // Only outsiders count here.
        let open = access::outsider().foreign_action(
            Some(document),
            KEY_READ_ACTIONS,
            &policy.resource,
            &policy.owner,
        );
        if let Some(action) = open {
            self.push(
                id::KEY_NO_OPEN_PRINCIPAL,
                target,
                format!("a statement allows `*` without limiting it to the organization: principals outside the organization may use the key (`{action}`)"),
            );
        }
        self.foreign_organizations(
            id::KEY_NO_OPEN_PRINCIPAL,
            target,
            "the key policy",
            document,
        );
    }

    /// CB019: the policy must let Coffer's role (or the account) change it again.
    fn stays_manageable(&mut self, policy: &KeyPolicy<'_>) {
        let coffer = self.topology.coffer_role(&policy.key.account).to_string();
        let manager = if coffer.is_empty() {
            format!("arn:aws:iam::{}:root", policy.owner)
        } else {
            coffer
        };
        let request = Request::new(
            manager.clone(),
            "kms:PutKeyPolicy",
            &policy.resource,
            &policy.owner,
        );
        match coffer_policy::evaluate(policy.document, &request) {
            Decision::Allow => {}
            Decision::ExplicitDeny => self.push(
                id::KEY_STAYS_MANAGEABLE,
                policy.target,
                format!("a Deny of `kms:PutKeyPolicy` covers {manager}: the key's policy could never be changed again"),
            ),
            Decision::ImplicitDeny => self.push(
                id::KEY_STAYS_MANAGEABLE,
                policy.target,
                format!("no statement lets {manager} change the key policy again"),
            ),
        }
    }

    /// CB017: the key of a vault that receives copies from other accounts must not let those
    /// accounts read it, whatever statement would.
    fn not_shared_back(&mut self, policy: &KeyPolicy<'_>) {
        let key = policy.key;
        let uses = self.key_uses.get(&key.name);
        let sources = uses.map(|u| u.sources.clone()).unwrap_or_default();
        let vaults = uses
            .map(|u| u.vaults.iter().map(|v| format!("vault `{v}`")))
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        for source in sources {
            let source_id = self.account_id(source);
            let principal = access::Principal {
                label: String::new(),
                role: access::Role::TopologyAccount,
                arn: format!("arn:aws:iam::{source_id}:role/AnyAdministrator"),
                org_id: self.org.map(str::to_string),
            };
            if let Some(action) = KEY_READ_ACTIONS
                .iter()
                .find(|a| principal.may(Some(policy.document), a, &policy.resource, &policy.owner))
            {
                self.push(
                    id::BACKUP_KEY_NOT_SHARED_BACK,
                    policy.target,
                    format!(
                        "the policy of key `{}`, which encrypts {vaults}, lets source account `{source}` ({source_id}) use it (`{action}`), so a compromised source account can read the copies meant to protect it",
                        key.name
                    ),
                );
            }
        }
    }
}

/// What one key encrypts: the vaults it is the key of, and the accounts whose plans copy into
/// those vaults from another account (sorted, each once).
#[derive(Debug, Default)]
pub(super) struct KeyUse<'a> {
    pub sources: Vec<&'a AccountName>,
    pub vaults: Vec<&'a VaultName>,
}

/// [`KeyUse`] by key name, built in one pass over the vaults and the copy edges.
#[derive(Debug, Default)]
pub(super) struct KeyUses<'a>(BTreeMap<&'a KeyName, KeyUse<'a>>);

impl<'a> KeyUses<'a> {
    pub(super) fn of(topology: &'a Topology) -> KeyUses<'a> {
        let mut uses: BTreeMap<&'a KeyName, KeyUse<'a>> = BTreeMap::new();
        for vault in topology.vaults.values() {
            if let Some(key) = &vault.key {
                uses.entry(key).or_default().vaults.push(&vault.name);
            }
        }
        for edge in topology.copy_edges().filter(|e| e.cross_account()) {
            if let Some(key) = &edge.destination.key {
                uses.entry(key)
                    .or_default()
                    .sources
                    .push(&edge.plan.account);
            }
        }
        for key_use in uses.values_mut() {
            key_use.sources.sort();
            key_use.sources.dedup();
        }
        KeyUses(uses)
    }

    fn get(&self, key: &KeyName) -> Option<&KeyUse<'a>> {
        self.0.get(key)
    }
}
