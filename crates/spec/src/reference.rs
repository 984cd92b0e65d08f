//! The topology file reference (`docs/topology.md`), generated from the JSON Schema.
//!
//! The schema is generated from the doc comments of [`crate::format`], so this document is
//! too: every section and field of the file, with its path, type, whether it is required or
//! its default, and its description. A test fails when the committed `docs/topology.md`
//! differs from [`topology_reference_markdown`], and another when a property of the schema
//! is missing from it.

use serde_json::{Map, Value};

/// A small, complete topology: one account, one key, one vault, one daily plan. It loads
/// without errors or warnings (a test checks it).
pub const MINIMAL_EXAMPLE: &str = r#"version: 1
name: demo

defaults:
  region: eu-west-1
  role: CofferDeployRole

accounts:
  workload:
    id: "111122223333"

keys:
  backups:
    account: workload
    alias: alias/demo/backups

vaults:
  main:
    account: workload
    name: demo-main
    key: backups

backup_plans:
  daily:
    account: workload
    rules:
      - name: daily
        vault: main
        lifecycle:
          delete_after_days: 35
    selections:
      - name: tagged
        tags:
          backup: daily
"#;

/// The reference of the topology file format, as Markdown.
pub fn topology_reference_markdown() -> String {
    let schema: Value = serde_json::from_str(&crate::json_schema()).unwrap_or(Value::Null);
    let empty = Map::new();
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut doc = Reference {
        defs,
        out: String::new(),
        sections: Vec::new(),
    };
    // Section titles first, for the contents list.
    doc.collect_sections(&schema, "", 0);
    let sections = std::mem::take(&mut doc.sections);

    doc.out.push_str(INTRO);
    doc.out.push_str("```yaml\n");
    doc.out.push_str(MINIMAL_EXAMPLE);
    doc.out.push_str("```\n\n");
    doc.out.push_str(CONVENTIONS);
    doc.out
        .push_str("## Contents\n\n- [Top level](#top-level)\n");
    for (path, depth) in &sections {
        doc.out.push_str(&format!(
            "{}- {}\n",
            "  ".repeat(depth.saturating_sub(1)),
            link(path)
        ));
    }
    doc.out.push('\n');

    doc.out.push_str("## Top level\n\n");
    if let Some(text) = description(&schema) {
        doc.out.push_str(&format!("{text}\n\n"));
    }
    doc.object(&schema, "", 0);
    doc.out.push_str(OUTRO);
    doc.out
}

const INTRO: &str = "# Topology file reference

<!-- Generated from the JSON Schema by `coffer schema --markdown` (`just docs`); a test fails when this file is stale. Edit the doc comments in crates/spec/src/format.rs, not this file. -->

A topology file is one YAML document that describes a cross-account backup setup: the AWS
accounts, the customer managed KMS keys, the AWS Backup vaults (with their access policies and
locks) and the backup plans (with their copies to other accounts and regions). Coffer makes
AWS match it. `coffer validate -f FILE` checks a file without calling AWS and reports every
problem at once, with its line and column.

This page lists every field. Each entry gives the field's path, its type, whether it is
required (or the default Coffer uses when it is left out), and what it means.

## A minimal example

";

const CONVENTIONS: &str = "## Reading the paths

- `<name>` stands for a logical name you choose, the key of an entry in a map such as
  `accounts`, `keys`, `vaults` or `backup_plans`. Other fields refer to the entry by that name
  (`vaults.<name>.key: backups` names the entry `keys.backups`).
- `[]` stands for each item of a list: `backup_plans.<name>.rules[].name` is the `name` of
  every rule.
- Optional fields with no default shown take the value their description gives, or leave the
  setting to AWS.
- Unknown fields are errors, so a typo never goes unnoticed.

";

const OUTRO: &str = "## The JSON Schema

This page is generated from the JSON Schema of the format, committed as
[`schemas/topology.schema.json`](../schemas/topology.schema.json) (`coffer schema` prints it).
Editors that speak the YAML language server validate and complete a file that starts with:

```yaml
# yaml-language-server: $schema=../../schemas/topology.schema.json
```

(the path is relative to the topology file).
";

/// What a schema (after `$ref`s and nullability) describes.
enum Shape<'a> {
    /// `string`, `integer`, `boolean`, ...
    Scalar(String),
    /// Fixed string values with their descriptions.
    Enum(Vec<(String, Option<String>)>),
    /// An object with declared properties (the schema of the object).
    Object(&'a Value),
    /// A map from logical names to objects (the schema of each entry).
    NamedMap(&'a Value),
    /// A map from strings to scalars (tags).
    ScalarMap(String),
    /// An object with any fields (an IAM policy statement).
    FreeObject,
    List(Box<Shape<'a>>),
}

struct Reference<'a> {
    defs: &'a Map<String, Value>,
    out: String,
    /// Section paths and their depth, in document order.
    sections: Vec<(String, usize)>,
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn description(schema: &Value) -> Option<String> {
    schema
        .get("description")
        .and_then(Value::as_str)
        .map(one_line)
        .filter(|d| !d.is_empty())
}

/// The anchor GitHub gives a heading: lower case, spaces as `-`, other punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// A link to the section of `path`.
fn link(path: &str) -> String {
    format!("[`{path}`](#{})", anchor(path))
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// A default value as it would be written in YAML.
fn yaml_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn plural(scalar: &str) -> String {
    match scalar {
        "boolean" => "booleans".into(),
        "integer" => "integers".into(),
        "number" => "numbers".into(),
        "string" => "strings".into(),
        other => format!("{other} values"),
    }
}

impl<'a> Reference<'a> {
    fn def(&self, reference: &str) -> Option<&'a Value> {
        let name = reference.strip_prefix("#/$defs/")?;
        self.defs.get(name)
    }

    fn shape(&self, schema: &'a Value) -> Shape<'a> {
        if let Some(options) = schema.get("anyOf").and_then(Value::as_array) {
            let not_null: Vec<&Value> = options
                .iter()
                .filter(|o| o.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            if let [only] = not_null.as_slice() {
                return self.shape(only);
            }
        }
        if let Some(target) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| self.def(r))
        {
            return self.shape(target);
        }
        let variants = schema
            .get("oneOf")
            .or_else(|| schema.get("enum"))
            .and_then(Value::as_array);
        if let Some(variants) = variants {
            let values: Vec<(String, Option<String>)> = variants
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some((s.clone(), None)),
                    other => other
                        .get("const")
                        .and_then(Value::as_str)
                        .map(|c| (c.to_string(), description(other))),
                })
                .collect();
            if !values.is_empty() {
                return Shape::Enum(values);
            }
        }
        let types: Vec<&str> = match schema.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let main = types
            .iter()
            .copied()
            .find(|t| *t != "null")
            .unwrap_or("any");
        match main {
            "object" if schema.get("properties").is_some() => Shape::Object(schema),
            "object" => match schema.get("additionalProperties") {
                Some(entry @ Value::Object(_)) => match self.shape(entry) {
                    Shape::Object(entry) => Shape::NamedMap(entry),
                    Shape::Scalar(scalar) => Shape::ScalarMap(scalar),
                    _ => Shape::FreeObject,
                },
                _ => Shape::FreeObject,
            },
            "array" => match schema.get("items") {
                Some(items) => Shape::List(Box::new(self.shape(items))),
                None => Shape::List(Box::new(Shape::Scalar("any".into()))),
            },
            scalar => Shape::Scalar(scalar.to_string()),
        }
    }

    fn type_text(shape: &Shape) -> String {
        match shape {
            Shape::Scalar(scalar) => scalar.clone(),
            Shape::Enum(values) => format!(
                "one of {}",
                values
                    .iter()
                    .map(|(v, _)| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Shape::Object(_) => "object".into(),
            Shape::NamedMap(_) => "map of named entries".into(),
            Shape::ScalarMap(scalar) => format!("map of string to {scalar}"),
            Shape::FreeObject => "object with any fields".into(),
            Shape::List(item) => match item.as_ref() {
                Shape::Scalar(scalar) => format!("list of {}", plural(scalar)),
                Shape::Object(_) | Shape::FreeObject => "list of objects".into(),
                other => format!("list of ({})", Self::type_text(other)),
            },
        }
    }

    /// The path and schema of the section a field opens, if it has fields of its own.
    fn child(&self, shape: &Shape<'a>, path: &str) -> Option<(String, &'a Value)> {
        match shape {
            Shape::Object(schema) => Some((path.to_string(), schema)),
            Shape::NamedMap(schema) => Some((format!("{path}.<name>"), schema)),
            Shape::List(item) => match item.as_ref() {
                Shape::Object(schema) => Some((format!("{path}[]"), schema)),
                _ => None,
            },
            _ => None,
        }
    }

    /// Properties in a stable, readable order: required ones in the order the schema lists
    /// them (the order of the format's fields), then the optional ones by name.
    fn properties(schema: &'a Value) -> Vec<(&'a String, &'a Value, bool)> {
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            return Vec::new();
        };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut ordered: Vec<(&String, &Value, bool)> = Vec::new();
        for name in &required {
            if let Some((key, value)) = properties.get_key_value(*name) {
                ordered.push((key, value, true));
            }
        }
        for (key, value) in properties {
            if !required.contains(&key.as_str()) {
                ordered.push((key, value, false));
            }
        }
        ordered
    }

    fn collect_sections(&mut self, schema: &'a Value, path: &str, depth: usize) {
        for (name, property, _) in Self::properties(schema) {
            let field = join(path, name);
            let shape = self.shape(property);
            if let Some((child_path, child)) = self.child(&shape, &field) {
                self.sections.push((child_path.clone(), depth + 1));
                self.collect_sections(child, &child_path, depth + 1);
            }
        }
    }

    /// The field list of an object, then a section for each field that has fields of its own.
    fn object(&mut self, schema: &'a Value, path: &str, depth: usize) {
        let mut children: Vec<(String, &'a Value, &'a Value, Shape<'a>)> = Vec::new();
        for (name, property, required) in Self::properties(schema) {
            let field = join(path, name);
            let shape = self.shape(property);
            let mut facts = vec![Self::type_text(&shape)];
            if required {
                facts.push("required".into());
            } else {
                match property.get("default") {
                    Some(Value::Null) | None => facts.push("optional".into()),
                    Some(default) => facts.push(format!("default `{}`", yaml_value(default))),
                }
            }
            let mut text: Vec<String> = description(property).into_iter().collect();
            if let Some((child_path, _)) = self.child(&shape, &field) {
                text.push(format!("Fields: see {} below.", link(&child_path)));
            }
            let mut line = format!("- `{field}` ({})", facts.join(", "));
            if !text.is_empty() {
                line.push_str(&format!(": {}", text.join(" ")));
            }
            line.push('\n');
            self.out.push_str(&line);
            if let Shape::Enum(values) = &shape {
                for (value, text) in values {
                    match text {
                        Some(text) => self.out.push_str(&format!("  - `{value}`: {text}\n")),
                        None => self.out.push_str(&format!("  - `{value}`\n")),
                    }
                }
            }
            if let Some((child_path, child)) = self.child(&shape, &field) {
                children.push((child_path, property, child, shape));
            }
        }
        self.out.push('\n');
        for (child_path, property, child, shape) in children {
            let level = if depth == 0 { "##" } else { "###" };
            self.out.push_str(&format!("{level} `{child_path}`\n\n"));
            if let Some(text) = description(property) {
                self.out.push_str(&format!("{text}\n\n"));
            }
            let what = description(child).unwrap_or_default();
            let how = match shape {
                Shape::NamedMap(_) => {
                    " Each key (`<name>`) is a logical name you choose; other fields refer to the entry by it."
                }
                Shape::List(_) => " Each item of the list has these fields.",
                _ => "",
            };
            let paragraph = format!("{what}{how}");
            let paragraph = paragraph.trim();
            if !paragraph.is_empty() {
                self.out.push_str(&format!("{paragraph}\n\n"));
            }
            self.object(child, &child_path, depth + 1);
        }
    }
}
