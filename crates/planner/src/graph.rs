//! Topology diagrams: accounts and regions as groups; keys, vaults and plans as nodes; edges
//! for "encrypts", "usable by", "backs up to", "copies to" and "allows copy from". Copy edges
//! that fail a blocker check are drawn in red.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use coffer_spec::{AccountName, Key, Topology, Vault};

use crate::checks::{Finding, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    Encrypts,
    UsableBy,
    BacksUpTo,
    CopiesTo,
    AllowsCopyFrom,
}

impl EdgeKind {
    fn label(self) -> &'static str {
        match self {
            EdgeKind::Encrypts => "encrypts",
            EdgeKind::UsableBy => "usable by",
            EdgeKind::BacksUpTo => "backs up to",
            EdgeKind::CopiesTo => "copies to",
            EdgeKind::AllowsCopyFrom => "allows copy from",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    /// Fails a blocker check.
    pub broken: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub label: String,
    pub group: (String, String),
}

/// The diagram's content, independent of the output format.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    /// (account group id, label), each with its regions.
    pub accounts: Vec<(String, String, Vec<String>)>,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

impl Graph {
    /// The nodes of each (account name, region), in the order they were added.
    fn groups(&self) -> HashMap<(&str, &str), Vec<&Node>> {
        let mut groups: HashMap<(&str, &str), Vec<&Node>> = HashMap::new();
        for node in &self.nodes {
            let (account, region) = &node.group;
            groups.entry((account, region)).or_default().push(node);
        }
        groups
    }
}

/// Each account's name by its group id ([`account_node`]): looked up once per account, where
/// a search of the accounts per account made a fleet's diagram quadratic.
fn names_by_node(topology: &Topology) -> HashMap<String, &str> {
    let accounts = topology.accounts.values();
    accounts
        .map(|a| (account_node(a.name.as_str()), a.name.as_str()))
        .collect()
}

fn safe(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn account_node(name: &str) -> String {
    format!("acct_{}", safe(name))
}

/// Builds the diagram; `findings` mark the copy edges that fail a blocker check.
pub fn build(topology: &Topology, findings: &[Finding]) -> Graph {
    let mut graph = Graph::default();
    for account in topology.accounts.values() {
        graph.accounts.push((
            account_node(account.name.as_str()),
            format!("{} ({})", account.name, account.id),
            account.regions.iter().cloned().collect(),
        ));
    }
    for key in topology.keys.values() {
        key_nodes(&mut graph, key);
    }
    let names_by_id: HashMap<&str, &AccountName> = (topology.accounts.values())
        .map(|a| (a.id.as_str(), &a.name))
        .collect();
    for vault in topology.vaults.values() {
        vault_nodes(&mut graph, &names_by_id, vault);
    }
    backup_plan_nodes(&mut graph, topology, &broken_copies(findings));
    graph.edges.dedup();
    graph
}

/// The copies (backup plan, destination vault) that fail a blocker check.
fn broken_copies(findings: &[Finding]) -> BTreeSet<(String, String)> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Blocker)
        .filter_map(|f| f.subject.kind().copy_edge())
        .map(|(plan, _, destination)| (plan.to_string(), destination.to_string()))
        .collect()
}

fn edge(from: String, to: String, kind: EdgeKind) -> Edge {
    Edge {
        from,
        to,
        kind,
        broken: false,
    }
}

fn key_node(name: &str) -> String {
    format!("key_{}", safe(name))
}

fn vault_node(name: &str) -> String {
    format!("vault_{}", safe(name))
}

fn key_nodes(graph: &mut Graph, key: &Key) {
    graph.nodes.push(Node {
        id: key_node(key.name.as_str()),
        label: format!("key {}<br/>{}", key.name, key.alias),
        group: (key.account.to_string(), key.region.clone()),
    });
    for user in &key.usable_by {
        graph.edges.push(edge(
            key_node(key.name.as_str()),
            account_node(user.as_str()),
            EdgeKind::UsableBy,
        ));
    }
}

fn vault_nodes(graph: &mut Graph, names_by_id: &HashMap<&str, &AccountName>, vault: &Vault) {
    let id = vault_node(vault.name.as_str());
    let lock = match &vault.lock {
        Some(lock) if lock.is_compliance() => "<br/>compliance lock",
        Some(_) => "<br/>governance lock",
        None => "",
    };
    graph.nodes.push(Node {
        id: id.clone(),
        label: format!("vault {}{lock}", vault.vault_name),
        group: (vault.account.to_string(), vault.region.clone()),
    });
    if let Some(key) = &vault.key {
        graph
            .edges
            .push(edge(key_node(key.as_str()), id.clone(), EdgeKind::Encrypts));
    }
    let Some(policy) = &vault.access_policy else {
        return;
    };
    for source in &policy.allow_copy_from {
        let from = names_by_id.get(source.as_str()).map_or_else(
            || format!("ext_{source}"),
            |name| account_node(name.as_str()),
        );
        graph
            .edges
            .push(edge(id.clone(), from, EdgeKind::AllowsCopyFrom));
    }
    if policy.organization_id.is_some() || !policy.org_paths.is_empty() {
        graph.edges.push(edge(
            id.clone(),
            "organization".into(),
            EdgeKind::AllowsCopyFrom,
        ));
    }
}

/// Each backup plan, the vaults its rules back up to, and the copies from them.
fn backup_plan_nodes(graph: &mut Graph, topology: &Topology, broken: &BTreeSet<(String, String)>) {
    // The topology's copies come in the order of its backup plans and rules.
    let mut copies = topology.copy_edges().peekable();
    for plan in topology.backup_plans.values() {
        let id = format!("plan_{}", safe(plan.name.as_str()));
        graph.nodes.push(Node {
            id: id.clone(),
            label: format!("plan {}", plan.plan_name),
            group: (plan.account.to_string(), plan.region.clone()),
        });
        let mut seen = BTreeSet::new();
        for rule in &plan.rules {
            let source = vault_node(rule.vault.as_str());
            if seen.insert(source.clone()) {
                graph
                    .edges
                    .push(edge(id.clone(), source.clone(), EdgeKind::BacksUpTo));
            }
            while let Some(copy) = copies.next_if(|c| std::ptr::eq(c.rule, rule)) {
                let destination = copy.destination.name.to_string();
                graph.edges.push(Edge {
                    broken: broken.contains(&(plan.name.to_string(), destination.clone())),
                    ..edge(source.clone(), vault_node(&destination), EdgeKind::CopiesTo)
                });
            }
        }
    }
}

fn region_group(account: &str, region: &str) -> String {
    format!("{}_{}", account_node(account), safe(region))
}

/// Mermaid flowchart (renders on GitHub).
pub fn mermaid(topology: &Topology, graph: &Graph) -> String {
    let mut out = String::from("flowchart LR\n");
    let external: BTreeSet<&String> = graph
        .edges
        .iter()
        .map(|e| &e.to)
        .filter(|t| t.starts_with("ext_"))
        .collect();
    if topology.organization.is_some() {
        let org = topology.organization.as_ref().map_or("", |o| o.id.as_str());
        let _ = writeln!(out, "  organization([\"organization {org}\"])");
    }
    for ext in external {
        let _ = writeln!(
            out,
            "  {ext}([\"account {}\"])",
            ext.trim_start_matches("ext_")
        );
    }
    let (names, groups) = (names_by_node(topology), graph.groups());
    for (id, label, regions) in &graph.accounts {
        let _ = writeln!(out, "  subgraph {id}[\"account {label}\"]");
        let account = names.get(id).copied();
        for region in regions {
            let nodes = account.and_then(|a| groups.get(&(a, region.as_str())));
            let Some(nodes) = nodes.filter(|n| !n.is_empty()) else {
                continue;
            };
            let group = region_group(account.unwrap_or(""), region);
            let _ = writeln!(out, "    subgraph {group}[\"{region}\"]");
            for node in nodes {
                let shape = if node.id.starts_with("vault_") {
                    ("[(", ")]")
                } else if node.id.starts_with("key_") {
                    ("{{", "}}")
                } else {
                    ("[", "]")
                };
                let _ = writeln!(
                    out,
                    "      {}{}\"{}\"{}",
                    node.id, shape.0, node.label, shape.1
                );
            }
            let _ = writeln!(out, "    end");
        }
        let _ = writeln!(out, "  end");
    }
    let mut red = Vec::new();
    for (index, edge) in graph.edges.iter().enumerate() {
        let arrow = match edge.kind {
            EdgeKind::UsableBy | EdgeKind::AllowsCopyFrom => "-.->",
            EdgeKind::CopiesTo => "==>",
            _ => "-->",
        };
        let _ = writeln!(
            out,
            "  {} {arrow}|{}| {}",
            edge.from,
            edge.kind.label(),
            edge.to
        );
        if edge.broken {
            red.push(index.to_string());
        }
    }
    if !red.is_empty() {
        let _ = writeln!(
            out,
            "  linkStyle {} stroke:#d00,stroke-width:3px,color:#d00",
            red.join(",")
        );
    }
    out
}

/// Graphviz DOT.
pub fn dot(topology: &Topology, graph: &Graph) -> String {
    let mut out = String::from(
        "digraph coffer {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n",
    );
    if let Some(org) = &topology.organization {
        let _ = writeln!(
            out,
            "  organization [label=\"organization {}\", shape=oval];",
            org.id
        );
    }
    let (names, groups) = (names_by_node(topology), graph.groups());
    for (id, label, regions) in &graph.accounts {
        let _ = writeln!(
            out,
            "  subgraph cluster_{id} {{\n    label=\"account {label}\";"
        );
        let _ = writeln!(out, "    {id} [label=\"(the account)\", shape=plaintext];");
        let account = names.get(id).copied();
        for region in regions {
            let group = region_group(account.unwrap_or(""), region);
            let _ = writeln!(
                out,
                "    subgraph cluster_{group} {{\n      label=\"{region}\";"
            );
            let nodes = account.and_then(|a| groups.get(&(a, region.as_str())));
            for node in nodes.into_iter().flatten() {
                let shape = if node.id.starts_with("vault_") {
                    "cylinder"
                } else if node.id.starts_with("key_") {
                    "hexagon"
                } else {
                    "box"
                };
                let _ = writeln!(
                    out,
                    "      {} [label=\"{}\", shape={shape}];",
                    node.id,
                    node.label.replace("<br/>", "\\n")
                );
            }
            let _ = writeln!(out, "    }}");
        }
        let _ = writeln!(out, "  }}");
    }
    for edge in &graph.edges {
        let style = match edge.kind {
            EdgeKind::UsableBy | EdgeKind::AllowsCopyFrom => "dashed",
            EdgeKind::CopiesTo => "bold",
            _ => "solid",
        };
        let color = if edge.broken {
            ", color=red, fontcolor=red"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {} -> {} [label=\"{}\", style={style}{color}];",
            edge.from,
            edge.to,
            edge.kind.label()
        );
    }
    out.push_str("}\n");
    out
}
