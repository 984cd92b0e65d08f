//! Rows that break accounts and the organization.

use super::Edit::Replace;
use super::Row;

pub const ROWS: &[Row] = &[
    Row {
        code: "E101",
        rule: "unknown management account",
        edits: &[Replace(
            "management_account: management",
            "management_account: managment",
        )],
        expected: &[("E101", 5, 23)],
    },
    Row {
        code: "E102",
        rule: "two accounts with the same ID",
        edits: &[Replace(
            r#"backup: {id: "222222222222"}"#,
            r#"backup: {id: "222222222222"}
  backup2: {id: "222222222222"}"#,
        )],
        expected: &[("E102", 13, 17)],
    },
    Row {
        code: "E103",
        rule: "invalid logical name",
        edits: &[Replace(
            r#"backup: {id: "222222222222"}"#,
            r#"backup: {id: "222222222222"}
  ops team: {id: "333333333333"}"#,
        )],
        expected: &[("E103", 13, 3)],
    },
    Row {
        code: "E104",
        rule: "account ID that is not 12 digits",
        edits: &[Replace(
            r#"source: {id: "111111111111"}"#,
            r#"source: {id: "1111"}"#,
        )],
        expected: &[("E104", 11, 16)],
    },
    Row {
        code: "E105",
        rule: "invalid region in an account's regions",
        edits: &[Replace(
            r#"backup: {id: "222222222222"}"#,
            r#"backup: {id: "222222222222", regions: [eu-west-99]}"#,
        )],
        expected: &[("E105", 12, 42)],
    },
    Row {
        code: "E106",
        rule: "account role ARN in another account",
        edits: &[Replace(
            r#"source: {id: "111111111111"}"#,
            r#"source: {id: "111111111111", role: "arn:aws:iam::222222222222:role/Deploy"}"#,
        )],
        expected: &[("E106", 11, 38)],
    },
    Row {
        code: "E108",
        rule: "invalid organization ID",
        edits: &[Replace("id: o-demo123456", "id: o-short")],
        expected: &[("E108", 4, 7)],
    },
    Row {
        code: "E150",
        rule: "account set with an organizational unit ID of the wrong form",
        edits: &[Replace(
            r#"backup: {id: "222222222222"}"#,
            r#"backup: {id: "222222222222"}
account_sets:
  workloads:
    organizational_unit: ou-workloads
    template: {}"#,
        )],
        expected: &[("E150", 15, 26)],
    },
];
