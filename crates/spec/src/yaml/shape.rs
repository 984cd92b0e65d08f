//! Shape errors: a value that does not fit the file format, and what the parts of a serde
//! message mean to someone writing YAML.

use std::fmt;

use serde::de;

use super::{Pos, shorten};

/// A shape error: what was found at `pos` does not fit the file format.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapeError {
    pub pos: Option<Pos>,
    pub kind: ShapeErrorKind,
    pub message: String,
    /// Where inside the deserialized node: field names, map keys and list indexes, outermost
    /// first (`rules`, `[0]`, `copy_to`, `[1]`). See [`ShapeError::path`].
    pub trail: Vec<String>,
    /// A fix for this particular mistake, when there is one.
    pub help: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShapeErrorKind {
    UnknownField,
    MissingField,
    /// A number where text was expected (account IDs lose their leading zeros).
    NumberForString,
    WrongType,
    UnknownVariant,
    Other,
}

impl ShapeError {
    pub(super) fn new(kind: ShapeErrorKind, message: String) -> ShapeError {
        ShapeError {
            pos: None,
            kind,
            message,
            trail: Vec::new(),
            help: None,
        }
    }

    pub(super) fn at(mut self, pos: Pos) -> ShapeError {
        self.pos.get_or_insert(pos);
        self
    }

    pub(super) fn help(mut self, help: impl Into<String>) -> ShapeError {
        self.help = Some(help.into());
        self
    }

    /// Records that the error happened inside `segment` (a field or key, or `[i]`).
    pub(super) fn inside(mut self, segment: String) -> ShapeError {
        self.trail.insert(0, segment);
        self
    }

    /// `base` followed by the trail: `backup_plans.daily.rules[0].copy_to[1]`.
    pub fn path(&self, base: &str) -> String {
        let mut out = base.to_string();
        for segment in &self.trail {
            if !segment.starts_with('[') && !out.is_empty() {
                out.push('.');
            }
            out.push_str(segment);
        }
        out
    }
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ShapeError {}

impl de::Error for ShapeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ShapeError::new(ShapeErrorKind::Other, msg.to_string())
    }
    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        let expected = plain_expected(&exp.to_string());
        let help = type_help(&expected, &unexp);
        let error = ShapeError::new(
            ShapeErrorKind::WrongType,
            format!("expected {expected}, found {}", plain_unexpected(&unexp)),
        );
        match help {
            Some(help) => error.help(help),
            None => error,
        }
    }
    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        let expected = plain_expected(&exp.to_string());
        let error = ShapeError::new(
            ShapeErrorKind::WrongType,
            format!("expected {expected}, found {}", plain_unexpected(&unexp)),
        );
        match unexp {
            de::Unexpected::Signed(n) if n < 0 && expected.contains("0 or more") => {
                error.help("write 0 or a positive whole number")
            }
            de::Unexpected::Signed(_) | de::Unexpected::Unsigned(_) => {
                error.help("write a smaller number")
            }
            _ => error,
        }
    }
    fn invalid_length(len: usize, exp: &dyn de::Expected) -> Self {
        ShapeError::new(
            ShapeErrorKind::WrongType,
            format!(
                "expected {}, found {len} items",
                plain_expected(&exp.to_string())
            ),
        )
    }
    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let message = if expected.is_empty() {
            format!("unknown field `{field}`: this mapping takes no fields")
        } else {
            format!(
                "unknown field `{field}`, expected one of {}",
                backticked(expected)
            )
        };
        ShapeError::new(ShapeErrorKind::UnknownField, message)
    }
    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        ShapeError::new(
            ShapeErrorKind::UnknownVariant,
            format!(
                "unknown value `{variant}`, expected one of {}",
                backticked(expected)
            ),
        )
    }
    fn missing_field(field: &'static str) -> Self {
        ShapeError::new(
            ShapeErrorKind::MissingField,
            format!("missing field `{field}`"),
        )
    }
    fn duplicate_field(field: &'static str) -> Self {
        ShapeError::new(ShapeErrorKind::Other, format!("duplicate field `{field}`"))
    }
}

/// What a serde visitor expects, in the words of someone writing YAML:
/// `i64` → `a whole number`, `struct CopySpec` → `a mapping with the fields of a copy`.
pub(super) fn plain_expected(expected: &str) -> String {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number".into(),
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number (0 or more)".into(),
        "f32" | "f64" => "a number".into(),
        "a boolean" => "`true` or `false`".into(),
        "a string" | "a borrowed string" | "string or map" => "text".into(),
        "a character" | "a char" => "a single character".into(),
        "a sequence" | "tuple" => "a list".into(),
        "a map" | "map" => "a mapping".into(),
        "unit" => "no value".into(),
        "any valid JSON value" | "any YAML value" => "a value".into(),
        other => match other.strip_prefix("struct ") {
            Some(name) => format!("a mapping with the fields of {}", noun_of(name)),
            None => match other.strip_prefix("enum ") {
                Some(_) => "one of the allowed words".into(),
                None => other
                    .replace("a sequence", "a list")
                    .replace("a map", "a mapping"),
            },
        },
    }
}

/// The file format's types as a reader of the format knows them.
pub(super) fn noun_of(type_name: &str) -> String {
    let known = match type_name {
        "CopySpec" => "a copy",
        "RuleSpec" => "a backup rule",
        "RotationSpec" => "a key rotation",
        "LifecycleSpec" => "a lifecycle",
        "AccessPolicySpec" => "a vault access policy",
        "LockSpec" => "a vault lock",
        "SelectionSpec" => "a resource selection",
        "OrganizationSpec" => "an organization",
        "DefaultsSpec" => "the defaults",
        "AccountSpec" => "an account",
        "KeySpec" => "a key",
        "VaultSpec" => "a vault",
        "BackupPlanSpec" => "a backup plan",
        "TopologyFile" => "a topology",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    // `FooBarSpec` → `a foo bar`.
    let base = type_name.strip_suffix("Spec").unwrap_or(type_name);
    let mut words = String::new();
    for (i, c) in base.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            words.push(' ');
        }
        words.extend(c.to_lowercase());
    }
    let article = if words.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {words}")
}

/// What was found, in the same words as [`Value::describe`](super::Value::describe).
fn plain_unexpected(unexpected: &de::Unexpected<'_>) -> String {
    use de::Unexpected as U;
    match unexpected {
        U::Bool(b) => format!("`{b}`"),
        U::Unsigned(n) => format!("the number `{n}`"),
        U::Signed(n) => format!("the number `{n}`"),
        U::Float(x) => format!("the number `{}`", shorten(&x.to_string())),
        U::Char(c) => format!("the text `{c}`"),
        U::Str("") => "empty text".into(),
        U::Str(s) => format!("the text `{}`", shorten(s)),
        U::Bytes(_) => "binary data".into(),
        U::Unit | U::Option => "no value".into(),
        U::Seq => "a list".into(),
        U::Map => "a mapping".into(),
        U::Other(other) => (*other).to_string(),
        _ => "a value of another kind".into(),
    }
}

/// A fix for common type mistakes.
fn type_help(expected: &str, found: &de::Unexpected<'_>) -> Option<String> {
    use de::Unexpected as U;
    let help = match (expected, found) {
        (e, U::Float(x)) if e.starts_with("a whole number") && x.fract() == 0.0 => {
            "write a smaller number".to_string()
        }
        (e, U::Float(_)) if e.starts_with("a whole number") => {
            "write a whole number, without a decimal point".to_string()
        }
        (e, U::Str(_)) if e.starts_with("a whole number") => {
            "write a whole number such as `60`, without quotes".to_string()
        }
        ("`true` or `false`", U::Str(s)) => format!(
            "write `true` or `false`{}",
            if matches!(
                s.to_ascii_lowercase().as_str(),
                "yes" | "no" | "on" | "off" | "y" | "n"
            ) {
                " (`yes`, `no`, `on` and `off` are text in YAML 1.2)"
            } else {
                ""
            }
        ),
        ("a list", U::Str(s)) => format!(
            "write a list: `[{}]`, or one `- item` per line",
            echo_short(s)
        ),
        ("a list", _) => "write a list: `[a, b]`, or one `- item` per line".to_string(),
        ("`true` or `false`", _) => "write `true` or `false`".to_string(),
        ("text", U::Seq) => "write one value, not a list".to_string(),
        ("text", U::Map) => "write one value, not a mapping (check the indentation)".to_string(),
        ("text", U::Unit) => "write a value after the colon".to_string(),
        _ => return None,
    };
    Some(help)
}

/// A value repeated in a help line: itself when short, else `…` (the message shows it).
pub(super) fn echo_short(value: &str) -> String {
    if value.chars().count() <= 24 && !value.contains(['\n', '`']) {
        value.to_string()
    } else {
        "…".to_string()
    }
}

pub(super) fn backticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
