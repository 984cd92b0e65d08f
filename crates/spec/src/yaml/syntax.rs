//! Syntax errors: a failure of the YAML parser, in the user's words.

use serde_saphyr::budget::BudgetBreach;

use super::{Limits, Pos, bytes_exact, shorten};

/// A parse failure of the YAML text itself (syntax, duplicate key, limits), in the user's
/// words, with what to do about it.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
    pub help: String,
}

const FIX_SYNTAX: &str = "fix the YAML syntax at this position";
const SPLIT: &str = "split the topology into several files (for example one per group of source accounts, each planned and applied on its own)";
const DUPLICATE_KEY: &str = "remove this key or merge it into the first one";
const ONE_DOCUMENT: &str =
    "a topology is one YAML document: keep one, and put the others in files of their own";

/// A serde-saphyr error in the user's words: the message and the help. Budget breaches name
/// the limit, its value and how to split the file or raise the limit; alias problems say
/// what the alias does; only real syntax errors ask to fix the syntax.
pub(super) fn explain(
    err: &serde_saphyr::Error,
    text: &str,
    pos: Pos,
    limits: &Limits,
) -> (String, String) {
    use serde_saphyr::Error as E;
    let alias = || word_at(text, pos, '*');
    match err {
        E::AliasError { error, .. } => explain(error, text, pos, limits),
        // The library's own message tells the user to change a parser option.
        E::DuplicateMappingKey { key: Some(key), .. } => (
            format!(
                "duplicate key `{}`: a mapping may have each key only once",
                shorten(key)
            ),
            DUPLICATE_KEY.to_string(),
        ),
        E::DuplicateMappingKey { key: None, .. } => (
            "duplicate key: a mapping may have each key only once".to_string(),
            DUPLICATE_KEY.to_string(),
        ),
        E::WithSnippet { error, .. } => explain(error, text, pos, limits),
        E::Budget { breach, .. } => explain_budget(breach, limits, text.len()),
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. }
        | E::AliasReplayCounterOverflow { .. } => alias_bomb(limits, text.len()),
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
            ONE_DOCUMENT.to_string(),
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
            DUPLICATE_KEY.to_string(),
        ),
        E::Message { msg, .. } if msg.starts_with("number too large") => (
            "this number is too large".to_string(),
            "write a smaller number".to_string(),
        ),
        other => (first_line(&other.to_string()), FIX_SYNTAX.to_string()),
    }
}

/// A budget breach: the limit, its value, and how to split the file or raise the limit.
/// `len` is the size of the file, which the limit on values grows with.
fn explain_budget(breach: &BudgetBreach, limits: &Limits, len: usize) -> (String, String) {
    use BudgetBreach as B;
    match breach {
        B::Nodes { .. } | B::Events { .. } => (
            format!(
                "the file has more than {} YAML values (every text, number, list and mapping counts as one), the most Coffer reads{}",
                limits.nodes_for(len),
                per_mib(limits, len)
            ),
            format!("{SPLIT}, or {}", raise_nodes(limits)),
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
        B::ScalarBytes { .. } => too_many_bytes("the text values of the file add up to", limits),
        B::InputBytes { .. } => too_many_bytes("the file is", limits),
        B::Documents { documents } => (
            format!("the file holds {documents} YAML documents (separated by `---`)"),
            ONE_DOCUMENT.to_string(),
        ),
        B::Aliases { aliases } => (
            format!(
                "the file uses more than {} aliases (`*name`)",
                aliases.saturating_sub(1)
            ),
            "write the repeated values out instead of repeating them through aliases".to_string(),
        ),
        B::Anchors { anchors } => (
            format!(
                "the file defines more than {} anchors (`&name`)",
                anchors.saturating_sub(1)
            ),
            "remove the anchors nothing refers to".to_string(),
        ),
        B::MergeKeys { merge_keys } => (
            format!(
                "the file uses more than {} merge keys (`<<`)",
                merge_keys.saturating_sub(1)
            ),
            "write the merged mappings out".to_string(),
        ),
        _ => alias_bomb(limits, len),
    }
}

/// `what` (the file, its text values) is over [`Limits::max_bytes`].
fn too_many_bytes(what: &str, limits: &Limits) -> (String, String) {
    (
        format!(
            "{what} more than {}, the most Coffer reads",
            bytes_exact(limits.max_bytes as u64)
        ),
        format!(
            "{SPLIT}, or raise the limit: {}={}",
            Limits::ENV_BYTES,
            limits.max_bytes.saturating_mul(2)
        ),
    )
}

/// How the value limit grew with a file of `len` bytes, when it did.
fn per_mib(limits: &Limits, len: usize) -> String {
    if limits.nodes_for(len) > limits.max_nodes {
        format!(" in a file of this size ({} per MiB)", limits.max_nodes)
    } else {
        String::new()
    }
}

/// The variable that raises the value limit, set to twice its value.
fn raise_nodes(limits: &Limits) -> String {
    format!(
        "raise the limit: {}={}",
        Limits::ENV_NODES,
        limits.max_nodes.saturating_mul(2)
    )
}

/// Aliases that repeat more values than a file of `len` bytes may hold.
fn alias_bomb(limits: &Limits, len: usize) -> (String, String) {
    (
        format!(
            "the aliases (`*name`) in this file repeat more than {} YAML values, the most Coffer reads{} (an alias bomb?)",
            limits.nodes_for(len),
            per_mib(limits, len)
        ),
        format!(
            "write the repeated values out, or repeat fewer of them through aliases; a file that needs them all can {}",
            raise_nodes(limits)
        ),
    )
}

/// The name after `sigil` (`*` for an alias) at `pos` in `text`, if it is there.
fn word_at(text: &str, pos: Pos, sigil: char) -> Option<String> {
    let line = super::lines(text).nth((pos.line as usize).checked_sub(1)?)?;
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
