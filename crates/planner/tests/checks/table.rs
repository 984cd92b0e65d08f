//! The table of the checks' tests: each row names a check, a fixture that must make
//! `evaluate` report it and a fixture without the defect that must not.

use coffer_planner::checks::{Finding, evaluate, find};

use crate::fixtures::Fixture;

pub struct Row {
    /// The test's name.
    pub name: &'static str,
    pub id: &'static str,
    pub what: &'static str,
    pub fail: fn() -> Fixture,
    pub pass: fn() -> Fixture,
    /// The finding's subject: exact, or a prefix when it ends in `*`.
    pub subject: &'static str,
    /// What the finding's message must name.
    pub message: &'static [&'static str],
}

/// The rows of a group (`rows()`), each its own test.
macro_rules! rows {
    ($(
        $name:ident: $id:literal, $what:literal,
        fail: $fail:expr,
        pass: $pass:expr,
        subject: $subject:expr,
        message: [$($message:expr),* $(,)?];
    )*) => {
        pub fn rows() -> Vec<$crate::table::Row> {
            vec![$($crate::table::Row {
                name: stringify!($name),
                id: $id,
                what: $what,
                fail: $fail,
                pass: $pass,
                subject: $subject,
                message: &[$($message),*],
            }),*]
        }

        $(
            #[test]
            fn $name() {
                let row = rows()
                    .into_iter()
                    .find(|r| r.name == stringify!($name))
                    .expect("the row exists");
                $crate::table::check(&row);
            }
        )*
    };
}

fn subject_matches(pattern: &str, subject: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => subject.starts_with(prefix),
        None => subject == pattern,
    }
}

/// The findings, one a line, for assertion messages.
pub fn listing(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "  (no findings)".into();
    }
    findings
        .iter()
        .map(|f| format!("  {f}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What `evaluate` reports for `fixture`.
pub fn findings(fixture: Fixture) -> Vec<Finding> {
    let (topology, diagnostics, state) = fixture;
    evaluate(&topology, &diagnostics, state.as_ref())
}

/// The failing fixture reports `row.id` for the expected subject and resource; the passing
/// one does not report `row.id` at all.
pub fn check(row: &Row) {
    let catalog = find(row.id).unwrap_or_else(|| panic!("{} is not in the catalog", row.id));
    let failing = findings((row.fail)());
    let hits: Vec<&Finding> = failing.iter().filter(|f| f.check == row.id).collect();
    assert!(
        !hits.is_empty(),
        "{} ({}): the failing fixture reports no {} finding; it reports:\n{}",
        row.name,
        row.what,
        row.id,
        listing(&failing)
    );
    assert!(
        hits.iter().any(|f| subject_matches(row.subject, &f.subject)
            && row.message.iter().all(|m| f.message.contains(m))),
        "{} ({}): no {} finding is about `{}` with a message naming {:?}; it reports:\n{}",
        row.name,
        row.what,
        row.id,
        row.subject,
        row.message,
        listing(&failing)
    );
    for hit in hits {
        assert_eq!(hit.severity, catalog.severity, "{hit}");
        assert_eq!(hit.title, catalog.title, "{hit}");
        assert!(
            hit.anchor().is_some(),
            "{hit}: the subject points at nothing in the file (SARIF would put it on line 1)"
        );
    }
    let passing = findings((row.pass)());
    let hits: Vec<Finding> = passing
        .iter()
        .filter(|f| f.check == row.id)
        .cloned()
        .collect();
    assert!(
        hits.is_empty(),
        "{} ({}): the passing fixture reports {}:\n{}",
        row.name,
        row.what,
        row.id,
        listing(&hits)
    );
}
