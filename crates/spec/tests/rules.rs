//! One row per validation rule: a small topology file that breaks exactly that rule, and the
//! exact code, line and column of every diagnostic the file produces (errors and warnings).
//!
//! Every file starts from [`BASE`] (a minimal valid topology mirroring
//! `examples/seed/topology.yaml`) and changes one thing. Fixtures are written flush left, with
//! the first YAML line on the same line as `r#"`, so `version: 1` is line 1 and columns are
//! what an editor shows.

use coffer_spec::{Loaded, Severity, codes};

/// Codes no input can produce (checked by `every_code_has_a_row`):
///
/// - `W106` ("a vault access policy whose copy permission Coffer does not manage") is
///   declared in `codes.rs` but nothing in the crate emits it: a vault without an
///   `access_policy` that receives cross-account copies is reported as the error `E137`.
const UNREACHABLE: &[&str] = &[codes::W_UNMANAGED_POLICY];

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
    expected: &'static [(&'static str, u32, u32)],
    yaml: &'static str,
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
        expected: &[("E001", 24, 11)],
        yaml: r#"version: 1
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
    name: "source
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
"#,
    },
    Row {
        code: "E001",
        rule: "duplicate key in a mapping",
        expected: &[("E001", 21, 5)],
        yaml: r#"version: 1
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
    alias: alias/coffer/other
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
"#,
    },
    Row {
        code: "E002",
        rule: "unknown field in an entry (typo)",
        expected: &[("E002", 20, 5)],
        yaml: r#"version: 1
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
    aliass: alias/coffer/backup
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
"#,
    },
    Row {
        code: "E002",
        rule: "unknown top-level section",
        expected: &[("E002", 32, 1)],
        yaml: r#"version: 1
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
backup_plan:
  daily:
    account: source
    rules:
      - name: daily
        vault: source
        lifecycle: {delete_after_days: 35}
        copy_to:
          - vault: central
            lifecycle: {delete_after_days: 90}
"#,
    },
    Row {
        code: "E003",
        rule: "wrong type: a list where text is expected",
        expected: &[("E003", 19, 14)],
        yaml: r#"version: 1
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
    account: [backup]
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
"#,
    },
    Row {
        code: "E003",
        rule: "wrong type: a section that is not a mapping",
        expected: &[("E003", 32, 15)],
        yaml: r#"version: 1
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
backup_plans: daily
"#,
    },
    Row {
        code: "E003",
        rule: "wrong type: a logical name that is not text",
        expected: &[("E003", 13, 3)],
        yaml: r#"version: 1
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
  7: {id: "333333333333"}
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
"#,
    },
    Row {
        code: "E003",
        rule: "a tag key with the reserved `coffer:` prefix",
        expected: &[("E003", 18, 11)],
        yaml: r#"version: 1
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
    tags: {"coffer:owner": platform}
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
"#,
    },
    Row {
        code: "E003",
        rule: "a tag key with the reserved `aws:` prefix",
        expected: &[("E003", 10, 5)],
        yaml: r#"version: 1
name: demo
organization:
  id: o-demo123456
  management_account: management
  cross_account_backup: enabled
defaults:
  region: eu-west-1
  tags:
    "aws:team": platform
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
"#,
    },
    Row {
        code: "E004",
        rule: "missing required field in an entry",
        expected: &[("E004", 19, 5)],
        yaml: r#"version: 1
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
"#,
    },
    Row {
        code: "E004",
        rule: "missing `version`",
        expected: &[("E004", 1, 1)],
        yaml: r#"name: demo
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
"#,
    },
    Row {
        code: "E004",
        rule: "a backup plan without rules",
        expected: &[("E004", 33, 3)],
        yaml: r#"version: 1
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
    rules: []
"#,
    },
    Row {
        code: "E005",
        rule: "account ID written as a YAML number",
        expected: &[("E005", 11, 16)],
        yaml: r#"version: 1
name: demo
organization:
  id: o-demo123456
  management_account: management
  cross_account_backup: enabled
defaults:
  region: eu-west-1
accounts:
  management: {id: "100000000000"}
  source: {id: 111111111111}
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
"#,
    },
    Row {
        code: "E006",
        rule: "a value outside the allowed words",
        expected: &[("E006", 6, 25)],
        yaml: r#"version: 1
name: demo
organization:
  id: o-demo123456
  management_account: management
  cross_account_backup: on
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
"#,
    },
    Row {
        code: "E007",
        rule: "unsupported version",
        expected: &[("E007", 1, 10)],
        yaml: r#"version: 2
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
"#,
    },
    Row {
        code: "E101",
        rule: "unknown key reference (near miss)",
        expected: &[("E101", 29, 10)],
        yaml: r#"version: 1
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
    key: backup-vaul
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
"#,
    },
    Row {
        code: "E101",
        rule: "unknown management account",
        expected: &[("E101", 5, 23)],
        yaml: r#"version: 1
name: demo
organization:
  id: o-demo123456
  management_account: managment
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
"#,
    },
    Row {
        code: "E101",
        rule: "unknown vault account (no E121 on top)",
        expected: &[("E101", 23, 14)],
        yaml: r#"version: 1
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
    account: sourc
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
"#,
    },
    Row {
        code: "E101",
        rule: "unknown plan account (no E134 or selection E106 on top)",
        expected: &[("E101", 34, 14)],
        yaml: r#"version: 1
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
    account: sourc
    rules:
      - name: daily
        vault: source
        lifecycle: {delete_after_days: 35}
        copy_to:
          - vault: central
            lifecycle: {delete_after_days: 90}
    selections:
      - name: db
        role: arn:aws:iam::111111111111:role/Backup
        tags: {backup: daily}
"#,
    },
    Row {
        code: "E102",
        rule: "two accounts with the same ID",
        expected: &[("E102", 13, 17)],
        yaml: r#"version: 1
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
  backup2: {id: "222222222222"}
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
"#,
    },
    Row {
        code: "E102",
        rule: "two keys with the same alias in one account and region",
        expected: &[("E102", 23, 12)],
        yaml: r#"version: 1
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
  backup-x:
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
"#,
    },
    Row {
        code: "E102",
        rule: "two vaults with the same name in one account and region",
        expected: &[("E102", 34, 11)],
        yaml: r#"version: 1
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
  copy:
    account: backup
    name: central
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
"#,
    },
    Row {
        code: "E102",
        rule: "two plans with the same name in one account and region",
        expected: &[("E102", 44, 11)],
        yaml: r#"version: 1
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
  weekly:
    account: source
    name: daily
    rules:
      - {name: weekly, vault: source}
"#,
    },
    Row {
        code: "E102",
        rule: "two rules with the same name in a plan",
        expected: &[("E102", 42, 15)],
        yaml: r#"version: 1
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
      - name: daily
        vault: source
"#,
    },
    Row {
        code: "E102",
        rule: "two selections with the same name in a plan",
        expected: &[("E102", 44, 16)],
        yaml: r#"version: 1
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
    selections:
      - {name: db, tags: {backup: daily}}
      - {name: db, tags: {backup: daily}}
"#,
    },
    Row {
        code: "E103",
        rule: "invalid topology name",
        expected: &[("E103", 2, 7)],
        yaml: r#"version: 1
name: "demo app"
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
"#,
    },
    Row {
        code: "E103",
        rule: "invalid logical name",
        expected: &[("E103", 13, 3)],
        yaml: r#"version: 1
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
  ops team: {id: "333333333333"}
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
"#,
    },
    Row {
        code: "E104",
        rule: "account ID that is not 12 digits",
        expected: &[("E104", 11, 16)],
        yaml: r#"version: 1
name: demo
organization:
  id: o-demo123456
  management_account: management
  cross_account_backup: enabled
defaults:
  region: eu-west-1
accounts:
  management: {id: "100000000000"}
  source: {id: "1111"}
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
"#,
    },
    Row {
        code: "E105",
        rule: "invalid defaults.region (reported once)",
        expected: &[("E105", 8, 11)],
        yaml: r#"version: 1
name: demo
organization:
  id: o-demo123456
  management_account: management
  cross_account_backup: enabled
defaults:
  region: eu-west1
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
"#,
    },
    Row {
        code: "E105",
        rule: "invalid region in an account's regions",
        expected: &[("E105", 12, 42)],
        yaml: r#"version: 1
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
  backup: {id: "222222222222", regions: [eu-west-99]}
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
"#,
    },
    Row {
        code: "E105",
        rule: "invalid vault region (no E121 on top)",
        expected: &[("E105", 24, 13)],
        yaml: r#"version: 1
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
    region: eu-west-99
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
"#,
    },
    Row {
        code: "E106",
        rule: "invalid defaults.role",
        expected: &[("E106", 9, 9)],
        yaml: r#"version: 1
name: demo
organization:
  id: o-demo123456
  management_account: management
  cross_account_backup: enabled
defaults:
  region: eu-west-1
  role: ops//CofferDeployRole
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
"#,
    },
    Row {
        code: "E106",
        rule: "account role ARN in another account",
        expected: &[("E106", 11, 38)],
        yaml: r#"version: 1
name: demo
organization:
  id: o-demo123456
  management_account: management
  cross_account_backup: enabled
defaults:
  region: eu-west-1
accounts:
  management: {id: "100000000000"}
  source: {id: "111111111111", role: "arn:aws:iam::222222222222:role/Deploy"}
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
"#,
    },
    Row {
        code: "E106",
        rule: "selection role ARN outside the plan's account",
        expected: &[("E106", 44, 15)],
        yaml: r#"version: 1
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
    selections:
      - name: db
        role: arn:aws:iam::222222222222:role/Backup
        tags: {backup: daily}
"#,
    },
    Row {
        code: "E107",
        rule: "invalid key admin principal",
        expected: &[("E107", 18, 14)],
        yaml: r#"version: 1
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
    admins: ["arn:aws:iam::1111:role/Admin"]
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
"#,
    },
    Row {
        code: "E108",
        rule: "invalid organization ID",
        expected: &[("E108", 4, 7)],
        yaml: r#"version: 1
name: demo
organization:
  id: o-short
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
"#,
    },
    Row {
        code: "E108",
        rule: "organization path of another organization",
        expected: &[("E108", 32, 19)],
        yaml: r#"version: 1
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
      org_paths: [o-other12345/r-ab12/]
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
"#,
    },
    Row {
        code: "E108",
        rule: "`organization: true` without an organization (no E137 on top)",
        expected: &[("E108", 27, 7), ("W103", 36, 20)],
        yaml: r#"version: 1
name: demo
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
      organization: true
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
"#,
    },
    Row {
        code: "E109",
        rule: "no region and no defaults.region",
        expected: &[
            ("E109", 12, 3),
            ("E109", 16, 3),
            ("E109", 20, 3),
            ("E109", 24, 3),
            ("E109", 31, 3),
        ],
        yaml: r#"version: 1
name: demo
organization:
  id: o-demo123456
  management_account: management
  cross_account_backup: enabled
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
"#,
    },
    Row {
        code: "E110",
        rule: "alias without `alias/`",
        expected: &[("E110", 20, 12)],
        yaml: r#"version: 1
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
    alias: coffer/backup
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
"#,
    },
    Row {
        code: "E111",
        rule: "alias under `alias/aws/`",
        expected: &[("E111", 20, 12)],
        yaml: r#"version: 1
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
    alias: alias/aws/backup
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
"#,
    },
    Row {
        code: "E112",
        rule: "rotation period outside 90-2560",
        expected: &[("E112", 18, 29)],
        yaml: r#"version: 1
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
    rotation: {period_days: 30}
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
"#,
    },
    Row {
        code: "E113",
        rule: "deletion window outside 7-30",
        expected: &[("E113", 18, 27)],
        yaml: r#"version: 1
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
    deletion_window_days: 5
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
"#,
    },
    Row {
        code: "E114",
        rule: "key usable by its own account",
        expected: &[("E114", 17, 25)],
        yaml: r#"version: 1
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
    usable_by: [backup, source]
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
"#,
    },
    Row {
        code: "E115",
        rule: "raw statement without a Sid",
        expected: &[("E115", 19, 9)],
        yaml: r#"version: 1
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
    statements:
      - {Effect: Allow, Principal: "*", Action: "kms:Decrypt", Resource: "*"}
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
"#,
    },
    Row {
        code: "E120",
        rule: "vault name AWS rejects",
        expected: &[("E120", 24, 11)],
        yaml: r#"version: 1
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
    name: my.vault
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
"#,
    },
    Row {
        code: "E121",
        rule: "vault key in another account",
        expected: &[("E121", 25, 10)],
        yaml: r#"version: 1
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
    key: backup-vault
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
"#,
    },
    Row {
        code: "E122",
        rule: "lock with min above max (no E136 on top)",
        expected: &[("E122", 32, 57)],
        yaml: r#"version: 1
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
    lock: {min_retention_days: 100, max_retention_days: 50}
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
"#,
    },
    Row {
        code: "E123",
        rule: "compliance grace time under 3 days",
        expected: &[("E123", 32, 33)],
        yaml: r#"version: 1
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
    lock: {changeable_for_days: 1}
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
"#,
    },
    Row {
        code: "E124",
        rule: "wildcard action in a vault access policy",
        expected: &[("E124", 33, 11)],
        yaml: r#"version: 1
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
      statements:
        - {Sid: Guard, Effect: Deny, Principal: "*", Action: "backup:*", Resource: "*"}
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
"#,
    },
    Row {
        code: "E130",
        rule: "rule name AWS rejects",
        expected: &[("E130", 36, 15)],
        yaml: r#"version: 1
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
      - name: "daily rule"
        vault: source
        lifecycle: {delete_after_days: 35}
        copy_to:
          - vault: central
            lifecycle: {delete_after_days: 90}
"#,
    },
    Row {
        code: "E130",
        rule: "plan name AWS rejects",
        expected: &[("E130", 35, 11)],
        yaml: r#"version: 1
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
    name: "daily plan"
    rules:
      - name: daily
        vault: source
        lifecycle: {delete_after_days: 35}
        copy_to:
          - vault: central
            lifecycle: {delete_after_days: 90}
"#,
    },
    Row {
        code: "E131",
        rule: "rate expression instead of cron",
        expected: &[("E131", 38, 19)],
        yaml: r#"version: 1
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
        schedule: rate(1 day)
        lifecycle: {delete_after_days: 35}
        copy_to:
          - vault: central
            lifecycle: {delete_after_days: 90}
"#,
    },
    Row {
        code: "E132",
        rule: "start window under 60 minutes",
        expected: &[("E132", 38, 31)],
        yaml: r#"version: 1
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
        start_window_minutes: 30
        lifecycle: {delete_after_days: 35}
        copy_to:
          - vault: central
            lifecycle: {delete_after_days: 90}
"#,
    },
    Row {
        code: "E132",
        rule: "completion window not longer than the start window",
        expected: &[("E132", 39, 36)],
        yaml: r#"version: 1
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
        start_window_minutes: 120
        completion_window_minutes: 60
        lifecycle: {delete_after_days: 35}
        copy_to:
          - vault: central
            lifecycle: {delete_after_days: 90}
"#,
    },
    Row {
        code: "E133",
        rule: "deletion less than 90 days after cold storage",
        expected: &[("E133", 38, 77)],
        yaml: r#"version: 1
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
        lifecycle: {move_to_cold_storage_after_days: 30, delete_after_days: 35}
        copy_to:
          - vault: central
            lifecycle: {delete_after_days: 90}
"#,
    },
    Row {
        code: "E133",
        rule: "lifecycle days out of range",
        expected: &[("E133", 38, 40)],
        yaml: r#"version: 1
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
        lifecycle: {delete_after_days: 0}
        copy_to:
          - vault: central
            lifecycle: {delete_after_days: 90}
"#,
    },
    Row {
        code: "E134",
        rule: "rule vault outside the plan's region",
        expected: &[("E134", 38, 16)],
        yaml: r#"version: 1
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
    region: eu-central-1
    rules:
      - name: daily
        vault: source
        lifecycle: {delete_after_days: 35}
        copy_to:
          - vault: central
            lifecycle: {delete_after_days: 90}
"#,
    },
    Row {
        code: "E135",
        rule: "more than 5 copy actions",
        expected: &[("E135", 46, 13)],
        yaml: r#"version: 1
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
          - vault: central
          - vault: central
          - vault: central
          - vault: central
          - vault: central
"#,
    },
    Row {
        code: "E136",
        rule: "copy retention under the destination lock's minimum",
        expected: &[("E136", 42, 24)],
        yaml: r#"version: 1
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
    lock: {min_retention_days: 100}
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
"#,
    },
    Row {
        code: "E137",
        rule: "cross-account copy the destination policy does not allow",
        expected: &[("E137", 40, 20)],
        yaml: r#"version: 1
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
      allow_copy_from: [management]
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
"#,
    },
    Row {
        code: "E137",
        rule: "cross-account copy into a vault without access policy",
        expected: &[("E137", 38, 20)],
        yaml: r#"version: 1
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
"#,
    },
    Row {
        code: "E138",
        rule: "continuous backup kept over 35 days",
        expected: &[("E138", 38, 20)],
        yaml: r#"version: 1
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
        lifecycle: {delete_after_days: 36}
        continuous_backup: true
        copy_to:
          - vault: central
            lifecycle: {delete_after_days: 90}
"#,
    },
    Row {
        code: "E139",
        rule: "selection that selects nothing",
        expected: &[("E139", 43, 15)],
        yaml: r#"version: 1
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
    selections:
      - name: db
"#,
    },
    Row {
        code: "E139",
        rule: "selection ARN with `*` before its end",
        expected: &[("E139", 44, 21)],
        yaml: r#"version: 1
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
    selections:
      - name: db
        resources: ["arn:aws:rds:eu-west-1:111111111111:db:*-orders"]
"#,
    },
    Row {
        code: "E139",
        rule: "selection ARN in another account or region than the plan",
        expected: &[("E139", 44, 21), ("E139", 45, 21)],
        yaml: r#"version: 1
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
    selections:
      - name: db
        resources: ["arn:aws:rds:eu-west-1:222222222222:db:orders",
                    "arn:aws:rds:us-east-1:111111111111:db:orders"]
"#,
    },
    Row {
        code: "E140",
        rule: "cross-account copy while cross-account backup is disabled",
        expected: &[("E140", 40, 20)],
        yaml: r#"version: 1
name: demo
organization:
  id: o-demo123456
  management_account: management
  cross_account_backup: disabled
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
"#,
    },
    Row {
        code: "E141",
        rule: "schedule time zone that is not an IANA name",
        expected: &[("E141", 38, 28)],
        yaml: r#"version: 1
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
        schedule_timezone: paris
        lifecycle: {delete_after_days: 35}
        copy_to:
          - vault: central
            lifecycle: {delete_after_days: 90}
"#,
    },
    Row {
        code: "W101",
        rule: "copy to a vault in the same account and region",
        expected: &[("W101", 43, 20)],
        yaml: r#"version: 1
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
  local:
    account: source
    name: local
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
          - vault: local
            lifecycle: {delete_after_days: 90}
"#,
    },
    Row {
        code: "W102",
        rule: "backup-account key usable by the source account",
        expected: &[("W102", 41, 20)],
        yaml: r#"version: 1
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
    usable_by: [source]
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
"#,
    },
    Row {
        code: "W103",
        rule: "cross-account copy with unmanaged cross-account backup",
        expected: &[("W103", 40, 20)],
        yaml: r#"version: 1
name: demo
organization:
  id: o-demo123456
  management_account: management
  cross_account_backup: unmanaged
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
"#,
    },
    Row {
        code: "W104",
        rule: "cross-account copy into a vault with AWS Backup's default key",
        expected: &[("W104", 39, 20)],
        yaml: r#"version: 1
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
"#,
    },
    Row {
        code: "W105",
        rule: "recovery points kept forever in a compliance-locked vault",
        expected: &[("W105", 42, 24)],
        yaml: r#"version: 1
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
    lock: {changeable_for_days: 3}
backup_plans:
  daily:
    account: source
    rules:
      - name: daily
        vault: source
        lifecycle: {delete_after_days: 35}
        copy_to:
          - vault: central
            lifecycle: {delete_after_days: -1}
"#,
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
            mismatch(row.yaml, row.expected)
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
        // The first YAML line is line 1: fixtures start right after `r#"`.
        assert!(!row.yaml.starts_with('\n'), "{}", row.rule);
    }
}

#[test]
fn every_code_has_a_row() {
    for (code, description) in codes::ALL {
        let covered = ROWS.iter().any(|row| row.code == *code);
        if UNREACHABLE.contains(code) {
            assert!(!covered, "{code} has a row: remove it from UNREACHABLE");
        } else {
            assert!(covered, "no row for {code} ({description})");
        }
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
    let loaded = check(row.yaml, row.expected);
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
    let loaded = check(field.yaml, field.expected);
    assert_eq!(only(&loaded, "E002").help, "did you mean `alias`?");

    let section = row("E002", "unknown top-level section");
    let loaded = check(section.yaml, section.expected);
    assert_eq!(only(&loaded, "E002").help, "did you mean `backup_plans`?");
}

#[test]
fn account_id_written_as_number_says_to_quote_it() {
    let row = row("E005", "account ID");
    let loaded = check(row.yaml, row.expected);
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
    let loaded = check(row.yaml, row.expected);
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
        r#"version: 1
name: demo
organization:
  id: o-demo123456
  management_account: management
  cross_account_backup: enabled
defaults:
  region: eu-west-1
accounts:
  management: {id: 100000000000}
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
    rotation: {period_days: 30}
vaults:
  source:
    account: source
    name: x
    key: source-key
  central:
    account: backup
    name: central
    key: backup-vault
    access_policy:
      allow_copy_from: [management]
backup_plans:
  daily:
    account: source
    rules:
      - {name: first, vault: nope}
      - name: daily
        vault: source
        schedule: rate(1 day)
        lifecycle: {delete_after_days: 35}
        copy_to:
          - vault: central
            lifecycle: {delete_after_days: 90}
"#,
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
        r#"version: 1
name: demo
organization:
  id: o-demo123456
  management_account: management
  cross_account_backup: unmanaged
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
    usable_by: [source]
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
"#,
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
        let loaded = check(row.yaml, row.expected);
        assert!(loaded.topology.is_some(), "{}: {}", row.code, row.rule);
    }
}

#[test]
fn check_fails_on_a_wrong_position() {
    let row = row("E104", "12 digits");
    let (code, line, col) = row.expected[0];
    assert!(mismatch(row.yaml, &[(code, line, col + 1)]).is_some());
    assert!(mismatch(row.yaml, &[(code, line + 1, col)]).is_some());
    assert!(mismatch(row.yaml, &[]).is_some());
    assert!(mismatch(row.yaml, &[(code, line, col), (code, line, col)]).is_some());
}
