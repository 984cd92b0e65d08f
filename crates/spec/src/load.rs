//! Loading: YAML text → [`TopologyFile`] with every shape error, one per broken entry, then
//! its meaning checked and resolved into a [`Topology`].

use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;

use crate::codes;
use crate::diag::{Diagnostic, Diagnostics};
use crate::format::TopologyFile;
use crate::sets::{AccountSet, Membership};
use crate::topology::Topology;
use crate::yaml::{self, Limits, Located, Node, Pos, ShapeError, ShapeErrorKind, Value};

/// Where each logical name (a map key) was written, by section. The top-level sections
/// themselves are under [`TOP_LEVEL`] (`("", "organization")`).
pub type KeyPositions = HashMap<(&'static str, String), Pos>;

/// The section name under which [`KeyPositions`] keeps the top-level keys of the file.
pub const TOP_LEVEL: &str = "";

/// The result of loading a topology file: the topology when there are no errors, and every
/// diagnostic (errors and warnings) sorted by position.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub source: String,
    pub topology: Option<Topology>,
    pub diagnostics: Diagnostics,
    /// Where the file wrote its sections and logical names (empty when it is not YAML).
    pub positions: Positions,
    /// What the file's valid account sets select; their members are found in the
    /// organization and passed to [`Loaded::with_members`].
    pub account_sets: Vec<AccountSet>,
}

impl Loaded {
    /// Every diagnostic, rendered as `FILE:LINE:COL: error[CODE]: message` blocks.
    pub fn render(&self, file: &str) -> String {
        self.diagnostics.render(file, &self.source)
    }

    /// The same file loaded again with the members its account sets have.
    pub fn with_members(&self, limits: &Limits, membership: &Membership) -> Loaded {
        load_str_members(&self.source, limits, Some(membership))
    }
}

/// Where the file wrote each top-level section and the logical name of each entry: what
/// points a report about a resource (`vaults.central`) at its line.
///
/// ```
/// let loaded = coffer_spec::load_str("version: 1\nname: demo\naccounts:\n  a: {id: \"111122223333\"}\n");
/// assert_eq!(loaded.positions.lookup("accounts.a"), Some(coffer_spec::Pos::new(4, 3)));
/// assert_eq!(loaded.positions.lookup("accounts"), Some(coffer_spec::Pos::new(3, 1)));
/// assert_eq!(loaded.positions.lookup("vaults.a"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Positions(std::collections::BTreeMap<(String, String), Pos>);

impl Positions {
    /// The position of logical name `name` in `section` (`accounts`, `keys`, `vaults` or
    /// `backup_plans`), when the file has it.
    pub fn entry(&self, section: &str, name: &str) -> Option<Pos> {
        self.0
            .get(&(section.to_string(), name.to_string()))
            .copied()
    }

    /// The position of a top-level section's key (`organization`), when the file has it.
    pub fn section(&self, section: &str) -> Option<Pos> {
        self.entry(TOP_LEVEL, section)
    }

    /// `vaults.<name>`, `keys.<name>`, `backup_plans.<name>`, `accounts.<name>`, or a bare
    /// section name.
    pub fn lookup(&self, path: &str) -> Option<Pos> {
        match path.split_once('.') {
            Some((section, name)) => self.entry(section, name),
            None => self.section(path),
        }
    }
}

impl From<&KeyPositions> for Positions {
    fn from(positions: &KeyPositions) -> Positions {
        Positions(
            positions
                .iter()
                .map(|((section, name), pos)| ((section.to_string(), name.clone()), *pos))
                .collect(),
        )
    }
}

/// Loads a topology from text.
pub fn load_str(text: &str) -> Loaded {
    load_str_with(text, &Limits::default())
}

/// Loads a topology from text, refusing files beyond `limits`. Each account set gets one
/// placeholder member (see [`load_str_members`]).
pub fn load_str_with(text: &str, limits: &Limits) -> Loaded {
    load_str_members(text, limits, None)
}

/// Loads a topology from text with the members its account sets have in the organization
/// (`None`: one placeholder member each, which checks the templates without AWS).
pub fn load_str_members(text: &str, limits: &Limits, membership: Option<&Membership>) -> Loaded {
    if text.len() > limits.max_bytes {
        return too_large(Some(text.len() as u64), limits);
    }
    let mut diagnostics = Diagnostics::default();
    let mut positions = Positions::default();
    let mut account_sets = Vec::new();
    let topology = load_shape(text, limits, &mut diagnostics).and_then(|(file, keys)| {
        positions = Positions::from(&keys);
        let shape_ok = !diagnostics.has_errors();
        let expanded = crate::expand::expand(&file, &keys, membership, &mut diagnostics);
        account_sets = expanded.selectors;
        let (file, made) = (&expanded.file, &expanded.made);
        let topology = crate::resolve::resolve(file, made, &keys, &mut diagnostics);
        topology.filter(|_| shape_ok)
    });
    diagnostics.sort();
    Loaded {
        source: text.to_string(),
        topology,
        diagnostics,
        positions,
        account_sets,
    }
}

/// The one error of a file over [`Limits::max_bytes`]; `size` when it is known.
pub(crate) fn too_large(size: Option<u64>, limits: &Limits) -> Loaded {
    let max = limits.max_bytes as u64;
    let what = match size {
        Some(size) => format!("the file is {}", yaml::bytes_exact(size)),
        None => format!("the input is larger than {}", yaml::human_bytes(max)),
    };
    // A limit that reads this file, in whole MiB, and at least twice the current one.
    const MIB: u64 = 1024 * 1024;
    let raised = size
        .map_or(0, |size| size.div_ceil(MIB) * MIB)
        .max(max.saturating_mul(2));
    let diagnostic = Diagnostic::error(
        codes::SYNTAX,
        Pos::new(1, 1),
        format!(
            "{what}; Coffer reads topology files of at most {}",
            yaml::bytes_exact(max)
        ),
    )
    .help(format!(
        "split the topology into several files (for example one per group of source accounts, each planned and applied on its own), or raise the limit: {}={}",
        Limits::ENV_BYTES,
        raised
    ));
    Loaded {
        source: String::new(),
        topology: None,
        diagnostics: Diagnostics(vec![diagnostic]),
        positions: Positions::default(),
        account_sets: Vec::new(),
    }
}

const SECTIONS: &[&str] = &[
    "version",
    "name",
    "organization",
    "defaults",
    "accounts",
    "keys",
    "vaults",
    "backup_plans",
    "account_sets",
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
    let account_sets = named_section(&by_name, "account_sets", &mut positions, diags);
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
        account_sets,
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
