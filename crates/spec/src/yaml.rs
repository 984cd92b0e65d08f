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
    /// How the value reads in an error message ("a string", "the integer 7").
    pub fn describe(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Bool(b) => format!("the boolean `{b}`"),
            Value::Int(i) => format!("the number `{i}`"),
            Value::Float(x) => format!("the number `{x}`"),
            Value::Str(s) => format!("the string `{s}`"),
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

/// A parse failure of the YAML text itself (syntax, duplicate key, limits).
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// Parses YAML text into a [`Node`]. An empty document is a `Null` node at `1:1`.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let options = serde_saphyr::options! {
        strict_booleans: true,
        budget: serde_saphyr::budget! {
            max_depth: 64,
            max_nodes: 200_000,
            max_total_scalar_bytes: 8 * 1024 * 1024,
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
                .unwrap_or(Pos::FILE);
            let message = match err.without_snippet() {
                // The library's own message tells the user to change a parser option.
                serde_saphyr::Error::DuplicateMappingKey { key: Some(key), .. } => {
                    format!("duplicate key `{key}`: a mapping may have each key only once")
                }
                serde_saphyr::Error::DuplicateMappingKey { key: None, .. } => {
                    "duplicate key: a mapping may have each key only once".to_string()
                }
                other => first_line(&other.to_string()),
            };
            Err(SyntaxError { pos, message })
        }
    }
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
        }
    }

    fn at(mut self, pos: Pos) -> ShapeError {
        self.pos.get_or_insert(pos);
        self
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
        ShapeError::new(
            ShapeErrorKind::WrongType,
            format!("expected {exp}, found {unexp}"),
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
        <ShapeError as de::Error>::invalid_type(self.unexpected(), exp).at(self.0.pos)
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
            Value::Seq(items) => visitor.visit_seq(SeqNodes(items.iter())),
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
                    ExpectingOf(&visitor),
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
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        if name == LOCATED_MARKER {
            return visitor.visit_map(LocatedAccess {
                node: self.0,
                state: 0,
            });
        }
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
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
            _ => Err(self.wrong_type(&visitor)),
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

struct SeqNodes<'a>(std::slice::Iter<'a, Node>);

impl<'a> SeqAccess<'a> for SeqNodes<'a> {
    type Error = ShapeError;

    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ShapeError> {
        match self.0.next() {
            Some(node) => seed.deserialize(NodeDeserializer(node)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapNodes<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    value: Option<&'a Node>,
}

impl<'a> MapAccess<'a> for MapNodes<'a> {
    type Error = ShapeError;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ShapeError> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(NodeDeserializer(key))
                    .map(Some)
                    .map_err(|e| e.at(key.pos))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, ShapeError> {
        match self.value.take() {
            Some(value) => seed.deserialize(NodeDeserializer(value)),
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
