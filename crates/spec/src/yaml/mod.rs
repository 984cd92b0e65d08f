//! The only place that touches YAML.
//!
//! Loading happens in two steps so that every shape error can be reported, not only the first:
//!
//! 1. `serde-saphyr` parses the text into a [`Node`] tree that keeps the line and column of
//!    every value and key (duplicate keys, syntax errors and budget breaches stop here).
//! 2. [`from_node`] deserializes a typed value from one node. The loader calls it once per
//!    section and once per named entry, so one broken entry does not hide the errors of the
//!    others.
//!
//! [`Located<T>`] is the spanned value the file format uses for anything a later error may
//! need to point at.
//!
//! The parts: `parse` (text to nodes), `syntax` (the parser's errors in the user's words),
//! `limits` (the budget), `de` (a node to a typed value), `shape` (what does not fit the
//! format) and `pos` (positions and located values).

mod de;
mod limits;
mod parse;
mod pos;
mod shape;
mod syntax;

pub use de::from_node;
pub use limits::{Limits, bytes_exact, human_bytes};
pub use parse::{Node, Value, parse, parse_with};
pub use pos::{Located, Pos, lines};
pub use shape::{ShapeError, ShapeErrorKind};
pub use syntax::SyntaxError;

/// How long a value may be when a message repeats it; longer ones are cut and end in `…`.
pub const SHOWN_CHARS: usize = 80;

/// `text` cut to [`SHOWN_CHARS`] characters plus `…` when longer, on one line.
pub fn shorten(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= SHOWN_CHARS {
        one_line
    } else {
        let mut cut: String = one_line.chars().take(SHOWN_CHARS).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[test]
    fn nodes_keep_positions_of_keys_and_values() {
        let node = parse("a:\n  b: 1\n  c: [x, 'y']\n").expect("parses");
        let map = node.as_map().expect("map");
        assert_eq!(map[0].0.pos, Pos::new(1, 1));
        let inner = map[0].1.as_map().expect("inner map");
        assert_eq!(inner[0].0.pos, Pos::new(2, 3));
        assert_eq!(inner[0].1.pos, Pos::new(2, 6));
        assert_eq!(inner[0].1.value, Value::Int(1));
        let Value::Seq(items) = &inner[1].1.value else {
            panic!("expected a list")
        };
        assert_eq!(items[1].pos, Pos::new(3, 10));
        assert_eq!(items[1].value, Value::Str("y".into()));
    }

    #[test]
    fn duplicate_keys_are_errors_with_positions() {
        let err = parse("a: 1\nb: 2\na: 3\n").expect_err("duplicate");
        assert_eq!(err.pos.line, 3, "{err:?}");
        assert!(err.message.contains("duplicate"), "{err:?}");
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("a: [1, 2\nb: 3\n").expect_err("unclosed");
        assert!(err.pos.line >= 1, "{err:?}");
    }

    #[test]
    fn located_values_and_unknown_fields() {
        #[derive(Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        struct S {
            name: Located<String>,
            #[allow(dead_code)]
            n: Option<u32>,
        }
        let node = parse("name: hello\nn: 3\n").expect("parses");
        let s: S = from_node(&node).expect("fits");
        assert_eq!(s.name.value, "hello");
        assert_eq!(s.name.pos, Pos::new(1, 7));

        let node = parse("name: hello\nnn: 3\n").expect("parses");
        let err = from_node::<S>(&node).expect_err("unknown field");
        assert_eq!(err.kind, ShapeErrorKind::UnknownField);
        assert_eq!(err.pos, Some(Pos::new(2, 1)));

        let node = parse("name: 0123\n").expect("parses");
        let err = from_node::<S>(&node).expect_err("number");
        assert_eq!(err.kind, ShapeErrorKind::NumberForString);
        assert_eq!(err.pos, Some(Pos::new(1, 7)));
    }
}
