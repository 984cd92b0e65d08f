//! One row per validation rule: a small topology file that breaks exactly that rule, and the
//! exact code, line and column of every diagnostic the file produces (errors and warnings).
//!
//! Every file is [`BASE`] (a minimal valid topology mirroring `examples/seed/topology.yaml`)
//! with a few text edits ([`Edit`]) that break one rule; the text each edit finds occurs
//! exactly once in [`BASE`] (see [`edited`]). `BASE` is written flush left, with the first YAML line on the
//! same line as `r#"`, so `version: 1` is line 1; an edit text that spans lines continues
//! flush left too, so its indentation is the YAML's. Lines and columns are those of the
//! edited file, as an editor shows them.
//!
//! The rows are in one module per part of the file they break: `file`, `accounts`, `keys`,
//! `vaults`, `backup_plans` and `copies`.

#[path = "../common/mod.rs"]
mod common;

mod accounts;
mod backup_plans;
mod copies;
mod file;
mod keys;
mod vaults;

use Edit::{Replace, Tail};
use coffer_spec::{Loaded, Severity, codes};
use common::only;

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
    /// The edits that turn [`BASE`] into this row's file, applied in order.
    edits: &'static [Edit],
    expected: &'static [(&'static str, u32, u32)],
}

impl Row {
    /// This row's file: [`BASE`] with its edits applied.
    fn yaml(&self) -> String {
        edited(self.edits)
            .unwrap_or_else(|problem| panic!("row {} ({}): {problem}", self.code, self.rule))
    }
}

/// A text edit of [`BASE`].
#[derive(Clone, Copy, Debug, PartialEq)]
enum Edit {
    /// `old` replaced by `new`.
    Replace(&'static str, &'static str),
    /// The text from `from` to the end of the file replaced by `new`.
    Tail(&'static str, &'static str),
}

impl Edit {
    /// The text the edit finds, which must occur exactly once.
    fn anchor(self) -> &'static str {
        match self {
            Edit::Replace(old, _) | Edit::Tail(old, _) => old,
        }
    }

    /// `text` edited, its anchor at `at`.
    fn apply(self, text: &str, at: usize) -> String {
        match self {
            Edit::Replace(old, new) => format!("{}{new}{}", &text[..at], &text[at + old.len()..]),
            Edit::Tail(_, new) => format!("{}{new}", &text[..at]),
        }
    }
}

/// How many times `needle` occurs in `text`, overlapping occurrences included.
fn occurrences(text: &str, needle: &str) -> usize {
    (0..=text.len())
        .filter(|&at| text.is_char_boundary(at) && text[at..].starts_with(needle))
        .count()
}

/// [`BASE`] with each of `edits` applied in turn, or why one does not apply: the text an edit
/// finds must occur exactly once in [`BASE`] and in the text it edits, so an edit can neither
/// miss nor land on one of several places.
fn edited(edits: &[Edit]) -> Result<String, String> {
    let mut yaml = BASE.to_owned();
    for &edit in edits {
        let anchor = edit.anchor();
        for (what, text) in [("BASE", BASE), ("the file edited so far", yaml.as_str())] {
            let count = occurrences(text, anchor);
            if count != 1 {
                return Err(format!(
                    "{anchor:?} occurs {count} times in {what}, not once"
                ));
            }
        }
        let at = yaml.find(anchor).unwrap_or_default();
        yaml = edit.apply(&yaml, at);
    }
    Ok(yaml)
}

/// [`BASE`] with `edits` applied; panics if one does not apply.
#[track_caller]
fn base_with(edits: &[Edit]) -> String {
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

/// Every row, by the part of the file it breaks.
fn rows() -> impl Iterator<Item = &'static Row> {
    [
        file::ROWS,
        accounts::ROWS,
        keys::ROWS,
        vaults::ROWS,
        backup_plans::ROWS,
        copies::ROWS,
    ]
    .into_iter()
    .flatten()
}

#[test]
fn base_file_is_valid() {
    let loaded = check(BASE, &[]);
    assert!(loaded.topology.is_some());
}

#[test]
fn every_rule_reports_its_code_at_the_exact_position() {
    let failures: Vec<String> = rows()
        .filter_map(|row| {
            mismatch(&row.yaml(), row.expected)
                .map(|problem| format!("--- {} ({}):\n{problem}", row.code, row.rule))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows().count(),
        failures.join("\n")
    );
}

#[test]
fn rows_are_well_formed() {
    for row in rows() {
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
        for edit in row.edits {
            if let Replace(old, new) = edit {
                assert_ne!(old, new, "{}: an edit that changes nothing", row.rule);
            }
        }
        // Panics unless every edit applies exactly once.
        assert_ne!(row.yaml(), BASE, "{}", row.rule);
    }
}

#[test]
fn every_code_has_a_row() {
    for (code, description) in codes::ALL {
        let covered = rows().any(|row| row.code == *code);
        assert!(covered, "no row for {code} ({description})");
    }
}

fn row(code: &str, rule: &str) -> &'static Row {
    rows()
        .find(|row| row.code == code && row.rule.contains(rule))
        .unwrap_or_else(|| panic!("no row {code} {rule}"))
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
            Replace(
                r#"management: {id: "100000000000"}"#,
                "management: {id: 100000000000}",
            ),
            Replace(
                "alias: alias/coffer/backup",
                "alias: alias/coffer/backup
    rotation: {period_days: 30}",
            ),
            Replace("name: source", "name: x"),
            Replace("allow_copy_from: [source]", "allow_copy_from: [management]"),
            Replace(
                "rules:",
                "rules:
      - {name: first, vault: nope}",
            ),
            Replace(
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
            Replace(
                "cross_account_backup: enabled",
                "cross_account_backup: unmanaged",
            ),
            Replace(
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
    for row in rows().filter(|row| row.code.starts_with('W')) {
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
        edited(&[Replace("version: 1", "version: 2")])
            .is_ok_and(|yaml| yaml.starts_with("version: 2\n"))
    );
    // Missing, ambiguous and empty texts are refused.
    assert!(edited(&[Replace("version: 3", "version: 2")]).is_err());
    assert!(edited(&[Replace("account: source", "account: sourc")]).is_err());
    assert!(edited(&[Replace("", "x")]).is_err());
    // An edit may not land on text a previous edit made ambiguous or removed.
    assert!(
        edited(&[
            Replace("name: demo", "name: demo\nname: demo"),
            Replace("name: demo", "x")
        ])
        .is_err()
    );
    assert!(edited(&[Replace("version: 1", "v: 1"), Replace("version: 1", "x")]).is_err());
    assert_eq!(occurrences("aaa", "aa"), 2);
    // A tail edit replaces everything from its text on.
    assert_eq!(
        edited(&[Tail("accounts:", "accounts: {}\n")]).map(|yaml| yaml.lines().count()),
        Ok(9)
    );
    assert!(edited(&[Tail("account: source", "x")]).is_err());
}
