//! Parsing: YAML text into a [`Node`] tree that keeps the line and column of every value and
//! key, on a thread whose stack fits the nesting limit.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::syntax::{SyntaxError, explain};
use super::{Limits, Pos, shorten};

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
    // Every value is one event and every list and mapping one more at its end, so the
    // events stay within twice the values; the value limit is the one that speaks.
    let nodes = limits.nodes_for(text.len());
    let options = serde_saphyr::options! {
        strict_booleans: true,
        budget: serde_saphyr::budget! {
            max_depth: limits.max_depth,
            max_nodes: nodes,
            max_events: nodes.saturating_mul(2).saturating_add(16),
            max_total_scalar_bytes: limits.max_bytes,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: nodes,
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

/// A line or column of the parser as a [`Pos`] part.
fn clamp(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
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
        // Where each key was first written: text keys by a lookup, so a section of thousands
        // of entries reads in linear time; the rare other keys (numbers, lists) by a scan.
        let mut text_keys: HashMap<String, Pos> = HashMap::new();
        let mut other_keys: Vec<usize> = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let first = match &key.value {
                Value::Str(text) => text_keys.get(text.as_str()).copied(),
                other => other_keys
                    .iter()
                    .map(|&at| &entries[at].0)
                    .find(|k| &k.value == other)
                    .map(|k| k.pos),
            };
            if let Some(first) = first {
                return Err(de::Error::custom(format!(
                    "duplicate key {} (first written at {first})",
                    key.value.describe(),
                )));
            }
            match &key.value {
                Value::Str(text) => {
                    text_keys.insert(text.clone(), key.pos);
                }
                _ => other_keys.push(entries.len()),
            }
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}
