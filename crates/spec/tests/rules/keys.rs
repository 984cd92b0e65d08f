//! Rows that break keys.

use super::Edit::Replace;
use super::Row;

pub const ROWS: &[Row] = &[
    Row {
        code: "E003",
        rule: "a tag key with the reserved `coffer:` prefix",
        edits: &[Replace(
            "usable_by: [backup]",
            r#"usable_by: [backup]
    tags: {"coffer:owner": platform}"#,
        )],
        expected: &[("E003", 18, 11)],
    },
    Row {
        code: "E102",
        rule: "two keys with the same alias in one account and region",
        edits: &[Replace(
            "alias: alias/coffer/backup",
            "alias: alias/coffer/backup
  backup-x:
    account: backup
    alias: alias/coffer/backup",
        )],
        expected: &[("E102", 23, 12)],
    },
    Row {
        code: "E107",
        rule: "invalid key admin principal",
        edits: &[Replace(
            "usable_by: [backup]",
            r#"usable_by: [backup]
    admins: ["arn:aws:iam::1111:role/Admin"]"#,
        )],
        expected: &[("E107", 18, 14)],
    },
    Row {
        code: "E107",
        rule: "a key's break-glass principal with a wildcard",
        edits: &[Replace(
            "alias: alias/coffer/backup",
            r#"alias: alias/coffer/backup
    break_glass_principals: ["arn:aws:iam::222222222222:role/*"]"#,
        )],
        expected: &[("E107", 21, 30)],
    },
    Row {
        code: "E110",
        rule: "alias without `alias/`",
        edits: &[Replace(
            "alias: alias/coffer/backup",
            "alias: coffer/backup",
        )],
        expected: &[("E110", 20, 12)],
    },
    Row {
        code: "E111",
        rule: "alias under `alias/aws/`",
        edits: &[Replace(
            "alias: alias/coffer/backup",
            "alias: alias/aws/backup",
        )],
        expected: &[("E111", 20, 12)],
    },
    Row {
        code: "E112",
        rule: "rotation period outside 90-2560",
        edits: &[Replace(
            "usable_by: [backup]",
            "usable_by: [backup]
    rotation: {period_days: 30}",
        )],
        expected: &[("E112", 18, 29)],
    },
    Row {
        code: "E113",
        rule: "deletion window outside 7-30",
        edits: &[Replace(
            "usable_by: [backup]",
            "usable_by: [backup]
    deletion_window_days: 5",
        )],
        expected: &[("E113", 18, 27)],
    },
    Row {
        code: "E114",
        rule: "key usable by its own account",
        edits: &[Replace(
            "usable_by: [backup]",
            "usable_by: [backup, source]",
        )],
        expected: &[("E114", 17, 25)],
    },
    Row {
        code: "E115",
        rule: "raw statement without a Sid",
        edits: &[Replace(
            "usable_by: [backup]",
            r#"usable_by: [backup]
    statements:
      - {Effect: Allow, Principal: "*", Action: "kms:Decrypt", Resource: "*"}"#,
        )],
        expected: &[("E115", 19, 9)],
    },
];
