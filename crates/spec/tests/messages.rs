//! Loading errors in the words of someone writing YAML: what is wrong, where, and what to do,
//! with no Rust or parser type names (`i64`, `struct CopySpec`, `budget breached: Nodes`), no
//! "fix the YAML syntax" where the syntax is fine, and long bad values cut and shown once.

use coffer_spec::{Diagnostic, Limits, Loaded};

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

fn load(extra: &str) -> Loaded {
    coffer_spec::load_str(&format!("{BASE}{extra}"))
}

/// The only error of `loaded`, checked for jargon and a help line.
fn only_error(loaded: &Loaded) -> &Diagnostic {
    let errors: Vec<&Diagnostic> = loaded.diagnostics.errors().collect();
    assert_eq!(errors.len(), 1, "{}", loaded.render("t.yaml"));
    let error = errors[0];
    plain(error);
    error
}

fn plain(error: &Diagnostic) {
    for word in JARGON {
        assert!(
            !error.message.contains(word) && !error.help.contains(word),
            "{word:?} in {error:?}"
        );
    }
    assert!(!error.help.is_empty(), "no help: {error:?}");
}

fn plan_with_rule(rule_fields: &str) -> String {
    format!(
        "backup_plans:\n  daily:\n    account: source\n    rules:\n      - name: daily\n        vault: local\n{rule_fields}"
    )
}

#[test]
fn a_copy_written_as_a_name_asks_for_a_mapping_of_a_copy() {
    let loaded = load(&plan_with_rule("        copy_to: [central]\n"));
    let error = only_error(&loaded);
    assert_eq!(error.code, "E003");
    assert_eq!(
        error.message,
        "in `backup_plans.daily.rules[0].copy_to[0]`: expected a mapping with the fields of a copy (vault, lifecycle), found the text `central`"
    );
    assert!(error.help.contains("`{vault: central}`"), "{error:?}");
    assert_eq!((error.pos.line, error.pos.col), (16, 19));
}

#[test]
fn text_where_a_whole_number_goes() {
    let loaded = load(&plan_with_rule("        start_window_minutes: soon\n"));
    let error = only_error(&loaded);
    assert_eq!(
        error.message,
        "in `backup_plans.daily.rules[0].start_window_minutes`: expected a whole number, found the text `soon`"
    );
    assert!(error.help.contains("whole number"), "{error:?}");

    let loaded = load(&plan_with_rule("        start_window_minutes: 60.5\n"));
    let error = only_error(&loaded);
    assert!(
        error
            .message
            .ends_with("expected a whole number, found the number `60.5`"),
        "{error:?}"
    );
    assert!(error.help.contains("decimal point"), "{error:?}");
}

#[test]
fn negative_and_huge_numbers() {
    let loaded = load("keys:\n  k: {account: source, alias: alias/k, deletion_window_days: -7}\n");
    let error = only_error(&loaded);
    assert_eq!(
        error.message,
        "in `keys.k.deletion_window_days`: expected a whole number (0 or more), found the number `-7`"
    );
    assert_eq!(error.help, "write 0 or a positive whole number");

    let loaded = load(
        "keys:\n  k: {account: source, alias: alias/k, deletion_window_days: 99999999999999}\n",
    );
    let error = only_error(&loaded);
    assert_eq!(error.help, "write a smaller number");
}

#[test]
fn yes_is_not_a_boolean() {
    let loaded = load("keys:\n  k: {account: source, alias: alias/k, guard: yes}\n");
    let error = only_error(&loaded);
    assert_eq!(
        error.message,
        "in `keys.k.guard`: expected `true` or `false`, found the text `yes`"
    );
    assert!(error.help.contains("YAML 1.2"), "{error:?}");
}

#[test]
fn lists_mappings_and_missing_values() {
    let loaded = load("keys:\n  k: {account: [source], alias: alias/k}\n");
    let error = only_error(&loaded);
    assert_eq!(
        error.message,
        "in `keys.k.account`: expected text, found a list"
    );

    let loaded = load("keys:\n  k: {account: source, alias: alias/k, usable_by: backup}\n");
    let error = only_error(&loaded);
    assert_eq!(
        error.message,
        "in `keys.k.usable_by`: expected a list, found the text `backup`"
    );
    assert!(error.help.contains("`[backup]`"), "{error:?}");

    let loaded = load("keys:\n  k: {account: source, alias: alias/k, tags: [a]}\n");
    let error = only_error(&loaded);
    assert_eq!(
        error.message,
        "in `keys.k.tags`: expected a mapping, found a list"
    );

    let loaded = load("keys:\n  k:\n    account:\n    alias: alias/k\n");
    let error = only_error(&loaded);
    assert_eq!(
        error.message,
        "in `keys.k.account`: expected text, found no value"
    );
}

#[test]
fn a_word_outside_the_allowed_set_lists_the_words() {
    let loaded = load(
        "organization: {id: o-abcdefghij, management_account: source, cross_account_backup: [on]}\n",
    );
    let error = only_error(&loaded);
    assert_eq!(
        error.message,
        "in `organization.cross_account_backup`: expected one of `enabled`, `disabled`, `unmanaged`, found a list"
    );
}

#[test]
fn a_long_bad_value_is_shown_once_and_cut() {
    let long = "y".repeat(300);
    let loaded = load(&format!(
        "keys:\n  k: {{account: source, alias: alias/k, rotation: {long}}}\n"
    ));
    let error = only_error(&loaded);
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
    let loaded = load(&format!("keys:\n  k: {{account: source, alias: {long}}}\n"));
    let error = only_error(&loaded);
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
    let error = only_error(&loaded);
    assert_eq!(error.code, "E001");
    assert!(
        error.message.contains("more than 50 YAML values"),
        "{error:?}"
    );
    assert!(error.help.contains("split the topology"), "{error:?}");
    assert!(
        error.help.contains("COFFER_MAX_YAML_VALUES=100"),
        "{error:?}"
    );
    assert!(!error.help.contains("syntax"), "{error:?}");
    // The default limit reads this file.
    assert!(coffer_spec::load_str(&text).topology.is_some());
}

#[test]
fn too_deep_names_the_limit() {
    let text = format!("{BASE}extra: {}{}\n", "[".repeat(100), "]".repeat(100));
    let loaded = coffer_spec::load_str(&text);
    let error = only_error(&loaded);
    assert!(
        error.message.contains("nested more than 64 levels"),
        "{error:?}"
    );
    assert!(
        error.help.contains("COFFER_MAX_YAML_DEPTH=128"),
        "{error:?}"
    );
}

#[test]
fn too_many_bytes_names_the_limit_and_how_to_raise_it() {
    let limits = Limits {
        max_bytes: 100,
        ..Limits::default()
    };
    let loaded = coffer_spec::load_str_with(BASE, &limits);
    let error = only_error(&loaded);
    assert_eq!(
        error.message,
        format!(
            "the file is {} bytes; Coffer reads topology files of at most 100 bytes",
            BASE.len()
        )
    );
    assert!(error.help.contains("split the topology"), "{error:?}");
    assert!(error.help.contains("COFFER_MAX_FILE_BYTES="), "{error:?}");
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
fn an_alias_inside_its_own_anchor() {
    let loaded = load("extra: &loop [*loop]\n");
    let error = only_error(&loaded);
    assert_eq!(
        error.message,
        "the alias `*loop` is inside the value its anchor `&loop` names, so it would repeat forever"
    );
    assert!(!error.help.contains("syntax"), "{error:?}");
}

#[test]
fn an_alias_without_an_anchor() {
    let loaded = load("extra: *nowhere\n");
    let error = only_error(&loaded);
    assert!(
        error
            .message
            .starts_with("the alias `*nowhere` refers to no anchor"),
        "{error:?}"
    );
}

#[test]
fn two_documents() {
    let loaded = coffer_spec::load_str(&format!("{BASE}---\n{BASE}"));
    let error = only_error(&loaded);
    assert!(
        error.message.contains("more than one YAML document"),
        "{error:?}"
    );
    assert!(!error.help.contains("syntax"), "{error:?}");
}

#[test]
fn an_empty_file() {
    let loaded = coffer_spec::load_str("\n# nothing yet\n");
    let error = only_error(&loaded);
    assert_eq!(error.message, "the file is empty");
}

#[test]
fn real_syntax_errors_still_say_so() {
    let loaded = load("keys:\n  k: {account: source, alias: alias/k\n");
    let error = only_error(&loaded);
    assert_eq!(error.code, "E001");
    assert_eq!(error.help, "fix the YAML syntax at this position");
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

#[test]
fn nesting_up_to_the_limit_loads_on_a_small_stack() {
    // The parser recurses per level; the test thread's 2 MiB stack must not matter.
    let text = format!("{BASE}extra: {}{}\n", "[".repeat(63), "]".repeat(63));
    let loaded = coffer_spec::load_str(&text);
    let error = only_error(&loaded);
    assert_eq!(error.message, "unknown section `extra`");
}
