//! Rows that break the copies of backup rules across accounts and regions.

use super::Edit::Replace;
use super::Row;

pub const ROWS: &[Row] = &[
    Row {
        code: "E136",
        rule: "copy retention under the destination lock's minimum",
        edits: &[Replace(
            "allow_copy_from: [source]",
            "allow_copy_from: [source]
    lock: {min_retention_days: 100}",
        )],
        expected: &[("E136", 42, 24)],
    },
    Row {
        code: "E137",
        rule: "cross-account copy the destination policy does not allow",
        edits: &[Replace(
            "allow_copy_from: [source]",
            "allow_copy_from: [management]",
        )],
        expected: &[("E137", 40, 20)],
    },
    Row {
        code: "E137",
        rule: "cross-account copy into a vault without access policy",
        edits: &[Replace(
            "    access_policy:\n      allow_copy_from: [source]\n",
            "",
        )],
        expected: &[("E137", 38, 20)],
    },
    Row {
        code: "E140",
        rule: "cross-account copy while cross-account backup is disabled",
        edits: &[Replace(
            "cross_account_backup: enabled",
            "cross_account_backup: disabled",
        )],
        expected: &[("E140", 40, 20)],
    },
    Row {
        code: "W101",
        rule: "copy to a vault in the same account and region",
        edits: &[
            Replace(
                "key: source-key",
                "key: source-key
  local:
    account: source
    name: local",
            ),
            Replace("- vault: central", "- vault: local"),
        ],
        expected: &[("W101", 43, 20)],
    },
    Row {
        code: "W102",
        rule: "backup-account key usable by the source account",
        edits: &[Replace(
            "alias: alias/coffer/backup",
            "alias: alias/coffer/backup
    usable_by: [source]",
        )],
        expected: &[("W102", 41, 20)],
    },
    Row {
        code: "W103",
        rule: "cross-account copy with unmanaged cross-account backup",
        edits: &[Replace(
            "cross_account_backup: enabled",
            "cross_account_backup: unmanaged",
        )],
        expected: &[("W103", 40, 20)],
    },
    Row {
        code: "W104",
        rule: "cross-account copy into a vault with AWS Backup's default key",
        edits: &[Replace("    key: backup-vault\n", "")],
        expected: &[("W104", 39, 20)],
    },
    Row {
        code: "W105",
        rule: "recovery points kept forever in a compliance-locked vault",
        edits: &[
            Replace(
                "allow_copy_from: [source]",
                "allow_copy_from: [source]
    lock: {changeable_for_days: 3}",
            ),
            Replace(
                "lifecycle: {delete_after_days: 90}",
                "lifecycle: {delete_after_days: -1}",
            ),
        ],
        expected: &[("W105", 42, 24)],
    },
];
