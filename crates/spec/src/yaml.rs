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

use std::fmt;

use schemars::JsonSchema;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde::{Deserialize, Serialize};

/// A 1-based line and column in the topology file. `0:0` means "the whole file".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub const FILE: Pos = Pos { line: 0, col: 0 };

    pub fn new(line: u32, col: u32) -> Pos {
        Pos { line, col }
    }

    fn pack(self) -> u64 {
        (u64::from(self.line) << 32) | u64::from(self.col)
    }

    fn unpack(packed: u64) -> Pos {
        Pos {
            line: (packed >> 32) as u32,
            col: (packed & 0xffff_ffff) as u32,
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A parsed YAML value with the position it was written at.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// How the value reads in an error message (`the text `x``, `the number `7``, `a list`),
    /// long values cut (see [`shorten`]).
    pub fn describe(&self) -> String {
        match self {
            Value::Null => "no value".into(),
            Value::Bool(b) => format!("`{b}`"),
            Value::Int(i) => format!("the number `{}`", shorten(&i.to_string())),
            Value::Float(x) => format!("the number `{}`", shorten(&x.to_string())),
            Value::Str(s) if s.is_empty() => "empty text".into(),
            Value::Str(s) => format!("the text `{}`", shorten(s)),
            Value::Seq(_) => "a list".into(),
            Value::Map(_) => "a mapping".into(),
        }
    }
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entries of a mapping node, or `None`.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }
}

/// A parse failure of the YAML text itself (syntax, duplicate key, limits), in the user's
/// words, with what to do about it.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
    pub help: String,
}

/// How much YAML Coffer reads, against hostile or runaway files (alias bombs, deep nesting,
/// generated files gone wrong). The defaults fit topologies far larger than any seen; the
/// environment variables named by the `ENV_*` constants raise them
/// ([`Limits::from_env`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Size of the file in bytes, and of all its text values together.
    pub max_bytes: usize,
    /// YAML values: every scalar, list and mapping counts as one.
    pub max_nodes: usize,
    /// Nesting of lists and mappings.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bytes: 8 * 1024 * 1024,
            max_nodes: 200_000,
            max_depth: 64,
        }
    }
}

impl Limits {
    /// Raises (or lowers) [`Limits::max_bytes`].
    pub const ENV_BYTES: &'static str = "COFFER_MAX_FILE_BYTES";
    /// Raises (or lowers) [`Limits::max_nodes`].
    pub const ENV_NODES: &'static str = "COFFER_MAX_YAML_VALUES";
    /// Raises (or lowers) [`Limits::max_depth`].
    pub const ENV_DEPTH: &'static str = "COFFER_MAX_YAML_DEPTH";

    /// The defaults, with each limit whose environment variable is set replaced by its value.
    /// `Err` names the variable whose value is not a positive whole number.
    pub fn from_env() -> Result<Limits, String> {
        Limits::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Limits::from_env`] with the variables looked up by `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Limits, String> {
        let mut limits = Limits::default();
        for (name, slot) in [
            (Limits::ENV_BYTES, &mut limits.max_bytes),
            (Limits::ENV_NODES, &mut limits.max_nodes),
            (Limits::ENV_DEPTH, &mut limits.max_depth),
        ] {
            let Some(text) = lookup(name) else { continue };
            let digits: String = text.trim().chars().filter(|c| *c != '_').collect();
            match digits.parse::<usize>() {
                Ok(value) if value > 0 => *slot = value,
                _ => {
                    return Err(format!(
                        "{name} must be a positive whole number, found `{}`",
                        shorten(&text)
                    ));
                }
            }
        }
        Ok(limits)
    }
}

/// `n` bytes as people read sizes: `512 bytes`, `8 MiB`, `12.5 MiB`.
pub fn human_bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    let scaled = |unit: u64, name: &str| {
        if n.is_multiple_of(unit) {
            format!("{} {name}", n / unit)
        } else {
            format!("{:.1} {name}", n as f64 / unit as f64)
        }
    };
    if n >= MIB {
        scaled(MIB, "MiB")
    } else if n >= KIB {
        scaled(KIB, "KiB")
    } else {
        format!("{n} bytes")
    }
}

/// `n` bytes for a message: `8 MiB (8388608 bytes)`, or `100 bytes`.
pub fn bytes_exact(n: u64) -> String {
    let human = human_bytes(n);
    if human == format!("{n} bytes") {
        human
    } else {
        format!("{human} ({n} bytes)")
    }
}

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

/// Parses YAML text into a [`Node`] with the default [`Limits`]. An empty document is a
/// `Null` node at `1:1`.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    parse_with(text, &Limits::default())
}

/// Parses YAML text into a [`Node`], refusing files beyond `limits`.
///
/// The parser recurses once per level of nesting, and each level takes tens of kilobytes of
/// stack in a debug build: a file nested to the depth limit would overflow the 2 MiB stack of
/// a test thread or a small worker thread. So the parse runs on a thread of its own whose
/// stack grows with [`Limits::max_depth`].
pub fn parse_with(text: &str, limits: &Limits) -> Result<Node, SyntaxError> {
    const MIB: usize = 1024 * 1024;
    let stack = limits
        .max_depth
        .saturating_mul(96 * 1024)
        .saturating_add(4 * MIB)
        .min(1024 * MIB);
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("coffer-yaml".into())
            .stack_size(stack)
            .spawn_scoped(scope, || parse_here(text, limits))
            .ok()
            .and_then(|parsing| parsing.join().ok())
    })
    .unwrap_or_else(|| parse_here(text, limits))
}

fn parse_here(text: &str, limits: &Limits) -> Result<Node, SyntaxError> {
    let options = serde_saphyr::options! {
        strict_booleans: true,
        budget: serde_saphyr::budget! {
            max_depth: limits.max_depth,
            max_nodes: limits.max_nodes,
            max_total_scalar_bytes: limits.max_bytes,
        },
    };
    if text.trim().is_empty() {
        return Ok(Node {
            pos: Pos::new(1, 1),
            value: Value::Null,
        });
    }
    match serde_saphyr::from_str_with_options::<Option<Node>>(text, options) {
        Ok(Some(node)) => Ok(node),
        Ok(None) => Ok(Node {
            pos: Pos::new(1, 1),
            value: Value::Null,
        }),
        Err(err) => {
            let pos = err
                .location()
                .map(|l| Pos::new(clamp(l.line()), clamp(l.column())))
                .unwrap_or(Pos::new(1, 1));
            let (message, help) = explain(err.without_snippet(), text, pos, limits);
            Err(SyntaxError { pos, message, help })
        }
    }
}

const FIX_SYNTAX: &str = "fix the YAML syntax at this position";
const SPLIT: &str = "split the topology into several files (for example one per group of source accounts, each planned and applied on its own)";

/// A serde-saphyr error in the user's words: the message and the help. Budget breaches name
/// the limit, its value and how to split the file or raise the limit; alias problems say
/// what the alias does; only real syntax errors ask to fix the syntax.
fn explain(err: &serde_saphyr::Error, text: &str, pos: Pos, limits: &Limits) -> (String, String) {
    use serde_saphyr::Error as E;
    use serde_saphyr::budget::BudgetBreach as B;
    let alias = || word_at(text, pos, '*');
    let expand = || {
        (
            "the aliases (`*name`) in this file repeat more values than Coffer reads (an alias bomb?)".to_string(),
            "write the repeated values out, or repeat fewer of them through aliases".to_string(),
        )
    };
    match err {
        E::AliasError { error, .. } => explain(error, text, pos, limits),
        // The library's own message tells the user to change a parser option.
        E::DuplicateMappingKey { key: Some(key), .. } => (
            format!(
                "duplicate key `{}`: a mapping may have each key only once",
                shorten(key)
            ),
            "remove this key or merge it into the first one".to_string(),
        ),
        E::DuplicateMappingKey { key: None, .. } => (
            "duplicate key: a mapping may have each key only once".to_string(),
            "remove this key or merge it into the first one".to_string(),
        ),
        E::Budget { breach, .. } => match breach {
            B::Nodes { .. } => (
                format!(
                    "the file has more than {} YAML values (every text, number, list and mapping counts as one), the most Coffer reads",
                    limits.max_nodes
                ),
                format!(
                    "{SPLIT}, or raise the limit: {}={}",
                    Limits::ENV_NODES,
                    limits.max_nodes.saturating_mul(2)
                ),
            ),
            B::Depth { .. } => (
                format!(
                    "the lists and mappings here are nested more than {} levels deep, the most Coffer reads (a topology needs about 10)",
                    limits.max_depth
                ),
                format!(
                    "check the indentation and the brackets before this position; to read such a file anyway, raise the limit: {}={}",
                    Limits::ENV_DEPTH,
                    limits.max_depth.saturating_mul(2)
                ),
            ),
            B::ScalarBytes { .. } => (
                format!(
                    "the text values of the file add up to more than {}, the most Coffer reads",
                    bytes_exact(limits.max_bytes as u64)
                ),
                format!(
                    "{SPLIT}, or raise the limit: {}={}",
                    Limits::ENV_BYTES,
                    limits.max_bytes.saturating_mul(2)
                ),
            ),
            B::Events { .. } | B::InputBytes { .. } => (
                "the file is larger than Coffer reads".to_string(),
                format!(
                    "{SPLIT}, or raise the limits: {}, {}",
                    Limits::ENV_NODES,
                    Limits::ENV_BYTES
                ),
            ),
            B::Documents { documents } => (
                format!("the file holds {documents} YAML documents (separated by `---`)"),
                "a topology is one YAML document: keep one, and put the others in files of their own".to_string(),
            ),
            B::Aliases { aliases } => (
                format!("the file uses more than {} aliases (`*name`)", aliases.saturating_sub(1)),
                "write the repeated values out instead of repeating them through aliases".to_string(),
            ),
            B::Anchors { anchors } => (
                format!("the file defines more than {} anchors (`&name`)", anchors.saturating_sub(1)),
                "remove the anchors nothing refers to".to_string(),
            ),
            B::MergeKeys { merge_keys } => (
                format!("the file uses more than {} merge keys (`<<`)", merge_keys.saturating_sub(1)),
                "write the merged mappings out".to_string(),
            ),
            _ => expand(),
        },
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. }
        | E::AliasReplayCounterOverflow { .. } => expand(),
        E::RecursiveReferencesRequireWeakTypes { .. } => (
            match alias() {
                Some(name) => format!("the alias `*{name}` is inside the value its anchor `&{name}` names, so it would repeat forever"),
                None => "this alias is inside the value its anchor names, so it would repeat forever".to_string(),
            },
            "an alias may only repeat a value that is complete before it: write the value out, or move the anchor".to_string(),
        ),
        E::UnknownAnchor { .. } => (
            match alias() {
                Some(name) => format!("the alias `*{name}` refers to no anchor: nothing before it is marked `&{name}`"),
                None => "this alias refers to no anchor".to_string(),
            },
            "mark the value to repeat with `&name` before the alias, or write the value out".to_string(),
        ),
        E::MultipleDocuments { .. } => (
            "the file holds more than one YAML document (separated by `---`)".to_string(),
            "a topology is one YAML document: keep one, and put the others in files of their own".to_string(),
        ),
        E::MergeValueNotMapOrSeqOfMaps { .. } => (
            "a merge key (`<<`) must refer to a mapping or a list of mappings".to_string(),
            "point `<<:` at a mapping, e.g. `<<: *defaults`".to_string(),
        ),
        E::NonFiniteFloat { value, .. } => (
            format!("`{}` is not a number Coffer can use", shorten(value)),
            "write a whole number".to_string(),
        ),
        E::Message { msg, .. } if msg.starts_with("duplicate key") => (
            first_line(msg),
            "remove this key or merge it into the first one".to_string(),
        ),
        E::Message { msg, .. } if msg.starts_with("number too large") => (
            "this number is too large".to_string(),
            "write a smaller number".to_string(),
        ),
        other => (first_line(&other.to_string()), FIX_SYNTAX.to_string()),
    }
}

/// The name after `sigil` (`*` for an alias) at `pos` in `text`, if it is there.
fn word_at(text: &str, pos: Pos, sigil: char) -> Option<String> {
    let line = text.lines().nth((pos.line as usize).checked_sub(1)?)?;
    let rest: String = line
        .chars()
        .skip((pos.col as usize).saturating_sub(1))
        .collect();
    let rest = rest.strip_prefix(sigil).or_else(|| {
        // Some positions point just after the sigil or at the start of the node.
        let at = rest.find(sigil)?;
        rest[at..].strip_prefix(sigil)
    })?;
    let name: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '[' | ']' | '{' | '}'))
        .collect();
    (!name.is_empty()).then(|| shorten(&name))
}

fn clamp(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The message of a serde-saphyr error without its "at line X column Y" suffix, which the
/// caller prints in its own `FILE:LINE:COL` prefix.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or("invalid YAML").trim();
    let line = match line.find(" at line ") {
        Some(idx) => &line[..idx],
        None => line,
    };
    line.trim_end_matches(':').to_string()
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<ValueSeed>::deserialize(deserializer)?;
        let loc = spanned.referenced;
        Ok(Node {
            pos: Pos::new(clamp(loc.line()), clamp(loc.column())),
            value: spanned.value.0,
        })
    }
}

/// Deserializes any YAML value into [`Value`]; children come back as spanned [`Node`]s.
struct ValueSeed(Value);

impl<'de> Deserialize<'de> for ValueSeed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor).map(ValueSeed)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(i128::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(i128::from(v)))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        i128::try_from(v)
            .map(Value::Int)
            .map_err(|_| E::custom("number too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries: Vec<(Node, Node)> = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            if let Some((first, _)) = entries.iter().find(|(k, _)| k.value == key.value) {
                return Err(de::Error::custom(format!(
                    "duplicate key {} (first written at {})",
                    key.value.describe(),
                    first.pos
                )));
            }
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}

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
    fn new(kind: ShapeErrorKind, message: String) -> ShapeError {
        ShapeError {
            pos: None,
            kind,
            message,
            trail: Vec::new(),
            help: None,
        }
    }

    fn at(mut self, pos: Pos) -> ShapeError {
        self.pos.get_or_insert(pos);
        self
    }

    fn help(mut self, help: impl Into<String>) -> ShapeError {
        self.help = Some(help.into());
        self
    }

    /// Records that the error happened inside `segment` (a field or key, or `[i]`).
    fn inside(mut self, segment: String) -> ShapeError {
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
fn plain_expected(expected: &str) -> String {
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
fn noun_of(type_name: &str) -> String {
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

/// What was found, in the same words as [`Value::describe`].
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
fn echo_short(value: &str) -> String {
    if value.chars().count() <= 24 && !value.contains(['\n', '`']) {
        value.to_string()
    } else {
        "…".to_string()
    }
}

fn backticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Deserializes a typed value from one node.
pub fn from_node<'a, T: Deserialize<'a>>(node: &'a Node) -> Result<T, ShapeError> {
    T::deserialize(NodeDeserializer(node))
}

struct NodeDeserializer<'a>(&'a Node);

impl<'a> NodeDeserializer<'a> {
    fn unexpected(&self) -> de::Unexpected<'a> {
        match &self.0.value {
            Value::Null => de::Unexpected::Unit,
            Value::Bool(b) => de::Unexpected::Bool(*b),
            Value::Int(i) => match i64::try_from(*i) {
                Ok(i) => de::Unexpected::Signed(i),
                Err(_) => de::Unexpected::Other("a very large number"),
            },
            Value::Float(x) => de::Unexpected::Float(*x),
            Value::Str(s) => de::Unexpected::Str(s),
            Value::Seq(_) => de::Unexpected::Seq,
            Value::Map(_) => de::Unexpected::Map,
        }
    }

    fn wrong_type(&self, exp: &dyn de::Expected) -> ShapeError {
        let mut error = <ShapeError as de::Error>::invalid_type(self.unexpected(), exp);
        // The node's own description: it knows large numbers and cuts long text.
        if let Some((expected, _)) = error.message.split_once(", found ") {
            error.message = format!("{expected}, found {}", self.0.value.describe());
        }
        error.at(self.0.pos)
    }
}

const LOCATED_MARKER: &str = "$coffer::Located";

macro_rules! forward_to_any {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ShapeError> {
                self.deserialize_any(visitor)
            }
        )*
    };
}

impl<'a> Deserializer<'a> for NodeDeserializer<'a> {
    type Error = ShapeError;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        let pos = self.0.pos;
        let result = match &self.0.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => match i64::try_from(*i) {
                Ok(i) => visitor.visit_i64(i),
                Err(_) => visitor.visit_i128(*i),
            },
            Value::Float(x) => visitor.visit_f64(*x),
            Value::Str(s) => visitor.visit_borrowed_str(s),
            Value::Seq(items) => visitor.visit_seq(SeqNodes(items.iter(), 0)),
            Value::Map(entries) => visitor.visit_map(MapNodes {
                entries: entries.iter(),
                value: None,
            }),
        };
        result.map_err(|e| e.at(pos))
    }

    fn deserialize_str<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        match &self.0.value {
            Value::Str(s) => visitor
                .visit_borrowed_str(s)
                .map_err(|e: ShapeError| e.at(self.0.pos)),
            Value::Int(_) | Value::Float(_) => Err(ShapeError::new(
                ShapeErrorKind::NumberForString,
                format!(
                    "expected {}, found {}",
                    plain_expected(&ExpectingOf(&visitor).to_string()),
                    self.0.value.describe()
                ),
            )
            .at(self.0.pos)),
            _ => Err(self.wrong_type(&visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        match self.0.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        match &self.0.value {
            Value::Seq(_) => self.deserialize_any(visitor),
            _ => Err(self.wrong_type(&visitor)),
        }
    }

    fn deserialize_map<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        match &self.0.value {
            Value::Map(_) => self.deserialize_any(visitor),
            _ => Err(self.wrong_type(&visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        if name == LOCATED_MARKER {
            return visitor.visit_map(LocatedAccess {
                node: self.0,
                state: 0,
            });
        }
        match &self.0.value {
            Value::Map(_) => self.deserialize_any(visitor),
            other => {
                let mut error = ShapeError::new(
                    ShapeErrorKind::WrongType,
                    format!(
                        "expected a mapping with the fields of {} ({}), found {}",
                        noun_of(name),
                        fields.join(", "),
                        other.describe()
                    ),
                );
                if let (Some(first), Value::Str(_) | Value::Int(_) | Value::Bool(_)) =
                    (fields.first(), other)
                {
                    let written = match other {
                        Value::Str(s) => echo_short(s),
                        Value::Int(i) => i.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => String::new(),
                    };
                    error = error.help(format!(
                        "write a mapping, e.g. `{{{first}: {written}}}`; `coffer schema --markdown` lists the fields"
                    ));
                }
                Err(error.at(self.0.pos))
            }
        }
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        let pos = self.0.pos;
        let result = match &self.0.value {
            Value::Str(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Bool(b) => {
                let word = if *b { "true" } else { "false" };
                visitor.visit_enum(word.into_deserializer())
            }
            Value::Map(entries) if entries.len() == 1 => visitor.visit_enum(EnumNode {
                tag: &entries[0].0,
                content: &entries[0].1,
            }),
            other => Err(ShapeError::new(
                ShapeErrorKind::WrongType,
                format!(
                    "expected one of {}, found {}",
                    backticked(variants),
                    other.describe()
                ),
            )
            .help("use one of the listed values")
            .at(pos)),
        };
        result.map_err(|e| e.at(pos))
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        visitor.visit_unit()
    }

    forward_to_any! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_bytes
        deserialize_byte_buf deserialize_unit deserialize_identifier
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_tuple<V: Visitor<'a>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        self.deserialize_seq(visitor)
    }
}

/// Lets a visitor's `expecting` text be used in a message.
struct ExpectingOf<'v, V>(&'v V);

impl<'de, V: Visitor<'de>> fmt::Display for ExpectingOf<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }
}

/// The items of a list, and the index of the next one.
struct SeqNodes<'a>(std::slice::Iter<'a, Node>, usize);

impl<'a> SeqAccess<'a> for SeqNodes<'a> {
    type Error = ShapeError;

    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ShapeError> {
        match self.0.next() {
            Some(node) => {
                let index = self.1;
                self.1 += 1;
                seed.deserialize(NodeDeserializer(node))
                    .map(Some)
                    .map_err(|e| e.inside(format!("[{index}]")))
            }
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapNodes<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    /// The value of the key just read, and the key's text for error paths.
    value: Option<(&'a Node, String)>,
}

impl<'a> MapAccess<'a> for MapNodes<'a> {
    type Error = ShapeError;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ShapeError> {
        match self.entries.next() {
            Some((key, value)) => {
                let name = match &key.value {
                    Value::Str(s) => shorten(s),
                    other => other.describe(),
                };
                self.value = Some((value, name));
                seed.deserialize(NodeDeserializer(key))
                    .map(Some)
                    .map_err(|e| e.at(key.pos))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, ShapeError> {
        match self.value.take() {
            Some((value, key)) => seed
                .deserialize(NodeDeserializer(value))
                .map_err(|e| e.inside(key)),
            None => Err(de::Error::custom("value requested before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct EnumNode<'a> {
    tag: &'a Node,
    content: &'a Node,
}

impl<'a> EnumAccess<'a> for EnumNode<'a> {
    type Error = ShapeError;
    type Variant = NodeDeserializer<'a>;

    fn variant_seed<V: DeserializeSeed<'a>>(
        self,
        seed: V,
    ) -> Result<(V::Value, NodeDeserializer<'a>), ShapeError> {
        let tag = seed
            .deserialize(NodeDeserializer(self.tag))
            .map_err(|e| e.at(self.tag.pos))?;
        Ok((tag, NodeDeserializer(self.content)))
    }
}

impl<'a> VariantAccess<'a> for NodeDeserializer<'a> {
    type Error = ShapeError;

    fn unit_variant(self) -> Result<(), ShapeError> {
        match self.0.value {
            Value::Null => Ok(()),
            _ => Err(
                <ShapeError as de::Error>::custom("this value takes no settings").at(self.0.pos),
            ),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'a>>(self, seed: T) -> Result<T::Value, ShapeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'a>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        self.deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'a>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        self.deserialize_map(visitor)
    }
}

/// Feeds a [`Located`] its position, then its value.
struct LocatedAccess<'a> {
    node: &'a Node,
    state: u8,
}

impl<'a> MapAccess<'a> for LocatedAccess<'a> {
    type Error = ShapeError;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ShapeError> {
        let key = match self.state {
            0 => "pos",
            1 => "value",
            _ => return Ok(None),
        };
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, ShapeError> {
        self.state += 1;
        if self.state == 1 {
            seed.deserialize(self.node.pos.pack().into_deserializer())
        } else {
            seed.deserialize(NodeDeserializer(self.node))
        }
    }
}

/// A value together with where the file wrote it. Serializes as the bare value; its JSON
/// Schema is the value's.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Located<T> {
    pub value: T,
    pub pos: Pos,
}

impl<T> Located<T> {
    pub fn new(value: T, pos: Pos) -> Located<T> {
        Located { value, pos }
    }
}

impl<T> std::ops::Deref for Located<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: Serialize> Serialize for Located<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<T: JsonSchema> JsonSchema for Located<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Located<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LocatedVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for LocatedVisitor<T> {
            type Value = Located<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Located<T>, A::Error> {
                let mut pos = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "pos" => pos = Some(Pos::unpack(map.next_value::<u64>()?)),
                        "value" => {
                            let value = map.next_value::<T>()?;
                            return Ok(Located {
                                value,
                                pos: pos.unwrap_or_default(),
                            });
                        }
                        _ => return Err(de::Error::custom("unexpected located key")),
                    }
                }
                Err(de::Error::custom("located value without a value"))
            }
        }

        deserializer.deserialize_struct(
            LOCATED_MARKER,
            &["pos", "value"],
            LocatedVisitor(std::marker::PhantomData),
        )
    }
}

#[cfg(test)]
mod tests {
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
