//! Rendering a plan: text for terminals (Terraform-like `+ ~ - -/+`), Markdown for pull
//! request comments, and JSON (the contract other tools build on).

use std::fmt::Write as _;

use serde_json::Value;

use crate::findings;
use crate::model::{Action, Change, FieldChange, Flag, Plan};

pub use coffer_spec::diag::plural;

/// ANSI styles, or nothing.
pub(crate) struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    pub(crate) fn action(&self, action: Action, text: &str) -> String {
        let code = match action {
            Action::Create => "32",
            Action::Update => "33",
            Action::Replace => "35",
            Action::Delete => "31",
            Action::NoOp => "2",
        };
        self.wrap(code, text)
    }
    pub(crate) fn bold(&self, text: &str) -> String {
        self.wrap("1", text)
    }
    pub(crate) fn dim(&self, text: &str) -> String {
        self.wrap("2", text)
    }
    pub(crate) fn red(&self, text: &str) -> String {
        self.wrap("1;31", text)
    }
}

fn where_(change: &Change) -> String {
    match &change.account_name {
        Some(name) if *name != change.account => {
            format!("{name} {}, {}", change.account, change.region)
        }
        _ => format!("{}, {}", change.account, change.region),
    }
}

fn value_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "(none)".to_string(),
        Some(v) => v.to_string(),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn is_document(field: &FieldChange) -> bool {
    field.path.ends_with("policy")
}

/// A unified diff of two pretty-printed JSON documents.
pub fn document_diff(before: Option<&Value>, after: Option<&Value>) -> String {
    let before = before
        .filter(|v| !v.is_null())
        .map(pretty)
        .unwrap_or_default();
    let after = after
        .filter(|v| !v.is_null())
        .map(pretty)
        .unwrap_or_default();
    let before = format!("{before}\n");
    let after = format!("{after}\n");
    similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header("live", "file")
        .to_string()
}

/// Leaf fields of a state, for showing a create or a delete.
fn leaves(prefix: &str, value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) if !prefix.ends_with("policy") && !map.is_empty() => {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else if key.contains('.') || key.contains(':') {
                    format!("{prefix}[\"{key}\"]")
                } else {
                    format!("{prefix}.{key}")
                };
                leaves(&path, inner, out);
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|l| format!("{by}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The lines that describe one change, without its header.
fn change_body(change: &Change, paint: &Paint) -> String {
    let mut out = String::new();
    match change.action {
        Action::Create | Action::Delete => {
            let (state, symbol) = if change.action == Action::Create {
                (change.after.as_ref(), "+")
            } else {
                (change.before.as_ref(), "-")
            };
            let mut fields = Vec::new();
            if let Some(state) = state {
                leaves("", state, &mut fields);
            }
            // Unset fields (null) say nothing about a resource being created or deleted.
            for (path, value) in fields.into_iter().filter(|(_, v)| !v.is_null()) {
                if path.ends_with("policy") {
                    let _ = writeln!(
                        out,
                        "      {} {path} =",
                        paint.action(change.action, symbol)
                    );
                    let _ = writeln!(out, "{}", indent(&pretty(&value), "          "));
                } else {
                    let _ = writeln!(
                        out,
                        "      {} {path} = {value}",
                        paint.action(change.action, symbol)
                    );
                }
            }
        }
        Action::Update | Action::Replace | Action::NoOp => {
            for field in &change.fields {
                if is_document(field) {
                    let _ = writeln!(
                        out,
                        "      {} {}:",
                        paint.action(Action::Update, "~"),
                        field.path
                    );
                    for line in document_diff(field.before.as_ref(), field.after.as_ref()).lines() {
                        let colored = if line.starts_with('+') && !line.starts_with("+++") {
                            paint.action(Action::Create, line)
                        } else if line.starts_with('-') && !line.starts_with("---") {
                            paint.action(Action::Delete, line)
                        } else {
                            line.to_string()
                        };
                        let _ = writeln!(out, "          {colored}");
                    }
                } else {
                    let _ = writeln!(
                        out,
                        "      {} {}: {} -> {}",
                        paint.action(Action::Update, "~"),
                        field.path,
                        value_text(field.before.as_ref()),
                        value_text(field.after.as_ref())
                    );
                }
            }
        }
    }
    for reason in &change.reasons {
        let _ = writeln!(out, "      {}", paint.dim(&format!("# {reason}")));
    }
    out
}

fn flag_note(change: &Change) -> String {
    let mut notes = Vec::new();
    if change.has(Flag::Blocked) {
        notes.push("BLOCKED");
    }
    if change.has(Flag::Irreversible) {
        notes.push("IRREVERSIBLE");
    }
    if change.has(Flag::NeedsAllowDelete) {
        notes.push("runs only with --allow-delete");
    }
    if change.has(Flag::Weakens) {
        notes.push("WEAKENS PROTECTION, runs only with --allow-weaken");
    }
    if notes.is_empty() {
        String::new()
    } else {
        format!(" [{}]", notes.join(", "))
    }
}

/// One line of counts.
pub fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    let mut line = format!(
        "Plan: {} to create, {} to update, {} to replace, {} to delete; {} unchanged.",
        s.create, s.update, s.replace, s.delete, s.no_op
    );
    if s.blocked > 0 {
        line.push_str(&format!(" {} blocked.", s.blocked));
    }
    if s.irreversible > 0 {
        line.push_str(&format!(" {} irreversible.", s.irreversible));
    }
    line
}

/// The plan for a terminal. `color` adds ANSI colours.
pub fn text(plan: &Plan, color: bool) -> String {
    let paint = Paint { on: color };
    let mut out = String::new();
    if !plan.has_changes() {
        let _ = writeln!(
            out,
            "No changes. Topology `{}` matches AWS ({} checked).",
            plan.topology,
            plural(plan.changes.len(), "resource", "resources")
        );
        out.push_str(&findings::plan_text(&plan.findings, &paint));
        if plan.destroy_paths.as_ref().is_some_and(|r| r.fails()) {
            out.push_str(&destroy_text(plan));
        }
        return out;
    }
    let _ = writeln!(out, "Coffer plan for topology `{}`:\n", plan.topology);
    let blocked: Vec<&Change> = plan.blocked().collect();
    if !blocked.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            paint.red("Blocked: this plan cannot be applied until these are resolved:")
        );
        for change in &blocked {
            let _ = writeln!(
                out,
                "  {} {}",
                paint.red("!"),
                paint.bold(&change.address.to_string())
            );
            for reason in &change.reasons {
                let _ = writeln!(out, "      {reason}");
            }
        }
        let _ = writeln!(out);
    }
    out.push_str(&joined_text(plan));
    for change in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        let symbol = format!("{:>3}", change.action.symbol());
        let what = format!("{}, {}", change.action, where_(change));
        let _ = writeln!(
            out,
            "{} {} {}{}",
            paint.action(change.action, &symbol),
            paint.bold(&change.address.to_string()),
            paint.dim(&format!(
                "({})",
                name_first(change.aws_name.as_deref(), &what)
            )),
            flag_note(change)
        );
        out.push_str(&change_body(change, &paint));
        out.push('\n');
    }
    out.push_str(&findings::plan_text(&plan.findings, &paint));
    out.push_str(&destroy_text(plan));
    let _ = writeln!(out, "{}", paint.bold(&summary_line(plan)));
    out
}

/// What each account that joined an account set gets (every change in its account a
/// creation), one line per account.
fn joined_text(plan: &Plan) -> String {
    let Some(membership) = &plan.membership else {
        return String::new();
    };
    let mut out = String::new();
    for (set, member) in membership.members() {
        let changes: Vec<&Change> = plan
            .changes
            .iter()
            .filter(|c| c.account == member.id)
            .collect();
        if changes.is_empty() || changes.iter().any(|c| c.action != Action::Create) {
            continue;
        }
        let gets: Vec<String> = changes.iter().map(|c| c.address.to_string()).collect();
        let _ = writeln!(
            out,
            "New member of account set `{set}`: {} ({}) gets {}",
            member.name,
            member.id,
            gets.join(", ")
        );
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// The destroy paths in a plan: the full table when someone the rule does not allow can
/// destroy copies, else one line.
fn destroy_text(plan: &Plan) -> String {
    match &plan.destroy_paths {
        None => String::new(),
        Some(report) if report.vaults.is_empty() => String::new(),
        Some(report) if report.fails() => format!(
            "Who can destroy the copies after this plan:\n{}\n",
            crate::destroy::text(report)
        ),
        Some(report) => {
            // Name the principals the guards exempt: the break-glass ones and Coffer's role.
            let mut break_glass = std::collections::BTreeSet::new();
            let mut coffer = std::collections::BTreeSet::new();
            for who in report
                .vaults
                .iter()
                .flat_map(|v| &v.paths)
                .flat_map(|p| &p.who)
            {
                if let Some(arn) = who.strip_prefix("break-glass ") {
                    break_glass.insert(arn.to_string());
                } else if let Some(arn) = who.strip_prefix("Coffer's role ") {
                    coffer.insert(arn.to_string());
                }
            }
            let list = |set: &std::collections::BTreeSet<String>| {
                if set.is_empty() {
                    "none".to_string()
                } else {
                    set.iter().cloned().collect::<Vec<_>>().join(", ")
                }
            };
            format!(
                "Who can destroy the copies after this plan: only break-glass principals ({}); Coffer's role ({}) may change the policies and locks that protect them. `coffer check --destroy-paths` shows the table.\n\n",
                list(&break_glass),
                list(&coffer)
            )
        }
    }
}

/// What a report shows in parentheses after an address: the resource's name in AWS, when it
/// has one, then `rest` (`central, modified, 666777888999 eu-west-1`).
pub fn name_first(aws_name: Option<&str>, rest: &str) -> String {
    match aws_name {
        Some(name) if rest.is_empty() => name.to_string(),
        Some(name) => format!("{name}, {rest}"),
        None => rest.to_string(),
    }
}

/// The longest run of backticks in `text`.
fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// `text` as a Markdown code span, shown verbatim: nothing in it is escaped, and the fence
/// is longer than any run of backticks it holds. In a table cell it still needs [`md_cell`].
pub fn md_code(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let fence = "`".repeat(longest_backtick_run(text) + 1);
    // A space keeps a backtick at either end off the fence; CommonMark strips one space at
    // each end when both ends have one.
    let pad = text.starts_with('`')
        || text.ends_with('`')
        || (text.starts_with(' ') && text.ends_with(' ') && !text.trim().is_empty());
    let pad = if pad { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Plain text (a message, a reason, a risk) for Markdown. Spans in backticks are code and
/// stay as they are; elsewhere what Markdown or HTML would read as syntax is escaped (`<` and
/// `&` as HTML entities, `\ * _ [ ] ~` and unmatched backticks with a backslash).
pub fn md_text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let run_at = |i: usize| chars[i..].iter().take_while(|c| **c == '`').count();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            let n = run_at(i);
            // The span closes at the next run of exactly as many backticks.
            let mut j = i + n;
            let mut close = None;
            while j < chars.len() {
                if chars[j] == '`' {
                    let m = run_at(j);
                    if m == n {
                        close = Some(j);
                        break;
                    }
                    j += m;
                } else {
                    j += 1;
                }
            }
            match close {
                Some(j) => {
                    out.extend(&chars[i..j + n]);
                    i = j + n;
                }
                None => {
                    out.push_str(&"\\`".repeat(n));
                    i += n;
                }
            }
            continue;
        }
        match c {
            '<' => out.push_str("&lt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '*' | '_' | '[' | ']' | '~' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// Markdown (code spans and [`md_text`]) made fit for a table cell: `|` escaped, which GFM
/// wants inside code spans too, and lines joined.
pub fn md_cell(markdown: &str) -> String {
    markdown.replace(['\r', '\n'], " ").replace('|', "\\|")
}

/// The AWS resource in Markdown: its name and its ARN as code; empty when neither is known.
pub fn md_aws_resource(aws_name: Option<&str>, arn: Option<&str>) -> String {
    match (aws_name, arn) {
        (Some(name), Some(arn)) => format!("{} ({})", md_code(name), md_code(arn)),
        (Some(only), None) | (None, Some(only)) => md_code(only),
        (None, None) => String::new(),
    }
}

/// Text inside HTML (a `<summary>`): `& < > "` as entities.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// A fence for a fenced code block holding `body`: longer than any run of backticks in it.
pub fn md_fence(body: &str) -> String {
    "`".repeat((longest_backtick_run(body) + 1).max(3))
}

/// The plan as a pull request comment: counts, blocked and irreversible changes first, then
/// one collapsible block per change.
pub fn markdown(plan: &Plan) -> String {
    let s = &plan.summary;
    let mut out = String::new();
    let _ = writeln!(out, "### Coffer plan: {}\n", md_code(&plan.topology));
    let _ = writeln!(
        out,
        "| create | update | replace | delete | unchanged | blocked | irreversible |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} |\n",
        s.create, s.update, s.replace, s.delete, s.no_op, s.blocked, s.irreversible
    );
    let attention: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.has(Flag::Blocked) || c.has(Flag::Irreversible) || c.has(Flag::Weakens))
        .collect();
    if !attention.is_empty() {
        let _ = writeln!(out, "> [!CAUTION]\n> **Needs attention before apply**\n>");
        for change in attention {
            let label = if change.has(Flag::Blocked) {
                "blocked"
            } else if change.has(Flag::Weakens) {
                "weakens protection"
            } else {
                "irreversible"
            };
            let _ = writeln!(
                out,
                "> - **{label}** {}: {}",
                md_code(&change.address.to_string()),
                md_text(&change.reasons.join("; ")).replace('\n', " ")
            );
        }
        let _ = writeln!(out);
    }
    out.push_str(&findings::plan_markdown(&plan.findings));
    if let Some(report) = plan.destroy_paths.as_ref().filter(|r| !r.vaults.is_empty()) {
        let open = if report.fails() { " open" } else { "" };
        let _ = writeln!(
            out,
            "<details{open}><summary>Who can destroy the copies after this plan{}</summary>\n",
            if report.fails() {
                ": principals other than break-glass can"
            } else {
                ": break-glass only"
            }
        );
        out.push_str(&crate::destroy::markdown(report));
        let _ = writeln!(out, "</details>\n");
    }
    if !plan.has_changes() {
        let _ = writeln!(out, "No changes: AWS matches the topology.");
        return out;
    }
    let paint = Paint { on: false };
    for change in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        // The summary is HTML: HTML escapes, no Markdown.
        let name = change
            .aws_name
            .as_deref()
            .map(|n| format!(" <code>{}</code>", html(n)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<details><summary><code>{}</code> {}{name} in {}{}</summary>\n",
            html(&format!("{} {}", change.action.symbol(), change.address)),
            change.action,
            html(&where_(change)),
            html(&flag_note(change))
        );
        if let Some(arn) = &change.arn {
            let _ = writeln!(out, "ARN {}\n", md_code(arn));
        }
        // `diff` highlighting needs the `+`/`-` in the first column.
        let body: String = change_body(change, &paint)
            .lines()
            .map(|line| format!("{}\n", line.strip_prefix("      ").unwrap_or(line)))
            .collect();
        let fence = md_fence(&body);
        let _ = writeln!(out, "{fence}diff\n{body}{fence}\n</details>\n");
    }
    let _ = writeln!(out, "{}", summary_line(plan));
    out
}

/// The plan JSON (pretty-printed, trailing newline).
pub fn json(plan: &Plan) -> String {
    let mut text = Vec::new();
    // Writing into memory cannot fail, nor can serializing a plan (string keys only).
    let _ = write_json(plan, &mut text);
    String::from_utf8(text).unwrap_or_default()
}

/// Writes the plan JSON of [`json`] to `out` as it is serialized: a fleet's plan is tens of
/// megabytes, and building it as one string first doubles the memory a plan needs.
pub fn write_json<W: std::io::Write + ?Sized>(plan: &Plan, out: &mut W) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, plan)?;
    out.write_all(b"\n")
}
