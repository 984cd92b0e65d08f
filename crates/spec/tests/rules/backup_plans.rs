//! Rows that break backup plans: their rules, lifecycles and selections.

use super::Edit::{Replace, Tail};
use super::Row;

pub const ROWS: &[Row] = &[
    Row {
        code: "E004",
        rule: "a backup plan without rules",
        edits: &[Tail("rules:", "rules: []\n")],
        expected: &[("E004", 33, 3)],
    },
    Row {
        code: "E101",
        rule: "unknown plan account (no E134 or selection E106 on top)",
        edits: &[
            Replace(
                "account: source
    rules:",
                "account: sourc
    rules:",
            ),
            Replace(
                "lifecycle: {delete_after_days: 90}",
                "lifecycle: {delete_after_days: 90}
    selections:
      - name: db
        role: arn:aws:iam::111111111111:role/Backup
        tags: {backup: daily}",
            ),
        ],
        expected: &[("E101", 34, 14)],
    },
    Row {
        code: "E102",
        rule: "two plans with the same name in one account and region",
        edits: &[Replace(
            "lifecycle: {delete_after_days: 90}",
            "lifecycle: {delete_after_days: 90}
  weekly:
    account: source
    name: daily
    rules:
      - {name: weekly, vault: source}",
        )],
        expected: &[("E102", 44, 11)],
    },
    Row {
        code: "E102",
        rule: "two rules with the same name in a plan",
        edits: &[Replace(
            "lifecycle: {delete_after_days: 90}",
            "lifecycle: {delete_after_days: 90}
      - name: daily
        vault: source",
        )],
        expected: &[("E102", 42, 15)],
    },
    Row {
        code: "E102",
        rule: "two selections with the same name in a plan",
        edits: &[Replace(
            "lifecycle: {delete_after_days: 90}",
            "lifecycle: {delete_after_days: 90}
    selections:
      - {name: db, tags: {backup: daily}}
      - {name: db, tags: {backup: daily}}",
        )],
        expected: &[("E102", 44, 16)],
    },
    Row {
        code: "E106",
        rule: "selection role ARN outside the plan's account",
        edits: &[Replace(
            "lifecycle: {delete_after_days: 90}",
            "lifecycle: {delete_after_days: 90}
    selections:
      - name: db
        role: arn:aws:iam::222222222222:role/Backup
        tags: {backup: daily}",
        )],
        expected: &[("E106", 44, 15)],
    },
    Row {
        code: "E130",
        rule: "rule name AWS rejects",
        edits: &[Replace("- name: daily", r#"- name: "daily rule""#)],
        expected: &[("E130", 36, 15)],
    },
    Row {
        code: "E130",
        rule: "plan name AWS rejects",
        edits: &[Replace(
            "account: source
    rules:",
            r#"account: source
    name: "daily plan"
    rules:"#,
        )],
        expected: &[("E130", 35, 11)],
    },
    Row {
        code: "E131",
        rule: "rate expression instead of cron",
        edits: &[Replace(
            "vault: source",
            "vault: source
        schedule: rate(1 day)",
        )],
        expected: &[("E131", 38, 19)],
    },
    Row {
        code: "E132",
        rule: "start window under 60 minutes",
        edits: &[Replace(
            "vault: source",
            "vault: source
        start_window_minutes: 30",
        )],
        expected: &[("E132", 38, 31)],
    },
    Row {
        code: "E132",
        rule: "completion window not longer than the start window",
        edits: &[Replace(
            "vault: source",
            "vault: source
        start_window_minutes: 120
        completion_window_minutes: 60",
        )],
        expected: &[("E132", 39, 36)],
    },
    Row {
        code: "E133",
        rule: "deletion less than 90 days after cold storage",
        edits: &[Replace(
            "lifecycle: {delete_after_days: 35}",
            "lifecycle: {move_to_cold_storage_after_days: 30, delete_after_days: 35}",
        )],
        expected: &[("E133", 38, 77)],
    },
    Row {
        code: "E133",
        rule: "lifecycle days out of range",
        edits: &[Replace(
            "lifecycle: {delete_after_days: 35}",
            "lifecycle: {delete_after_days: 0}",
        )],
        expected: &[("E133", 38, 40)],
    },
    Row {
        code: "E134",
        rule: "rule vault outside the plan's region",
        edits: &[Replace(
            "account: source
    rules:",
            "account: source
    region: eu-central-1
    rules:",
        )],
        expected: &[("E134", 38, 16)],
    },
    Row {
        code: "E135",
        rule: "more than 5 copy actions",
        edits: &[Replace(
            "lifecycle: {delete_after_days: 90}",
            "lifecycle: {delete_after_days: 90}
          - vault: central
          - vault: central
          - vault: central
          - vault: central
          - vault: central",
        )],
        expected: &[("E135", 46, 13)],
    },
    Row {
        code: "E138",
        rule: "continuous backup kept over 35 days",
        edits: &[Replace(
            "lifecycle: {delete_after_days: 35}",
            "lifecycle: {delete_after_days: 36}
        continuous_backup: true",
        )],
        expected: &[("E138", 38, 20)],
    },
    Row {
        code: "E139",
        rule: "selection that selects nothing",
        edits: &[Replace(
            "lifecycle: {delete_after_days: 90}",
            "lifecycle: {delete_after_days: 90}
    selections:
      - name: db",
        )],
        expected: &[("E139", 43, 15)],
    },
    Row {
        code: "E139",
        rule: "selection ARN with `*` before its end",
        edits: &[Replace(
            "lifecycle: {delete_after_days: 90}",
            r#"lifecycle: {delete_after_days: 90}
    selections:
      - name: db
        resources: ["arn:aws:rds:eu-west-1:111111111111:db:*-orders"]"#,
        )],
        expected: &[("E139", 44, 21)],
    },
    Row {
        code: "E139",
        rule: "selection ARN in another account or region than the plan",
        edits: &[Replace(
            "lifecycle: {delete_after_days: 90}",
            r#"lifecycle: {delete_after_days: 90}
    selections:
      - name: db
        resources: ["arn:aws:rds:eu-west-1:222222222222:db:orders",
                    "arn:aws:rds:us-east-1:111111111111:db:orders"]"#,
        )],
        expected: &[("E139", 44, 21), ("E139", 45, 21)],
    },
    Row {
        code: "E141",
        rule: "schedule time zone that is not an IANA name",
        edits: &[Replace(
            "vault: source",
            "vault: source
        schedule_timezone: paris",
        )],
        expected: &[("E141", 38, 28)],
    },
];
