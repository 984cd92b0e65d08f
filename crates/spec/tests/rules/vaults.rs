//! Rows that break vaults: their key, access policy and lock.

use super::Edit::Replace;
use super::Row;

pub const ROWS: &[Row] = &[
    Row {
        code: "E101",
        rule: "unknown key reference (near miss)",
        edits: &[Replace("key: backup-vault", "key: backup-vaul")],
        expected: &[("E101", 29, 10)],
    },
    Row {
        code: "E101",
        rule: "unknown vault account (no E121 on top)",
        edits: &[Replace(
            "account: source
    name: source",
            "account: sourc
    name: source",
        )],
        expected: &[("E101", 23, 14)],
    },
    Row {
        code: "E102",
        rule: "two vaults with the same name in one account and region",
        edits: &[Replace(
            "allow_copy_from: [source]",
            "allow_copy_from: [source]
  copy:
    account: backup
    name: central",
        )],
        expected: &[("E102", 34, 11)],
    },
    Row {
        code: "E105",
        rule: "invalid vault region (no E121 on top)",
        edits: &[Replace(
            "account: source
    name: source",
            "account: source
    region: eu-west-99
    name: source",
        )],
        expected: &[("E105", 24, 13)],
    },
    Row {
        code: "E107",
        rule: "a break-glass principal with a wildcard exempts every role it matches",
        edits: &[Replace(
            "allow_copy_from: [source]",
            r#"allow_copy_from: [source]
      deny_recovery_point_deletion: true
      break_glass_principals: ["arn:aws:iam::222222222222:role/*"]"#,
        )],
        expected: &[("E107", 33, 32)],
    },
    Row {
        code: "E107",
        rule: "a break-glass principal of another account",
        edits: &[Replace(
            "allow_copy_from: [source]",
            r#"allow_copy_from: [source]
      deny_recovery_point_deletion: true
      break_glass_principals: ["arn:aws:iam::111111111111:role/BreakGlass"]"#,
        )],
        expected: &[("E107", 33, 32)],
    },
    Row {
        code: "E107",
        rule: "a break-glass principal that is an account root, not a role or user",
        edits: &[Replace(
            "allow_copy_from: [source]",
            r#"allow_copy_from: [source]
      deny_recovery_point_deletion: true
      break_glass_principals: ["arn:aws:iam::222222222222:root"]"#,
        )],
        expected: &[("E107", 33, 32)],
    },
    Row {
        code: "E108",
        rule: "organization path of another organization",
        edits: &[Replace(
            "allow_copy_from: [source]",
            "allow_copy_from: [source]
      org_paths: [o-other12345/r-ab12/]",
        )],
        expected: &[("E108", 32, 19)],
    },
    Row {
        code: "E108",
        rule: "`organization: true` without an organization (no E137 on top)",
        edits: &[
            Replace(
                "organization:
  id: o-demo123456
  management_account: management
  cross_account_backup: enabled
defaults:",
                "defaults:",
            ),
            Replace("allow_copy_from: [source]", "organization: true"),
        ],
        expected: &[("E108", 27, 7), ("W103", 36, 20)],
    },
    Row {
        code: "E120",
        rule: "vault name AWS rejects",
        edits: &[Replace("name: source", "name: my.vault")],
        expected: &[("E120", 24, 11)],
    },
    Row {
        code: "E121",
        rule: "vault key in another account",
        edits: &[Replace("key: source-key", "key: backup-vault")],
        expected: &[("E121", 25, 10)],
    },
    Row {
        code: "E122",
        rule: "lock with min above max (no E136 on top)",
        edits: &[Replace(
            "allow_copy_from: [source]",
            "allow_copy_from: [source]
    lock: {min_retention_days: 100, max_retention_days: 50}",
        )],
        expected: &[("E122", 32, 57)],
    },
    Row {
        code: "E123",
        rule: "compliance grace time under 3 days",
        edits: &[Replace(
            "allow_copy_from: [source]",
            "allow_copy_from: [source]
    lock: {changeable_for_days: 1}",
        )],
        expected: &[("E123", 32, 33)],
    },
    Row {
        code: "E124",
        rule: "wildcard action in a vault access policy",
        edits: &[Replace(
            "allow_copy_from: [source]",
            r#"allow_copy_from: [source]
      statements:
        - {Sid: Guard, Effect: Deny, Principal: "*", Action: "backup:*", Resource: "*"}"#,
        )],
        expected: &[("E124", 33, 11)],
    },
];
