//! Rows that break the file as a whole: its YAML, its shape, its version and name, and `defaults`.

use super::Edit::{Replace, Tail};
use super::Row;

pub const ROWS: &[Row] = &[
    Row {
        code: "E001",
        rule: "YAML syntax error (unclosed quote)",
        edits: &[Replace("name: source", "name: \"source")],
        expected: &[("E001", 24, 11)],
    },
    Row {
        code: "E001",
        rule: "duplicate key in a mapping",
        edits: &[Replace(
            "alias: alias/coffer/backup",
            "alias: alias/coffer/backup
    alias: alias/coffer/other",
        )],
        expected: &[("E001", 21, 5)],
    },
    Row {
        code: "E002",
        rule: "unknown field in an entry (typo)",
        edits: &[Replace(
            "alias: alias/coffer/backup",
            "aliass: alias/coffer/backup",
        )],
        expected: &[("E002", 20, 5)],
    },
    Row {
        code: "E002",
        rule: "unknown top-level section",
        edits: &[Replace("backup_plans:", "backup_plan:")],
        expected: &[("E002", 32, 1)],
    },
    Row {
        code: "E003",
        rule: "wrong type: a list where text is expected",
        edits: &[Replace(
            "backup-vault:
    account: backup",
            "backup-vault:
    account: [backup]",
        )],
        expected: &[("E003", 19, 14)],
    },
    Row {
        code: "E003",
        rule: "wrong type: a section that is not a mapping",
        edits: &[Tail("backup_plans:", "backup_plans: daily\n")],
        expected: &[("E003", 32, 15)],
    },
    Row {
        code: "E003",
        rule: "wrong type: a logical name that is not text",
        edits: &[Replace(
            r#"backup: {id: "222222222222"}"#,
            r#"backup: {id: "222222222222"}
  7: {id: "333333333333"}"#,
        )],
        expected: &[("E003", 13, 3)],
    },
    Row {
        code: "E003",
        rule: "a tag key with the reserved `aws:` prefix",
        edits: &[Replace(
            "region: eu-west-1",
            r#"region: eu-west-1
  tags:
    "aws:team": platform"#,
        )],
        expected: &[("E003", 10, 5)],
    },
    Row {
        code: "E004",
        rule: "missing required field in an entry",
        edits: &[Replace("    alias: alias/coffer/backup\n", "")],
        expected: &[("E004", 19, 5)],
    },
    Row {
        code: "E004",
        rule: "missing `version`",
        edits: &[Replace("version: 1\n", "")],
        expected: &[("E004", 1, 1)],
    },
    Row {
        code: "E005",
        rule: "account ID written as a YAML number",
        edits: &[Replace(
            r#"source: {id: "111111111111"}"#,
            "source: {id: 111111111111}",
        )],
        expected: &[("E005", 11, 16)],
    },
    Row {
        code: "E006",
        rule: "a value outside the allowed words",
        edits: &[Replace(
            "cross_account_backup: enabled",
            "cross_account_backup: on",
        )],
        expected: &[("E006", 6, 25)],
    },
    Row {
        code: "E007",
        rule: "unsupported version",
        edits: &[Replace("version: 1", "version: 2")],
        expected: &[("E007", 1, 10)],
    },
    Row {
        code: "E103",
        rule: "invalid topology name",
        edits: &[Replace("name: demo", r#"name: "demo app""#)],
        expected: &[("E103", 2, 7)],
    },
    Row {
        code: "E105",
        rule: "invalid defaults.region (reported once)",
        edits: &[Replace("region: eu-west-1", "region: eu-west1")],
        expected: &[("E105", 8, 11)],
    },
    Row {
        code: "E106",
        rule: "invalid defaults.role",
        edits: &[Replace(
            "region: eu-west-1",
            "region: eu-west-1
  role: ops//CofferDeployRole",
        )],
        expected: &[("E106", 9, 9)],
    },
    Row {
        code: "E109",
        rule: "no region and no defaults.region",
        edits: &[Replace("defaults:\n  region: eu-west-1\n", "")],
        expected: &[
            ("E109", 12, 3),
            ("E109", 16, 3),
            ("E109", 20, 3),
            ("E109", 24, 3),
            ("E109", 31, 3),
        ],
    },
];
