//! The deserializer: a typed value from one [`Node`], every error with its position and
//! its path inside the node.

use std::fmt;

use serde::Deserialize;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use super::pos::LOCATED_MARKER;
use super::shape::{backticked, echo_short, noun_of, plain_expected};
use super::{Node, ShapeError, ShapeErrorKind, Value, shorten};

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
