//! Every SDK call the `aws` crate makes is covered by the IAM policy `coffer iam-policy` prints.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use coffer_aws::iam::{self, CALLS, Mode};

const CLIENTS: &[&str] = &[
    "kms",
    "backup",
    "rds",
    "sts",
    "tagging",
    "organizations()",
    "iam()",
];

/// The source with the whitespace around `.` removed, so method chains read `client.method(`.
fn normalized(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    for (i, c) in chars.iter().enumerate() {
        if c.is_whitespace() {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            let prev = out.chars().last();
            if next == Some(&'.') || prev == Some('.') {
                continue;
            }
        }
        out.push(*c);
    }
    out
}

/// (client, method) pairs called in `source`.
fn calls_in(source: &str) -> BTreeSet<(String, String)> {
    let text = normalized(source);
    let mut found = BTreeSet::new();
    for client in CLIENTS {
        let needle = format!("{client}.");
        let mut from = 0;
        while let Some(offset) = text[from..].find(&needle) {
            let start = from + offset;
            from = start + needle.len();
            let before = text[..start].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let method: String = text[from..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            let after = text[from + method.len()..].chars().next();
            if !method.is_empty() && after == Some('(') {
                found.insert((client.to_string(), method));
            }
        }
    }
    found
}

/// The `.rs` files under `dir`, in its modules' folders too.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("src readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found
}

#[test]
fn every_sdk_call_is_in_the_policy() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut called = BTreeSet::new();
    for path in sources(&dir) {
        if path.file_name().is_some_and(|n| n != "iam.rs") {
            called.extend(calls_in(
                &std::fs::read_to_string(&path).expect("source readable"),
            ));
        }
    }
    assert!(
        called.len() > 40,
        "the scan found too few calls: {called:?}"
    );
    let covered: BTreeSet<(String, String)> = CALLS
        .iter()
        .map(|c| (c.client.to_string(), c.method.to_string()))
        .collect();
    let missing: Vec<_> = called.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "calls without an IAM entry in crates/aws/src/iam_calls.txt: {missing:?}"
    );
    let unused: Vec<_> = covered.difference(&called).collect();
    assert!(
        unused.is_empty(),
        "IAM entries for calls the crate no longer makes: {unused:?}"
    );
}

#[test]
fn the_scanner_sees_chains_split_over_lines() {
    let found = calls_in(
        "match kms\n    .create_alias()\n; self.clients.backup.list_tags().x; notkms.foo()",
    );
    assert!(found.contains(&("kms".into(), "create_alias".into())));
    assert!(found.contains(&("backup".into(), "list_tags".into())));
    assert!(!found.iter().any(|(_, m)| m == "foo"));
}

#[test]
fn read_only_policy_has_no_write_action() {
    let read = iam::actions(Mode::Plan);
    for action in &read {
        let verb = action.split(':').nth(1).unwrap_or_default();
        assert!(
            ["List", "Describe", "Get"]
                .iter()
                .any(|p| verb.starts_with(p)),
            "{action} is not read-only"
        );
    }
    let apply = iam::actions(Mode::Apply);
    assert!(apply.contains(&"kms:CreateKey") && apply.contains(&"backup:CreateBackupVault"));
    assert!(
        !apply.contains(&"backup:StartBackupJob"),
        "jobs are the drill's, not apply's"
    );
    let policy = iam::policy(Mode::Apply);
    assert_eq!(
        policy["Statement"][1]["Condition"]["StringEquals"]["iam:PassedToService"],
        "backup.amazonaws.com"
    );
}
