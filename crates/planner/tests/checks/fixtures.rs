//! The fixtures of the checks' tests: the seed topology with one edit, and AWS as it is after
//! applying it with one out-of-band change, or as it will be after a plan.

use coffer_planner::live::{LiveKey, LiveLock, LiveRegion, LiveSource, LiveVault};
use coffer_planner::{LiveState, plan, simulate};
use coffer_spec::{Diagnostics, Topology};
use serde_json::{Value, json};

pub use crate::common::SEED;

/// What `evaluate` is called with: the topology, the file's diagnostics, and the live state
/// (`None`: static checks only).
pub type Fixture = (Topology, Diagnostics, Option<LiveState>);

pub const MANAGEMENT: &str = "100200300400";
pub const SOURCE: &str = "111222333444";
pub const BACKUP: &str = "666777888999";
pub const REGION: &str = "eu-west-1";
pub const ORDERS: &str = "arn:aws:rds:eu-west-1:111222333444:db:orders";
pub const ORDERS_CLUSTER: &str = "arn:aws:rds:eu-west-1:111222333444:cluster:orders-maz";
pub const SOURCE_KEY: &str = "alias/coffer/source-rds";
pub const BACKUP_KEY: &str = "alias/coffer/backup-vault";
pub const AWS_RDS_KEY: &str =
    "arn:aws:kms:eu-west-1:111222333444:key/0aws0rds-0000-0000-0000-000000000000";
/// The seed's only copy edge.
pub const EDGE: &str = "backup_plan.orders-daily rule daily -> vault.central";
/// The subjects of source findings: the resource, on the copy edge.
pub const ORDERS_EDGE: &str = "arn:aws:rds:eu-west-1:111222333444:db:orders (backup_plan.orders-daily rule daily -> vault.central)";
pub const CLUSTER_EDGE: &str = "arn:aws:rds:eu-west-1:111222333444:cluster:orders-maz (backup_plan.orders-daily rule daily -> vault.central)";
pub const DYNAMODB: &str = "arn:aws:dynamodb:eu-west-1:111222333444:table/orders";

// ----- topologies -----

pub fn load(text: &str) -> (Topology, Diagnostics) {
    let loaded = coffer_spec::load_str(text);
    match loaded.topology {
        Some(topology) => (topology, loaded.diagnostics),
        None => panic!("topology does not load:\n{}", loaded.render("t.yaml")),
    }
}

/// `text` with `from` (which must occur exactly once) replaced by `to`.
pub fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "`{from}` must occur exactly once in the topology"
    );
    text.replacen(from, to, 1)
}

/// The seed with the central vault's `organization: true` dropped: the access policy keeps
/// the deletion guard but lets nobody copy in.
pub fn central_closed() -> String {
    edit(SEED, "      organization: true\n", "")
}

/// The seed with the rule's vault locked to at least 60 days (the rule keeps 35).
pub fn source_locked() -> String {
    edit(
        SEED,
        "      allow_copy_from: [backup]\n",
        "      allow_copy_from: [backup]\n    lock:\n      min_retention_days: 60\n",
    )
}

/// The seed with copies kept 500 days (the central lock allows at most 400).
pub fn copy_too_long() -> String {
    edit(
        SEED,
        "              delete_after_days: 90\n",
        "              delete_after_days: 500\n",
    )
}

pub fn disabled() -> String {
    edit(
        SEED,
        "cross_account_backup: enabled",
        "cross_account_backup: disabled",
    )
}

/// The seed backing up a (Multi-AZ) DB cluster instead of the orders instance.
pub fn cluster_seed() -> String {
    edit(SEED, ORDERS, ORDERS_CLUSTER)
}

// ----- fixtures -----

/// Static checks only.
pub fn file(text: &str) -> Fixture {
    let (topology, diagnostics) = load(text);
    (topology, diagnostics, None)
}

/// The seed with one edit (`from`, which must occur exactly once, replaced by `to`): static
/// checks only.
pub fn seed_edited(from: &str, to: &str) -> Fixture {
    file(&edit(SEED, from, to))
}

/// AWS after applying `text` to an empty state, then changed out of band by `change`.
pub fn live(text: &str, change: impl FnOnce(&mut LiveState)) -> Fixture {
    let (topology, diagnostics) = load(text);
    let mut state = crate::common::converge(&topology, &LiveState::default());
    change(&mut state);
    (topology, diagnostics, Some(state))
}

pub fn seed_live(change: impl FnOnce(&mut LiveState)) -> Fixture {
    live(SEED, change)
}

/// `fixture` with its live state changed by `change`.
pub fn changed(fixture: Fixture, change: impl FnOnce(&mut LiveState)) -> Fixture {
    let (topology, diagnostics, state) = fixture;
    let mut state = state.expect("live");
    change(&mut state);
    (topology, diagnostics, Some(state))
}

/// AWS as it will be once `text`'s plan from `before` is applied (deletions left out, as
/// `plan_checked` does).
pub fn after_plan(text: &str, before: &LiveState) -> Fixture {
    let (topology, diagnostics) = load(text);
    let mut state = before.clone();
    simulate::play(&plan(&topology, &state), &mut state, false);
    (topology, diagnostics, Some(state))
}

/// The file `text` against AWS as the seed left it: live mode evaluates the state, not the
/// file's diagnostics.
pub fn seed_state(text: &str) -> Fixture {
    let (topology, diagnostics) = load(text);
    (topology, diagnostics, Some(seed_converged()))
}

/// AWS after applying the seed.
pub fn seed_converged() -> LiveState {
    crate::common::seed_converged().1
}

// ----- live state accessors -----

pub fn region<'s>(state: &'s mut LiveState, account: &str) -> &'s mut LiveRegion {
    state.region_mut(account, REGION)
}

pub fn vault<'s>(state: &'s mut LiveState, account: &str, name: &str) -> &'s mut LiveVault {
    region(state, account)
        .vaults
        .iter_mut()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no vault {name} in {account}"))
}

/// The key an alias of the topology points to.
pub fn key<'s>(state: &'s mut LiveState, account: &str, alias: &str) -> &'s mut LiveKey {
    let region = region(state, account);
    let target = region
        .aliases
        .iter()
        .find(|a| a.name == alias)
        .and_then(|a| a.target_key_id.clone())
        .unwrap_or_else(|| panic!("no alias {alias} in {account}"));
    region
        .keys
        .iter_mut()
        .find(|k| k.key_id == target || k.arn == target)
        .unwrap_or_else(|| panic!("alias {alias} points to no key"))
}

pub fn key_arn(state: &mut LiveState, account: &str, alias: &str) -> String {
    key(state, account, alias).arn.clone()
}

pub fn statements(policy: &mut Option<Value>) -> &mut Vec<Value> {
    policy
        .as_mut()
        .and_then(|p| p.get_mut("Statement"))
        .and_then(Value::as_array_mut)
        .expect("a policy with a list of statements")
}

/// The statements of the central vault's access policy.
pub fn central_policy(state: &mut LiveState) -> &mut Vec<Value> {
    statements(&mut vault(state, BACKUP, "central").access_policy)
}

/// The statements of the policy of the key an alias of the topology points to.
pub fn key_policy<'s>(state: &'s mut LiveState, account: &str, alias: &str) -> &'s mut Vec<Value> {
    statements(&mut key(state, account, alias).policy)
}

pub fn root(account: &str) -> String {
    format!("arn:aws:iam::{account}:root")
}

/// AWS after applying `text`, with the selected RDS resource `arn` (encrypted with the
/// source key unless `change` says otherwise) in the source region.
pub fn with_source(
    text: &str,
    arn: &str,
    kind: &str,
    change: impl FnOnce(&mut LiveSource),
) -> Fixture {
    live(text, |state| {
        let mut source = LiveSource {
            arn: arn.to_string(),
            kind: kind.to_string(),
            exists: true,
            encrypted: true,
            kms_key_arn: Some(key_arn(state, SOURCE, SOURCE_KEY)),
            multi_az_cluster: false,
            key: None,
        };
        change(&mut source);
        region(state, SOURCE).sources.push(source);
    })
}

/// The orders database, encrypted with the source key.
pub fn orders(change: impl FnOnce(&mut LiveSource)) -> Fixture {
    with_source(SEED, ORDERS, "rds-instance", change)
}

/// AWS after applying the seed, with the orders database encrypted with the source key.
pub fn orders_state() -> LiveState {
    orders(|_| {}).2.expect("live")
}

pub fn lock(min: Option<i64>, max: Option<i64>) -> LiveLock {
    LiveLock {
        min_retention_days: min,
        max_retention_days: max,
        lock_date: None,
        immutable: false,
    }
}

/// A Deny of copies into the vault from outside organization `org`.
pub fn organization_guard(org: &str) -> Value {
    json!({
        "Sid": "OnlyCopiesFromTheOrganization",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "backup:CopyIntoBackupVault",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": org}},
    })
}
