//! Mutations of a valid topology file: what the robustness properties and the fuzzing
//! harness (`crates/fuzz`) apply to the examples before loading them.
#![allow(dead_code)]

use proptest::prelude::*;

/// One edit of a file's text.
#[derive(Debug, Clone)]
pub enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    DuplicateLine(usize),
    SwapLines(usize, usize),
    ReplaceToken { at: usize, token: &'static str },
}

/// Any one [`Mutation`], with hostile tokens.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    let tokens = prop::sample::select(vec![
        "",
        "-",
        ":",
        "[",
        "]",
        "{",
        "}",
        "&a",
        "*a",
        "!!str",
        "\"",
        "'",
        "  ",
        "\t",
        "~",
        "null",
        "true",
        "0x1f",
        "1e9",
        "-1",
        "999999999999999999999999",
        "alias/aws/x",
        "central",
        "source",
        "backup",
        "<<: *a",
        "? ",
        "|",
        ">",
        "#",
    ]);
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), "[ -~\n]{0,12}").prop_map(|(at, text)| Mutation::Insert { at, text }),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), tokens).prop_map(|(at, token)| Mutation::ReplaceToken { at, token }),
    ]
}

/// `text` with `mutation` applied; positions wrap around the text's length.
pub fn apply(text: &str, mutation: &Mutation) -> String {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len().max(1);
    let mut lines: Vec<&str> = text.lines().collect();
    match mutation {
        Mutation::Delete { at, len } => {
            let at = at % n;
            let end = (at + len).min(chars.len());
            chars[..at].iter().chain(&chars[end..]).collect()
        }
        Mutation::Insert { at, text: insert } => {
            let at = at % n;
            let mut out: String = chars[..at.min(chars.len())].iter().collect();
            out.push_str(insert);
            out.extend(&chars[at.min(chars.len())..]);
            out
        }
        Mutation::DuplicateLine(i) => {
            if !lines.is_empty() {
                let i = i % lines.len();
                lines.insert(i, lines[i]);
            }
            lines.join("\n")
        }
        Mutation::SwapLines(a, b) => {
            if !lines.is_empty() {
                let (a, b) = (a % lines.len(), b % lines.len());
                lines.swap(a, b);
            }
            lines.join("\n")
        }
        Mutation::ReplaceToken { at, token } => {
            // Replace the word starting at the nearest word boundary.
            let at = at % n;
            let start = (0..=at.min(chars.len()))
                .rev()
                .find(|&i| i == 0 || chars[i - 1].is_whitespace())
                .unwrap_or(0);
            let end = (start..chars.len())
                .find(|&i| chars[i].is_whitespace())
                .unwrap_or(chars.len());
            let mut out: String = chars[..start].iter().collect();
            out.push_str(token);
            out.extend(&chars[end..]);
            out
        }
    }
}
