//! Loading: YAML text → [`TopologyFile`] with every shape error, one per broken entry.

use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;

use crate::codes;
use crate::diag::{Diagnostic, Diagnostics};
use crate::format::TopologyFile;
use crate::yaml::{self, Located, Node, Pos, ShapeError, ShapeErrorKind, Value};

/// Where each logical name (a map key) was written, by section. The top-level sections
/// themselves are under [`TOP_LEVEL`] (`("", "organization")`).
pub type KeyPositions = HashMap<(&'static str, String), Pos>;

/// The section name under which [`KeyPositions`] keeps the top-level keys of the file.
pub const TOP_LEVEL: &str = "";

const SECTIONS: &[&str] = &[
    "version",
    "name",
    "organization",
    "defaults",
    "accounts",
    "keys",
    "vaults",
    "backup_plans",
];

/// Reads the file's shape. Returns `None` for the file when a required part could not be
/// read; the diagnostics then say why.
pub fn load_shape(
    text: &str,
    limits: &yaml::Limits,
    diags: &mut Diagnostics,
) -> Option<(TopologyFile, KeyPositions)> {
    let root = match yaml::parse_with(text, limits) {
        Ok(node) => node,
        Err(err) => {
            diags.push(Diagnostic::error(codes::SYNTAX, err.pos, err.message).help(err.help));
            return None;
        }
    };
    if root.value == Value::Null {
        diags.push(
            Diagnostic::error(codes::MISSING_FIELD, Pos::new(1, 1), "the file is empty")
                .help("a topology starts with `version: 1`, `name: <topology name>` and `accounts:`; see examples/seed/topology.yaml"),
        );
        return None;
    }
    let Some(entries) = root.as_map() else {
        diags.push(
            Diagnostic::error(
                codes::WRONG_TYPE,
                root.pos,
                format!(
                    "a topology file is a mapping of sections, found {}",
                    root.value.describe()
                ),
            )
            .help("start the file with `version: 1` and `name: <topology name>`"),
        );
        return None;
    };

    let mut by_name: BTreeMap<&str, &Node> = BTreeMap::new();
    let mut positions = KeyPositions::new();
    for (key, value) in entries {
        match key.as_str() {
            Some(name) if SECTIONS.contains(&name) => {
                by_name.insert(name, value);
                positions.insert((TOP_LEVEL, name.to_string()), key.pos);
            }
            _ => diags.push(unknown_section(key)),
        }
    }

    let version = required::<u32>(&by_name, "version", root.pos, diags);
    let name = required::<String>(&by_name, "name", root.pos, diags);
    let organization = optional(&by_name, "organization", diags);
    let defaults = optional(&by_name, "defaults", diags);
    let accounts = named_section(&by_name, "accounts", &mut positions, diags);
    let keys = named_section(&by_name, "keys", &mut positions, diags);
    let vaults = named_section(&by_name, "vaults", &mut positions, diags);
    let backup_plans = named_section(&by_name, "backup_plans", &mut positions, diags);
    if !by_name.contains_key("accounts") {
        diags.push(
            Diagnostic::error(codes::MISSING_FIELD, root.pos, "missing section `accounts`").help(
                "list the AWS accounts under `accounts:`, e.g. `source: {id: \"111122223333\"}`",
            ),
        );
    }

    let file = TopologyFile {
        version: version?,
        name: name?,
        organization: organization.ok()?,
        defaults: defaults.ok()?,
        accounts,
        keys,
        vaults,
        backup_plans,
    };
    Some((file, positions))
}

fn unknown_section(key: &Node) -> Diagnostic {
    let written = key
        .as_str()
        .map_or_else(|| key.value.describe(), str::to_string);
    let mut diagnostic = Diagnostic::error(
        codes::UNKNOWN_FIELD,
        key.pos,
        format!("unknown section `{written}`"),
    );
    diagnostic = match crate::resolve::closest(&written, SECTIONS.iter().copied()) {
        Some(best) => diagnostic.help(format!("did you mean `{best}`?")),
        None => diagnostic.help(format!("sections are {}", SECTIONS.join(", "))),
    };
    diagnostic
}

fn required<T: DeserializeOwned>(
    by_name: &BTreeMap<&str, &Node>,
    section: &str,
    root: Pos,
    diags: &mut Diagnostics,
) -> Option<Located<T>> {
    match by_name.get(section) {
        Some(node) => match yaml::from_node::<Located<T>>(node) {
            Ok(value) => Some(value),
            Err(err) => {
                diags.push(shape_diagnostic(err, section));
                None
            }
        },
        None => {
            let example = if section == "version" {
                "version: 1"
            } else {
                "name: my-backups"
            };
            diags.push(
                Diagnostic::error(
                    codes::MISSING_FIELD,
                    root,
                    format!("missing field `{section}`"),
                )
                .help(format!("add `{example}` at the top of the file")),
            );
            None
        }
    }
}

/// `Err(())` when the section exists but could not be read.
fn optional<T: DeserializeOwned>(
    by_name: &BTreeMap<&str, &Node>,
    section: &str,
    diags: &mut Diagnostics,
) -> Result<Option<Located<T>>, ()> {
    match by_name.get(section) {
        None => Ok(None),
        Some(node) if node.value == Value::Null => Ok(None),
        Some(node) => match yaml::from_node::<Located<T>>(node) {
            Ok(value) => Ok(Some(value)),
            Err(err) => {
                diags.push(shape_diagnostic(err, section));
                Err(())
            }
        },
    }
}

/// A section of named entries. Every entry is read on its own, so each broken entry gets
/// its own error; the entries that read fine are kept for the meaning checks.
fn named_section<T: DeserializeOwned>(
    by_name: &BTreeMap<&str, &Node>,
    section: &'static str,
    positions: &mut KeyPositions,
    diags: &mut Diagnostics,
) -> BTreeMap<String, Located<T>> {
    let mut out = BTreeMap::new();
    let Some(node) = by_name.get(section) else {
        return out;
    };
    let entries = match &node.value {
        Value::Map(entries) => entries,
        Value::Null => return out,
        other => {
            diags.push(
                Diagnostic::error(
                    codes::WRONG_TYPE,
                    node.pos,
                    format!(
                        "`{section}` must be a mapping from logical names to entries, found {}",
                        other.describe()
                    ),
                )
                .help(format!(
                    "write `{section}:` followed by `  <name>:` entries"
                )),
            );
            return out;
        }
    };
    for (key, value) in entries {
        let Some(name) = key.as_str() else {
            diags.push(
                Diagnostic::error(
                    codes::WRONG_TYPE,
                    key.pos,
                    format!(
                        "logical names in `{section}` must be text, found {}",
                        key.value.describe()
                    ),
                )
                .help("quote the name or use letters, digits, `-` and `_`"),
            );
            continue;
        };
        positions.insert((section, name.to_string()), key.pos);
        match yaml::from_node::<Located<T>>(value) {
            Ok(entry) => {
                out.insert(name.to_string(), entry);
            }
            Err(err) => diags.push(shape_diagnostic(err, &format!("{section}.{name}"))),
        }
    }
    out
}

/// Turns a shape error into a diagnostic with a fix.
fn shape_diagnostic(err: ShapeError, section_path: &str) -> Diagnostic {
    let pos = err.pos.unwrap_or(Pos::FILE);
    let path = err.path(section_path);
    let own_help = err.help.clone();
    let (code, help) = match err.kind {
        ShapeErrorKind::UnknownField => (
            codes::UNKNOWN_FIELD,
            suggestion_for_unknown_field(&err.message)
                .unwrap_or_else(|| "remove the field or fix its spelling".to_string()),
        ),
        ShapeErrorKind::MissingField => (
            codes::MISSING_FIELD,
            format!("add the missing field to `{path}`"),
        ),
        ShapeErrorKind::NumberForString => (
            codes::NUMBER_FOR_STRING,
            "quote the value (for example `id: \"011122223333\"`): unquoted, YAML reads it as a number and an account ID would lose its leading zeros".to_string(),
        ),
        ShapeErrorKind::UnknownVariant => {
            (codes::UNKNOWN_VALUE, "use one of the listed values".to_string())
        }
        ShapeErrorKind::WrongType | ShapeErrorKind::Other => (
            codes::WRONG_TYPE,
            format!("`coffer schema --markdown` (docs/topology.md) describes `{path}`"),
        ),
    };
    let help = match err.kind {
        ShapeErrorKind::WrongType | ShapeErrorKind::Other => own_help.unwrap_or(help),
        _ => help,
    };
    Diagnostic::error(code, pos, format!("in `{path}`: {}", err.message)).help(help)
}

/// "unknown field `kms_keyy`, expected one of `a`, `b`" → "did you mean `b`?"
fn suggestion_for_unknown_field(message: &str) -> Option<String> {
    let mut quoted = message.split('`').skip(1).step_by(2);
    let unknown = quoted.next()?;
    let expected: Vec<&str> = quoted.collect();
    crate::resolve::closest(unknown, expected.iter().copied())
        .map(|best| format!("did you mean `{best}`?"))
        .or_else(|| Some(format!("this mapping takes {}", expected.join(", "))))
}
