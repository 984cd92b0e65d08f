//! Loading errors in the words of someone writing YAML: what is wrong, where, and what to do,
//! with no Rust or parser type names (`i64`, `struct CopySpec`, `budget breached: Nodes`), no
//! "fix the YAML syntax" where the syntax is fine, and long bad values cut and shown once.

mod common;

use coffer_spec::{Diagnostic, Limits, Loaded};
use common::{only_error, says};

/// A valid topology the cases below break in one place.
const BASE: &str = r#"version: 1
name: demo
defaults: {region: eu-west-1}
accounts:
  source: {id: "111122223333"}
  backup: {id: "444455556666"}
vaults:
  central: {account: backup, name: central}
  local: {account: source, name: local}
"#;

/// Words that only a Rust programmer or a parser's author would write.
const JARGON: &[&str] = &[
    "struct ",
    "enum ",
    "i64",
    "u32",
    "i32",
    "u64",
    "usize",
    "floating point",
    "a sequence",
    "a map,",
    "budget",
    "breached",
    "Nodes {",
    "weak recursion",
    "serde",
    "Spec",
    "Option",
    "unit value",
];

/// [`BASE`] with `extra` added.
fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

/// [`BASE`] with a backup plan whose one rule has `rule_fields` (each line indented 8 spaces).
fn rule(rule_fields: &str) -> String {
    with(&format!(
        "backup_plans:\n  daily:\n    account: source\n    rules:\n      - name: daily\n        vault: local\n{rule_fields}"
    ))
}

/// [`BASE`] with a key `k` that has `fields` besides its account and alias.
fn key(fields: &str) -> String {
    with(&format!(
        "keys:\n  k: {{account: source, alias: alias/k, {fields}}}\n"
    ))
}

/// The only error of `loaded`, checked for jargon and a help line.
#[track_caller]
fn plain_error(loaded: &Loaded) -> Diagnostic {
    let error = only_error(loaded);
    for word in JARGON {
        assert!(
            !error.message.contains(word) && !error.help.contains(word),
            "{word:?} in {error:?}"
        );
    }
    assert!(!error.help.is_empty(), "no help: {error:?}");
    error
}

/// A file with one mistake, and what its only error says.
struct Case {
    what: &'static str,
    file: String,
    code: &'static str,
    /// Line and column.
    at: (u32, u32),
    message: &'static str,
    help: &'static str,
}

/// Every mistake the messages are checked on; each expects its error's exact code, position,
/// message and help.
fn cases() -> Vec<Case> {
    let mut cases = shape_mistakes();
    cases.extend(yaml_mistakes());
    cases
}

/// Values that do not fit the format.
fn shape_mistakes() -> Vec<Case> {
    vec![
        Case {
            what: "a copy written as a name asks for a mapping of a copy",
            file: rule("        copy_to: [central]\n"),
            code: "E003",
            at: (16, 19),
            message: "in `backup_plans.daily.rules[0].copy_to[0]`: expected a mapping with the fields of a copy (vault, lifecycle), found the text `central`",
            help: "write a mapping, e.g. `{vault: central}`; `coffer schema --markdown` lists the fields",
        },
        Case {
            what: "text where a whole number goes",
            file: rule("        start_window_minutes: soon\n"),
            code: "E003",
            at: (16, 31),
            message: "in `backup_plans.daily.rules[0].start_window_minutes`: expected a whole number, found the text `soon`",
            help: "write a whole number such as `60`, without quotes",
        },
        Case {
            what: "a decimal where a whole number goes",
            file: rule("        start_window_minutes: 60.5\n"),
            code: "E003",
            at: (16, 31),
            message: "in `backup_plans.daily.rules[0].start_window_minutes`: expected a whole number, found the number `60.5`",
            help: "write a whole number, without a decimal point",
        },
        Case {
            what: "a negative number where 0 or more goes",
            file: key("deletion_window_days: -7"),
            code: "E003",
            at: (11, 62),
            message: "in `keys.k.deletion_window_days`: expected a whole number (0 or more), found the number `-7`",
            help: "write 0 or a positive whole number",
        },
        Case {
            what: "a huge number",
            file: key("deletion_window_days: 99999999999999"),
            code: "E003",
            at: (11, 62),
            message: "in `keys.k.deletion_window_days`: expected a whole number (0 or more), found the number `99999999999999`",
            help: "write a smaller number",
        },
        Case {
            what: "`yes` is not a boolean",
            file: key("guard: yes"),
            code: "E003",
            at: (11, 47),
            message: "in `keys.k.guard`: expected `true` or `false`, found the text `yes`",
            help: "write `true` or `false` (`yes`, `no`, `on` and `off` are text in YAML 1.2)",
        },
        Case {
            what: "a list where text goes",
            file: with("keys:\n  k: {account: [source], alias: alias/k}\n"),
            code: "E003",
            at: (11, 16),
            message: "in `keys.k.account`: expected text, found a list",
            help: "write one value, not a list",
        },
        Case {
            what: "text where a list goes",
            file: key("usable_by: backup"),
            code: "E003",
            at: (11, 51),
            message: "in `keys.k.usable_by`: expected a list, found the text `backup`",
            help: "write a list: `[backup]`, or one `- item` per line",
        },
        Case {
            what: "a list where a mapping goes",
            file: key("tags: [a]"),
            code: "E003",
            at: (11, 46),
            message: "in `keys.k.tags`: expected a mapping, found a list",
            help: "`coffer schema --markdown` (docs/topology.md) describes `keys.k.tags`",
        },
        Case {
            what: "a missing value",
            file: with("keys:\n  k:\n    account: source\n    alias:\n"),
            code: "E003",
            at: (13, 10),
            message: "in `keys.k.alias`: expected text, found no value",
            help: "write a value after the colon",
        },
        Case {
            what: "a word outside the allowed set lists the words",
            file: with(
                "organization: {id: o-abcdefghij, management_account: source, cross_account_backup: [on]}\n",
            ),
            code: "E003",
            at: (10, 84),
            message: "in `organization.cross_account_backup`: expected one of `enabled`, `disabled`, `unmanaged`, found a list",
            help: "use one of the listed values",
        },
    ]
}

/// YAML that does not read as one topology.
fn yaml_mistakes() -> Vec<Case> {
    vec![
        Case {
            what: "an alias inside its own anchor",
            file: with("extra: &loop [*loop]\n"),
            code: "E001",
            at: (10, 15),
            message: "the alias `*loop` is inside the value its anchor `&loop` names, so it would repeat forever",
            help: "an alias may only repeat a value that is complete before it: write the value out, or move the anchor",
        },
        Case {
            what: "an alias without an anchor",
            file: with("extra: *nowhere\n"),
            code: "E001",
            at: (10, 8),
            message: "the alias `*nowhere` refers to no anchor: nothing before it is marked `&nowhere`",
            help: "mark the value to repeat with `&name` before the alias, or write the value out",
        },
        Case {
            what: "two documents",
            file: format!("{BASE}---\n{BASE}"),
            code: "E001",
            at: (11, 1),
            message: "the file holds more than one YAML document (separated by `---`)",
            help: "a topology is one YAML document: keep one, and put the others in files of their own",
        },
        Case {
            what: "an empty file",
            file: "\n# nothing yet\n".to_string(),
            code: "E004",
            at: (1, 1),
            message: "the file is empty",
            help: "a topology starts with `version: 1`, `name: <topology name>` and `accounts:`; see examples/seed/topology.yaml",
        },
        Case {
            what: "a real syntax error still says so",
            file: with("keys:\n  k: {account: source, alias: alias/k\n"),
            code: "E001",
            at: (11, 6),
            message: "unclosed bracket '{'",
            help: "fix the YAML syntax at this position",
        },
        Case {
            what: "nesting up to the limit loads on a small stack (the parser recurses per level; the test thread's 2 MiB stack must not matter)",
            file: with(&format!("extra: {}{}\n", "[".repeat(63), "]".repeat(63))),
            code: "E002",
            at: (10, 1),
            message: "unknown section `extra`",
            help: "sections are version, name, organization, defaults, accounts, keys, vaults, backup_plans, account_sets",
        },
    ]
}

#[test]
fn every_mistake_is_told_in_plain_words_with_a_fix() {
    for case in cases() {
        let error = plain_error(&coffer_spec::load_str(&case.file));
        let found = (
            error.code,
            (error.pos.line, error.pos.col),
            error.message.as_str(),
            error.help.as_str(),
        );
        let expected = (case.code, case.at, case.message, case.help);
        assert_eq!(found, expected, "{}", case.what);
    }
}

#[test]
fn a_long_bad_value_is_shown_once_and_cut() {
    let long = "y".repeat(300);
    let loaded = coffer_spec::load_str(&key(&format!("rotation: {long}")));
    let error = plain_error(&loaded);
    let cut = format!("`{}…`", "y".repeat(80));
    assert!(error.message.contains(&cut), "{error:?}");
    let text = format!("{} {}", error.message, error.help);
    assert_eq!(
        text.matches("yyyyyyyyyy").count(),
        8,
        "once, 80 characters: {text}"
    );
    assert!(!text.contains(&"y".repeat(81)), "{text}");

    // Meaning errors cut the values they quote too.
    let loaded = coffer_spec::load_str(&with(&format!(
        "keys:\n  k: {{account: source, alias: {long}}}\n"
    )));
    let error = plain_error(&loaded);
    assert!(error.message.contains(&cut), "{error:?}");
    assert!(!error.message.contains(&"y".repeat(81)), "{error:?}");
    // The source line under the message is shown around the caret, not whole.
    let rendered = loaded.render("t.yaml");
    assert!(!rendered.contains(&"y".repeat(200)), "{rendered}");
    assert!(rendered.contains('…'), "{rendered}");
}

#[test]
fn too_many_values_names_the_limit_and_how_to_split_or_raise_it() {
    let limits = Limits {
        max_nodes: 50,
        ..Limits::default()
    };
    let mut text = BASE.to_string();
    text.push_str("keys:\n");
    for i in 0..20 {
        text.push_str(&format!("  k{i}: {{account: source, alias: alias/k{i}}}\n"));
    }
    let loaded = coffer_spec::load_str_with(&text, &limits);
    let error = plain_error(&loaded);
    assert_eq!(error.code, "E001");
    says(
        &error,
        &["more than 50 YAML values"],
        &["split the topology", "COFFER_MAX_YAML_VALUES=100"],
    );
    assert!(!error.help.contains("syntax"), "{error:?}");
    // The default limit reads this file.
    assert!(coffer_spec::load_str(&text).topology.is_some());
}

#[test]
fn too_deep_names_the_limit() {
    let text = with(&format!("extra: {}{}\n", "[".repeat(100), "]".repeat(100)));
    let error = plain_error(&coffer_spec::load_str(&text));
    says(
        &error,
        &["nested more than 64 levels"],
        &["COFFER_MAX_YAML_DEPTH=128"],
    );
}

#[test]
fn too_many_bytes_names_the_limit_and_how_to_raise_it() {
    let limits = Limits {
        max_bytes: 100,
        ..Limits::default()
    };
    let loaded = coffer_spec::load_str_with(BASE, &limits);
    let error = plain_error(&loaded);
    assert_eq!(
        error.message,
        format!(
            "the file is {} bytes; Coffer reads topology files of at most 100 bytes",
            BASE.len()
        )
    );
    says(
        &error,
        &[],
        &["split the topology", "COFFER_MAX_FILE_BYTES="],
    );
    assert!(loaded.topology.is_none());
}

#[test]
fn limits_come_from_the_environment_variables() {
    let env = |name: &str| match name {
        "COFFER_MAX_YAML_VALUES" => Some("400_000".to_string()),
        "COFFER_MAX_FILE_BYTES" => Some("16777216".to_string()),
        _ => None,
    };
    let limits = Limits::from_lookup(env).expect("valid");
    assert_eq!(limits.max_nodes, 400_000);
    assert_eq!(limits.max_bytes, 16 * 1024 * 1024);
    assert_eq!(limits.max_depth, Limits::default().max_depth);
    let err =
        Limits::from_lookup(|name| (name == "COFFER_MAX_YAML_DEPTH").then(|| "deep".to_string()))
            .expect_err("not a number");
    assert_eq!(
        err,
        "COFFER_MAX_YAML_DEPTH must be a positive whole number, found `deep`"
    );
}

#[test]
fn files_that_are_not_yaml_text() {
    let dir = std::env::temp_dir().join(format!("coffer-messages-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "binary.yaml",
            b"\x7fELF\x02\x01\x01\x00\x00",
            "not a YAML file: it holds binary data (a zero byte at line 1, column 8)",
        ),
        (
            "latin1.yaml",
            b"version: 1\nname: caf\xe9\n",
            "not a YAML file: it is not UTF-8 text (the byte 0xe9 at line 2, column 10)",
        ),
        (
            "utf16.yaml",
            b"\xff\xfev\x00e\x00",
            "not a YAML file Coffer reads: it is UTF-16 text",
        ),
        ("missing.yaml", b"", "file not found"),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.join(name);
        if name != "missing.yaml" {
            std::fs::write(&path, bytes).expect("write");
        }
        let err = coffer_spec::load_file(&path).expect_err(name);
        assert!(
            err.message().starts_with(expected),
            "{name}: {}",
            err.message()
        );
        assert!(!err.help().is_empty());
    }
    let err = coffer_spec::load_file(&dir).expect_err("a directory");
    assert_eq!(err.message(), "is a directory, not a file");
    // A UTF-8 byte order mark is fine.
    let path = dir.join("bom.yaml");
    std::fs::write(&path, format!("\u{feff}{BASE}")).expect("write");
    let loaded = coffer_spec::load_file(&path).expect("reads");
    assert!(loaded.topology.is_some(), "{}", loaded.render("bom.yaml"));
    let _ = std::fs::remove_dir_all(&dir);
}
