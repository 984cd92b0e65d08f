//! Hostile edits of a valid file's text: byte flips, deleted and repeated lines, swapped keys,
//! values swapped for hostile ones (huge numbers, unicode, empty, deep nesting, anchors and
//! aliases, tags), and truncation.

use crate::rng::Rng;

/// Values a YAML scalar is swapped for.
pub const VALUES: &[&str] = &[
    "",
    "\"\"",
    "''",
    "~",
    "null",
    "0",
    "-1",
    "-0",
    "4294967296",
    "18446744073709551616",
    "99999999999999999999999999999999999999",
    "-9223372036854775809",
    "1e308",
    "1e309",
    "-1e-400",
    ".nan",
    ".inf",
    "-.inf",
    "0x7fffffffffffffff",
    "0o777",
    "1_000",
    "true",
    "yes",
    "[]",
    "{}",
    "[[]]",
    "{a: }",
    "\"ü漢字🦀\u{202e}evil\"",
    "\"\\u0000\\t\\r\"",
    "\"\\uD800\"",
    "\"\u{feff}bom\"",
    "ǅ̸̡",
    "\"  \"",
    "*",
    "\"*\"",
    "alias/aws/backup",
    "alias/",
    "arn:aws:iam::*:root",
    "arn:aws:kms:eu-west-1:111122223333:key/*",
    "arn:aws:iam::123456789012:role/a/b/c",
    "o-",
    "eu-west-1",
    "us-gov-west-1",
    "cn-north-1",
    "\"${HOME}\"",
    "!!binary aGVsbG8=",
    "!!str 12",
    "!!int x",
    "!custom x",
    "&anchor v",
    "*anchor",
    "*undefined",
    "<<: *anchor",
    "? complex",
    "|\n  block",
    ">-\n  folded",
    "'it''s'",
    "\"\\\"\"",
    "- a\n- b",
    "# comment",
    "%YAML 1.2",
    "---",
    "...",
];

/// A value nested `depth` deep in flow sequences or mappings.
pub fn nested(rng: &mut Rng, depth: usize) -> String {
    if rng.one_in(2) {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    } else {
        format!("{}x{}", "{a: ".repeat(depth), "}".repeat(depth))
    }
}

/// A long value: a scalar or a flow sequence of many items.
pub fn long(rng: &mut Rng) -> String {
    let n = 1 << rng.below(15);
    if rng.one_in(2) {
        "a".repeat(n)
    } else {
        format!("[{}]", vec!["x"; n.min(4096)].join(", "))
    }
}

/// A hostile value: one of [`VALUES`], or nested, or long.
pub fn value(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => {
            let depth = 1 + rng.below(300);
            nested(rng, depth)
        }
        1 => long(rng),
        _ => rng.pick(VALUES).to_string(),
    }
}

/// The `key: value` split of a line (indentation kept with the key), when it has one.
fn key_value(line: &str) -> Option<(&str, &str)> {
    let colon = line
        .find(": ")
        .or_else(|| line.strip_suffix(':').map(|s| s.len()))?;
    let (key, rest) = line.split_at(colon);
    Some((key, rest.get(1..).unwrap_or("").trim_start()))
}

/// The indices of the lines that have a `key:`.
fn keyed(lines: &[String]) -> Vec<usize> {
    (0..lines.len())
        .filter(|&i| key_value(&lines[i]).is_some())
        .collect()
}

/// One hostile edit of `text`.
pub fn mutate(rng: &mut Rng, text: &str) -> String {
    if text.is_empty() {
        return value(rng);
    }
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    match rng.below(12) {
        0 => return flip_byte(rng, text),
        1 => {
            lines.remove(rng.below(lines.len()));
        }
        2 => {
            let i = rng.below(lines.len());
            let copies = 1 + rng.below(3);
            for _ in 0..copies {
                lines.insert(i, lines[i].clone());
            }
        }
        3 => swap_keys(rng, &mut lines),
        4..=6 => swap_value(rng, &mut lines),
        7 => anchor_alias(rng, &mut lines),
        8 => {
            let i = rng.below(lines.len());
            lines[i] = if rng.one_in(2) {
                format!("  {}", lines[i])
            } else {
                lines[i].trim_start().to_string()
            };
        }
        9 => {
            let cut = rng.below(text.len());
            return String::from_utf8_lossy(&text.as_bytes()[..cut]).into_owned();
        }
        10 => {
            let i = rng.below(lines.len() + 1);
            let indent = " ".repeat(2 * rng.below(4));
            let key = rng.pick(KEYS);
            lines.insert(i, format!("{indent}{key}: {}", value(rng)));
        }
        _ => {
            let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
            lines.swap(a, b);
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Keys of the topology format, inserted with hostile values.
const KEYS: &[&str] = &[
    "version",
    "name",
    "accounts",
    "keys",
    "vaults",
    "backup_plans",
    "organization",
    "defaults",
    "region",
    "account",
    "alias",
    "key",
    "vault",
    "lifecycle",
    "copy_to",
    "access_policy",
    "lock",
    "rules",
    "selections",
    "usable_by",
    "tags",
    "delete_after_days",
    "move_to_cold_storage_after_days",
    "extra_statements",
    "adopt",
    "<<",
];

/// `text` with one bit of one byte flipped, read back as UTF-8 with replacement characters.
fn flip_byte(rng: &mut Rng, text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let i = rng.below(bytes.len());
    bytes[i] ^= 1 << rng.below(8);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Swaps the keys of two keyed lines, each keeping its indentation and value.
fn swap_keys(rng: &mut Rng, lines: &mut [String]) {
    let keyed = keyed(lines);
    if keyed.len() < 2 {
        return;
    }
    let (a, b) = (*rng.pick(&keyed), *rng.pick(&keyed));
    let (Some((ka, va)), Some((kb, vb))) = (key_value(&lines[a]), key_value(&lines[b])) else {
        return;
    };
    let indent = |k: &str| k.len() - k.trim_start().len();
    let new_a = format!("{}{}: {va}", &ka[..indent(ka)], kb.trim_start());
    let new_b = format!("{}{}: {vb}", &kb[..indent(kb)], ka.trim_start());
    lines[a] = new_a;
    lines[b] = new_b;
}

/// Replaces the value of a keyed line with a hostile value, or with another line's value.
fn swap_value(rng: &mut Rng, lines: &mut [String]) {
    let keyed = keyed(lines);
    if keyed.is_empty() {
        return;
    }
    let a = *rng.pick(&keyed);
    let replacement = if rng.one_in(3) {
        let b = *rng.pick(&keyed);
        key_value(&lines[b])
            .map(|(_, v)| v.to_string())
            .unwrap_or_default()
    } else {
        value(rng)
    };
    if let Some((key, _)) = key_value(&lines[a]) {
        lines[a] = format!("{key}: {replacement}");
    }
}

/// Anchors one keyed line's value and refers to it (as an alias or a merge key) elsewhere.
fn anchor_alias(rng: &mut Rng, lines: &mut Vec<String>) {
    let keyed = keyed(lines);
    if keyed.is_empty() {
        return;
    }
    let a = *rng.pick(&keyed);
    let b = *rng.pick(&keyed);
    if let Some((key, v)) = key_value(&lines[a]) {
        lines[a] = format!("{key}: &x {v}");
    }
    match rng.below(3) {
        0 => {
            if let Some((key, _)) = key_value(&lines[b]) {
                lines[b] = format!("{key}: *x");
            }
        }
        1 => {
            let indent = " ".repeat(lines[b].len() - lines[b].trim_start().len());
            lines.insert(b, format!("{indent}<<: *x"));
        }
        _ => {
            let i = rng.below(lines.len() + 1);
            lines.insert(i, "x: &x [*x]".to_string());
        }
    }
}
