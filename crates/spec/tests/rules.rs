//! One row per validation rule: a small topology file that breaks exactly that rule, and the
//! exact code, line and column of every diagnostic the file produces (errors and warnings).
//!
//! Every file is [`BASE`] (a minimal valid topology mirroring `examples/seed/topology.yaml`)
//! with a few `(old, new)` text edits that break one rule; each `old` occurs exactly once in
//! [`BASE`] (see [`edited`]). `BASE` is written flush left, with the first YAML line on the
//! same line as `r#"`, so `version: 1` is line 1; an edit text that spans lines continues
//! flush left too, so its indentation is the YAML's. Lines and columns are those of the
//! edited file, as an editor shows them.

use coffer_spec::{Loaded, Severity, codes};

/// Loads `yaml` and describes how its diagnostics differ from `expected` (code, line,
/// column), or what else is wrong with them; `None` when all is as expected.
fn mismatch(yaml: &str, expected: &[(&str, u32, u32)]) -> Option<String> {
    let loaded = coffer_spec::load_str(yaml);
    let rendered = loaded.render("topology.yaml");
    let mut actual: Vec<(&str, u32, u32)> = loaded
        .diagnostics
        .0
        .iter()
        .map(|d| (d.code, d.pos.line, d.pos.col))
        .collect();
    actual.sort_unstable();
    let mut wanted = expected.to_vec();
    wanted.sort_unstable();
    if actual != wanted {
        return Some(format!(
            "expected {wanted:?}\n   found {actual:?}\n{rendered}"
        ));
    }
    let lines = u32::try_from(yaml.lines().count()).unwrap_or(u32::MAX);
    for d in &loaded.diagnostics.0 {
        if d.help.trim().is_empty() {
            return Some(format!("{} has no help\n{rendered}", d.code));
        }
        if d.message.trim().is_empty() {
            return Some(format!("{} has no message\n{rendered}", d.code));
        }
        if d.pos.line < 1 || d.pos.line > lines || d.pos.col < 1 {
            return Some(format!("{} is not inside the file\n{rendered}", d.code));
        }
    }
    // Errors that are catalog checks (copy-chain failures AWS accepts) still yield a topology.
    if loaded.topology.is_some() == loaded.diagnostics.has_blocking_errors() {
        return Some(format!(
            "topology.is_some() and has_blocking_errors() are both {}\n{rendered}",
            loaded.topology.is_some()
        ));
    }
    for d in &loaded.diagnostics.0 {
        let backed = matches!(d.code, "E136" | "E137" | "E140");
        if backed != d.check.is_some() {
            return Some(format!(
                "{} should {}be a catalog check\n{rendered}",
                d.code,
                if backed { "" } else { "not " }
            ));
        }
    }
    None
}

/// Asserts that loading `yaml` reports exactly `expected` (code, line, column), each with a
/// help line, and returns the result for further checks.
#[track_caller]
fn check(yaml: &str, expected: &[(&str, u32, u32)]) -> Loaded {
    if let Some(problem) = mismatch(yaml, expected) {
        panic!("{problem}");
    }
    coffer_spec::load_str(yaml)
}

struct Row {
    /// The rule under test; `expected` contains it.
    code: &'static str,
    rule: &'static str,
    /// `(old, new)` replacements that turn [`BASE`] into this row's file, applied in order.
    edits: &'static [(&'static str, &'static str)],
    expected: &'static [(&'static str, u32, u32)],
}

impl Row {
    /// This row's file: [`BASE`] with its edits applied.
    fn yaml(&self) -> String {
        edited(self.edits)
            .unwrap_or_else(|problem| panic!("row {} ({}): {problem}", self.code, self.rule))
    }
}

/// How many times `needle` occurs in `text`, overlapping occurrences included.
fn occurrences(text: &str, needle: &str) -> usize {
    (0..=text.len())
        .filter(|&at| text.is_char_boundary(at) && text[at..].starts_with(needle))
        .count()
}

/// [`BASE`] with each `(old, new)` of `edits` applied in turn, or why one does not apply:
/// every `old` must occur exactly once in [`BASE`] and in the text it replaces in, so an edit
/// can neither miss nor land on one of several places.
fn edited(edits: &[(&str, &str)]) -> Result<String, String> {
    let mut yaml = BASE.to_owned();
    for &(old, new) in edits {
        for (what, text) in [("BASE", BASE), ("the file edited so far", yaml.as_str())] {
            let count = occurrences(text, old);
            if count != 1 {
                return Err(format!("{old:?} occurs {count} times in {what}, not once"));
            }
        }
        yaml = yaml.replacen(old, new, 1);
    }
    Ok(yaml)
}

/// [`BASE`] with `edits` applied; panics if one does not apply.
#[track_caller]
fn base_with(edits: &[(&str, &str)]) -> String {
    edited(edits).unwrap_or_else(|problem| panic!("{problem}"))
}

/// Every row's file is [`BASE`] with one rule broken.
const BASE: &str = r#"version: 1
name: demo
organization:
  id: o-demo123456
  management_account: management
  cross_account_backup: enabled
defaults:
  region: eu-west-1
accounts:
  management: {id: "100000000000"}
  source: {id: "111111111111"}
  backup: {id: "222222222222"}
keys:
  source-key:
    account: source
    alias: alias/coffer/source
    usable_by: [backup]
  backup-vault:
    account: backup
    alias: alias/coffer/backup
vaults:
  source:
    account: source
    name: source
    key: source-key
  central:
    account: backup
    name: central
    key: backup-vault
    access_policy:
      allow_copy_from: [source]
backup_plans:
  daily:
    account: source
    rules:
      - name: daily
        vault: source
        lifecycle: {delete_after_days: 35}
        copy_to:
          - vault: central
            lifecycle: {delete_after_days: 90}
"#;

const ROWS: &[Row] = &[
    Row {
        code: "E001",
        rule: "YAML syntax error (unclosed quote)",
        edits: &[("name: source", "name: \"source")],
        expected: &[("E001", 24, 11)],
    },
    Row {
        code: "E001",
        rule: "duplicate key in a mapping",
        edits: &[(
            "alias: alias/coffer/backup",
            "alias: alias/coffer/backup
    alias: alias/coffer/other",
        )],
        expected: &[("E001", 21, 5)],
    },
    Row {
        code: "E002",
        rule: "unknown field in an entry (typo)",
        edits: &[("alias: alias/coffer/backup", "aliass: alias/coffer/backup")],
        expected: &[("E002", 20, 5)],
    },
    Row {
        code: "E002",
        rule: "unknown top-level section",
        edits: &[("backup_plans:", "backup_plan:")],
        expected: &[("E002", 32, 1)],
    },
    Row {
        code: "E003",
        rule: "wrong type: a list where text is expected",
        edits: &[(
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
        edits: &[(
            "backup_plans:
  daily:
    account: source
    rules:
      - name: daily
        vault: source
        lifecycle: {delete_after_days: 35}
        copy_to:
          - vault: central
            lifecycle: {delete_after_days: 90}",
            "backup_plans: daily",
        )],
        expected: &[("E003", 32, 15)],
    },
    Row {
        code: "E003",
        rule: "wrong type: a logical name that is not text",
        edits: &[(
            r#"backup: {id: "222222222222"}"#,
            r#"backup: {id: "222222222222"}
  7: {id: "333333333333"}"#,
        )],
        expected: &[("E003", 13, 3)],
    },
    Row {
        code: "E003",
        rule: "a tag key with the reserved `coffer:` prefix",
        edits: &[(
            "usable_by: [backup]",
            r#"usable_by: [backup]
    tags: {"coffer:owner": platform}"#,
        )],
        expected: &[("E003", 18, 11)],
    },
    Row {
        code: "E003",
        rule: "a tag key with the reserved `aws:` prefix",
        edits: &[(
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
        edits: &[("    alias: alias/coffer/backup\n", "")],
        expected: &[("E004", 19, 5)],
    },
    Row {
        code: "E004",
        rule: "missing `version`",
        edits: &[("version: 1\n", "")],
        expected: &[("E004", 1, 1)],
    },
    Row {
        code: "E004",
        rule: "a backup plan without rules",
        edits: &[(
            "rules:
      - name: daily
        vault: source
        lifecycle: {delete_after_days: 35}
        copy_to:
          - vault: central
            lifecycle: {delete_after_days: 90}",
            "rules: []",
        )],
        expected: &[("E004", 33, 3)],
    },
    Row {
        code: "E005",
        rule: "account ID written as a YAML number",
        edits: &[(
            r#"source: {id: "111111111111"}"#,
            "source: {id: 111111111111}",
        )],
        expected: &[("E005", 11, 16)],
    },
    Row {
        code: "E006",
        rule: "a value outside the allowed words",
        edits: &[("cross_account_backup: enabled", "cross_account_backup: on")],
        expected: &[("E006", 6, 25)],
    },
    Row {
        code: "E007",
        rule: "unsupported version",
        edits: &[("version: 1", "version: 2")],
        expected: &[("E007", 1, 10)],
    },
    Row {
        code: "E101",
        rule: "unknown key reference (near miss)",
        edits: &[("key: backup-vault", "key: backup-vaul")],
        expected: &[("E101", 29, 10)],
    },
    Row {
        code: "E101",
        rule: "unknown management account",
        edits: &[(
            "management_account: management",
            "management_account: managment",
        )],
        expected: &[("E101", 5, 23)],
    },
    Row {
        code: "E101",
        rule: "unknown vault account (no E121 on top)",
        edits: &[(
            "account: source
    name: source",
            "account: sourc
    name: source",
        )],
        expected: &[("E101", 23, 14)],
    },
    Row {
        code: "E101",
        rule: "unknown plan account (no E134 or selection E106 on top)",
        edits: &[
            (
                "account: source
    rules:",
                "account: sourc
    rules:",
            ),
            (
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
        rule: "two accounts with the same ID",
        edits: &[(
            r#"backup: {id: "222222222222"}"#,
            r#"backup: {id: "222222222222"}
  backup2: {id: "222222222222"}"#,
        )],
        expected: &[("E102", 13, 17)],
    },
    Row {
        code: "E102",
        rule: "two keys with the same alias in one account and region",
        edits: &[(
            "alias: alias/coffer/backup",
            "alias: alias/coffer/backup
  backup-x:
    account: backup
    alias: alias/coffer/backup",
        )],
        expected: &[("E102", 23, 12)],
    },
    Row {
        code: "E102",
        rule: "two vaults with the same name in one account and region",
        edits: &[(
            "allow_copy_from: [source]",
            "allow_copy_from: [source]
  copy:
    account: backup
    name: central",
        )],
        expected: &[("E102", 34, 11)],
    },
    Row {
        code: "E102",
        rule: "two plans with the same name in one account and region",
        edits: &[(
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
        edits: &[(
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
        edits: &[(
            "lifecycle: {delete_after_days: 90}",
            "lifecycle: {delete_after_days: 90}
    selections:
      - {name: db, tags: {backup: daily}}
      - {name: db, tags: {backup: daily}}",
        )],
        expected: &[("E102", 44, 16)],
    },
    Row {
        code: "E103",
        rule: "invalid topology name",
        edits: &[("name: demo", r#"name: "demo app""#)],
        expected: &[("E103", 2, 7)],
    },
    Row {
        code: "E103",
        rule: "invalid logical name",
        edits: &[(
            r#"backup: {id: "222222222222"}"#,
            r#"backup: {id: "222222222222"}
  ops team: {id: "333333333333"}"#,
        )],
        expected: &[("E103", 13, 3)],
    },
    Row {
        code: "E104",
        rule: "account ID that is not 12 digits",
        edits: &[(r#"source: {id: "111111111111"}"#, r#"source: {id: "1111"}"#)],
        expected: &[("E104", 11, 16)],
    },
    Row {
        code: "E105",
        rule: "invalid defaults.region (reported once)",
        edits: &[("region: eu-west-1", "region: eu-west1")],
        expected: &[("E105", 8, 11)],
    },
    Row {
        code: "E105",
        rule: "invalid region in an account's regions",
        edits: &[(
            r#"backup: {id: "222222222222"}"#,
            r#"backup: {id: "222222222222", regions: [eu-west-99]}"#,
        )],
        expected: &[("E105", 12, 42)],
    },
    Row {
        code: "E105",
        rule: "invalid vault region (no E121 on top)",
        edits: &[(
            "account: source
    name: source",
            "account: source
    region: eu-west-99
    name: source",
        )],
        expected: &[("E105", 24, 13)],
    },
    Row {
        code: "E106",
        rule: "invalid defaults.role",
        edits: &[(
            "region: eu-west-1",
            "region: eu-west-1
  role: ops//CofferDeployRole",
        )],
        expected: &[("E106", 9, 9)],
    },
    Row {
        code: "E106",
        rule: "account role ARN in another account",
        edits: &[(
            r#"source: {id: "111111111111"}"#,
            r#"source: {id: "111111111111", role: "arn:aws:iam::222222222222:role/Deploy"}"#,
        )],
        expected: &[("E106", 11, 38)],
    },
    Row {
        code: "E106",
        rule: "selection role ARN outside the plan's account",
        edits: &[(
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
        code: "E107",
        rule: "invalid key admin principal",
        edits: &[(
            "usable_by: [backup]",
            r#"usable_by: [backup]
    admins: ["arn:aws:iam::1111:role/Admin"]"#,
        )],
        expected: &[("E107", 18, 14)],
    },
    Row {
        code: "E107",
        rule: "a break-glass principal with a wildcard exempts every role it matches",
        edits: &[(
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
        edits: &[(
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
        edits: &[(
            "allow_copy_from: [source]",
            r#"allow_copy_from: [source]
      deny_recovery_point_deletion: true
      break_glass_principals: ["arn:aws:iam::222222222222:root"]"#,
        )],
        expected: &[("E107", 33, 32)],
    },
    Row {
        code: "E107",
        rule: "a key's break-glass principal with a wildcard",
        edits: &[(
            "alias: alias/coffer/backup",
            r#"alias: alias/coffer/backup
    break_glass_principals: ["arn:aws:iam::222222222222:role/*"]"#,
        )],
        expected: &[("E107", 21, 30)],
    },
    Row {
        code: "E108",
        rule: "invalid organization ID",
        edits: &[("id: o-demo123456", "id: o-short")],
        expected: &[("E108", 4, 7)],
    },
    Row {
        code: "E108",
        rule: "organization path of another organization",
        edits: &[(
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
            (
                "organization:
  id: o-demo123456
  management_account: management
  cross_account_backup: enabled
defaults:",
                "defaults:",
            ),
            ("allow_copy_from: [source]", "organization: true"),
        ],
        expected: &[("E108", 27, 7), ("W103", 36, 20)],
    },
    Row {
        code: "E109",
        rule: "no region and no defaults.region",
        edits: &[("defaults:\n  region: eu-west-1\n", "")],
        expected: &[
            ("E109", 12, 3),
            ("E109", 16, 3),
            ("E109", 20, 3),
            ("E109", 24, 3),
            ("E109", 31, 3),
        ],
    },
    Row {
        code: "E110",
        rule: "alias without `alias/`",
        edits: &[("alias: alias/coffer/backup", "alias: coffer/backup")],
        expected: &[("E110", 20, 12)],
    },
    Row {
        code: "E111",
        rule: "alias under `alias/aws/`",
        edits: &[("alias: alias/coffer/backup", "alias: alias/aws/backup")],
        expected: &[("E111", 20, 12)],
    },
    Row {
        code: "E112",
        rule: "rotation period outside 90-2560",
        edits: &[(
            "usable_by: [backup]",
            "usable_by: [backup]
    rotation: {period_days: 30}",
        )],
        expected: &[("E112", 18, 29)],
    },
    Row {
        code: "E113",
        rule: "deletion window outside 7-30",
        edits: &[(
            "usable_by: [backup]",
            "usable_by: [backup]
    deletion_window_days: 5",
        )],
        expected: &[("E113", 18, 27)],
    },
    Row {
        code: "E114",
        rule: "key usable by its own account",
        edits: &[("usable_by: [backup]", "usable_by: [backup, source]")],
        expected: &[("E114", 17, 25)],
    },
    Row {
        code: "E115",
        rule: "raw statement without a Sid",
        edits: &[(
            "usable_by: [backup]",
            r#"usable_by: [backup]
    statements:
      - {Effect: Allow, Principal: "*", Action: "kms:Decrypt", Resource: "*"}"#,
        )],
        expected: &[("E115", 19, 9)],
    },
    Row {
        code: "E120",
        rule: "vault name AWS rejects",
        edits: &[("name: source", "name: my.vault")],
        expected: &[("E120", 24, 11)],
    },
    Row {
        code: "E121",
        rule: "vault key in another account",
        edits: &[("key: source-key", "key: backup-vault")],
        expected: &[("E121", 25, 10)],
    },
    Row {
        code: "E122",
        rule: "lock with min above max (no E136 on top)",
        edits: &[(
            "allow_copy_from: [source]",
            "allow_copy_from: [source]
    lock: {min_retention_days: 100, max_retention_days: 50}",
        )],
        expected: &[("E122", 32, 57)],
    },
    Row {
        code: "E123",
        rule: "compliance grace time under 3 days",
        edits: &[(
            "allow_copy_from: [source]",
            "allow_copy_from: [source]
    lock: {changeable_for_days: 1}",
        )],
        expected: &[("E123", 32, 33)],
    },
    Row {
        code: "E124",
        rule: "wildcard action in a vault access policy",
        edits: &[(
            "allow_copy_from: [source]",
            r#"allow_copy_from: [source]
      statements:
        - {Sid: Guard, Effect: Deny, Principal: "*", Action: "backup:*", Resource: "*"}"#,
        )],
        expected: &[("E124", 33, 11)],
    },
    Row {
        code: "E130",
        rule: "rule name AWS rejects",
        edits: &[("- name: daily", r#"- name: "daily rule""#)],
        expected: &[("E130", 36, 15)],
    },
    Row {
        code: "E130",
        rule: "plan name AWS rejects",
        edits: &[(
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
        edits: &[(
            "vault: source",
            "vault: source
        schedule: rate(1 day)",
        )],
        expected: &[("E131", 38, 19)],
    },
    Row {
        code: "E132",
        rule: "start window under 60 minutes",
        edits: &[(
            "vault: source",
            "vault: source
        start_window_minutes: 30",
        )],
        expected: &[("E132", 38, 31)],
    },
    Row {
        code: "E132",
        rule: "completion window not longer than the start window",
        edits: &[(
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
        edits: &[(
            "lifecycle: {delete_after_days: 35}",
            "lifecycle: {move_to_cold_storage_after_days: 30, delete_after_days: 35}",
        )],
        expected: &[("E133", 38, 77)],
    },
    Row {
        code: "E133",
        rule: "lifecycle days out of range",
        edits: &[(
            "lifecycle: {delete_after_days: 35}",
            "lifecycle: {delete_after_days: 0}",
        )],
        expected: &[("E133", 38, 40)],
    },
    Row {
        code: "E134",
        rule: "rule vault outside the plan's region",
        edits: &[(
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
        edits: &[(
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
        code: "E136",
        rule: "copy retention under the destination lock's minimum",
        edits: &[(
            "allow_copy_from: [source]",
            "allow_copy_from: [source]
    lock: {min_retention_days: 100}",
        )],
        expected: &[("E136", 42, 24)],
    },
    Row {
        code: "E137",
        rule: "cross-account copy the destination policy does not allow",
        edits: &[("allow_copy_from: [source]", "allow_copy_from: [management]")],
        expected: &[("E137", 40, 20)],
    },
    Row {
        code: "E137",
        rule: "cross-account copy into a vault without access policy",
        edits: &[("    access_policy:\n      allow_copy_from: [source]\n", "")],
        expected: &[("E137", 38, 20)],
    },
    Row {
        code: "E138",
        rule: "continuous backup kept over 35 days",
        edits: &[(
            "lifecycle: {delete_after_days: 35}",
            "lifecycle: {delete_after_days: 36}
        continuous_backup: true",
        )],
        expected: &[("E138", 38, 20)],
    },
    Row {
        code: "E139",
        rule: "selection that selects nothing",
        edits: &[(
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
        edits: &[(
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
        edits: &[(
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
        code: "E140",
        rule: "cross-account copy while cross-account backup is disabled",
        edits: &[(
            "cross_account_backup: enabled",
            "cross_account_backup: disabled",
        )],
        expected: &[("E140", 40, 20)],
    },
    Row {
        code: "E141",
        rule: "schedule time zone that is not an IANA name",
        edits: &[(
            "vault: source",
            "vault: source
        schedule_timezone: paris",
        )],
        expected: &[("E141", 38, 28)],
    },
    Row {
        code: "W101",
        rule: "copy to a vault in the same account and region",
        edits: &[
            (
                "key: source-key",
                "key: source-key
  local:
    account: source
    name: local",
            ),
            ("- vault: central", "- vault: local"),
        ],
        expected: &[("W101", 43, 20)],
    },
    Row {
        code: "W102",
        rule: "backup-account key usable by the source account",
        edits: &[(
            "alias: alias/coffer/backup",
            "alias: alias/coffer/backup
    usable_by: [source]",
        )],
        expected: &[("W102", 41, 20)],
    },
    Row {
        code: "W103",
        rule: "cross-account copy with unmanaged cross-account backup",
        edits: &[(
            "cross_account_backup: enabled",
            "cross_account_backup: unmanaged",
        )],
        expected: &[("W103", 40, 20)],
    },
    Row {
        code: "W104",
        rule: "cross-account copy into a vault with AWS Backup's default key",
        edits: &[("    key: backup-vault\n", "")],
        expected: &[("W104", 39, 20)],
    },
    Row {
        code: "W105",
        rule: "recovery points kept forever in a compliance-locked vault",
        edits: &[
            (
                "allow_copy_from: [source]",
                "allow_copy_from: [source]
    lock: {changeable_for_days: 3}",
            ),
            (
                "lifecycle: {delete_after_days: 90}",
                "lifecycle: {delete_after_days: -1}",
            ),
        ],
        expected: &[("W105", 42, 24)],
    },
];

#[test]
fn base_file_is_valid() {
    let loaded = check(BASE, &[]);
    assert!(loaded.topology.is_some());
}

#[test]
fn every_rule_reports_its_code_at_the_exact_position() {
    let failures: Vec<String> = ROWS
        .iter()
        .filter_map(|row| {
            mismatch(&row.yaml(), row.expected)
                .map(|problem| format!("--- {} ({}):\n{problem}", row.code, row.rule))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        ROWS.len(),
        failures.join("\n")
    );
}

#[test]
fn rows_are_well_formed() {
    for row in ROWS {
        assert!(
            codes::ALL.iter().any(|(code, _)| *code == row.code),
            "{} is not a code",
            row.code
        );
        assert!(
            row.expected.iter().any(|(code, _, _)| *code == row.code),
            "row {} ({}) does not expect its own code",
            row.code,
            row.rule
        );
        assert!(!row.edits.is_empty(), "{}: no edits", row.rule);
        for (old, new) in row.edits {
            assert_ne!(old, new, "{}: an edit that changes nothing", row.rule);
        }
        // Panics unless every edit applies exactly once.
        assert_ne!(row.yaml(), BASE, "{}", row.rule);
    }
}

#[test]
fn every_code_has_a_row() {
    for (code, description) in codes::ALL {
        let covered = ROWS.iter().any(|row| row.code == *code);
        assert!(covered, "no row for {code} ({description})");
    }
}

fn row(code: &str, rule: &str) -> &'static Row {
    ROWS.iter()
        .find(|row| row.code == code && row.rule.contains(rule))
        .unwrap_or_else(|| panic!("no row {code} {rule}"))
}

fn only(loaded: &Loaded, code: &str) -> coffer_spec::Diagnostic {
    let found: Vec<_> = loaded
        .diagnostics
        .0
        .iter()
        .filter(|d| d.code == code)
        .collect();
    assert_eq!(found.len(), 1, "{}", loaded.render("topology.yaml"));
    found[0].clone()
}

#[test]
fn near_miss_reference_says_did_you_mean() {
    let row = row("E101", "near miss");
    let loaded = check(&row.yaml(), row.expected);
    let diagnostic = only(&loaded, "E101");
    assert_eq!(diagnostic.message, "unknown key `backup-vaul`");
    assert!(
        diagnostic.help.contains("did you mean `backup-vault`?"),
        "{}",
        diagnostic.help
    );
}

#[test]
fn unknown_field_and_section_say_did_you_mean() {
    let field = row("E002", "unknown field");
    let loaded = check(&field.yaml(), field.expected);
    assert_eq!(only(&loaded, "E002").help, "did you mean `alias`?");

    let section = row("E002", "unknown top-level section");
    let loaded = check(&section.yaml(), section.expected);
    assert_eq!(only(&loaded, "E002").help, "did you mean `backup_plans`?");
}

#[test]
fn account_id_written_as_number_says_to_quote_it() {
    let row = row("E005", "account ID");
    let loaded = check(&row.yaml(), row.expected);
    let diagnostic = only(&loaded, "E005");
    assert!(
        diagnostic.help.starts_with("quote the value"),
        "{diagnostic:?}"
    );
    assert!(
        diagnostic.message.contains("111111111111"),
        "{diagnostic:?}"
    );
}

#[test]
fn duplicate_key_names_the_key_and_says_what_to_do() {
    let row = row("E001", "duplicate key");
    let loaded = check(&row.yaml(), row.expected);
    let diagnostic = only(&loaded, "E001");
    assert!(
        diagnostic.message.starts_with("duplicate key `alias`"),
        "{diagnostic:?}"
    );
    assert!(!diagnostic.message.contains("Options"), "{diagnostic:?}");
    assert!(diagnostic.help.contains("remove"), "{diagnostic:?}");
}

/// Shape errors and meaning errors in five different entries are all reported in one load,
/// and a rule whose vault is unknown does not hide the copy error of the next rule.
#[test]
fn several_errors_in_different_entries_are_all_reported() {
    let loaded = check(
        &base_with(&[
            (
                r#"management: {id: "100000000000"}"#,
                "management: {id: 100000000000}",
            ),
            (
                "alias: alias/coffer/backup",
                "alias: alias/coffer/backup
    rotation: {period_days: 30}",
            ),
            ("name: source", "name: x"),
            ("allow_copy_from: [source]", "allow_copy_from: [management]"),
            (
                "rules:",
                "rules:
      - {name: first, vault: nope}",
            ),
            (
                "vault: source",
                "vault: source
        schedule: rate(1 day)",
            ),
        ]),
        &[
            ("E005", 10, 20),
            ("E112", 21, 29),
            ("E120", 25, 11),
            ("E101", 37, 30),
            ("E131", 40, 19),
            ("E137", 43, 20),
        ],
    );
    assert!(loaded.topology.is_none());
    assert_eq!(loaded.diagnostics.errors().count(), 6);
}

#[test]
fn a_file_with_only_warnings_yields_a_topology() {
    let loaded = check(
        &base_with(&[
            (
                "cross_account_backup: enabled",
                "cross_account_backup: unmanaged",
            ),
            (
                "alias: alias/coffer/backup",
                "alias: alias/coffer/backup
    usable_by: [source]",
            ),
        ]),
        &[("W103", 41, 20), ("W102", 41, 20)],
    );
    assert!(
        loaded.topology.is_some(),
        "{}",
        loaded.render("topology.yaml")
    );
    assert!(
        loaded
            .diagnostics
            .0
            .iter()
            .all(|d| d.severity == Severity::Warning)
    );
    let w102 = only(&loaded, "W102");
    assert!(w102.help.contains("remove `source`"), "{w102:?}");
}

#[test]
fn every_warning_row_still_yields_a_topology() {
    for row in ROWS.iter().filter(|row| row.code.starts_with('W')) {
        let loaded = check(&row.yaml(), row.expected);
        assert!(loaded.topology.is_some(), "{}: {}", row.code, row.rule);
    }
}

#[test]
fn check_fails_on_a_wrong_position() {
    let row = row("E104", "12 digits");
    let yaml = row.yaml();
    let (code, line, col) = row.expected[0];
    assert!(mismatch(&yaml, &[(code, line, col)]).is_none());
    assert!(mismatch(&yaml, &[(code, line, col + 1)]).is_some());
    assert!(mismatch(&yaml, &[(code, line + 1, col)]).is_some());
    assert!(mismatch(&yaml, &[]).is_some());
    assert!(mismatch(&yaml, &[(code, line, col), (code, line, col)]).is_some());
}

#[test]
fn edits_must_apply_exactly_once() {
    assert!(edited(&[]).is_ok_and(|yaml| yaml == BASE));
    assert!(
        edited(&[("version: 1", "version: 2")]).is_ok_and(|yaml| yaml.starts_with("version: 2\n"))
    );
    // Missing, ambiguous and empty texts are refused.
    assert!(edited(&[("version: 3", "version: 2")]).is_err());
    assert!(edited(&[("account: source", "account: sourc")]).is_err());
    assert!(edited(&[("", "x")]).is_err());
    // An edit may not land on text a previous edit made ambiguous or removed.
    assert!(
        edited(&[
            ("name: demo", "name: demo\nname: demo"),
            ("name: demo", "x")
        ])
        .is_err()
    );
    assert!(edited(&[("version: 1", "v: 1"), ("version: 1", "x")]).is_err());
    assert_eq!(occurrences("aaa", "aa"), 2);
}
