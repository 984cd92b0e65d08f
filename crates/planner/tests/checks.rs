//! A failing and a passing fixture for every check of the catalog.
//!
//! Each row of the table names a check, a fixture that must make `evaluate` report it (for
//! the right subject, with a message that names the right resource) and a fixture without
//! the defect that must not. Fixtures are the seed topology with one edit and, for live
//! checks, AWS as it is after applying the seed (`converge`) with one out-of-band change, or
//! AWS as it will be after a plan (`plan` + `simulate::play`, as `plan_checked` does).
//!
//! Every row is its own test (`cargo test --test checks cb013`); `the_table_covers_every_check`
//! fails when a check of the catalog has no row.

mod common;

use std::collections::BTreeSet;

use coffer_planner::checks::{CATALOG, Finding, evaluate, find};
use coffer_planner::live::{
    LiveKey, LiveLock, LiveRegion, LiveRole, LiveSource, LiveVault, RoleStatus,
};
use coffer_planner::{LiveState, plan, plan_checked, simulate};
use coffer_spec::{Diagnostics, Topology};
use common::SEED;
use serde_json::{Value, json};

/// What `evaluate` is called with: the topology, the file's diagnostics, and the live state
/// (`None`: static checks only).
type Fixture = (Topology, Diagnostics, Option<LiveState>);

const MANAGEMENT: &str = "100200300400";
const SOURCE: &str = "111222333444";
const BACKUP: &str = "666777888999";
const REGION: &str = "eu-west-1";
const ORDERS: &str = "arn:aws:rds:eu-west-1:111222333444:db:orders";
const ORDERS_CLUSTER: &str = "arn:aws:rds:eu-west-1:111222333444:cluster:orders-maz";
const SOURCE_KEY: &str = "alias/coffer/source-rds";
const BACKUP_KEY: &str = "alias/coffer/backup-vault";
const AWS_RDS_KEY: &str =
    "arn:aws:kms:eu-west-1:111222333444:key/0aws0rds-0000-0000-0000-000000000000";
/// The seed's only copy edge.
const EDGE: &str = "backup_plan.orders-daily rule daily -> vault.central";
/// The subjects of source findings: the resource, on the copy edge.
const ORDERS_EDGE: &str = "arn:aws:rds:eu-west-1:111222333444:db:orders (backup_plan.orders-daily rule daily -> vault.central)";
const CLUSTER_EDGE: &str = "arn:aws:rds:eu-west-1:111222333444:cluster:orders-maz (backup_plan.orders-daily rule daily -> vault.central)";
const DYNAMODB: &str = "arn:aws:dynamodb:eu-west-1:111222333444:table/orders";

// ----- topologies -----

fn load(text: &str) -> (Topology, Diagnostics) {
    let loaded = coffer_spec::load_str(text);
    match loaded.topology {
        Some(topology) => (topology, loaded.diagnostics),
        None => panic!("topology does not load:\n{}", loaded.render("t.yaml")),
    }
}

/// `text` with `from` (which must occur exactly once) replaced by `to`.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "`{from}` must occur exactly once in the topology"
    );
    text.replacen(from, to, 1)
}

/// The seed with the central vault's `organization: true` dropped: the access policy keeps
/// the deletion guard but lets nobody copy in.
fn central_closed() -> String {
    edit(SEED, "      organization: true\n", "")
}

/// The seed with the rule's vault locked to at least 60 days (the rule keeps 35).
fn source_locked() -> String {
    edit(
        SEED,
        "      allow_copy_from: [backup]\n",
        "      allow_copy_from: [backup]\n    lock:\n      min_retention_days: 60\n",
    )
}

/// The seed with copies kept 500 days (the central lock allows at most 400).
fn copy_too_long() -> String {
    edit(
        SEED,
        "              delete_after_days: 90\n",
        "              delete_after_days: 500\n",
    )
}

fn disabled() -> String {
    edit(
        SEED,
        "cross_account_backup: enabled",
        "cross_account_backup: disabled",
    )
}

/// The seed backing up a (Multi-AZ) DB cluster instead of the orders instance.
fn cluster_seed() -> String {
    edit(SEED, ORDERS, ORDERS_CLUSTER)
}

// ----- fixtures -----

/// Static checks only.
fn file(text: &str) -> Fixture {
    let (topology, diagnostics) = load(text);
    (topology, diagnostics, None)
}

/// AWS after applying `text` to an empty state, then changed out of band by `change`.
fn live(text: &str, change: impl FnOnce(&mut LiveState)) -> Fixture {
    let (topology, diagnostics) = load(text);
    let mut state = common::converge(&topology, &LiveState::default());
    change(&mut state);
    (topology, diagnostics, Some(state))
}

fn seed_live(change: impl FnOnce(&mut LiveState)) -> Fixture {
    live(SEED, change)
}

/// AWS as it will be once `text`'s plan from `before` is applied (deletions left out, as
/// `plan_checked` does).
fn after_plan(text: &str, before: &LiveState) -> Fixture {
    let (topology, diagnostics) = load(text);
    let mut state = before.clone();
    simulate::play(&plan(&topology, &state), &mut state, false);
    (topology, diagnostics, Some(state))
}

/// AWS after applying the seed.
fn seed_converged() -> LiveState {
    common::seed_converged().1
}

// ----- live state accessors -----

fn region<'s>(state: &'s mut LiveState, account: &str) -> &'s mut LiveRegion {
    state.region_mut(account, REGION)
}

fn vault<'s>(state: &'s mut LiveState, account: &str, name: &str) -> &'s mut LiveVault {
    region(state, account)
        .vaults
        .iter_mut()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no vault {name} in {account}"))
}

/// The key an alias of the topology points to.
fn key<'s>(state: &'s mut LiveState, account: &str, alias: &str) -> &'s mut LiveKey {
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

fn key_arn(state: &mut LiveState, account: &str, alias: &str) -> String {
    key(state, account, alias).arn.clone()
}

fn statements(policy: &mut Option<Value>) -> &mut Vec<Value> {
    policy
        .as_mut()
        .and_then(|p| p.get_mut("Statement"))
        .and_then(Value::as_array_mut)
        .expect("a policy with a list of statements")
}

/// The statements of the central vault's access policy.
fn central_policy(state: &mut LiveState) -> &mut Vec<Value> {
    statements(&mut vault(state, BACKUP, "central").access_policy)
}

fn root(account: &str) -> String {
    format!("arn:aws:iam::{account}:root")
}

/// AWS after applying `text`, with the selected RDS resource `arn` (encrypted with the
/// source key unless `change` says otherwise) in the source region.
fn with_source(text: &str, arn: &str, kind: &str, change: impl FnOnce(&mut LiveSource)) -> Fixture {
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
fn orders(change: impl FnOnce(&mut LiveSource)) -> Fixture {
    with_source(SEED, ORDERS, "rds-instance", change)
}

fn lock(min: Option<i64>, max: Option<i64>) -> LiveLock {
    LiveLock {
        min_retention_days: min,
        max_retention_days: max,
        lock_date: None,
        immutable: false,
    }
}

/// A Deny of copies into the vault from outside organization `org`.
fn organization_guard(org: &str) -> Value {
    json!({
        "Sid": "OnlyCopiesFromTheOrganization",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "backup:CopyIntoBackupVault",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": org}},
    })
}

/// The seed's copy kept forever, into a central vault compliance-locked with no maximum.
fn forever_in_compliance_lock(days: Option<i64>) -> Fixture {
    seed_live(|state| {
        vault(state, BACKUP, "central").lock = Some(LiveLock {
            lock_date: Some("2030-01-01T00:00:00Z".into()),
            ..lock(Some(7), None)
        });
        let plan = &mut region(state, SOURCE).backup_plans[0];
        plan.rules[0].copy_actions[0].lifecycle.delete_after_days = days;
    })
}

// ----- the table -----

struct Row {
    /// The test's name.
    name: &'static str,
    id: &'static str,
    what: &'static str,
    fail: fn() -> Fixture,
    pass: fn() -> Fixture,
    /// The finding's subject: exact, or a prefix when it ends in `*`.
    subject: &'static str,
    /// What the finding's message must name.
    message: &'static [&'static str],
}

macro_rules! rows {
    ($(
        $name:ident: $id:literal, $what:literal,
        fail: $fail:expr,
        pass: $pass:expr,
        subject: $subject:expr,
        message: [$($message:expr),* $(,)?];
    )*) => {
        fn rows() -> Vec<Row> {
            vec![$(Row {
                name: stringify!($name),
                id: $id,
                what: $what,
                fail: $fail,
                pass: $pass,
                subject: $subject,
                message: &[$($message),*],
            }),*]
        }

        $(
            #[test]
            fn $name() {
                let row = rows()
                    .into_iter()
                    .find(|r| r.name == stringify!($name))
                    .expect("the row exists");
                check(&row);
            }
        )*
    };
}

fn subject_matches(pattern: &str, subject: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => subject.starts_with(prefix),
        None => subject == pattern,
    }
}

fn listing(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "  (no findings)".into();
    }
    findings
        .iter()
        .map(|f| format!("  {f}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn run(fixture: fn() -> Fixture) -> Vec<Finding> {
    let (topology, diagnostics, state) = fixture();
    evaluate(&topology, &diagnostics, state.as_ref())
}

/// The failing fixture reports `row.id` for the expected subject and resource; the passing
/// one does not report `row.id` at all.
fn check(row: &Row) {
    let catalog = find(row.id).unwrap_or_else(|| panic!("{} is not in the catalog", row.id));
    let failing = run(row.fail);
    let hits: Vec<&Finding> = failing.iter().filter(|f| f.check == row.id).collect();
    assert!(
        !hits.is_empty(),
        "{} ({}): the failing fixture reports no {} finding; it reports:\n{}",
        row.name,
        row.what,
        row.id,
        listing(&failing)
    );
    assert!(
        hits.iter().any(|f| subject_matches(row.subject, &f.subject)
            && row.message.iter().all(|m| f.message.contains(m))),
        "{} ({}): no {} finding is about `{}` with a message naming {:?}; it reports:\n{}",
        row.name,
        row.what,
        row.id,
        row.subject,
        row.message,
        listing(&failing)
    );
    for hit in hits {
        assert_eq!(hit.severity, catalog.severity, "{hit}");
        assert_eq!(hit.title, catalog.title, "{hit}");
        assert!(
            hit.anchor().is_some(),
            "{hit}: the subject points at nothing in the file (SARIF would put it on line 1)"
        );
    }
    let passing = run(row.pass);
    let hits: Vec<Finding> = passing
        .iter()
        .filter(|f| f.check == row.id)
        .cloned()
        .collect();
    assert!(
        hits.is_empty(),
        "{} ({}): the passing fixture reports {}:\n{}",
        row.name,
        row.what,
        row.id,
        listing(&hits)
    );
}

rows! {
    cb001_account_in_another_organization: "CB001", "the source account reads another organization",
        fail: || seed_live(|state| {
            let account = state.accounts.get_mut(SOURCE).expect("source account");
            account.organization_read = true;
            account.organization_id = Some("o-elsewhere01".into());
        }),
        pass: || seed_live(|state| {
            for account in state.accounts.values_mut() {
                account.organization_read = true;
                account.organization_id = Some("o-coffer0seed".into());
            }
        }),
        subject: "account.source",
        message: [SOURCE, "o-elsewhere01", "o-coffer0seed"];

    cb001_account_in_no_organization: "CB001", "the backup account reads no organization",
        fail: || seed_live(|state| {
            let account = state.accounts.get_mut(BACKUP).expect("backup account");
            account.organization_read = true;
            account.organization_id = None;
        }),
        pass: || seed_live(|state| {
            // Not read (access denied): nothing is known, nothing is reported.
            let account = state.accounts.get_mut(BACKUP).expect("backup account");
            account.organization_read = false;
            account.organization_id = None;
        }),
        subject: "account.backup",
        message: [BACKUP, "no organization"];

    cb002_static_disabled_in_file: "CB002", "the file switches cross-account backup off (static)",
        fail: || file(&disabled()),
        pass: || file(SEED),
        subject: "line *",
        message: ["`source`", "`backup`", "disabled"];

    cb002_live_off_in_management_account: "CB002", "cross-account backup switched off in the management account",
        fail: || seed_live(|state| region(state, MANAGEMENT).cross_account_backup = Some(false)),
        pass: || seed_live(|_| {}),
        subject: EDGE,
        message: [MANAGEMENT, REGION];

    cb002_live_after_plan_of_disabled_file: "CB002", "the plan of a file with `disabled` switches it off",
        fail: || after_plan(&disabled(), &seed_converged()),
        // Live mode evaluates the state, not the file's diagnostic: still on in AWS.
        pass: || {
            let (topology, diagnostics) = load(&disabled());
            (topology, diagnostics, Some(seed_converged()))
        },
        subject: EDGE,
        message: [MANAGEMENT];

    cb003_default_vault_destination: "CB003", "copies go to the backup account's default vault",
        fail: || file(&edit(SEED, "    name: central\n", "    name: Default\n")),
        pass: || file(SEED),
        subject: EDGE,
        message: ["`backup`"];

    cb004_destination_without_key: "CB004", "the central vault has no customer managed key",
        fail: || file(&edit(SEED, "    key: backup-vault\n", "")),
        pass: || file(SEED),
        subject: EDGE,
        message: ["`central`"];

    cb005_static_no_copy_allowed: "CB005", "the file's central vault lets nobody copy in (static)",
        fail: || file(&central_closed()),
        pass: || file(SEED),
        subject: "line *",
        message: ["`central`", "`source`", SOURCE];

    cb005_static_no_access_policy: "CB005", "the file's central vault has no access policy (static)",
        fail: || file(&edit(
            SEED,
            "    access_policy:\n      organization: true\n      # Nobody but the break-glass role may delete or shorten the copies, or delete the vault;\n      # only Coffer's role and the break-glass role may change this policy or the lock. The\n      # vault's key gets the key guard.\n      deny_recovery_point_deletion: true\n      break_glass_principals: [arn:aws:iam::666777888999:role/BreakGlass]\n",
            "",
        )),
        pass: || file(SEED),
        subject: "line *",
        message: ["`central`", "no access policy"];

    cb005_live_organization_statement_removed: "CB005", "the central vault's copy-in statement was removed",
        fail: || seed_live(|state| {
            central_policy(state).retain(|s| s["Sid"] != "CofferCopyFromOrganization");
        }),
        pass: || seed_live(|_| {}),
        subject: EDGE,
        message: ["`central`", SOURCE];

    cb005_live_organization_changed: "CB005", "the copy-in statement names another organization",
        fail: || seed_live(|state| {
            for statement in central_policy(state) {
                if statement["Sid"] == "CofferCopyFromOrganization" {
                    statement["Condition"] = json!({"StringEquals": {"aws:PrincipalOrgID": "o-elsewhere01"}});
                }
            }
        }),
        // The account named directly is allowed without any organization.
        pass: || seed_live(|state| {
            central_policy(state).retain(|s| s["Sid"] != "CofferCopyFromOrganization");
            central_policy(state).push(json!({
                "Effect": "Allow",
                "Principal": {"AWS": SOURCE},
                "Action": "backup:CopyIntoBackupVault",
                "Resource": "*",
            }));
        }),
        subject: EDGE,
        message: ["`central`", SOURCE];

    cb005_live_policy_deleted: "CB005", "the central vault's access policy was deleted",
        fail: || seed_live(|state| vault(state, BACKUP, "central").access_policy = None),
        pass: || seed_live(|_| {}),
        subject: EDGE,
        message: ["`central`", "no access policy", SOURCE];

    cb005_live_after_plan_of_closed_file: "CB005", "the plan of a file whose vault lets nobody copy in",
        fail: || after_plan(&central_closed(), &seed_converged()),
        // Live mode evaluates the state, not the file's diagnostic: the policy still allows.
        pass: || {
            let (topology, diagnostics) = load(&central_closed());
            (topology, diagnostics, Some(seed_converged()))
        },
        subject: EDGE,
        message: ["`central`", SOURCE];

    cb006_deny_copy_from_source: "CB006", "the central vault's policy denies the source account's copies",
        fail: || seed_live(|state| central_policy(state).push(json!({
            "Sid": "NoCopiesFromSource",
            "Effect": "Deny",
            "Principal": {"AWS": root(SOURCE)},
            "Action": "backup:CopyIntoBackupVault",
            "Resource": "*",
        }))),
        // The seed's deletion guard is a Deny for `*`, but not of copies.
        pass: || seed_live(|state| central_policy(state).push(json!({
            "Sid": "NoCopiesFromElsewhere",
            "Effect": "Deny",
            "Principal": {"AWS": root("123456789012")},
            "Action": "backup:CopyIntoBackupVault",
            "Resource": "*",
        }))),
        subject: EDGE,
        message: ["`central`", SOURCE];

    cb006_organization_guard: "CB006", "a guard denies copies from outside another organization",
        fail: || seed_live(|state| central_policy(state).push(organization_guard("o-elsewhere01"))),
        // The usual guard, denying copies from outside the source's own organization.
        pass: || seed_live(|state| central_policy(state).push(organization_guard("o-coffer0seed"))),
        subject: EDGE,
        message: ["`central`", SOURCE];

    cb007_open_principal_in_vault_policy: "CB007", "the organization condition of the central vault's policy was removed",
        fail: || seed_live(|state| {
            for statement in central_policy(state) {
                if statement["Sid"] == "CofferCopyFromOrganization"
                    && let Some(statement) = statement.as_object_mut()
                {
                    statement.remove("Condition");
                }
            }
        }),
        pass: || seed_live(|_| {}),
        subject: "vault_policy.central",
        message: ["`*`"];

    cb007_negated_organization_condition: "CB007", "the central vault allows `*` from outside the organization (`StringNotEquals`)",
        fail: || seed_live(|state| {
            for statement in central_policy(state) {
                if statement["Sid"] == "CofferCopyFromOrganization" {
                    statement["Condition"] =
                        json!({"StringNotEquals": {"aws:PrincipalOrgID": "o-coffer0seed"}});
                }
            }
        }),
        pass: || seed_live(|_| {}),
        subject: "vault_policy.central",
        message: ["`*`"];

    cb008_wildcard_action_in_vault_policy: "CB008", "the central vault's policy allows `backup:CopyInto*`",
        fail: || seed_live(|state| central_policy(state).push(json!({
            "Effect": "Allow",
            "Principal": {"AWS": root(SOURCE)},
            "Action": "backup:CopyInto*",
            "Resource": "*",
        }))),
        pass: || seed_live(|state| central_policy(state).push(json!({
            "Effect": "Allow",
            "Principal": {"AWS": root(SOURCE)},
            "Action": "backup:CopyIntoBackupVault",
            "Resource": "*",
        }))),
        subject: "vault_policy.central",
        message: ["wildcard"];

    cb009_source_may_delete_recovery_points: "CB009", "the central vault lets the source account delete recovery points",
        // Without the guard, whose Deny would win over the Allow.
        fail: || seed_live(|state| {
            let policy = central_policy(state);
            policy.retain(|s| s["Effect"] != "Deny");
            policy.push(json!({
                "Effect": "Allow",
                "Principal": {"AWS": root(SOURCE)},
                "Action": ["backup:DeleteRecoveryPoint"],
                "Resource": "*",
            }));
        }),
        // The vault's own account may.
        pass: || seed_live(|state| central_policy(state).push(json!({
            "Effect": "Allow",
            "Principal": {"AWS": root(BACKUP)},
            "Action": ["backup:DeleteRecoveryPoint"],
            "Resource": "*",
        }))),
        subject: "vault_policy.central",
        message: ["account source", "`backup:DeleteRecoveryPoint`"];

    cb010_orphan_in_vault_policy: "CB010", "the source vault's policy names a deleted role",
        fail: || seed_live(|state| {
            let source = vault(state, SOURCE, "orders-source");
            statements(&mut source.access_policy)[0]["Principal"] = json!({"AWS": ["AROAEXAMPLEDELETED01"]});
        }),
        pass: || seed_live(|state| {
            let source = vault(state, SOURCE, "orders-source");
            statements(&mut source.access_policy)[0]["Principal"] =
                json!({"AWS": [format!("arn:aws:iam::{BACKUP}:role/Restorer")]});
        }),
        subject: "vault_policy.source",
        message: ["AROAEXAMPLEDELETED01"];

    cb010_orphan_in_key_policy: "CB010", "the source key's policy names a deleted user",
        fail: || seed_live(|state| {
            let key = key(state, SOURCE, SOURCE_KEY);
            statements(&mut key.policy).push(json!({
                "Effect": "Allow",
                "Principal": {"AWS": "AIDAEXAMPLEDELETED02"},
                "Action": "kms:Decrypt",
                "Resource": "*",
            }));
        }),
        pass: || seed_live(|_| {}),
        subject: "key.source-rds",
        message: ["AIDAEXAMPLEDELETED02"];

    cb011_vault_key_disabled: "CB011", "the central vault's key was disabled",
        fail: || seed_live(|state| key(state, BACKUP, BACKUP_KEY).key_state = "Disabled".into()),
        pass: || seed_live(|_| {}),
        subject: "vault.central",
        message: ["key-0001", "Disabled"];

    cb011_source_key_disabled: "CB011", "the orders database's key was disabled",
        fail: || {
            let (topology, diagnostics, state) = orders(|_| {});
            let mut state = state.expect("live");
            key(&mut state, SOURCE, SOURCE_KEY).key_state = "Disabled".into();
            (topology, diagnostics, Some(state))
        },
        pass: || orders(|_| {}),
        subject: ORDERS_EDGE,
        message: ["Disabled"];

    cb012_key_pending_deletion: "CB012", "the source key is pending deletion",
        fail: || seed_live(|state| key(state, SOURCE, SOURCE_KEY).key_state = "PendingDeletion".into()),
        pass: || seed_live(|_| {}),
        subject: "key.source-rds",
        message: ["key-0001", "pending deletion"];

    cb013_static_copy_outside_lock: "CB013", "the file keeps copies 500 days in a vault locked to 400 (static)",
        fail: || file(&copy_too_long()),
        pass: || file(SEED),
        subject: "line *",
        message: ["`central`", "500"];

    cb013_live_lock_tightened: "CB013", "the central vault's lock was tightened to 60 days; copies are kept 90",
        fail: || seed_live(|state| vault(state, BACKUP, "central").lock = Some(lock(Some(7), Some(60)))),
        pass: || seed_live(|state| vault(state, BACKUP, "central").lock = Some(lock(Some(90), Some(90)))),
        subject: "backup_plan.orders-daily rule daily -> central",
        message: ["90 days", "`central`", "7-60"];

    cb013_live_after_plan_of_long_copy: "CB013", "the plan of a file keeping copies 500 days",
        fail: || after_plan(&copy_too_long(), &seed_converged()),
        // Live mode evaluates the state, not the file's diagnostic: AWS still keeps 90 days.
        pass: || {
            let (topology, diagnostics) = load(&copy_too_long());
            (topology, diagnostics, Some(seed_converged()))
        },
        subject: "backup_plan.orders-daily rule daily -> central",
        message: ["500 days", "400"];

    cb014_static_rule_outside_lock: "CB014", "the file locks the rule's vault to 60 days; the rule keeps 35 (static)",
        fail: || file(&source_locked()),
        pass: || file(SEED),
        subject: "line *",
        message: ["`daily`", "`source`"];

    cb014_live_lock_added: "CB014", "a lock of at least 60 days was put on the rule's vault; the rule keeps 35",
        fail: || seed_live(|state| vault(state, SOURCE, "orders-source").lock = Some(lock(Some(60), None))),
        pass: || seed_live(|state| vault(state, SOURCE, "orders-source").lock = Some(lock(Some(35), Some(35)))),
        subject: "backup_plan.orders-daily rule daily",
        message: ["35 days", "`orders-source`", "60-any"];

    cb014_live_after_plan_of_locked_file: "CB014", "the plan of a file locking the rule's vault to 60 days",
        fail: || after_plan(&source_locked(), &seed_converged()),
        pass: || {
            let (topology, diagnostics) = load(&source_locked());
            (topology, diagnostics, Some(seed_converged()))
        },
        subject: "backup_plan.orders-daily rule daily",
        message: ["35 days", "`orders-source`"];

    cb015_forever_in_compliance_lock: "CB015", "copies kept forever in a compliance-locked vault",
        fail: || forever_in_compliance_lock(None),
        pass: || forever_in_compliance_lock(Some(90)),
        subject: "backup_plan.orders-daily rule daily -> central",
        message: ["forever", "`central`"];

    cb016_static_rotation_off: "CB016", "the file turns the source key's rotation off (static)",
        fail: || file(&edit(SEED, "      enabled: true\n      period_days: 365\n", "      enabled: false\n")),
        pass: || file(SEED),
        subject: "key.source-rds",
        message: ["`source-rds`"];

    cb016_live_rotation_off: "CB016", "the backup key's rotation was turned off",
        fail: || seed_live(|state| key(state, BACKUP, BACKUP_KEY).rotation_enabled = false),
        pass: || seed_live(|_| {}),
        subject: "key.backup-vault",
        message: ["`backup-vault`"];

    cb017_backup_key_shared_back: "CB017", "the central vault's key is usable by the source account",
        fail: || file(&edit(
            SEED,
            "    deletion_window_days: 30\n",
            "    deletion_window_days: 30\n    usable_by: [source]\n",
        )),
        pass: || file(SEED),
        subject: "key.backup-vault",
        message: ["`backup-vault`", "`central`", "`source`"];

    cb018_open_key_policy: "CB018", "the source key's policy allows `*` to decrypt",
        fail: || seed_live(|state| statements(&mut key(state, SOURCE, SOURCE_KEY).policy).push(json!({
            "Effect": "Allow",
            "Principal": "*",
            "Action": "kms:Decrypt",
            "Resource": "*",
        }))),
        pass: || seed_live(|state| statements(&mut key(state, SOURCE, SOURCE_KEY).policy).push(json!({
            "Effect": "Allow",
            "Principal": "*",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-coffer0seed"}},
        }))),
        subject: "key.source-rds",
        message: ["`*`"];

    cb018_key_open_outside_organization: "CB018", "the source key's policy allows `*` from outside the organization",
        fail: || seed_live(|state| statements(&mut key(state, SOURCE, SOURCE_KEY).policy).push(json!({
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["kms:Decrypt", "kms:CreateGrant"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-coffer0seed"}},
        }))),
        pass: || seed_live(|state| statements(&mut key(state, SOURCE, SOURCE_KEY).policy).push(json!({
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["kms:Decrypt", "kms:CreateGrant"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-coffer0seed"}},
        }))),
        subject: "key.source-rds",
        message: ["`*`"];

    cb019_deny_put_key_policy: "CB019", "the backup key's policy denies `kms:PutKeyPolicy` to everyone",
        fail: || seed_live(|state| statements(&mut key(state, BACKUP, BACKUP_KEY).policy).push(json!({
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:PutKeyPolicy",
            "Resource": "*",
        }))),
        pass: || seed_live(|state| statements(&mut key(state, BACKUP, BACKUP_KEY).policy).push(json!({
            "Effect": "Deny",
            "Principal": {"AWS": root(SOURCE)},
            "Action": "kms:PutKeyPolicy",
            "Resource": "*",
        }))),
        subject: "key.backup-vault",
        message: ["kms:PutKeyPolicy"];

    cb019_no_root_statement: "CB019", "the source key's policy lost its account root statement",
        fail: || seed_live(|state| {
            statements(&mut key(state, SOURCE, SOURCE_KEY).policy)
                .retain(|s| s["Sid"] != "CofferAccountRoot");
        }),
        pass: || seed_live(|_| {}),
        subject: "key.source-rds",
        message: [SOURCE];

    cb020_source_missing: "CB020", "the selected orders database does not exist",
        fail: || orders(|source| {
            source.exists = false;
            source.encrypted = false;
            source.kms_key_arn = None;
        }),
        pass: || orders(|_| {}),
        subject: ORDERS_EDGE,
        message: ["does not exist"];

    cb021_source_unencrypted: "CB021", "the orders database is not encrypted",
        fail: || orders(|source| {
            source.encrypted = false;
            source.kms_key_arn = None;
        }),
        pass: || orders(|_| {}),
        subject: ORDERS_EDGE,
        message: ["not encrypted"];

    cb022_source_aws_managed_key: "CB022", "the orders database is encrypted with `aws/rds`",
        fail: || orders(|source| {
            source.kms_key_arn = Some(AWS_RDS_KEY.into());
            source.key = Some(LiveKey {
                key_id: "0aws0rds-0000-0000-0000-000000000000".into(),
                arn: AWS_RDS_KEY.into(),
                description: "Default key that protects my RDS database volumes when no other key is defined".into(),
                key_state: "Enabled".into(),
                key_manager: coffer_planner::live::KeyManager::Aws,
                rotation_enabled: true,
                ..LiveKey::default()
            });
        }),
        pass: || orders(|_| {}),
        subject: ORDERS_EDGE,
        message: [AWS_RDS_KEY, BACKUP];

    cb023_source_key_not_shared: "CB023", "the plan drops `usable_by: [backup]` from the orders database's key",
        fail: || {
            let (_, _, before) = orders(|_| {});
            after_plan(
                &edit(SEED, "    usable_by: [backup]\n", ""),
                &before.expect("live"),
            )
        },
        pass: || orders(|_| {}),
        subject: ORDERS_EDGE,
        message: ["arn:aws:kms:eu-west-1:111222333444:key/key-0001", BACKUP];

    cb023_source_key_unreadable: "CB023", "the orders database's key is not in the state",
        fail: || orders(|source| {
            source.kms_key_arn = Some("arn:aws:kms:eu-west-1:111222333444:key/unknown".into());
        }),
        pass: || orders(|_| {}),
        subject: ORDERS_EDGE,
        message: ["arn:aws:kms:eu-west-1:111222333444:key/unknown", "could not be read"];

    cb024_multi_az_cluster: "CB024", "the selected cluster is a Multi-AZ DB cluster",
        fail: || with_source(&cluster_seed(), ORDERS_CLUSTER, "rds-cluster", |source| {
            source.multi_az_cluster = true;
        }),
        pass: || with_source(&cluster_seed(), ORDERS_CLUSTER, "rds-cluster", |_| {}),
        subject: CLUSTER_EDGE,
        message: ["Multi-AZ"];

    cb025_unchecked_resources: "CB025", "the selection names a DynamoDB table and selects by tag",
        fail: || file(&edit(
            SEED,
            "        resources:\n",
            &format!("        tags:\n          backup: daily\n        resources:\n          - {DYNAMODB}\n"),
        )),
        pass: || file(SEED),
        subject: "selection.orders-daily.orders-db",
        message: ["`arn:aws:dynamodb:eu-west-1:111222333444:table/orders`", "resources selected by tags"];

    cb026_no_copy_back: "CB026", "the source vault does not let the backup account copy back",
        fail: || file(&edit(
            SEED,
            "    access_policy:\n      # Restores can be copied back from the backup account.\n      allow_copy_from: [backup]\n",
            "",
        )),
        pass: || file(SEED),
        subject: EDGE,
        message: ["`source`", "`backup`"];

    cb027_destination_vault_deleted: "CB027", "the central vault was deleted",
        fail: || seed_live(|state| region(state, BACKUP).vaults.retain(|v| v.name != "central")),
        pass: || seed_live(|_| {}),
        subject: EDGE,
        message: ["`central`", BACKUP];

    cb027_copy_action_to_missing_vault: "CB027", "the live plan copies into a vault that does not exist",
        fail: || seed_live(|state| {
            region(state, SOURCE).backup_plans[0].rules[0].copy_actions[0].destination_vault_arn =
                format!("arn:aws:backup:{REGION}:{BACKUP}:backup-vault:gone");
        }),
        pass: || seed_live(|_| {}),
        subject: "backup_plan.orders-daily rule daily -> arn:aws:backup:eu-west-1:666777888999:backup-vault:gone",
        message: ["does not exist"];

    cb028_rds_cross_region_and_account: "CB028", "the central vault moves to eu-central-1",
        fail: || file(&edit(
            &edit(
                SEED,
                "    alias: alias/coffer/backup-vault\n",
                "    alias: alias/coffer/backup-vault\n    region: eu-central-1\n",
            ),
            "    name: central\n",
            "    name: central\n    region: eu-central-1\n",
        )),
        pass: || file(SEED),
        subject: EDGE,
        message: ["eu-west-1 -> eu-central-1"];

    cb029_compliance_lock_immutable: "CB029", "the central vault's compliance lock is past its grace time",
        fail: || seed_live(|state| vault(state, BACKUP, "central").lock = Some(LiveLock {
            lock_date: Some("2024-01-01T00:00:00Z".into()),
            immutable: true,
            ..lock(Some(7), Some(400))
        })),
        pass: || seed_live(|state| vault(state, BACKUP, "central").lock = Some(LiveLock {
            lock_date: Some("2030-01-01T00:00:00Z".into()),
            immutable: false,
            ..lock(Some(7), Some(400))
        })),
        subject: "vault_lock.central",
        message: ["`central`", "2024-01-01T00:00:00Z"];

    cb030_no_organization: "CB030", "the file copies across accounts without `organization:`",
        fail: || file(&edit(
            &edit(
                SEED,
                "organization:\n  id: o-coffer0seed\n  management_account: management\n  cross_account_backup: enabled\n",
                "",
            ),
            "      organization: true\n",
            "      allow_copy_from: [source]\n",
        )),
        pass: || file(SEED),
        subject: "organization",
        message: ["no organization"];

    cb031_selection_role_missing: "CB031", "the selection's service-default role does not exist",
        fail: || seed_live(|state| source_role(state, RoleStatus::Missing, "it does not exist")),
        pass: || seed_live(|state| source_role(state, RoleStatus::TrustsBackup, "")),
        subject: "selection.orders-daily.orders-db",
        message: [SOURCE_SERVICE_ROLE, "`orders-db`", "`source` (111222333444)", "does not exist"];

    cb031_selection_role_not_trusted: "CB031", "the selection's role does not trust AWS Backup",
        fail: || seed_live(|state| source_role(
            state,
            RoleStatus::NotTrusted,
            "its trust policy does not allow backup.amazonaws.com sts:AssumeRole",
        )),
        pass: || seed_live(|_| {}),
        subject: "selection.orders-daily.orders-db",
        message: [SOURCE_SERVICE_ROLE, "AWS Backup cannot assume", "does not allow backup.amazonaws.com"];
}

/// The seed selection's role (`service-default` in the source account).
const SOURCE_SERVICE_ROLE: &str =
    "arn:aws:iam::111222333444:role/service-role/AWSBackupDefaultServiceRole";

/// The seed selection's role, as read from IAM: `status`, with `detail` (none when it trusts
/// AWS Backup) and a fix naming the role.
fn source_role(state: &mut LiveState, status: RoleStatus, detail: &str) {
    let role = LiveRole {
        status,
        detail: (!detail.is_empty()).then(|| detail.to_string()),
        fix: (status != RoleStatus::TrustsBackup).then(|| format!("create {SOURCE_SERVICE_ROLE}")),
    };
    state
        .accounts
        .entry(SOURCE.into())
        .or_default()
        .roles
        .insert(SOURCE_SERVICE_ROLE.into(), role);
}

#[test]
fn a_selection_role_finding_carries_the_role_s_fix_and_an_unreadable_role_none() {
    let (topology, diagnostics, state) =
        seed_live(|state| source_role(state, RoleStatus::Missing, "it does not exist"));
    let findings = evaluate(&topology, &diagnostics, state.as_ref());
    let found: Vec<&Finding> = findings.iter().filter(|f| f.check == "CB031").collect();
    assert_eq!(found.len(), 1, "{findings:#?}");
    assert_eq!(found[0].fix, format!("create {SOURCE_SERVICE_ROLE}"));
    assert_eq!(
        (found[0].account.as_deref(), found[0].aws_name.as_deref()),
        (Some(SOURCE), Some("orders-db"))
    );
    // Coffer's role may not read IAM: nothing is known, nothing is reported.
    let (topology, diagnostics, state) =
        seed_live(|state| source_role(state, RoleStatus::Unreadable, "iam:GetRole was refused"));
    let findings = evaluate(&topology, &diagnostics, state.as_ref());
    assert!(findings.iter().all(|f| f.check != "CB031"), "{findings:#?}");
}

#[test]
fn the_table_covers_every_check() {
    let catalog: Vec<&str> = CATALOG.iter().map(|c| c.id).collect();
    assert_eq!(catalog, coffer_spec::checks::ALL);
    let rows = rows();
    let covered: BTreeSet<&str> = rows.iter().map(|r| r.id).collect();
    let missing: Vec<&&str> = coffer_spec::checks::ALL
        .iter()
        .filter(|id| !covered.contains(**id))
        .collect();
    assert!(
        missing.is_empty(),
        "checks without a failing and a passing fixture: {missing:?}"
    );
    for row in &rows {
        assert!(
            coffer_spec::checks::ALL.contains(&row.id),
            "{}: {} is not a check",
            row.name,
            row.id
        );
    }
    let names: BTreeSet<&str> = rows.iter().map(|r| r.name).collect();
    assert_eq!(names.len(), rows.len(), "row names are unique");
    // The validator's checks fail both from the file alone and from the state.
    for id in ["CB002", "CB005", "CB013", "CB014"] {
        let modes: BTreeSet<bool> = rows
            .iter()
            .filter(|r| r.id == id)
            .map(|r| (r.fail)().2.is_some())
            .collect();
        assert_eq!(
            modes,
            BTreeSet::from([false, true]),
            "{id} needs a static and a live failing fixture"
        );
    }
}

#[test]
fn the_seed_reports_nothing_before_or_after_applying_it() {
    let (topology, diagnostics) = load(SEED);
    let static_findings = evaluate(&topology, &diagnostics, None);
    assert!(static_findings.is_empty(), "{}", listing(&static_findings));
    let live_findings = evaluate(&topology, &diagnostics, Some(&seed_converged()));
    assert!(live_findings.is_empty(), "{}", listing(&live_findings));
}

#[test]
fn plan_checked_reports_the_source_key_losing_the_destination() {
    let (_, _, before) = orders(|_| {});
    let before = before.expect("live");
    let (topology, diagnostics) = load(&edit(SEED, "    usable_by: [backup]\n", ""));
    let planned = plan_checked(&topology, &diagnostics, &before);
    assert!(
        planned
            .findings
            .iter()
            .any(|f| f.check == "CB023" && f.subject == ORDERS_EDGE && f.message.contains(BACKUP)),
        "{}",
        listing(&planned.findings)
    );
    // The seed as it is keeps the key shared: nothing to report.
    let (topology, diagnostics) = load(SEED);
    let planned = plan_checked(&topology, &diagnostics, &before);
    assert!(
        planned.findings.is_empty(),
        "{}",
        listing(&planned.findings)
    );
}

#[test]
fn live_mode_does_not_repeat_the_files_diagnostics() {
    // Static mode reports the validator's diagnostic by position; live mode evaluates the
    // state instead, so the same defect is reported once, for the copy edge.
    let (topology, diagnostics) = load(&disabled());
    let static_findings = evaluate(&topology, &diagnostics, None);
    let static_hits: Vec<&Finding> = static_findings
        .iter()
        .filter(|f| f.check == "CB002")
        .collect();
    assert_eq!(static_hits.len(), 1, "{}", listing(&static_findings));
    assert!(static_hits[0].subject.starts_with("line "));
    let planned = plan_checked(&topology, &diagnostics, &seed_converged());
    let live_hits: Vec<&Finding> = planned
        .findings
        .iter()
        .filter(|f| f.check == "CB002")
        .collect();
    assert_eq!(live_hits.len(), 1, "{}", listing(&planned.findings));
    assert_eq!(live_hits[0].subject, EDGE);
}

#[test]
fn findings_point_at_the_entry_they_are_about() {
    use coffer_planner::checks::Anchor;
    let anchor = |subject: &str| {
        let finding = Finding {
            check: "CB001".into(),
            severity: coffer_planner::checks::Severity::Blocker,
            title: String::new(),
            subject: subject.into(),
            aws_name: None,
            arn: None,
            account: None,
            region: None,
            message: String::new(),
            fix: String::new(),
        };
        finding.anchor().and_then(|a| match a {
            Anchor::Position { line, col } => Some(format!("{line}:{col}")),
            entry => entry.path(),
        })
    };
    let expected = [
        ("line 12 column 7", Some("12:7")),
        ("organization", Some("organization")),
        ("account.source", Some("accounts.source")),
        ("key.source-rds", Some("keys.source-rds")),
        ("vault.central", Some("vaults.central")),
        ("vault_policy.central", Some("vaults.central")),
        ("vault_lock.central", Some("vaults.central")),
        (EDGE, Some("backup_plans.orders-daily")),
        (
            "backup_plan.orders-daily rule daily -> arn:aws:backup:eu-west-1:666777888999:backup-vault:gone",
            Some("backup_plans.orders-daily"),
        ),
        (
            "selection.orders-daily.orders-db",
            Some("backup_plans.orders-daily"),
        ),
        (ORDERS_EDGE, Some("backup_plans.orders-daily")),
        (
            "arn:aws:rds:eu-west-1:111222333444:db:orders (backup_plan.orders-daily)",
            Some("backup_plans.orders-daily"),
        ),
        ("arn:aws:rds:eu-west-1:111222333444:db:orders", None),
        ("", None),
    ];
    for (subject, want) in expected {
        assert_eq!(anchor(subject).as_deref(), want, "subject `{subject}`");
    }
}
