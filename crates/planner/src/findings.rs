//! Reports of findings: `coffer check`'s reports (the findings, or who can destroy the
//! copies, as text, Markdown or JSON), and the findings part of a plan's text and Markdown.

use std::fmt::{self, Write as _};

use serde::Serialize;

use coffer_spec::{Diagnostics, Topology};

use crate::checks::{self, Finding, Severity};
use crate::destroy::{self, DestroyReport};
use crate::live::LiveState;
use crate::model::Action;
use crate::render::{Paint, md_aws_resource, md_cell, md_code, md_text};

/// What the checks looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The topology file alone.
    Static,
    /// AWS as it will be once `coffer apply` applied the topology.
    LiveAfterPlan,
    /// AWS as it is now.
    LiveAsIs,
}

impl Mode {
    /// Static without live state; with it, AWS as it is (`as_is`) or after the plan.
    pub fn new(live: bool, as_is: bool) -> Mode {
        match (live, as_is) {
            (false, _) => Mode::Static,
            (true, false) => Mode::LiveAfterPlan,
            (true, true) => Mode::LiveAsIs,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Static => "static",
            Mode::LiveAfterPlan => "live-after-plan",
            Mode::LiveAsIs => "live-as-is",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A report `coffer check` prints: its findings, or who can destroy the copies.
pub trait CheckReport {
    /// For a terminal.
    fn text(&self) -> String;
    /// For a pull request comment or an issue.
    fn markdown(&self) -> String;
    /// For other tools (pretty-printed, trailing newline).
    fn json(&self) -> String;
    /// The findings it reports (none in a report of who can destroy the copies).
    fn findings(&self) -> &[Finding];
    /// Whether `coffer check` fails: a finding of `severity` or worse stands, or someone the
    /// rule does not allow can destroy a copy.
    fn fails(&self, severity: Severity) -> bool;
}

/// `coffer check`'s report of findings: written as versioned JSON for other tools.
#[derive(Debug, Serialize)]
pub struct Report {
    format_version: u32,
    pub topology: String,
    pub mode: Mode,
    pub findings: Vec<Finding>,
}

/// Runs the checks of `topology`: on the file alone without `live`; with it, on AWS as it
/// is (`as_is`) or as it will be after this plan.
pub fn check(
    topology: &Topology,
    diagnostics: &Diagnostics,
    live: Option<&LiveState>,
    as_is: bool,
) -> Report {
    let mode = Mode::new(live.is_some(), as_is);
    let findings = match live {
        Some(live) if !as_is => crate::plan_checked(topology, diagnostics, live).findings,
        live => checks::evaluate(topology, diagnostics, live),
    };
    Report {
        format_version: 1,
        topology: topology.name.clone(),
        mode,
        findings,
    }
}

impl CheckReport for Report {
    fn fails(&self, severity: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= severity)
    }

    /// Each finding with its title and fix.
    fn text(&self) -> String {
        let mut out = String::new();
        if self.findings.is_empty() {
            let _ = writeln!(
                out,
                "No findings ({} checks of `{}`).",
                self.mode, self.topology
            );
        }
        for f in &self.findings {
            let _ = write!(
                out,
                "{} {} {}: {}\n    {}\n    fix: {}\n",
                f.severity,
                f.check,
                f.subject_text(),
                f.message,
                f.title,
                f.fix
            );
        }
        out
    }

    /// A table, with each finding's fix.
    fn markdown(&self) -> String {
        let mut out = format!(
            "### Coffer checks: {} ({})\n\n",
            md_code(&self.topology),
            self.mode
        );
        if self.findings.is_empty() {
            out.push_str("No findings.\n");
        } else {
            out.push_str(&markdown_table(&self.findings, true));
        }
        out
    }

    fn json(&self) -> String {
        pretty_json(self)
    }

    fn findings(&self) -> &[Finding] {
        &self.findings
    }
}

/// `coffer check --destroy-paths`: who can destroy the copies.
#[derive(Debug)]
pub struct DestroyPaths {
    pub topology: String,
    pub mode: Mode,
    pub report: DestroyReport,
}

impl DestroyPaths {
    /// Who can destroy the copies of `topology`: on the file alone without `live`; with it,
    /// in AWS as it is (`as_is`) or as it will be after this plan.
    pub fn new(topology: &Topology, live: Option<&LiveState>, as_is: bool) -> DestroyPaths {
        let mode = Mode::new(live.is_some(), as_is);
        let after = live
            .filter(|_| mode == Mode::LiveAfterPlan)
            .map(|live| crate::simulate::after_plan(topology, live));
        DestroyPaths {
            topology: topology.name.clone(),
            mode,
            report: destroy::report(topology, after.as_ref().or(live)),
        }
    }
}

impl CheckReport for DestroyPaths {
    fn findings(&self) -> &[Finding] {
        &[]
    }

    /// Whether someone the rule does not allow can destroy a copy.
    fn fails(&self, _: Severity) -> bool {
        self.report.fails()
    }

    fn text(&self) -> String {
        format!(
            "Who can destroy the copies of `{}` ({}):\n\n{}",
            self.topology,
            self.mode,
            destroy::text(&self.report)
        )
    }

    fn markdown(&self) -> String {
        destroy::markdown(&self.report)
    }

    fn json(&self) -> String {
        pretty_json(&self.report)
    }
}

fn pretty_json(value: &impl Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// The findings as a Markdown table, with a `fix` column when `fixes`.
fn markdown_table(findings: &[Finding], fixes: bool) -> String {
    let mut header = vec!["severity", "check", "subject", "AWS resource", "finding"];
    if fixes {
        header.push("fix");
    }
    let mut out = format!(
        "| {} |\n|{}\n",
        header.join(" | "),
        "---|".repeat(header.len())
    );
    for f in findings {
        let mut cells = vec![
            f.severity.to_string(),
            f.check.clone(),
            md_cell(&md_code(&f.subject)),
            md_cell(&md_aws_resource(f.aws_name.as_deref(), f.arn.as_deref())),
            md_cell(&md_text(&f.message)),
        ];
        if fixes {
            cells.push(md_cell(&md_text(&f.fix)));
        }
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// A plan's findings for a terminal (nothing when there are none).
pub(crate) fn plan_text(findings: &[Finding], paint: &Paint) -> String {
    let mut out = String::new();
    if findings.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "{}",
        paint.bold("Checks on AWS as it will be after this plan:")
    );
    for finding in findings {
        let label = format!("{} {}", finding.severity, finding.check);
        let label = match finding.severity {
            Severity::Blocker | Severity::Error => paint.red(&label),
            Severity::Warning => paint.action(Action::Update, &label),
            Severity::Info => paint.dim(&label),
        };
        let _ = writeln!(
            out,
            "  {label} {}: {}",
            finding.subject_text(),
            finding.message
        );
        let _ = writeln!(out, "      {}", paint.dim(&format!("fix: {}", finding.fix)));
    }
    out.push('\n');
    out
}

/// A plan's findings for a pull request comment (nothing when there are none).
pub(crate) fn plan_markdown(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return String::new();
    }
    format!(
        "#### Checks (AWS after this plan)\n\n{}\n",
        markdown_table(findings, false)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_written_as_they_are_shown() {
        for mode in [Mode::Static, Mode::LiveAfterPlan, Mode::LiveAsIs] {
            assert_eq!(
                serde_json::to_value(mode).expect("json"),
                serde_json::json!(mode.to_string())
            );
        }
        assert_eq!(Mode::new(true, false).as_str(), "live-after-plan");
        assert_eq!(Mode::new(true, true).as_str(), "live-as-is");
        assert_eq!(Mode::new(false, true).as_str(), "static");
    }
}
