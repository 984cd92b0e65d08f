//! What a finding is about: a typed subject (a file position, the organization, an account, a
//! resource of the topology, a rule or copy of a backup plan, a copy edge, a selected
//! resource), the text every report shows for it, and where it points in the topology file.

use std::cmp::Ordering;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

use coffer_spec::{AccountName, CopyEdge, PlanName, VaultName};

use crate::model::{Address, ResourceKind};

/// What a finding is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SubjectKind {
    /// A 1-based position in the topology file: the finding is a validator diagnostic
    /// (`line L column C`).
    Position { line: u32, col: u32 },
    /// The topology's `organization`.
    Organization,
    /// An account of the topology (`account.A`).
    Account(AccountName),
    /// A resource of the topology by its address: `key.K`, `vault.V`, `vault_policy.V`,
    /// `vault_lock.V`, `selection.P.S`.
    Resource(Address),
    /// A rule of a backup plan as AWS holds it (`backup_plan.P rule R`).
    Rule { plan: PlanName, rule: String },
    /// A copy action of a rule as AWS holds it, into `destination`: the vault's name in AWS,
    /// or the ARN of a vault that does not exist (`backup_plan.P rule R -> D`).
    CopyAction {
        plan: PlanName,
        rule: String,
        destination: String,
    },
    /// A copy edge of the topology: rule `rule` of backup plan `plan` copies into vault
    /// `destination` (`backup_plan.P rule R -> vault.D`).
    CopyEdge {
        plan: PlanName,
        rule: String,
        destination: VaultName,
    },
    /// A resource a selection names, by ARN, as checked `on` a copy edge (a `CopyEdge`) or, for
    /// a backup plan that copies nowhere, on the plan (the `Resource` of a backup plan):
    /// `ARN (backup_plan.P rule R -> vault.D)`, `ARN (backup_plan.P)`.
    Source { arn: String, on: Box<SubjectKind> },
    /// A subject Coffer does not write (read from a plan file).
    Other(String),
}

impl fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectKind::Position { line, col } => write!(f, "line {line} column {col}"),
            SubjectKind::Organization => f.write_str("organization"),
            SubjectKind::Account(account) => write!(f, "account.{account}"),
            SubjectKind::Resource(address) => write!(f, "{address}"),
            SubjectKind::Rule { plan, rule } => write!(f, "backup_plan.{plan} rule {rule}"),
            SubjectKind::CopyAction {
                plan,
                rule,
                destination,
            } => write!(f, "backup_plan.{plan} rule {rule} -> {destination}"),
            SubjectKind::CopyEdge {
                plan,
                rule,
                destination,
            } => write!(f, "backup_plan.{plan} rule {rule} -> vault.{destination}"),
            SubjectKind::Source { arn, on } => write!(f, "{arn} ({on})"),
            SubjectKind::Other(text) => f.write_str(text),
        }
    }
}

/// `backup_plan.P rule R -> vault.D`.
impl From<&CopyEdge<'_>> for SubjectKind {
    fn from(edge: &CopyEdge<'_>) -> SubjectKind {
        SubjectKind::CopyEdge {
            plan: edge.plan.name.clone(),
            rule: edge.rule.name.clone(),
            destination: edge.destination.name.clone(),
        }
    }
}

impl SubjectKind {
    /// Reads a subject's text back (from a plan file): the inverse of `Display`. Text Coffer
    /// does not write is `Other`.
    pub fn parse(text: &str) -> SubjectKind {
        SubjectKind::written(text.trim()).unwrap_or_else(|| SubjectKind::Other(text.to_string()))
    }

    fn written(text: &str) -> Option<SubjectKind> {
        if let Some(rest) = text.strip_prefix("line ") {
            let (line, col) = rest.split_once(" column ")?;
            return Some(SubjectKind::Position {
                line: line.trim().parse().ok()?,
                col: col.trim().parse().ok()?,
            });
        }
        if text == "organization" {
            return Some(SubjectKind::Organization);
        }
        if let Some((plan, rule)) = text
            .strip_prefix("backup_plan.")
            .and_then(|rest| rest.split_once(" rule "))
        {
            let plan = PlanName(plan.to_string());
            return Some(match rule.split_once(" -> ") {
                None => SubjectKind::Rule {
                    plan,
                    rule: rule.to_string(),
                },
                Some((rule, destination)) => match destination.strip_prefix("vault.") {
                    Some(vault) => SubjectKind::CopyEdge {
                        plan,
                        rule: rule.to_string(),
                        destination: VaultName(vault.to_string()),
                    },
                    None => SubjectKind::CopyAction {
                        plan,
                        rule: rule.to_string(),
                        destination: destination.to_string(),
                    },
                },
            });
        }
        if let Some((arn, on)) = text.strip_suffix(')').and_then(|t| t.split_once(" (")) {
            let on = SubjectKind::written(on)?;
            let checked_on = matches!(
                &on,
                SubjectKind::CopyEdge { .. }
                    | SubjectKind::Resource(Address {
                        kind: ResourceKind::BackupPlan,
                        ..
                    })
            );
            return checked_on.then(|| SubjectKind::Source {
                arn: arn.to_string(),
                on: Box::new(on),
            });
        }
        if let Some(account) = text.strip_prefix("account.") {
            return Some(SubjectKind::Account(AccountName(account.to_string())));
        }
        Address::parse(text).map(SubjectKind::Resource)
    }

    /// The copy edge the subject is about, or that a selected resource was checked on: its
    /// backup plan, rule and destination vault.
    pub fn copy_edge(&self) -> Option<(&PlanName, &str, &VaultName)> {
        match self {
            SubjectKind::CopyEdge {
                plan,
                rule,
                destination,
            } => Some((plan, rule, destination)),
            SubjectKind::Source { on, .. } => on.copy_edge(),
            _ => None,
        }
    }

    /// Where the subject points in the topology file; `None` for a subject naming nothing of
    /// the file.
    pub fn anchor(&self) -> Option<Anchor> {
        let (section, name) = match self {
            SubjectKind::Position { line, col } => {
                return Some(Anchor::Position {
                    line: *line,
                    col: *col,
                });
            }
            SubjectKind::Organization => {
                return Some(Anchor::Entry {
                    section: "organization",
                    name: None,
                });
            }
            SubjectKind::Account(account) => ("accounts", account.as_str()),
            SubjectKind::Resource(address) => {
                let section = match address.kind {
                    ResourceKind::Key => "keys",
                    ResourceKind::Vault | ResourceKind::VaultPolicy | ResourceKind::VaultLock => {
                        "vaults"
                    }
                    ResourceKind::BackupPlan | ResourceKind::Selection => "backup_plans",
                    ResourceKind::Alias | ResourceKind::CrossAccountBackup => return None,
                };
                (section, address.name.as_str())
            }
            SubjectKind::Rule { plan, .. }
            | SubjectKind::CopyAction { plan, .. }
            | SubjectKind::CopyEdge { plan, .. } => ("backup_plans", plan.as_str()),
            SubjectKind::Source { on, .. } => return on.anchor(),
            SubjectKind::Other(_) => return None,
        };
        // Logical names have no dots: `selection.P.S` is about backup plan `P`.
        let name = name.split('.').next().unwrap_or_default();
        (!name.is_empty()).then(|| Anchor::Entry {
            section,
            name: Some(name.to_string()),
        })
    }
}

/// A finding's subject: what it is about, and the text every report shows for it (written
/// as that text in JSON, compared and ordered as that text).
#[derive(Clone, Debug)]
pub struct Subject {
    kind: SubjectKind,
    text: String,
}

impl Subject {
    /// What the subject is about, typed.
    pub fn kind(&self) -> &SubjectKind {
        &self.kind
    }

    /// The text every report shows.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Where the subject points in the topology file.
    pub fn anchor(&self) -> Option<Anchor> {
        self.kind.anchor()
    }
}

impl From<SubjectKind> for Subject {
    fn from(kind: SubjectKind) -> Subject {
        Subject {
            text: kind.to_string(),
            kind,
        }
    }
}

impl From<String> for Subject {
    fn from(text: String) -> Subject {
        Subject {
            kind: SubjectKind::parse(&text),
            text,
        }
    }
}

impl From<&str> for Subject {
    fn from(text: &str) -> Subject {
        Subject::from(text.to_string())
    }
}

impl Deref for Subject {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl AsRef<str> for Subject {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for Subject {
    fn eq(&self, other: &Subject) -> bool {
        self.text == other.text
    }
}

impl Eq for Subject {}

impl Ord for Subject {
    fn cmp(&self, other: &Subject) -> Ordering {
        self.text.cmp(&other.text)
    }
}

impl PartialOrd for Subject {
    fn partial_cmp(&self, other: &Subject) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

macro_rules! text_eq {
    ($($other:ty),*) => {$(
        impl PartialEq<$other> for Subject {
            fn eq(&self, other: &$other) -> bool {
                self.text == *other
            }
        }

        impl PartialEq<Subject> for $other {
            fn eq(&self, other: &Subject) -> bool {
                *self == other.text
            }
        }
    )*};
}

text_eq!(str, &str, String);

impl Serialize for Subject {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Subject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Subject::from)
    }
}

/// Where in the topology file a finding points: a file position (a finding that is a
/// validator diagnostic) or the entry it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// A 1-based line and column.
    Position { line: u32, col: u32 },
    /// A logical name of `section` (`accounts`, `keys`, `vaults` or `backup_plans`), or the
    /// top-level section itself when `name` is `None` (`organization`).
    Entry {
        section: &'static str,
        name: Option<String>,
    },
}

impl Anchor {
    /// `vaults.central`, or the bare section: what `coffer_spec::Positions::lookup` takes.
    pub fn path(&self) -> Option<String> {
        match self {
            Anchor::Position { .. } => None,
            Anchor::Entry { section, name } => Some(match name {
                Some(name) => format!("{section}.{name}"),
                None => section.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every subject Coffer writes reads back as itself.
    #[test]
    fn subjects_read_back_from_their_text() {
        let edge = SubjectKind::CopyEdge {
            plan: PlanName("orders-daily".into()),
            rule: "daily".into(),
            destination: VaultName("central".into()),
        };
        let subjects = [
            SubjectKind::Position { line: 12, col: 7 },
            SubjectKind::Organization,
            SubjectKind::Account(AccountName("source".into())),
            SubjectKind::Resource(ResourceKind::Key.at("source-rds")),
            SubjectKind::Resource(ResourceKind::VaultPolicy.at("central")),
            SubjectKind::Resource(ResourceKind::Selection.at("orders-daily.orders-db")),
            SubjectKind::Rule {
                plan: PlanName("orders-daily".into()),
                rule: "daily".into(),
            },
            SubjectKind::CopyAction {
                plan: PlanName("orders-daily".into()),
                rule: "daily".into(),
                destination: "arn:aws:backup:eu-west-1:666777888999:backup-vault:gone".into(),
            },
            SubjectKind::CopyAction {
                plan: PlanName("orders-daily".into()),
                rule: "daily".into(),
                destination: "central-copies".into(),
            },
            edge.clone(),
            SubjectKind::Source {
                arn: "arn:aws:rds:eu-west-1:111222333444:db:orders".into(),
                on: Box::new(edge.clone()),
            },
            SubjectKind::Source {
                arn: "arn:aws:rds:eu-west-1:111222333444:db:orders".into(),
                on: Box::new(SubjectKind::Resource(
                    ResourceKind::BackupPlan.at("orders-daily"),
                )),
            },
        ];
        for subject in subjects {
            let text = subject.to_string();
            assert_eq!(SubjectKind::parse(&text), subject, "`{text}`");
        }
        assert_eq!(
            SubjectKind::parse("arn:aws:rds:eu-west-1:111222333444:db:orders"),
            SubjectKind::Other("arn:aws:rds:eu-west-1:111222333444:db:orders".into())
        );
    }

    #[test]
    fn a_source_is_on_the_copy_edge_it_was_checked_on() {
        let subject = Subject::from(
            "arn:aws:rds:eu-west-1:111222333444:db:orders (backup_plan.orders-daily rule daily -> vault.central)",
        );
        let (plan, rule, destination) = subject.kind().copy_edge().expect("an edge");
        assert_eq!(
            (plan.as_str(), rule, destination.as_str()),
            ("orders-daily", "daily", "central")
        );
        assert_eq!(Subject::from("vault.central").kind().copy_edge(), None);
    }
}
