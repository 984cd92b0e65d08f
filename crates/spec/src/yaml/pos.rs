//! Positions: where the file wrote a value, and [`Located`] values that keep it.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// The lines of `text` as YAML counts them, which [`Pos::line`] numbers: a line ends at
/// `\r\n`, `\n` or a `\r` alone (where `str::lines` sees only the first two).
///
/// ```
/// let lines: Vec<&str> = coffer_spec::yaml::lines("a\rb\r\nc\n").collect();
/// assert_eq!(lines, ["a", "b", "c"]);
/// ```
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find(['\n', '\r']) {
            Some(at) => {
                let next = if current[at..].starts_with("\r\n") {
                    at + 2
                } else {
                    at + 1
                };
                rest = Some(&current[next..]).filter(|r| !r.is_empty());
                Some(&current[..at])
            }
            None => {
                rest = None;
                (!current.is_empty()).then_some(current)
            }
        }
    })
}

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

    pub(super) fn pack(self) -> u64 {
        (u64::from(self.line) << 32) | u64::from(self.col)
    }

    pub(super) fn unpack(packed: u64) -> Pos {
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

/// The struct name under which a [`Located`] asks the deserializer for its position.
pub(super) const LOCATED_MARKER: &str = "$coffer::Located";

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
