//! Keys and key policies: enabled, not pending deletion, rotated, not shared back, not open,
//! manageable, no deleted principals, one key per key (CB010-CB012, CB016-CB019, CB032).

use serde_json::json;

use crate::fixtures::*;

rows! {
    cb010_orphan_in_key_policy: "CB010", "the source key's policy names a deleted user",
        fail: || seed_live(|state| key_policy(state, SOURCE, SOURCE_KEY).push(json!({
            "Effect": "Allow",
            "Principal": {"AWS": "AIDAEXAMPLEDELETED02"},
            "Action": "kms:Decrypt",
            "Resource": "*",
        }))),
        pass: || seed_live(|_| {}),
        subject: "key.source-rds",
        message: ["AIDAEXAMPLEDELETED02"];

    cb011_vault_key_disabled: "CB011", "the central vault's key was disabled",
        fail: || seed_live(|state| key(state, BACKUP, BACKUP_KEY).key_state = "Disabled".into()),
        pass: || seed_live(|_| {}),
        subject: "vault.central",
        message: ["key-0001", "Disabled"];

    cb011_source_key_disabled: "CB011", "the orders database's key was disabled",
        fail: || changed(orders(|_| {}), |state| {
            key(state, SOURCE, SOURCE_KEY).key_state = "Disabled".into();
        }),
        pass: || orders(|_| {}),
        subject: ORDERS_EDGE,
        message: ["Disabled"];

    cb012_key_pending_deletion: "CB012", "the source key is pending deletion",
        fail: || seed_live(|state| key(state, SOURCE, SOURCE_KEY).key_state = "PendingDeletion".into()),
        pass: || seed_live(|_| {}),
        subject: "key.source-rds",
        message: ["key-0001", "pending deletion"];

    cb032_duplicate_key: "CB032", "a second key carries the source key's ownership tags",
        fail: || seed_live(|state| duplicate_key(state, "Enabled")),
        pass: || seed_live(|state| duplicate_key(state, "PendingDeletion")),
        subject: "key.source-rds",
        message: ["key-duplicate", "`source-rds`", "--allow-delete"];

    cb016_static_rotation_off: "CB016", "the file turns the source key's rotation off (static)",
        fail: || seed_edited("      enabled: true\n      period_days: 365\n", "      enabled: false\n"),
        pass: || file(SEED),
        subject: "key.source-rds",
        message: ["`source-rds`"];

    cb016_live_rotation_off: "CB016", "the backup key's rotation was turned off",
        fail: || seed_live(|state| key(state, BACKUP, BACKUP_KEY).rotation_enabled = false),
        pass: || seed_live(|_| {}),
        subject: "key.backup-vault",
        message: ["`backup-vault`"];

    cb017_backup_key_shared_back: "CB017", "the central vault's key is usable by the source account",
        fail: || seed_edited(
            "    deletion_window_days: 30\n",
            "    deletion_window_days: 30\n    usable_by: [source]\n",
        ),
        pass: || file(SEED),
        subject: "key.backup-vault",
        message: ["`backup-vault`", "`central`", "`source`"];

    cb018_open_key_policy: "CB018", "the source key's policy allows `*` to decrypt",
        fail: || seed_live(|state| key_policy(state, SOURCE, SOURCE_KEY).push(json!({
            "Effect": "Allow",
            "Principal": "*",
            "Action": "kms:Decrypt",
            "Resource": "*",
        }))),
        pass: || seed_live(|state| key_policy(state, SOURCE, SOURCE_KEY).push(json!({
            "Effect": "Allow",
            "Principal": "*",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-coffer0seed"}},
        }))),
        subject: "key.source-rds",
        message: ["`*`"];

    cb018_key_open_outside_organization: "CB018", "the source key's policy allows `*` from outside the organization",
        fail: || seed_live(|state| key_policy(state, SOURCE, SOURCE_KEY).push(json!({
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["kms:Decrypt", "kms:CreateGrant"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-coffer0seed"}},
        }))),
        pass: || seed_live(|state| key_policy(state, SOURCE, SOURCE_KEY).push(json!({
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["kms:Decrypt", "kms:CreateGrant"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-coffer0seed"}},
        }))),
        subject: "key.source-rds",
        message: ["`*`"];

    cb019_deny_put_key_policy: "CB019", "the backup key's policy denies `kms:PutKeyPolicy` to everyone",
        fail: || seed_live(|state| key_policy(state, BACKUP, BACKUP_KEY).push(json!({
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:PutKeyPolicy",
            "Resource": "*",
        }))),
        pass: || seed_live(|state| key_policy(state, BACKUP, BACKUP_KEY).push(json!({
            "Effect": "Deny",
            "Principal": {"AWS": root(SOURCE)},
            "Action": "kms:PutKeyPolicy",
            "Resource": "*",
        }))),
        subject: "key.backup-vault",
        message: ["kms:PutKeyPolicy"];

    cb019_no_root_statement: "CB019", "the source key's policy lost its account root statement",
        fail: || seed_live(|state| {
            key_policy(state, SOURCE, SOURCE_KEY)
                .retain(|s| s["Sid"] != "CofferAccountRoot");
        }),
        pass: || seed_live(|_| {}),
        subject: "key.source-rds",
        message: [SOURCE];
}

#[test]
fn denying_one_role_of_the_account_the_policy_change_is_hardening_not_lockout() {
    let hardened = edit(
        SEED,
        "    usable_by: [backup]\n",
        "    usable_by: [backup]\n    statements:\n      - Sid: NoDevelopers\n        Effect: Deny\n        Principal: {AWS: \"arn:aws:iam::111222333444:role/Developers\"}\n        Action: kms:PutKeyPolicy\n        Resource: \"*\"\n",
    );
    let findings = crate::table::findings(file(&hardened));
    assert!(
        !findings.iter().any(|f| f.check == "CB019"),
        "{findings:#?}"
    );
    let locked = edit(
        &hardened,
        "arn:aws:iam::111222333444:role/Developers",
        "arn:aws:iam::111222333444:root",
    );
    let findings = crate::table::findings(file(&locked));
    assert!(findings.iter().any(|f| f.check == "CB019"), "{findings:#?}");
}

/// A copy of the source key, tags included, with another ID, in `key_state`.
fn duplicate_key(state: &mut coffer_planner::LiveState, key_state: &str) {
    let mut copy = key(state, SOURCE, SOURCE_KEY).clone();
    copy.key_id = "key-duplicate".into();
    copy.arn = format!("arn:aws:kms:{REGION}:{SOURCE}:key/key-duplicate");
    copy.key_state = key_state.into();
    region(state, SOURCE).keys.push(copy);
}
