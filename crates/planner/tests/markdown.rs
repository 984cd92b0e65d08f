//! The Markdown reports (plan, drift, findings) as GitHub shows them: each is parsed as
//! CommonMark with GFM tables, and what a reader sees is checked. Nothing shows an HTML escape
//! (`&lt;` in a code span is shown as it is written), addresses and copy-rule arrows read as
//! written, and table cells hold exactly their value, `|` included.

mod common;

use coffer_planner::checks::{Finding, Severity};
use coffer_planner::live::LiveState;
use coffer_planner::{Action, Change, Flag, Plan, ResourceKind, drift, plan, plan_checked, render};
use common::*;
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

/// What a reader sees of a Markdown document.
#[derive(Debug, Default)]
struct Seen {
    /// All visible text, blocks on lines of their own.
    text: String,
    /// Every table: its rows (the header first), each a list of cell texts.
    tables: Vec<Vec<Vec<String>>>,
    /// The contents of the code spans, as shown.
    code_spans: Vec<String>,
    /// The fenced code blocks: (info string, contents).
    code_blocks: Vec<(String, String)>,
}

/// HTML text as a browser shows it: tags dropped, character references decoded.
fn html_visible(html: &str) -> String {
    let mut shown = String::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        shown.push_str(&rest[..start]);
        rest = rest[start..].split_once('>').map_or("", |(_, after)| after);
    }
    shown.push_str(rest);
    let mut out = String::new();
    let mut rest = shown.as_str();
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let decoded = after.find(';').and_then(|end| {
            let name = &after[1..end];
            let c = match name {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => name
                    .strip_prefix("#x")
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &after[len..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn seen(markdown: &str) -> Seen {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_GFM;
    let mut seen = Seen::default();
    let mut cell: Option<String> = None;
    let mut block: Option<(String, String)> = None;
    for event in Parser::new_ext(markdown, options) {
        let mut shown = |text: &str, seen: &mut Seen| {
            seen.text.push_str(text);
            if let Some(cell) = cell.as_mut() {
                cell.push_str(text);
            }
            if let Some((_, body)) = block.as_mut() {
                body.push_str(text);
            }
        };
        match event {
            Event::Text(text) => shown(&text, &mut seen),
            Event::Code(code) => {
                shown(&code, &mut seen);
                seen.code_spans.push(code.to_string());
            }
            Event::Html(html) | Event::InlineHtml(html) => shown(&html_visible(&html), &mut seen),
            Event::SoftBreak | Event::HardBreak => shown("\n", &mut seen),
            Event::Start(Tag::Table(_)) => seen.tables.push(Vec::new()),
            Event::Start(Tag::TableHead | Tag::TableRow) => {
                if let Some(table) = seen.tables.last_mut() {
                    table.push(Vec::new());
                }
            }
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => {
                if let (Some(text), Some(row)) = (
                    cell.take(),
                    seen.tables.last_mut().and_then(|t| t.last_mut()),
                ) {
                    row.push(text);
                }
                seen.text.push('\t');
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let info = match kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                block = Some((info, String::new()));
            }
            Event::End(TagEnd::CodeBlock) => {
                seen.code_blocks.extend(block.take());
                seen.text.push('\n');
            }
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::TableHead
                | TagEnd::TableRow
                | TagEnd::HtmlBlock,
            ) => seen.text.push('\n'),
            _ => {}
        }
    }
    seen
}

/// No HTML or Markdown escape is left for the reader to see.
fn assert_no_escapes_shown(what: &str, seen: &Seen, markdown: &str) {
    for escape in ["&lt;", "&gt;", "&amp;", "&quot;", "\\|", "\\`"] {
        assert!(
            !seen.text.contains(escape),
            "{what}: `{escape}` is shown to the reader\n--- seen:\n{}\n--- markdown:\n{markdown}",
            seen.text
        );
    }
}

/// Each table's rows have as many cells as its header, and no cell spills into the next.
fn assert_tables_intact(what: &str, seen: &Seen) {
    for table in &seen.tables {
        let width = table[0].len();
        for row in table {
            assert_eq!(row.len(), width, "{what}: a row of another width: {row:?}");
        }
    }
}

/// What a reader sees of `markdown`, checked for escapes shown and broken tables.
fn read(what: &str, markdown: &str) -> Seen {
    let seen = seen(markdown);
    assert_no_escapes_shown(what, &seen, markdown);
    assert_tables_intact(what, &seen);
    seen
}

/// The table whose header is `header`.
fn table<'a>(seen: &'a Seen, header: &[&str]) -> &'a [Vec<String>] {
    seen.tables
        .iter()
        .find(|t| t[0] == header)
        .map(|t| &t[1..])
        .unwrap_or_else(|| panic!("no table {header:?} among {:?}", seen.tables))
}

fn load(text: &str) -> (coffer_spec::Topology, coffer_spec::Diagnostics) {
    let loaded = coffer_spec::load_str(text);
    (loaded.topology.expect("topology"), loaded.diagnostics)
}

/// The seed, converged, with the copy rule's retention changed in AWS.
fn copy_rule_drifted() -> LiveState {
    let (_, mut live) = seed_converged();
    let rule = &mut seed_region(&mut live, SOURCE).backup_plans[0].rules[0];
    rule.copy_actions[0].lifecycle.delete_after_days = Some(30);
    live
}

/// Every change of the plan is shown under its address, with its AWS name and ARN.
fn assert_changes_shown(what: &str, plan: &Plan, seen: &Seen) {
    for change in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        let header = format!("{} {}", change.action.symbol(), change.address);
        assert!(
            seen.text.contains(&header),
            "{what}: `{header}` is not shown"
        );
        if let Some(name) = &change.aws_name {
            assert!(
                seen.text
                    .contains(&format!("{header} {} {name} in", change.action)),
                "{what}: the AWS name of {} is not shown",
                change.address
            );
        }
        if let Some(arn) = &change.arn {
            assert!(
                seen.code_spans.contains(arn),
                "{what}: the ARN of {} is not shown as code",
                change.address
            );
        }
    }
}

#[test]
fn the_seed_plan_from_nothing_reads_right_on_github() {
    let (t, diagnostics) = load(SEED);
    let p = plan_checked(&t, &diagnostics, &LiveState::default());
    let markdown = render::markdown(&p);
    let seen = read("plan", &markdown);
    assert_changes_shown("plan", &p, &seen);
    // The switch's change reads `false -> true` in its diff block.
    assert!(
        seen.code_blocks
            .iter()
            .any(|(info, body)| info == "diff" && body.contains("~ enabled: false -> true")),
        "{:?}",
        seen.code_blocks
    );
    // The details blocks end: what follows each summary is Markdown again.
    assert_eq!(
        seen.code_blocks.len(),
        p.changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            .count()
    );
    assert!(seen.code_spans.iter().any(|c| c == "seed"));
    let counts = table(
        &seen,
        &[
            "create",
            "update",
            "replace",
            "delete",
            "unchanged",
            "blocked",
            "irreversible",
        ],
    );
    assert_eq!(counts, [["11", "1", "0", "0", "0", "0", "0"]]);
    // A new key's ARN is AWS's to pick: none is shown; a new vault's follows from its name.
    let key = p
        .changes
        .iter()
        .find(|c| c.address == "key.source-rds")
        .expect("key");
    assert_eq!(
        (key.aws_name.as_deref(), key.arn.as_deref()),
        (Some("alias/coffer/source-rds"), None)
    );
    assert!(
        seen.code_spans
            .contains(&"arn:aws:backup:eu-west-1:666777888999:backup-vault:central".to_string())
    );
}

#[test]
fn a_copy_rule_drift_reads_right_in_the_plan_and_the_drift_report() {
    let (t, diagnostics) = load(SEED);
    let live = copy_rule_drifted();
    let p = plan_checked(&t, &diagnostics, &live);
    assert_eq!(changed(&p), vec!["update backup_plan.orders-daily"]);
    let markdown = render::markdown(&p);
    let seen_plan = read("plan", &markdown);
    assert_changes_shown("plan", &p, &seen_plan);
    let plan_arn = &live
        .region(SOURCE, "eu-west-1")
        .expect("region")
        .backup_plans[0]
        .arn;
    assert!(seen_plan.code_spans.contains(plan_arn), "{markdown}");
    assert!(
        seen_plan.text.contains(
            "~ rules.daily.copy_to[\"arn:aws:backup:eu-west-1:666777888999:backup-vault:central\"].lifecycle.delete_after_days: 30 -> 90"
        ),
        "{}",
        seen_plan.text
    );

    let report = drift::report(&plan(&t, &live));
    let markdown = drift::markdown(&report);
    let seen = read("drift", &markdown);
    let rows = table(
        &seen,
        &[
            "severity",
            "resource",
            "status",
            "AWS resource",
            "account",
            "region",
            "risk",
        ],
    );
    assert_eq!(rows.len(), report.drifted.len());
    for (row, item) in rows.iter().zip(&report.drifted) {
        assert_eq!(row[1], item.address.to_string());
        assert_eq!(row[3], format!("orders-daily ({plan_arn})"));
        assert_eq!((&row[4], &row[5]), (&item.account, &item.region));
        assert_eq!(row[6], item.risk.clone().unwrap_or_default());
    }
    assert!(
        seen.text.contains(
            "backup_plan.orders-daily rules.daily.copy_to[\"arn:aws:backup:eu-west-1:666777888999:backup-vault:central\"].lifecycle.delete_after_days: file says 90, AWS has 30"
        ),
        "{}",
        seen.text
    );
}

#[test]
fn a_finding_on_a_copy_rule_shows_its_arrow_in_the_plan() {
    // Without copy-back, the copy edge gets a finding.
    let text = SEED.replace("      allow_copy_from: [backup]\n", "");
    let (t, diagnostics) = load(&text);
    let p = plan_checked(&t, &diagnostics, &LiveState::default());
    let edge = "backup_plan.orders-daily rule daily -> vault.central";
    assert!(
        p.findings.iter().any(|f| f.subject == edge),
        "{:?}",
        p.findings
    );
    let markdown = render::markdown(&p);
    let seen = read("plan", &markdown);
    assert_changes_shown("plan", &p, &seen);
    let rows = table(
        &seen,
        &["severity", "check", "subject", "AWS resource", "finding"],
    );
    assert_eq!(rows.len(), p.findings.len());
    for (row, finding) in rows.iter().zip(&p.findings) {
        assert_eq!(row[2], finding.subject);
        // The plan creates the backup plan: its name is known, its ARN not yet.
        assert_eq!(row[3], finding.aws_name.clone().unwrap_or_default());
        assert_eq!(row[4], finding.message.replace('`', ""));
    }
    assert!(rows.iter().any(|r| r[2] == edge && r[3] == "orders-daily"));
}

/// A plan whose texts hold every character Markdown or HTML could take as syntax.
fn awkward_plan() -> Plan {
    let (t, _) = load(SEED);
    let mut p = plan(&t, &LiveState::default());
    let change: &mut Change = p
        .changes
        .iter_mut()
        .find(|c| c.kind == ResourceKind::Vault)
        .expect("vault");
    change.flags.push(Flag::Blocked);
    change.aws_name = Some("a<b>&c|d`e".into());
    change
        .reasons
        .push("a `<tag> | pipe` *not bold* <b>x</b> & [link](x) \\ ~~y~~ `` ` `` end".into());
    p.findings.push(Finding {
        check: "CB999".into(),
        severity: Severity::Warning,
        title: String::new(),
        subject: "backup_plan.p rule r -> vault.v|w `q`".into(),
        aws_name: Some("n|<m>".into()),
        arn: Some("arn:aws:backup:eu-west-1:1:backup-plan:x|y".into()),
        account: Some("1".into()),
        region: Some("eu-west-1".into()),
        message: "lets `a|b` do <x> & *y* | z".into(),
        fix: String::new(),
    });
    p
}

#[test]
fn awkward_characters_are_shown_as_written() {
    let p = awkward_plan();
    let markdown = render::markdown(&p);
    let seen = read("plan", &markdown);
    let rows = table(
        &seen,
        &["severity", "check", "subject", "AWS resource", "finding"],
    );
    assert_eq!(
        rows[0][2..],
        [
            "backup_plan.p rule r -> vault.v|w `q`",
            "n|<m> (arn:aws:backup:eu-west-1:1:backup-plan:x|y)",
            "lets a|b do <x> & *y* | z",
        ]
    );
    // The summary is HTML: the name reads as written.
    assert!(
        seen.text
            .contains("+ vault.central create a<b>&c|d`e in backup"),
        "{}",
        seen.text
    );
    assert!(
        seen.text
            .contains("a <tag> | pipe *not bold* <b>x</b> & [link](x) \\ ~~y~~ ` end"),
        "{}",
        seen.text
    );
}

#[test]
fn code_spans_and_fences_outrun_the_backticks_they_hold() {
    assert_eq!(render::md_code("plain"), "`plain`");
    assert_eq!(render::md_code("a`b"), "``a`b``");
    assert_eq!(render::md_code("`x`"), "`` `x` ``");
    assert_eq!(render::md_code("a<b>&c"), "`a<b>&c`");
    assert_eq!(render::md_fence("no ticks"), "```");
    assert_eq!(render::md_fence("a ```` run"), "`````");
    for text in ["a`b", "`x`", "``", " lead", "a<b>", "x|y"] {
        let shown = seen(&format!("{}\n", render::md_code(text)));
        assert_eq!(shown.code_spans, [text], "{text:?}");
    }
}

#[test]
fn the_reader_view_catches_what_github_shows_wrongly() {
    // The old rendering: HTML escapes in a code span, a Markdown escape in HTML.
    let old = "| subject |\n|---|\n| `rule daily -&gt; vault.central` |\n\n<details><summary>a \\| b</summary>\n\nx\n</details>\n";
    let shown = seen(old);
    assert_eq!(shown.tables[0][1], ["rule daily -&gt; vault.central"]);
    assert!(shown.text.contains("a \\| b"), "{}", shown.text);
    // A `|` in a code span in a table needs its escape, or it splits the cell.
    let split = seen("| a | b |\n|---|---|\n| `x|y` | z |\n");
    assert_eq!(split.tables[0][1], ["`x", "y`"]);
}
