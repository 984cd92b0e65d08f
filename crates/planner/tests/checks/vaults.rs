//! Vault policies and locks: who may copy in or destroy, deleted principals, and retention
//! within the lock (CB007-CB010, CB013-CB015, CB029).

use coffer_planner::live::LiveLock;
use serde_json::json;

use crate::fixtures::*;

rows! {
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
        pass: || seed_state(&copy_too_long()),
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
        pass: || seed_state(&source_locked()),
        subject: "backup_plan.orders-daily rule daily",
        message: ["35 days", "`orders-source`"];

    cb015_forever_in_compliance_lock: "CB015", "copies kept forever in a compliance-locked vault",
        fail: || forever_in_compliance_lock(None),
        pass: || forever_in_compliance_lock(Some(90)),
        subject: "backup_plan.orders-daily rule daily -> central",
        message: ["forever", "`central`"];

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
