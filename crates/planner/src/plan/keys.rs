//! Keys and their aliases. A key is found by Coffer's tags, else through the alias the file
//! gives it; it is created, or brought back to what the file says (state, description,
//! policy, rotation, tags); its alias is pointed at it. A key that left the file is scheduled
//! for deletion, with the aliases that point to it, unless something still uses it.

use serde::Serialize;
use serde_json::{Value, json};

use coffer_spec::{Key, KeyName};

use super::ownership::{Ownership, logical_id, owned_name, ownership};
use super::{LiveAt, Planner};
use crate::live::{KeyState, LiveKey, LiveRegion, LiveVault};
use crate::model::*;
use crate::policy;

/// What the planner knows about a key once it has looked at it.
#[derive(Clone)]
pub(super) struct KeyHandle<'a> {
    /// The key's ARN, now or after its creation step.
    pub arn: Ref,
    pub live: Option<&'a LiveKey>,
    /// Steps after which the key can be used: its creation, or cancelling its deletion and
    /// enabling it.
    pub ready: Vec<String>,
    pub blocked: bool,
}

/// The live key that stands for a key of the file.
#[derive(Default)]
struct Found<'a> {
    live: Option<&'a LiveKey>,
    /// Found through its alias, without Coffer's tags, and the file says `adopt: true`.
    adopting: bool,
    /// Why the key the alias points to cannot be used.
    problem: Option<String>,
}

/// A key as Coffer compares it (a change's `before` and `after`).
#[derive(Serialize)]
struct ComparedKey<'a> {
    alias: &'a str,
    description: &'a str,
    state: &'a KeyState,
    rotation: Rotation,
    policy: Value,
    tags: &'a Tags,
}

#[derive(Serialize)]
struct Rotation {
    enabled: bool,
    period_days: Option<u32>,
}

/// An alias as Coffer compares it: the key it points to, by address when it is the file's.
#[derive(Serialize)]
struct ComparedAlias<'a> {
    name: &'a str,
    target: String,
}

/// A key that left the file, as its deletion's `before` shows it.
#[derive(Serialize)]
struct DepartedKey<'a> {
    key_id: &'a str,
    state: &'a KeyState,
    tags: &'a Tags,
}

impl<'a> Planner<'a> {
    pub(super) fn key(&mut self, key: &Key) {
        let account_id = self.account_id(&key.account);
        let region = self.live.region(&account_id, &key.region);
        let logical_id = logical_id(ResourceKind::Key, key.name.as_str());
        let address = ResourceKind::Key.at(key.name.to_string());
        let alias_target = region
            .and_then(|r| r.aliases.iter().find(|a| a.name == key.alias))
            .and_then(|a| a.target_key_id.clone());
        let found = self.find_key(key, region, &logical_id, alias_target.as_ref());

        let guard = self.key_guards.get(&key.name).map(Vec::as_slice);
        let desired_policy = policy::key_policy_guarded(self.topology, key, guard);
        let desired_tags = self.desired_tags(&key.tags, &logical_id);
        let after = json!(ComparedKey {
            alias: &key.alias,
            description: &key.description,
            state: &KeyState::Enabled,
            rotation: Rotation {
                enabled: key.rotation_period_days.is_some(),
                period_days: key.rotation_period_days,
            },
            policy: policy::canonical(&desired_policy),
            tags: &desired_tags,
        });
        let before = found.live.as_ref().map(|live| {
            json!(ComparedKey {
                alias: &key.alias,
                description: &live.description,
                state: &live.key_state,
                rotation: Rotation {
                    enabled: live.rotation_enabled,
                    period_days: live.rotation_period_days.filter(|_| live.rotation_enabled),
                },
                policy: policy::canonical(live.policy.as_ref().unwrap_or(&json!({}))),
                tags: &live.tags,
            })
        });
        let mut change = self.key_change(address.clone(), key, before, after);
        // Its ARN only once it exists.
        change.arn = found.live.as_ref().map(|k| k.arn.clone());
        if found.adopting {
            change.reasons.push(format!(
                "adopting key {} (`adopt: true`): Coffer adds its ownership tags",
                found.live.as_ref().map_or("", |k| k.key_id.as_str())
            ));
        }
        if let Some(live) = &found.live {
            self.matched.insert(live.arn.clone());
            Self::note_orphans(
                &mut change,
                live.policy.as_ref(),
                "key",
                "; the update writes the policy again",
            );
        }
        if let Some(problem) = found.problem {
            Self::conflict(&mut change, problem);
        }

        let mut handle = KeyHandle {
            arn: found.live.as_ref().map_or_else(
                || Ref::output(&format!("{address}:create"), outputs::ARN),
                |k| Ref::Value(k.arn.clone()),
            ),
            live: found.live,
            ready: Vec::new(),
            blocked: change.has(Flag::Blocked),
        };
        if !handle.blocked {
            handle.ready = match &found.live {
                None => self.create_key(key, &change, &handle.arn, desired_policy, desired_tags),
                Some(live) => self.update_key(
                    key,
                    live,
                    &change,
                    &handle.arn,
                    desired_policy,
                    &desired_tags,
                ),
            };
        }
        self.changes.push(change);
        self.keys.insert(key.name.clone(), handle.clone());
        self.alias(key, &handle, alias_target);
    }

    /// The change of a key or its alias: both are known by the alias.
    fn key_change(
        &self,
        address: Address,
        key: &Key,
        before: Option<Value>,
        after: Value,
    ) -> Change {
        let mut change = self.change(address, &key.account, &key.region, before, Some(after));
        change.aws_name = Some(key.alias.clone());
        change
    }

    /// The live key of `key`: one carrying Coffer's tags for it (the alias may never have been
    /// created; of duplicates, the alias's target, else the oldest), else the key the alias
    /// points to.
    fn find_key(
        &self,
        key: &Key,
        region: Option<&'a LiveRegion>,
        logical_id: &str,
        alias_target: Option<&String>,
    ) -> Found<'a> {
        let topology = &self.topology.name;
        let mut ours: Vec<&LiveKey> = region
            .map(|r| {
                r.keys
                    .iter()
                    .filter(|k| ownership(&k.tags, topology, logical_id) == Ownership::Ours)
                    .collect()
            })
            .unwrap_or_default();
        ours.sort_by(|a, b| {
            let a_target = Some(&a.key_id) == alias_target;
            let b_target = Some(&b.key_id) == alias_target;
            b_target
                .cmp(&a_target)
                .then_with(|| a.creation_date.cmp(&b.creation_date))
                .then_with(|| a.key_id.cmp(&b.key_id))
        });
        if let Some(first) = ours.first() {
            return Found {
                live: Some(*first),
                ..Found::default()
            };
        }
        let Some(target) = alias_target else {
            return Found::default();
        };
        let Some(found) = region.and_then(|r| r.keys.iter().find(|k| &k.key_id == target)) else {
            return Found {
                problem: Some(format!(
                    "alias `{}` already exists and points to key {target}, which Coffer cannot read; choose another alias or delete the alias",
                    key.alias
                )),
                ..Found::default()
            };
        };
        match ownership(&found.tags, topology, logical_id) {
            Ownership::Ours => Found {
                live: Some(found),
                ..Found::default()
            },
            Ownership::Unowned if key.adopt => Found {
                live: Some(found),
                adopting: true,
                problem: None,
            },
            Ownership::Unowned => Found {
                problem: Some(format!(
                    "alias `{}` already points to key {} in account {}, which Coffer does not own; set `adopt: true` on `keys.{}` to take that key over, or choose another alias",
                    key.alias,
                    found.key_id,
                    self.account_id(&key.account),
                    key.name
                )),
                ..Found::default()
            },
            Ownership::Foreign(tags) => Found {
                problem: Some(format!(
                    "alias `{}` points to key {}, which belongs to something else ({tags}); choose another alias",
                    key.alias, found.key_id
                )),
                ..Found::default()
            },
        }
    }

    /// Creates the key (and turns its rotation on); returns the steps after which it is ready.
    fn create_key(
        &mut self,
        key: &Key,
        change: &Change,
        key_ref: &Ref,
        policy: Value,
        tags: Tags,
    ) -> Vec<String> {
        let address = &change.address;
        let create = self.add_step(
            format!("{address}:create"),
            change,
            Operation::CreateKey {
                description: key.description.clone(),
                policy,
                tags,
            },
            vec![],
        );
        if let Some(period) = key.rotation_period_days {
            self.add_step(
                format!("{address}:rotation"),
                change,
                Operation::EnableKeyRotation {
                    key: key_ref.clone(),
                    period_days: period,
                },
                vec![create.clone()],
            );
        }
        vec![create]
    }

    /// Brings a live key back to what the file says; returns the steps after which it is
    /// usable (cancelling its deletion, enabling it).
    fn update_key(
        &mut self,
        key: &Key,
        live: &LiveKey,
        change: &Change,
        key_ref: &Ref,
        desired_policy: Value,
        desired_tags: &Tags,
    ) -> Vec<String> {
        let address = change.address.clone();
        // A key pending deletion is disabled: cancelling the deletion leaves it so.
        let enable_after = match live.key_state {
            KeyState::PendingDeletion => Some(vec![self.add_step(
                format!("{address}:cancel-deletion"),
                change,
                Operation::CancelKeyDeletion {
                    key: key_ref.clone(),
                },
                vec![],
            )]),
            KeyState::Disabled => Some(vec![]),
            _ => None,
        };
        let mut first: Vec<String> = Vec::new();
        if let Some(depends_on) = enable_after {
            first.push(self.add_step(
                format!("{address}:enable"),
                change,
                Operation::EnableKey {
                    key: key_ref.clone(),
                },
                depends_on,
            ));
        }
        let mut updates = Vec::new();
        if change.field_changed("description") {
            updates.push((
                "description",
                Operation::UpdateKeyDescription {
                    key: key_ref.clone(),
                    description: key.description.clone(),
                },
            ));
        }
        if change.field_changed("policy") {
            updates.push((
                "policy",
                Operation::PutKeyPolicy {
                    key: key_ref.clone(),
                    policy: desired_policy,
                },
            ));
        }
        if change.field_changed("rotation") {
            let operation = match key.rotation_period_days {
                Some(period) => Operation::EnableKeyRotation {
                    key: key_ref.clone(),
                    period_days: period,
                },
                None => Operation::DisableKeyRotation {
                    key: key_ref.clone(),
                },
            };
            updates.push(("rotation", operation));
        }
        for (what, operation) in updates {
            self.add_step(
                format!("{address}:{what}"),
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

    fn alias(&mut self, key: &Key, handle: &KeyHandle<'a>, live_target: Option<String>) {
        let address = ResourceKind::Alias.at(key.name.to_string());
        let key_address = ResourceKind::Key.at(key.name.to_string());
        let after = json!(ComparedAlias {
            name: &key.alias,
            target: key_address.to_string(),
        });
        let before = live_target.as_ref().map(|target| {
            let shown = match &handle.live {
                Some(live) if &live.key_id == target => key_address.to_string(),
                _ => target.clone(),
            };
            json!(ComparedAlias {
                name: &key.alias,
                target: shown,
            })
        });
        let mut change = self.key_change(address.clone(), key, before, after);
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
            let alias_name = key.alias.clone();
            let (verb, operation) = if live_target.is_some() {
                (
                    "update",
                    Operation::UpdateAlias {
                        alias_name,
                        key: key_id,
                    },
                )
            } else {
                (
                    "create",
                    Operation::CreateAlias {
                        alias_name,
                        key: key_id,
                    },
                )
            };
            self.add_step(
                format!("{address}:{verb}"),
                &change,
                operation,
                handle.ready.clone(),
            );
        }
        self.changes.push(change);
    }

    /// Keys this topology owns that left the file (or duplicates of a key it has): their
    /// deletion is scheduled, after their aliases are deleted and the vaults they encrypt,
    /// unless something still uses them. Keys already pending deletion are left alone.
    pub(super) fn departed_keys(&mut self, regions: &[LiveAt<'a>]) {
        let all_vaults: Vec<&'a LiveVault> =
            regions.iter().flat_map(|at| &at.state.vaults).collect();
        for at in regions {
            let departed = self.left_the_file(&at.state.keys);
            for key in departed
                .into_iter()
                .filter(|k| k.key_state != KeyState::PendingDeletion)
            {
                self.departed_key(regions, &all_vaults, at, key);
            }
        }
    }

    fn departed_key(
        &mut self,
        regions: &[LiveAt<'a>],
        all_vaults: &[&'a LiveVault],
        at: &LiveAt<'a>,
        key: &'a LiveKey,
    ) {
        let logical = owned_name(&key.tags, ResourceKind::Key, &key.key_id);
        // A duplicate of a key the file names keeps that key's waiting period; else the longest.
        let in_file = self.topology.keys.get(&KeyName(logical.clone()));
        let window = in_file.map_or(30, |k| k.deletion_window_days);
        let address = match in_file {
            Some(_) => ResourceKind::Key.at(format!("{logical}#{}", key.key_id)),
            None => ResourceKind::Key.at(logical.clone()),
        };
        let aliases: Vec<&str> = at
            .state
            .aliases
            .iter()
            .filter(|a| a.target_key_id.as_deref() == Some(key.key_id.as_str()))
            .map(|a| a.name.as_str())
            .collect();
        // Known by an alias that points to it, else by its ID.
        let known_as = aliases.first().copied().unwrap_or(key.key_id.as_str());
        let mut change = self.deletion(
            address.clone(),
            at,
            (known_as, &key.arn),
            json!(DepartedKey {
                key_id: &key.key_id,
                state: &key.key_state,
                tags: &key.tags,
            }),
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
        Self::block_when_in_use(&mut change, regions, all_vaults, key);
        if !change.has(Flag::Blocked) {
            for alias in aliases {
                depends_on.push(self.add_step(
                    format!("{address}:delete-alias.{alias}"),
                    &change,
                    Operation::DeleteAlias {
                        alias_name: alias.to_string(),
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

    /// Blocks a key's deletion while it encrypts recovery points or a resource a backup plan
    /// selects.
    fn block_when_in_use(
        change: &mut Change,
        regions: &[LiveAt<'a>],
        all_vaults: &[&'a LiveVault],
        key: &LiveKey,
    ) {
        for vault in all_vaults
            .iter()
            .filter(|v| v.recovery_point_keys.iter().any(|k| k == &key.arn))
        {
            Self::block(
                change,
                format!(
                    "key {} encrypts recovery points in vault `{}`; Coffer never deletes a key in use",
                    key.key_id, vault.name
                ),
            );
        }
        for source in regions.iter().flat_map(|at| &at.state.sources).filter(|s| {
            s.exists
                && s.kms_key_arn
                    .as_deref()
                    .is_some_and(|k| k == key.arn || k.ends_with(&format!("/{}", key.key_id)))
        }) {
            Self::block(
                change,
                format!(
                    "key {} encrypts `{}`; Coffer never deletes a key in use",
                    key.key_id, source.arn
                ),
            );
        }
    }
}
