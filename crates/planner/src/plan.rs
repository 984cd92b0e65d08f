//! `plan(&Topology, &LiveState) -> Plan`: a pure, deterministic function.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use coffer_spec::{
    AccountName, BackupPlan, CrossAccountBackup, Key, KeyName, Rule, Selection, Topology, Vault,
    VaultName,
};

use coffer_spec::diag::plural;

use crate::live::{
    KeyState, LiveBackupPlan, LiveKey, LiveRegion, LiveRule, LiveSelection, LiveState, LiveVault,
};
use crate::model::*;
use crate::policy;

/// Tag that names the topology owning a resource.
pub const TAG_TOPOLOGY: &str = "coffer:topology";
/// Tag that names the resource's logical ID, `<kind>/<name>`.
pub const TAG_ID: &str = "coffer:id";

/// How a live resource relates to this topology.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ownership {
    /// Tagged for this topology and this logical ID.
    Ours,
    /// No Coffer tags.
    Unowned,
    /// Coffer tags of another topology, or of another logical ID of this one.
    Foreign(String),
}

fn ownership(tags: &Tags, topology: &str, id: &str) -> Ownership {
    match (tags.get(TAG_TOPOLOGY), tags.get(TAG_ID)) {
        (None, None) => Ownership::Unowned,
        (Some(t), Some(i)) if t == topology && i == id => Ownership::Ours,
        (t, i) => Ownership::Foreign(format!(
            "{TAG_TOPOLOGY}={} {TAG_ID}={}",
            t.map_or("(none)", String::as_str),
            i.map_or("(none)", String::as_str)
        )),
    }
}

fn is_ours(tags: &Tags, topology: &str) -> bool {
    tags.get(TAG_TOPOLOGY).is_some_and(|t| t == topology)
}

fn sha256_hex(data: &[u8]) -> String {
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

/// A `CreatorRequestId` (1–50 of `[A-Za-z0-9-_.]`) derived from the step, so a rerun after
/// a crash sends the same one and AWS returns the resource it already created.
fn creator_request_id(topology: &str, step_id: &str, content: &Value) -> String {
    let hash = sha256_hex(format!("{topology}\n{step_id}\n{content}").as_bytes());
    format!("coffer-{}", &hash[..32])
}

/// A live resource found under the name the file wants.
struct Claim<'a> {
    what: &'a str,
    setting: &'a str,
    logical: &'a str,
    logical_id: &'a str,
    name: &'a str,
    arn: &'a str,
    tags: &'a Tags,
    adopt: bool,
    account_id: &'a str,
    region: &'a str,
    /// How to pick another name, in the words of the setting.
    rename: &'a str,
}

/// What the planner knows about a key once it has looked at it.
#[derive(Clone)]
struct KeyHandle {
    /// The key's ARN, now or after its creation step.
    arn: Ref,
    live: Option<LiveKey>,
    /// Steps after which the key can be used: its creation, or cancelling its deletion and
    /// enabling it.
    ready: Vec<String>,
    blocked: bool,
}

#[derive(Clone, Default)]
struct VaultHandle {
    /// Steps that must run before a plan may use the vault.
    steps: Vec<String>,
    blocked: bool,
}

struct Planner<'a> {
    topology: &'a Topology,
    live: &'a LiveState,
    changes: Vec<Change>,
    steps: Vec<Step>,
    keys: BTreeMap<KeyName, KeyHandle>,
    vaults: BTreeMap<VaultName, VaultHandle>,
    /// Live resources matched to a desired one (by ARN), so the deletion pass skips them.
    matched: BTreeSet<String>,
    global_setting_steps: Vec<String>,
    /// Vault ARNs deleted (unblocked) by this plan, with their deletion step.
    deleted_vaults: BTreeMap<String, String>,
}

/// Computes the plan that makes `live` match `topology`.
pub fn plan(topology: &Topology, live: &LiveState) -> Plan {
    let mut planner = Planner {
        topology,
        live,
        changes: Vec::new(),
        steps: Vec::new(),
        keys: BTreeMap::new(),
        vaults: BTreeMap::new(),
        matched: BTreeSet::new(),
        global_setting_steps: Vec::new(),
        deleted_vaults: BTreeMap::new(),
    };
    for key in topology.keys.values() {
        planner.key(key);
    }
    for vault in topology.vaults.values() {
        planner.vault(vault);
    }
    planner.cross_account_backup();
    for backup_plan in topology.backup_plans.values() {
        planner.backup_plan(backup_plan);
    }
    planner.deletions();
    planner.finish()
}

/// Field-level differences between two states: objects are compared key by key, anything
/// else (lists, scalars, policies) as a whole.
pub fn diff_fields(before: Option<&Value>, after: Option<&Value>) -> Vec<FieldChange> {
    let mut out = Vec::new();
    diff_into("", before, after, &mut out);
    out
}

fn diff_into(
    path: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    out: &mut Vec<FieldChange>,
) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else if key.contains('.') || key.contains(':') {
            format!("{path}[\"{key}\"]")
        } else {
            format!("{path}.{key}")
        }
    };
    // An unset field and a `null` one are the same (and the same once written as JSON).
    let before = before.filter(|v| !v.is_null());
    let after = after.filter(|v| !v.is_null());
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) if !path.ends_with("policy") => {
            let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            for key in keys {
                diff_into(&join(key), b.get(key), a.get(key), out);
            }
        }
        (b, a) if b == a => {}
        (b, a) => out.push(FieldChange {
            path: path.to_string(),
            before: b.cloned(),
            after: a.cloned(),
        }),
    }
}

fn tags_json(tags: &Tags) -> Value {
    json!(tags)
}

fn lifecycle_json(cold: Option<i64>, delete: Option<i64>) -> Value {
    json!({"move_to_cold_storage_after_days": cold, "delete_after_days": delete})
}

impl<'a> Planner<'a> {
    fn account_id(&self, name: &AccountName) -> String {
        self.topology.account_id(name).to_string()
    }

    fn coffer_role(&self, name: &AccountName) -> String {
        self.topology
            .account(name)
            .map_or_else(String::new, |a| a.role_arn.clone())
    }

    /// Tags Coffer writes on a resource: the defaults, the resource's own, and ownership.
    fn desired_tags(&self, own: &Tags, id: &str) -> Tags {
        let mut tags = self.topology.default_tags.clone();
        tags.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        tags.insert(TAG_TOPOLOGY.into(), self.topology.name.clone());
        tags.insert(TAG_ID.into(), id.into());
        tags
    }

    fn add_step(
        &mut self,
        id: String,
        change: &Change,
        operation: Operation,
        depends_on: Vec<String>,
    ) -> String {
        self.steps.push(Step {
            id: id.clone(),
            address: change.address.clone(),
            account: change.account.clone(),
            region: change.region.clone(),
            operation,
            depends_on,
            needs_allow_delete: change.has(Flag::NeedsAllowDelete),
            irreversible: change.has(Flag::Irreversible),
        });
        id
    }

    #[allow(clippy::too_many_arguments)]
    fn change(
        &self,
        address: Address,
        account: &AccountName,
        region: &str,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Change {
        let fields = diff_fields(before.as_ref(), after.as_ref());
        let action = match (&before, &after) {
            (None, Some(_)) => Action::Create,
            (Some(_), None) => Action::Delete,
            _ if fields.is_empty() => Action::NoOp,
            _ => Action::Update,
        };
        Change {
            kind: address.kind,
            address,
            account: self.account_id(account),
            account_name: Some(account.to_string()),
            region: region.to_string(),
            aws_name: None,
            arn: None,
            action,
            before,
            after,
            fields,
            flags: Vec::new(),
            reasons: Vec::new(),
        }
    }

    fn block(change: &mut Change, reason: String) {
        if !change.has(Flag::Blocked) {
            change.flags.push(Flag::Blocked);
        }
        change.reasons.push(reason);
    }

    /// A live resource found under the file's name: Coffer's own, adopted (`adopt: true`), or a
    /// conflict that blocks the change.
    fn claim(&mut self, change: &mut Change, found: &Claim<'_>) {
        self.matched.insert(found.arn.to_string());
        match ownership(found.tags, &self.topology.name, found.logical_id) {
            Ownership::Ours => {}
            Ownership::Unowned if found.adopt => change.reasons.push(format!(
                "adopting {} `{}` (`adopt: true`): Coffer adds its ownership tags",
                found.what, found.name
            )),
            Ownership::Unowned => Self::conflict(
                change,
                format!(
                    "a {} named `{}` already exists in account {} ({}) without Coffer's ownership tags; set `adopt: true` on `{}.{}` to take it over, or {}",
                    found.what,
                    found.name,
                    found.account_id,
                    found.region,
                    found.setting,
                    found.logical,
                    found.rename
                ),
            ),
            Ownership::Foreign(tags) => Self::conflict(
                change,
                format!(
                    "{} `{}` belongs to something else ({tags}); {}",
                    found.what, found.name, found.rename
                ),
            ),
        }
    }

    /// Blocked because the name belongs to a resource Coffer does not own.
    fn conflict(change: &mut Change, reason: String) {
        change.flags.push(Flag::Conflicting);
        Self::block(change, reason);
    }

    /// Names a vault's change (or its policy's or lock's) with the vault's name and ARN; a
    /// vault's ARN follows from its name, so it is known before the vault exists.
    fn name_vault(&self, change: &mut Change, vault: &Vault, live: Option<&LiveVault>) {
        change.aws_name = Some(vault.vault_name.clone());
        change.arn = Some(live.map_or_else(|| self.topology.vault_arn(vault), |lv| lv.arn.clone()));
    }

    fn field_changed(change: &Change, field: &str) -> bool {
        change.fields.iter().any(|f| {
            f.path == field
                || f.path.starts_with(&format!("{field}."))
                || f.path.starts_with(&format!("{field}["))
        })
    }

    // ----- keys and aliases -----

    fn key(&mut self, key: &Key) {
        let account_id = self.account_id(&key.account);
        let region = self.live.region(&account_id, &key.region);
        let logical_id = format!("key/{}", key.name);
        let address = ResourceKind::Key.at(key.name.to_string());
        let live_alias = region.and_then(|r| r.aliases.iter().find(|a| a.name == key.alias));
        let alias_target = live_alias.and_then(|a| a.target_key_id.clone());
        let mut problem: Option<String> = None;

        // 1. A key carrying our tags (the alias may never have been created).
        let mut ours: Vec<&LiveKey> = region
            .map(|r| {
                r.keys
                    .iter()
                    .filter(|k| {
                        ownership(&k.tags, &self.topology.name, &logical_id) == Ownership::Ours
                    })
                    .collect()
            })
            .unwrap_or_default();
        ours.sort_by(|a, b| {
            let a_target = Some(&a.key_id) == alias_target.as_ref();
            let b_target = Some(&b.key_id) == alias_target.as_ref();
            b_target
                .cmp(&a_target)
                .then_with(|| a.creation_date.cmp(&b.creation_date))
                .then_with(|| a.key_id.cmp(&b.key_id))
        });
        let mut matched: Option<LiveKey> = ours.first().map(|k| (*k).clone());
        let mut adopting = false;

        // 2. The key the alias points to.
        if matched.is_none()
            && let Some(target) = &alias_target
        {
            match region.and_then(|r| r.keys.iter().find(|k| &k.key_id == target)) {
                Some(found) => match ownership(&found.tags, &self.topology.name, &logical_id) {
                    Ownership::Ours => matched = Some(found.clone()),
                    Ownership::Unowned if key.adopt => {
                        matched = Some(found.clone());
                        adopting = true;
                    }
                    Ownership::Unowned => {
                        problem = Some(format!(
                            "alias `{}` already points to key {} in account {account_id}, which Coffer does not own; set `adopt: true` on `keys.{}` to take that key over, or choose another alias",
                            key.alias, found.key_id, key.name
                        ));
                    }
                    Ownership::Foreign(tags) => {
                        problem = Some(format!(
                            "alias `{}` points to key {}, which belongs to something else ({tags}); choose another alias",
                            key.alias, found.key_id
                        ));
                    }
                },
                None => {
                    problem = Some(format!(
                        "alias `{}` already exists and points to key {target}, which Coffer cannot read; choose another alias or delete the alias",
                        key.alias
                    ));
                }
            }
        }

        let desired_policy = policy::key_policy(self.topology, key);
        let desired_tags = self.desired_tags(&key.tags, &logical_id);
        let rotation = json!({
            "enabled": key.rotation_period_days.is_some(),
            "period_days": key.rotation_period_days,
        });
        let after = json!({
            "alias": key.alias,
            "description": key.description,
            "state": "Enabled",
            "rotation": rotation,
            "policy": policy::canonical(&desired_policy),
            "tags": tags_json(&desired_tags),
        });
        let before = matched.as_ref().map(|live| {
            json!({
                "alias": key.alias,
                "description": live.description,
                "state": live.key_state,
                "rotation": {
                    "enabled": live.rotation_enabled,
                    "period_days": if live.rotation_enabled { live.rotation_period_days } else { None },
                },
                "policy": policy::canonical(live.policy.as_ref().unwrap_or(&json!({}))),
                "tags": tags_json(&live.tags),
            })
        });
        let mut change = self.change(
            address.clone(),
            &key.account,
            &key.region,
            before,
            Some(after),
        );
        // A key is known by its alias; its ARN only once it exists.
        change.aws_name = Some(key.alias.clone());
        change.arn = matched.as_ref().map(|k| k.arn.clone());
        if adopting {
            change.reasons.push(format!(
                "adopting key {} (`adopt: true`): Coffer adds its ownership tags",
                matched.as_ref().map_or("", |k| k.key_id.as_str())
            ));
        }
        if let Some(live) = &matched {
            self.matched.insert(live.arn.clone());
            let orphans = live
                .policy
                .as_ref()
                .map(policy::orphaned_principals)
                .unwrap_or_default();
            if !orphans.is_empty() {
                change.reasons.push(format!(
                    "the live key policy names principals by unique ID ({}): their roles or users were deleted; the update writes the policy again",
                    orphans.join(", ")
                ));
            }
        }
        if let Some(problem) = problem {
            Self::conflict(&mut change, problem);
        }
        let blocked = change.has(Flag::Blocked);

        let mut handle = KeyHandle {
            arn: matched.as_ref().map_or_else(
                || Ref::output(&format!("{address}:create"), outputs::ARN),
                |k| Ref::Value(k.arn.clone()),
            ),
            live: matched.clone(),
            ready: Vec::new(),
            blocked,
        };
        if !blocked {
            match &matched {
                None => {
                    let create = self.add_step(
                        format!("{address}:create"),
                        &change,
                        Operation::CreateKey {
                            description: key.description.clone(),
                            policy: desired_policy.clone(),
                            tags: desired_tags.clone(),
                        },
                        vec![],
                    );
                    if let Some(period) = key.rotation_period_days {
                        self.add_step(
                            format!("{address}:rotation"),
                            &change,
                            Operation::EnableKeyRotation {
                                key: handle.arn.clone(),
                                period_days: period,
                            },
                            vec![create.clone()],
                        );
                    }
                    handle.ready = vec![create];
                }
                Some(live) => {
                    handle.ready = self.key_updates(
                        key,
                        live,
                        &change,
                        &handle.arn,
                        &desired_policy,
                        &desired_tags,
                    )
                }
            }
        }
        self.changes.push(change);
        self.keys.insert(key.name.clone(), handle.clone());
        self.alias(key, &handle, alias_target);
    }

    fn key_updates(
        &mut self,
        key: &Key,
        live: &LiveKey,
        change: &Change,
        key_ref: &Ref,
        desired_policy: &Value,
        desired_tags: &Tags,
    ) -> Vec<String> {
        let address = change.address.clone();
        let mut first: Vec<String> = Vec::new();
        if live.key_state == KeyState::PendingDeletion {
            let cancel = self.add_step(
                format!("{address}:cancel-deletion"),
                change,
                Operation::CancelKeyDeletion {
                    key: key_ref.clone(),
                },
                vec![],
            );
            first.push(self.add_step(
                format!("{address}:enable"),
                change,
                Operation::EnableKey {
                    key: key_ref.clone(),
                },
                vec![cancel],
            ));
        } else if live.key_state == KeyState::Disabled {
            first.push(self.add_step(
                format!("{address}:enable"),
                change,
                Operation::EnableKey {
                    key: key_ref.clone(),
                },
                vec![],
            ));
        }
        if Self::field_changed(change, "description") {
            self.add_step(
                format!("{address}:description"),
                change,
                Operation::UpdateKeyDescription {
                    key: key_ref.clone(),
                    description: key.description.clone(),
                },
                first.clone(),
            );
        }
        if Self::field_changed(change, "policy") {
            self.add_step(
                format!("{address}:policy"),
                change,
                Operation::PutKeyPolicy {
                    key: key_ref.clone(),
                    policy: desired_policy.clone(),
                },
                first.clone(),
            );
        }
        if Self::field_changed(change, "rotation") {
            let operation = match key.rotation_period_days {
                Some(period) => Operation::EnableKeyRotation {
                    key: key_ref.clone(),
                    period_days: period,
                },
                None => Operation::DisableKeyRotation {
                    key: key_ref.clone(),
                },
            };
            self.add_step(
                format!("{address}:rotation"),
                change,
                operation,
                first.clone(),
            );
        }
        self.tag_steps(
            change,
            &live.tags,
            desired_tags,
            first.clone(),
            |tags| Operation::TagKey {
                key: key_ref.clone(),
                tags,
            },
            |tag_keys| Operation::UntagKey {
                key: key_ref.clone(),
                tag_keys,
            },
        );
        first
    }

    /// Steps that make `live` tags equal `desired` (tags under `aws:` are AWS's own).
    fn tag_steps(
        &mut self,
        change: &Change,
        live: &Tags,
        desired: &Tags,
        depends_on: Vec<String>,
        tag: impl FnOnce(Tags) -> Operation,
        untag: impl FnOnce(Vec<String>) -> Operation,
    ) {
        let to_set: Tags = desired
            .iter()
            .filter(|(k, v)| live.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let to_remove: Vec<String> = live
            .keys()
            .filter(|k| !desired.contains_key(*k) && !k.starts_with("aws:"))
            .cloned()
            .collect();
        if !to_set.is_empty() {
            self.add_step(
                format!("{}:tag", change.address),
                change,
                tag(to_set),
                depends_on.clone(),
            );
        }
        if !to_remove.is_empty() {
            self.add_step(
                format!("{}:untag", change.address),
                change,
                untag(to_remove),
                depends_on,
            );
        }
    }

    fn alias(&mut self, key: &Key, handle: &KeyHandle, live_target: Option<String>) {
        let address = ResourceKind::Alias.at(key.name.to_string());
        let key_address = ResourceKind::Key.at(key.name.to_string());
        let after = json!({"name": key.alias, "target": key_address});
        let before = live_target.as_ref().map(|target| {
            let shown = match &handle.live {
                Some(live) if &live.key_id == target => key_address.to_string(),
                _ => target.clone(),
            };
            json!({"name": key.alias, "target": shown})
        });
        let mut change = self.change(
            address.clone(),
            &key.account,
            &key.region,
            before,
            Some(after),
        );
        change.aws_name = Some(key.alias.clone());
        change.arn = Some(format!(
            "arn:aws:kms:{}:{}:{}",
            change.region, change.account, key.alias
        ));
        if handle.blocked {
            Self::block(
                &mut change,
                format!("waits for `{key_address}`, which is blocked"),
            );
        } else if change.action != Action::NoOp {
            let key_id = match &handle.live {
                Some(live) => Ref::Value(live.key_id.clone()),
                None => Ref::output(&format!("{key_address}:create"), outputs::KEY_ID),
            };
            let depends_on: Vec<String> = handle.ready.clone();
            let operation = if live_target.is_some() {
                Operation::UpdateAlias {
                    alias_name: key.alias.clone(),
                    key: key_id,
                }
            } else {
                Operation::CreateAlias {
                    alias_name: key.alias.clone(),
                    key: key_id,
                }
            };
            let verb = if live_target.is_some() {
                "update"
            } else {
                "create"
            };
            self.add_step(format!("{address}:{verb}"), &change, operation, depends_on);
        }
        self.changes.push(change);
    }

    // ----- vaults, vault policies, vault locks -----

    fn vault(&mut self, vault: &Vault) {
        let account_id = self.account_id(&vault.account);
        let logical_id = format!("vault/{}", vault.name);
        let address = ResourceKind::Vault.at(vault.name.to_string());
        let live = self
            .live
            .region(&account_id, &vault.region)
            .and_then(|r| r.vaults.iter().find(|v| v.name == vault.vault_name))
            .cloned();
        let desired_tags = self.desired_tags(&vault.tags, &logical_id);
        let key_handle = vault.key.as_ref().and_then(|k| self.keys.get(k)).cloned();

        let mut after = Map::new();
        after.insert("name".into(), json!(vault.vault_name));
        if let Some(key) = &vault.key {
            after.insert("encryption_key".into(), json!(format!("key.{key}")));
        }
        after.insert("tags".into(), tags_json(&desired_tags));
        let before = live.as_ref().map(|lv| {
            let mut before = Map::new();
            before.insert("name".into(), json!(lv.name));
            if let Some(key) = &vault.key {
                let shown = match (
                    &lv.encryption_key_arn,
                    key_handle.as_ref().and_then(|h| h.live.as_ref()),
                ) {
                    (Some(arn), Some(k)) if *arn == k.arn => json!(format!("key.{key}")),
                    (Some(arn), _) => json!(arn),
                    (None, _) => Value::Null,
                };
                before.insert("encryption_key".into(), shown);
            }
            before.insert("tags".into(), tags_json(&lv.tags));
            Value::Object(before)
        });
        let mut change = self.change(
            address.clone(),
            &vault.account,
            &vault.region,
            before,
            Some(Value::Object(after)),
        );
        self.name_vault(&mut change, vault, live.as_ref());

        let mut replaced = false;
        if let Some(lv) = &live {
            self.claim(
                &mut change,
                &Claim {
                    what: "vault",
                    setting: "vaults",
                    logical: vault.name.as_str(),
                    logical_id: &logical_id,
                    name: &lv.name,
                    arn: &lv.arn,
                    tags: &lv.tags,
                    adopt: vault.adopt,
                    account_id: &account_id,
                    region: &vault.region,
                    rename: "choose another `name`",
                },
            );
            if Self::field_changed(&change, "encryption_key") {
                change.action = Action::Replace;
                replaced = true;
                change.reasons.push("a vault's encryption key can never change: the vault must be deleted and created again".into());
                if lv.recovery_points > 0 {
                    Self::block(
                        &mut change,
                        format!(
                            "vault `{}` holds {}, which cannot move to another vault; keep it, and create a vault with a new `name` and the new key for new backups",
                            lv.name,
                            plural(lv.recovery_points, "recovery point", "recovery points")
                        ),
                    );
                }
                if lv.lock.is_some() {
                    Self::block(
                        &mut change,
                        format!(
                            "vault `{}` has a vault lock; Coffer never deletes a locked vault",
                            lv.name
                        ),
                    );
                }
            }
        }
        if key_handle.as_ref().is_some_and(|k| k.blocked) {
            Self::block(
                &mut change,
                format!(
                    "waits for `key.{}`, which is blocked",
                    vault.key.as_ref().map_or("", |k| k.as_str())
                ),
            );
        }

        let mut handle = VaultHandle {
            steps: Vec::new(),
            blocked: change.has(Flag::Blocked),
        };
        if !handle.blocked {
            let create = |planner: &mut Self, depends_on: Vec<String>| {
                // The key reference as data (a new key's reference names its creation step), so
                // two different new keys never give the same CreatorRequestId.
                let operation_content =
                    json!({"name": vault.vault_name, "key": key_handle.as_ref().map(|k| &k.arn)});
                let step_id = format!("{address}:create");
                let creator_request_id =
                    creator_request_id(&planner.topology.name, &step_id, &operation_content);
                let mut depends_on = depends_on;
                depends_on.extend(key_handle.iter().flat_map(|k| k.ready.iter().cloned()));
                planner.add_step(
                    step_id,
                    &change,
                    Operation::CreateBackupVault {
                        vault_name: vault.vault_name.clone(),
                        encryption_key_arn: key_handle.as_ref().map(|k| k.arn.clone()),
                        tags: desired_tags.clone(),
                        creator_request_id,
                    },
                    depends_on,
                )
            };
            match &live {
                None => handle.steps.push(create(self, vec![])),
                Some(lv) if replaced => {
                    let delete = self.add_step(
                        format!("{address}:delete"),
                        &change,
                        Operation::DeleteBackupVault {
                            vault_name: lv.name.clone(),
                        },
                        vec![],
                    );
                    self.deleted_vaults.insert(lv.arn.clone(), delete.clone());
                    handle.steps.push(create(self, vec![delete]));
                }
                Some(lv) => {
                    let arn = Ref::Value(lv.arn.clone());
                    let arn2 = arn.clone();
                    self.tag_steps(
                        &change,
                        &lv.tags,
                        &desired_tags,
                        vec![],
                        |tags| Operation::TagResource {
                            resource_arn: arn,
                            tags,
                        },
                        |tag_keys| Operation::UntagResource {
                            resource_arn: arn2,
                            tag_keys,
                        },
                    );
                }
            }
        }
        self.changes.push(change);

        // A refused replacement leaves the vault as it is: compare its policy and lock with it.
        let existing = if replaced && !handle.blocked {
            None
        } else {
            live.as_ref()
        };
        if let Some(access_policy) = &vault.access_policy {
            let desired = policy::vault_policy(access_policy, &self.coffer_role(&vault.account));
            let step = self.vault_policy(vault, existing, desired, &handle);
            handle.steps.extend(step);
        }
        let step = self.vault_lock(vault, existing, &handle);
        handle.steps.extend(step);
        self.vaults.insert(vault.name.clone(), handle);
    }

    fn vault_policy(
        &mut self,
        vault: &Vault,
        live: Option<&LiveVault>,
        desired: Option<Value>,
        handle: &VaultHandle,
    ) -> Option<String> {
        let address = ResourceKind::VaultPolicy.at(vault.name.to_string());
        let before = live
            .and_then(|lv| lv.access_policy.as_ref())
            .map(|p| json!({"policy": policy::canonical(p)}));
        let after = desired
            .as_ref()
            .map(|p| json!({"policy": policy::canonical(p)}));
        if before.is_none() && after.is_none() {
            return None;
        }
        let mut change = self.change(
            address.clone(),
            &vault.account,
            &vault.region,
            before,
            after,
        );
        self.name_vault(&mut change, vault, live);
        if let Some(orphans) = live
            .and_then(|lv| lv.access_policy.as_ref())
            .map(policy::orphaned_principals)
            && !orphans.is_empty()
        {
            change.reasons.push(format!(
                    "the live vault policy names principals by unique ID ({}): their roles or users were deleted",
                    orphans.join(", ")
                ));
        }
        if handle.blocked && change.action != Action::NoOp {
            Self::block(
                &mut change,
                format!("waits for `vault.{}`, which is blocked", vault.name),
            );
        }
        let mut step = None;
        if !change.has(Flag::Blocked) && change.action != Action::NoOp {
            let operation = match &desired {
                Some(policy) => Operation::PutBackupVaultAccessPolicy {
                    vault_name: vault.vault_name.clone(),
                    policy: policy.clone(),
                },
                None => Operation::DeleteBackupVaultAccessPolicy {
                    vault_name: vault.vault_name.clone(),
                },
            };
            let verb = if desired.is_some() { "put" } else { "delete" };
            step = Some(self.add_step(
                format!("{address}:{verb}"),
                &change,
                operation,
                handle.steps.clone(),
            ));
        }
        self.changes.push(change);
        step
    }

    fn vault_lock(
        &mut self,
        vault: &Vault,
        live: Option<&LiveVault>,
        handle: &VaultHandle,
    ) -> Option<String> {
        let address = ResourceKind::VaultLock.at(vault.name.to_string());
        let live_lock = live.and_then(|lv| lv.lock.as_ref());
        let before = live_lock.map(|l| {
            json!({
                "mode": if l.lock_date.is_some() { "compliance" } else { "governance" },
                "min_retention_days": l.min_retention_days,
                "max_retention_days": l.max_retention_days,
            })
        });
        let after = vault.lock.as_ref().map(|l| {
            json!({
                "mode": if l.is_compliance() { "compliance" } else { "governance" },
                "min_retention_days": l.min_retention_days,
                "max_retention_days": l.max_retention_days,
            })
        });
        if before.is_none() && after.is_none() {
            return None;
        }
        let mut change = self.change(
            address.clone(),
            &vault.account,
            &vault.region,
            before,
            after,
        );
        self.name_vault(&mut change, vault, live);
        if change.action == Action::NoOp {
            self.changes.push(change);
            return None;
        }
        if let Some(lock) = live_lock.filter(|l| l.immutable) {
            Self::block(
                &mut change,
                format!(
                    "the compliance lock of vault `{}` became immutable on {}: no one can change or remove it; put its current bounds in the file",
                    vault.vault_name,
                    lock.lock_date.as_deref().unwrap_or("an earlier date")
                ),
            );
        }
        if vault.lock.is_none() {
            Self::block(
                &mut change,
                format!(
                    "vault `{}` has a lock the file does not declare; Coffer never removes a vault lock: add the lock to the file, or remove it by hand if you mean to",
                    vault.vault_name
                ),
            );
        }
        if handle.blocked {
            Self::block(
                &mut change,
                format!("waits for `vault.{}`, which is blocked", vault.name),
            );
        }
        let mut step = None;
        if let Some(lock) = &vault.lock {
            if let Some(days) = lock.changeable_for_days {
                change.flags.push(Flag::Irreversible);
                change.reasons.push(format!(
                    "compliance mode: {days} days after this apply the lock becomes immutable; no one, not even AWS, can then remove it or shorten retention"
                ));
            }
            if !change.has(Flag::Blocked) {
                step = Some(self.add_step(
                    format!("{address}:put"),
                    &change,
                    Operation::PutBackupVaultLockConfiguration {
                        vault_name: vault.vault_name.clone(),
                        min_retention_days: lock.min_retention_days,
                        max_retention_days: lock.max_retention_days,
                        changeable_for_days: lock.changeable_for_days,
                    },
                    handle.steps.clone(),
                ));
            }
        }
        self.changes.push(change);
        step
    }

    // ----- the organization's cross-account backup switch -----

    fn cross_account_backup(&mut self) {
        let Some(org) = &self.topology.organization else {
            return;
        };
        let enabled = match org.cross_account_backup {
            CrossAccountBackup::Enabled => true,
            CrossAccountBackup::Disabled => false,
            CrossAccountBackup::Unmanaged => return,
        };
        let management = &org.management_account;
        let management_id = self.account_id(management);
        let mut regions: BTreeSet<String> = self
            .topology
            .account(management)
            .map(|a| a.regions.clone())
            .unwrap_or_default();
        for plan in self.topology.backup_plans.values() {
            let crosses = plan.rules.iter().any(|r| {
                r.copy_to.iter().any(|c| {
                    self.topology
                        .vaults
                        .get(&c.vault)
                        .is_some_and(|v| v.account != plan.account)
                })
            });
            if crosses {
                regions.insert(plan.region.clone());
            }
        }
        for region in regions {
            let address = ResourceKind::CrossAccountBackup.at(region.to_string());
            let live = self
                .live
                .region(&management_id, &region)
                .and_then(|r| r.cross_account_backup);
            let before = Some(json!({"enabled": live.unwrap_or(false)}));
            let after = Some(json!({"enabled": enabled}));
            let change = self.change(address.clone(), management, &region, before, after);
            if change.action != Action::NoOp {
                let step = self.add_step(
                    format!("{address}:update"),
                    &change,
                    Operation::UpdateGlobalSettings {
                        cross_account_backup: enabled,
                    },
                    vec![],
                );
                self.global_setting_steps.push(step);
            }
            self.changes.push(change);
        }
    }

    // ----- backup plans and selections -----

    fn rule_document(&self, rule: &Rule) -> RuleDocument {
        let vault_name = |v: &VaultName| {
            self.topology
                .vaults
                .get(v)
                .map_or_else(String::new, |v| v.vault_name.clone())
        };
        RuleDocument {
            name: rule.name.clone(),
            target_vault_name: vault_name(&rule.vault),
            schedule: rule.schedule.clone(),
            schedule_timezone: rule.schedule_timezone.clone(),
            start_window_minutes: rule.start_window_minutes,
            completion_window_minutes: rule.completion_window_minutes,
            lifecycle: LifecycleDocument {
                move_to_cold_storage_after_days: rule.lifecycle.move_to_cold_storage_after_days,
                delete_after_days: rule.lifecycle.delete_after_days,
            },
            copy_actions: rule
                .copy_to
                .iter()
                .filter_map(|c| {
                    let destination = self.topology.vaults.get(&c.vault)?;
                    Some(CopyActionDocument {
                        destination_vault_arn: self.topology.vault_arn(destination),
                        lifecycle: LifecycleDocument {
                            move_to_cold_storage_after_days: c
                                .lifecycle
                                .move_to_cold_storage_after_days,
                            delete_after_days: c.lifecycle.delete_after_days,
                        },
                    })
                })
                .collect(),
            continuous_backup: rule.continuous_backup,
            recovery_point_tags: rule.recovery_point_tags.clone(),
        }
    }

    /// A rule as Coffer compares it. Fields the file leaves to AWS's defaults
    /// (`desired` has `None`) are left out on both sides.
    fn rule_json(rule: &RuleDocument, desired: Option<&RuleDocument>) -> Value {
        let mut out = Map::new();
        out.insert("vault".into(), json!(rule.target_vault_name));
        out.insert("schedule".into(), json!(rule.schedule));
        let optional = [
            (
                "schedule_timezone",
                json!(rule.schedule_timezone),
                desired.map(|d| d.schedule_timezone.is_some()),
            ),
            (
                "start_window_minutes",
                json!(rule.start_window_minutes),
                desired.map(|d| d.start_window_minutes.is_some()),
            ),
            (
                "completion_window_minutes",
                json!(rule.completion_window_minutes),
                desired.map(|d| d.completion_window_minutes.is_some()),
            ),
        ];
        for (name, value, wanted) in optional {
            if wanted.unwrap_or(!value.is_null()) {
                out.insert(name.into(), value);
            }
        }
        out.insert(
            "lifecycle".into(),
            lifecycle_json(
                rule.lifecycle.move_to_cold_storage_after_days,
                rule.lifecycle.delete_after_days,
            ),
        );
        let copies: Map<String, Value> = rule
            .copy_actions
            .iter()
            .map(|c| (c.destination_vault_arn.clone(), json!({"lifecycle": lifecycle_json(c.lifecycle.move_to_cold_storage_after_days, c.lifecycle.delete_after_days)})))
            .collect();
        out.insert("copy_to".into(), Value::Object(copies));
        out.insert("continuous_backup".into(), json!(rule.continuous_backup));
        out.insert(
            "recovery_point_tags".into(),
            tags_json(&rule.recovery_point_tags),
        );
        Value::Object(out)
    }

    fn live_rule_document(rule: &LiveRule) -> RuleDocument {
        RuleDocument {
            name: rule.name.clone(),
            target_vault_name: rule.target_vault_name.clone(),
            schedule: rule.schedule.clone().unwrap_or_default(),
            schedule_timezone: rule.schedule_timezone.clone(),
            start_window_minutes: rule.start_window_minutes,
            completion_window_minutes: rule.completion_window_minutes,
            lifecycle: LifecycleDocument {
                move_to_cold_storage_after_days: rule.lifecycle.move_to_cold_storage_after_days,
                delete_after_days: rule.lifecycle.delete_after_days,
            },
            copy_actions: rule
                .copy_actions
                .iter()
                .map(|c| CopyActionDocument {
                    destination_vault_arn: c.destination_vault_arn.clone(),
                    lifecycle: LifecycleDocument {
                        move_to_cold_storage_after_days: c
                            .lifecycle
                            .move_to_cold_storage_after_days,
                        delete_after_days: c.lifecycle.delete_after_days,
                    },
                })
                .collect(),
            continuous_backup: rule.continuous_backup,
            recovery_point_tags: rule.recovery_point_tags.clone(),
        }
    }

    fn backup_plan(&mut self, plan: &BackupPlan) {
        let account_id = self.account_id(&plan.account);
        let logical_id = format!("backup_plan/{}", plan.name);
        let address = ResourceKind::BackupPlan.at(plan.name.to_string());
        let live = self
            .live
            .region(&account_id, &plan.region)
            .and_then(|r| r.backup_plans.iter().find(|p| p.name == plan.plan_name))
            .cloned();
        let document = BackupPlanDocument {
            name: plan.plan_name.clone(),
            rules: plan.rules.iter().map(|r| self.rule_document(r)).collect(),
        };
        let desired_tags = self.desired_tags(&plan.tags, &logical_id);
        let desired_rules: BTreeMap<&str, &RuleDocument> = document
            .rules
            .iter()
            .map(|r| (r.name.as_str(), r))
            .collect();
        let rules_json = |rules: &[RuleDocument]| -> Value {
            Value::Object(
                rules
                    .iter()
                    .map(|r| {
                        (
                            r.name.clone(),
                            Self::rule_json(r, desired_rules.get(r.name.as_str()).copied()),
                        )
                    })
                    .collect(),
            )
        };
        let after = json!({"name": document.name, "rules": rules_json(&document.rules), "tags": tags_json(&desired_tags)});
        let before = live.as_ref().map(|lp| {
            let live_rules: Vec<RuleDocument> =
                lp.rules.iter().map(Self::live_rule_document).collect();
            json!({"name": lp.name, "rules": rules_json(&live_rules), "tags": tags_json(&lp.tags)})
        });
        let mut change = self.change(
            address.clone(),
            &plan.account,
            &plan.region,
            before,
            Some(after),
        );
        change.aws_name = Some(plan.plan_name.clone());
        change.arn = live.as_ref().map(|lp| lp.arn.clone());
        if let Some(lp) = &live {
            self.claim(
                &mut change,
                &Claim {
                    what: "backup plan",
                    setting: "backup_plans",
                    logical: plan.name.as_str(),
                    logical_id: &logical_id,
                    name: &lp.name,
                    arn: &lp.arn,
                    tags: &lp.tags,
                    adopt: plan.adopt,
                    account_id: &account_id,
                    region: &plan.region,
                    rename: "set another `name`",
                },
            );
        }
        let mut depends_on: Vec<String> = self.global_setting_steps.clone();
        for rule in &plan.rules {
            for vault in std::iter::once(&rule.vault).chain(rule.copy_to.iter().map(|c| &c.vault)) {
                if let Some(handle) = self.vaults.get(vault) {
                    depends_on.extend(handle.steps.iter().cloned());
                    if handle.blocked && change.action != Action::NoOp {
                        Self::block(
                            &mut change,
                            format!("waits for `vault.{vault}`, which is blocked"),
                        );
                    }
                }
            }
        }
        depends_on.sort();
        depends_on.dedup();

        let mut plan_steps: Vec<String> = Vec::new();
        let blocked = change.has(Flag::Blocked);
        let plan_id = match &live {
            Some(lp) => Ref::Value(lp.plan_id.clone()),
            None => Ref::output(&format!("{address}:create"), outputs::PLAN_ID),
        };
        if !blocked {
            match &live {
                None => {
                    let step_id = format!("{address}:create");
                    let crid = creator_request_id(&self.topology.name, &step_id, &json!(document));
                    plan_steps.push(self.add_step(
                        step_id,
                        &change,
                        Operation::CreateBackupPlan {
                            plan: document.clone(),
                            tags: desired_tags.clone(),
                            creator_request_id: crid,
                        },
                        depends_on,
                    ));
                }
                Some(lp) => {
                    if Self::field_changed(&change, "rules") || Self::field_changed(&change, "name")
                    {
                        plan_steps.push(self.add_step(
                            format!("{address}:update"),
                            &change,
                            Operation::UpdateBackupPlan {
                                plan_id: plan_id.clone(),
                                plan: document.clone(),
                            },
                            depends_on.clone(),
                        ));
                    }
                    let arn = Ref::Value(lp.arn.clone());
                    let arn2 = arn.clone();
                    self.tag_steps(
                        &change,
                        &lp.tags,
                        &desired_tags,
                        depends_on,
                        |tags| Operation::TagResource {
                            resource_arn: arn,
                            tags,
                        },
                        |tag_keys| Operation::UntagResource {
                            resource_arn: arn2,
                            tag_keys,
                        },
                    );
                }
            }
        }
        self.changes.push(change);
        let live_selections = live
            .as_ref()
            .map(|lp| lp.selections.clone())
            .unwrap_or_default();
        let desired_names: BTreeSet<&str> =
            plan.selections.iter().map(|s| s.name.as_str()).collect();
        for selection in &plan.selections {
            let same_name: Vec<&LiveSelection> = live_selections
                .iter()
                .filter(|s| s.name == selection.name)
                .collect();
            self.selection(plan, selection, &same_name, &plan_id, &plan_steps, blocked);
        }
        // Only the selections of a plan Coffer owns (or adopts) are its to delete.
        if let Some(lp) = live.as_ref().filter(|_| !blocked) {
            for stray in live_selections
                .iter()
                .filter(|s| !desired_names.contains(s.name.as_str()))
            {
                self.delete_selection(
                    plan.account.clone(),
                    &plan.region,
                    &plan.name.to_string(),
                    lp,
                    stray,
                    true,
                );
            }
        }
    }

    fn selection_json_desired(selection: &Selection) -> Value {
        let mut resources = selection.resources.clone();
        resources.sort();
        let mut not_resources = selection.not_resources.clone();
        not_resources.sort();
        json!({"role": selection.role_arn, "resources": resources, "not_resources": not_resources, "tags": tags_json(&selection.tags)})
    }

    fn selection_json_live(selection: &LiveSelection) -> Value {
        let mut resources = selection.resources.clone();
        resources.sort();
        let mut not_resources = selection.not_resources.clone();
        not_resources.sort();
        let mut state = json!({"role": selection.role_arn, "resources": resources, "not_resources": not_resources, "tags": tags_json(&selection.tags)});
        if let Some(conditions) = &selection.conditions {
            state["conditions"] = conditions.clone();
        }
        state
    }

    fn selection(
        &mut self,
        plan: &BackupPlan,
        selection: &Selection,
        same_name: &[&LiveSelection],
        plan_id: &Ref,
        plan_steps: &[String],
        plan_blocked: bool,
    ) {
        let address = ResourceKind::Selection.at(format!("{}.{}", plan.name, selection.name));
        let after = Self::selection_json_desired(selection);
        let matching = same_name
            .iter()
            .find(|s| Self::selection_json_live(s) == after);
        let others: Vec<&&LiveSelection> =
            same_name.iter().filter(|s| Some(*s) != matching).collect();
        let before = matching
            .map(|s| Self::selection_json_live(s))
            .or_else(|| others.first().map(|s| Self::selection_json_live(s)));
        let mut change = self.change(
            address.clone(),
            &plan.account,
            &plan.region,
            before,
            Some(after.clone()),
        );
        change.aws_name = Some(selection.name.clone());
        if matching.is_some() && !others.is_empty() {
            change.action = Action::Replace;
            change.reasons.push(format!(
                "{} named `{}` from an interrupted apply {} deleted",
                plural(others.len(), "stray selection", "stray selections"),
                selection.name,
                if others.len() == 1 { "is" } else { "are" }
            ));
        } else if change.action == Action::Update {
            change.action = Action::Replace;
            change.reasons.push("backup selections cannot change in place: Coffer creates the new selection, then deletes the old one".into());
        }
        if plan_blocked && change.action != Action::NoOp {
            Self::block(
                &mut change,
                format!("waits for `backup_plan.{}`, which is blocked", plan.name),
            );
        }
        if !change.has(Flag::Blocked) && change.action != Action::NoOp {
            let mut after_create: Vec<String> = Vec::new();
            if matching.is_none() {
                let content_hash = sha256_hex(after.to_string().as_bytes());
                let step_id = format!("{address}:create.{}", &content_hash[..12]);
                let crid = creator_request_id(&self.topology.name, &step_id, &after);
                let document = SelectionDocument {
                    name: selection.name.clone(),
                    role_arn: selection.role_arn.clone(),
                    resources: selection.resources.clone(),
                    not_resources: selection.not_resources.clone(),
                    tags: selection.tags.clone(),
                };
                after_create.push(self.add_step(
                    step_id,
                    &change,
                    Operation::CreateBackupSelection {
                        plan_id: plan_id.clone(),
                        selection: document,
                        creator_request_id: crid,
                    },
                    plan_steps.to_vec(),
                ));
            }
            for old in others {
                self.add_step(
                    format!("{address}:delete.{}", old.selection_id),
                    &change,
                    Operation::DeleteBackupSelection {
                        plan_id: plan_id.clone(),
                        selection_id: old.selection_id.clone(),
                    },
                    after_create.clone(),
                );
            }
        }
        self.changes.push(change);
    }

    fn delete_selection(
        &mut self,
        account: AccountName,
        region: &str,
        plan_name: &str,
        plan: &LiveBackupPlan,
        selection: &LiveSelection,
        own_change: bool,
    ) -> String {
        let address = ResourceKind::Selection.at(format!("{plan_name}.{}", selection.name));
        let mut change = self.change(
            address.clone(),
            &account,
            region,
            Some(Self::selection_json_live(selection)),
            None,
        );
        change.aws_name = Some(selection.name.clone());
        change.flags.push(Flag::NeedsAllowDelete);
        change
            .reasons
            .push("owned by this topology but no longer in the file".into());
        let step = self.add_step(
            format!("{address}:delete.{}", selection.selection_id),
            &change,
            Operation::DeleteBackupSelection {
                plan_id: Ref::Value(plan.plan_id.clone()),
                selection_id: selection.selection_id.clone(),
            },
            vec![],
        );
        if own_change {
            self.changes.push(change);
        }
        step
    }

    // ----- owned resources no longer in the file -----

    /// Every live region, with its account's ID and logical name (the ID itself for an account
    /// the file does not name).
    fn live_regions(&self) -> Vec<(String, AccountName, String, &'a LiveRegion)> {
        let live: &'a LiveState = self.live;
        let mut out = Vec::new();
        for (account_id, account) in &live.accounts {
            let name = self
                .topology
                .accounts
                .values()
                .find(|a| &a.id == account_id)
                .map_or_else(|| AccountName(account_id.clone()), |a| a.name.clone());
            for (region, state) in &account.regions {
                out.push((account_id.clone(), name.clone(), region.clone(), state));
            }
        }
        out
    }

    /// The change for an owned resource that left the file: a deletion that runs only with
    /// `--allow-delete`.
    fn deletion(
        &self,
        address: Address,
        at: &(String, AccountName, String),
        (aws_name, arn): (&str, &str),
        before: Value,
        reason: &str,
    ) -> Change {
        let (account_id, account_name, region) = at;
        let mut change = self.change(address, account_name, region, Some(before), None);
        change.account = account_id.clone();
        change.aws_name = Some(aws_name.to_string());
        change.arn = Some(arn.to_string());
        change.flags.push(Flag::NeedsAllowDelete);
        change.reasons.push(reason.to_string());
        change
    }

    fn deletions(&mut self) {
        let topology_name = self.topology.name.clone();
        let regions = self.live_regions();
        // Everything the file's resources matched; the rest that is ours has left the file.
        let matched = self.matched.clone();
        // The logical name an owned resource's `coffer:id` tag gives it, else `fallback`.
        let owned_name = |tags: &Tags, kind: &str, fallback: &str| -> String {
            tags.get(TAG_ID)
                .and_then(|id| id.strip_prefix(&format!("{kind}/")))
                .unwrap_or(fallback)
                .to_string()
        };
        // Plans first, vaults after them, keys last: deletions run in reverse dependency order.
        let mut plan_deletes: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for (account_id, account_name, region, live) in &regions {
            let at = (account_id.clone(), account_name.clone(), region.clone());
            for plan in live
                .backup_plans
                .iter()
                .filter(|p| !matched.contains(&p.arn) && is_ours(&p.tags, &topology_name))
            {
                let name = owned_name(&plan.tags, "backup_plan", &plan.name);
                let selection_steps: Vec<String> = plan
                    .selections
                    .iter()
                    .map(|selection| {
                        self.delete_selection(
                            account_name.clone(),
                            region,
                            &name,
                            plan,
                            selection,
                            false,
                        )
                    })
                    .collect();
                let address = ResourceKind::BackupPlan.at(name.to_string());
                let reason = match plan.selections.len() {
                    0 => "owned by this topology but no longer in the file".to_string(),
                    n => format!(
                        "owned by this topology but no longer in the file; its {} deleted first",
                        plural(n, "selection is", "selections are")
                    ),
                };
                let change = self.deletion(
                    address.clone(),
                    &at,
                    (&plan.name, &plan.arn),
                    json!({"name": plan.name, "tags": tags_json(&plan.tags)}),
                    &reason,
                );
                let step = self.add_step(
                    format!("{address}:delete"),
                    &change,
                    Operation::DeleteBackupPlan {
                        plan_id: Ref::Value(plan.plan_id.clone()),
                    },
                    selection_steps,
                );
                plan_deletes
                    .entry((account_id.clone(), region.clone()))
                    .or_default()
                    .push(step);
                self.changes.push(change);
            }
        }
        for (account_id, account_name, region, live) in &regions {
            let at = (account_id.clone(), account_name.clone(), region.clone());
            for vault in live
                .vaults
                .iter()
                .filter(|v| !matched.contains(&v.arn) && is_ours(&v.tags, &topology_name))
            {
                let address = ResourceKind::Vault
                    .at(owned_name(&vault.tags, "vault", &vault.name).to_string());
                let mut change = self.deletion(
                    address.clone(),
                    &at,
                    (&vault.name, &vault.arn),
                    json!({"name": vault.name, "tags": tags_json(&vault.tags)}),
                    "owned by this topology but no longer in the file",
                );
                if vault.recovery_points > 0 {
                    Self::block(
                        &mut change,
                        format!(
                            "vault `{}` holds {}; Coffer never deletes a vault with recovery points: let them expire or delete them by hand first",
                            vault.name,
                            plural(vault.recovery_points, "recovery point", "recovery points")
                        ),
                    );
                }
                if vault.lock.is_some() {
                    Self::block(
                        &mut change,
                        format!(
                            "vault `{}` has a vault lock; Coffer never deletes a locked vault",
                            vault.name
                        ),
                    );
                }
                if !change.has(Flag::Blocked) {
                    let depends_on = plan_deletes
                        .get(&(account_id.clone(), region.clone()))
                        .cloned()
                        .unwrap_or_default();
                    let step = self.add_step(
                        format!("{address}:delete"),
                        &change,
                        Operation::DeleteBackupVault {
                            vault_name: vault.name.clone(),
                        },
                        depends_on,
                    );
                    self.deleted_vaults.insert(vault.arn.clone(), step);
                }
                self.changes.push(change);
            }
        }
        let all_vaults: Vec<&LiveVault> =
            regions.iter().flat_map(|(_, _, _, r)| &r.vaults).collect();
        for (account_id, account_name, region, live) in &regions {
            let at = (account_id.clone(), account_name.clone(), region.clone());
            let owned = |k: &&LiveKey| {
                !matched.contains(&k.arn)
                    && is_ours(&k.tags, &topology_name)
                    && k.key_state != KeyState::PendingDeletion
            };
            for key in live.keys.iter().filter(owned) {
                let logical = owned_name(&key.tags, "key", &key.key_id);
                // A duplicate of a key the file names keeps that key's waiting period; else the longest.
                let in_file = self.topology.keys.get(&KeyName(logical.clone()));
                let window = in_file.map_or(30, |k| k.deletion_window_days);
                let address = match in_file {
                    Some(_) => ResourceKind::Key.at(format!("{logical}#{}", key.key_id)),
                    None => ResourceKind::Key.at(logical.clone()),
                };
                // Known by an alias that points to it, else by its ID.
                let known_as = live
                    .aliases
                    .iter()
                    .find(|a| a.target_key_id.as_deref() == Some(key.key_id.as_str()))
                    .map_or(key.key_id.as_str(), |a| a.name.as_str());
                let mut change = self.deletion(
                    address.clone(),
                    &at,
                    (known_as, &key.arn),
                    json!({"key_id": key.key_id, "state": key.key_state, "tags": tags_json(&key.tags)}),
                    "owned by this topology but no longer in the file (or a duplicate): Coffer schedules its deletion (30-day waiting period, or the file's `deletion_window_days` for a duplicate)",
                );
                let mut depends_on = Vec::new();
                for vault in all_vaults
                    .iter()
                    .filter(|v| v.encryption_key_arn.as_deref() == Some(key.arn.as_str()))
                {
                    match self.deleted_vaults.get(&vault.arn) {
                        Some(step) => depends_on.push(step.clone()),
                        None => Self::block(
                            &mut change,
                            format!(
                                "key {} encrypts vault `{}`; Coffer never deletes a key in use",
                                key.key_id, vault.name
                            ),
                        ),
                    }
                }
                for vault in all_vaults
                    .iter()
                    .filter(|v| v.recovery_point_keys.iter().any(|k| k == &key.arn))
                {
                    Self::block(
                        &mut change,
                        format!(
                            "key {} encrypts recovery points in vault `{}`; Coffer never deletes a key in use",
                            key.key_id, vault.name
                        ),
                    );
                }
                for source in regions
                    .iter()
                    .flat_map(|(_, _, _, r)| &r.sources)
                    .filter(|s| {
                        s.exists
                            && s.kms_key_arn.as_deref().is_some_and(|k| {
                                k == key.arn || k.ends_with(&format!("/{}", key.key_id))
                            })
                    })
                {
                    Self::block(
                        &mut change,
                        format!(
                            "key {} encrypts `{}`; Coffer never deletes a key in use",
                            key.key_id, source.arn
                        ),
                    );
                }
                if !change.has(Flag::Blocked) {
                    for alias in live
                        .aliases
                        .iter()
                        .filter(|a| a.target_key_id.as_deref() == Some(key.key_id.as_str()))
                    {
                        depends_on.push(self.add_step(
                            format!("{address}:delete-alias.{}", alias.name),
                            &change,
                            Operation::DeleteAlias {
                                alias_name: alias.name.clone(),
                            },
                            vec![],
                        ));
                    }
                    self.add_step(
                        format!("{address}:schedule-deletion"),
                        &change,
                        Operation::ScheduleKeyDeletion {
                            key: Ref::Value(key.arn.clone()),
                            pending_window_days: window,
                        },
                        depends_on,
                    );
                }
                self.changes.push(change);
            }
        }
    }

    fn finish(self) -> Plan {
        let mut changes = self.changes;
        changes.sort_by(|a, b| a.address.cmp(&b.address).then(a.account.cmp(&b.account)));
        for change in &mut changes {
            crate::weaken::flag(self.topology, change);
            change.flags.sort();
            change.flags.dedup();
        }
        let steps = order_steps(self.steps);
        let mut summary = Summary::default();
        for change in &changes {
            match change.action {
                Action::Create => summary.create += 1,
                Action::Update => summary.update += 1,
                Action::Replace => summary.replace += 1,
                Action::Delete => summary.delete += 1,
                Action::NoOp => summary.no_op += 1,
            }
            summary.blocked += usize::from(change.has(Flag::Blocked));
            summary.irreversible += usize::from(change.has(Flag::Irreversible));
            summary.weakens += usize::from(change.has(Flag::Weakens));
        }
        let live_fingerprint = fingerprint(&changes);
        Plan {
            format_version: FORMAT_VERSION,
            topology: self.topology.name.clone(),
            topology_digest: topology_digest(self.topology),
            live_fingerprint,
            summary,
            changes,
            steps,
            findings: Vec::new(),
            destroy_paths: None,
        }
    }
}

/// The plan, with the checks catalog evaluated on AWS as it will be once the plan is applied
/// (deletions left out, as a plain apply does).
pub fn plan_checked(
    topology: &Topology,
    diagnostics: &coffer_spec::Diagnostics,
    live: &LiveState,
) -> Plan {
    let mut planned = plan(topology, live);
    let mut after = live.clone();
    crate::simulate::play(&planned, &mut after, false);
    planned.findings = crate::checks::evaluate(topology, diagnostics, Some(&after));
    // The ARNs of keys and backup plans the plan creates are AWS's to pick: the simulation's
    // stand-ins are no ARNs to show.
    let picked_by_aws = |state: &LiveState| -> BTreeSet<String> {
        state
            .accounts
            .values()
            .flat_map(|a| a.regions.values())
            .flat_map(|r| {
                let keys = r.keys.iter().map(|k| k.arn.clone());
                keys.chain(r.backup_plans.iter().map(|p| p.arn.clone()))
            })
            .collect()
    };
    let existing = picked_by_aws(live);
    let invented: BTreeSet<String> = picked_by_aws(&after)
        .into_iter()
        .filter(|arn| !existing.contains(arn))
        .collect();
    for finding in &mut planned.findings {
        if finding
            .arn
            .as_ref()
            .is_some_and(|arn| invented.contains(arn))
        {
            finding.arn = None;
        }
    }
    planned.destroy_paths = Some(crate::destroy::report(topology, Some(&after)));
    planned
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

/// Orders steps so each comes after its dependencies, keeping the original order where it is
/// free (a stable topological sort). Dependencies on steps that are not in the plan (because
/// nothing needs doing there) are dropped.
fn order_steps(steps: Vec<Step>) -> Vec<Step> {
    let ids: BTreeSet<String> = steps.iter().map(|s| s.id.clone()).collect();
    let mut pending: Vec<Step> = steps
        .into_iter()
        .map(|mut s| {
            s.depends_on.retain(|d| ids.contains(d) && *d != s.id);
            s.depends_on.sort();
            s.depends_on.dedup();
            s
        })
        .collect();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut ordered = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|s| s.depends_on.iter().all(|d| done.contains(d)));
        match ready {
            Some(idx) => {
                let step = pending.remove(idx);
                done.insert(step.id.clone());
                ordered.push(step);
            }
            None => {
                // A cycle cannot come out of the planner; keep the rest in order rather than lose it.
                ordered.append(&mut pending);
            }
        }
    }
    ordered
}
