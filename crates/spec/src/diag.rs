//! Diagnostics: what is wrong, where, and what to do about it.

use std::fmt;

use serde::Serialize;

use crate::yaml::Pos;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One finding about the topology file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable code, e.g. `E102`; see [`crate::codes`].
    pub code: &'static str,
    pub pos: Pos,
    pub message: String,
    /// What to do about it.
    pub help: String,
    /// The check of Coffer's catalog (`CB…`) this diagnostic is: AWS accepts the file, but
    /// the copy chain would fail at job time. Such errors fail `validate` and block `apply`
    /// unless `--ignore-check` names them, but the topology still loads, so `check`, `plan`
    /// and `drill` can show what would happen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<&'static str>,
}

impl Diagnostic {
    /// An error. A value quoted in `message` (between backticks) that is longer than
    /// [`crate::yaml::SHOWN_CHARS`] is cut, so a long bad value is echoed once, shortened.
    pub fn error(code: &'static str, pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            pos,
            message: cut_quoted(&message.into()),
            help: String::new(),
            check: None,
        }
    }

    pub fn warning(code: &'static str, pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, pos, message)
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = cut_quoted(&help.into());
        self
    }

    /// Marks the diagnostic as the static form of catalog check `id`.
    pub fn check(mut self, id: &'static str) -> Diagnostic {
        self.check = Some(id);
        self
    }

    /// `FILE:LINE:COL: error[CODE]: message`, the offending source line with a caret, and a
    /// `help:` line.
    pub fn render(&self, file: &str, source: &str) -> String {
        let mut out = format!(
            "{file}:{}:{}: {}[{}]: {}\n",
            self.pos.line, self.pos.col, self.severity, self.code, self.message
        );
        if let Some(line) = source_line(source, self.pos.line) {
            let number = self.pos.line.to_string();
            let pad = " ".repeat(number.len());
            let (line, caret_at) = window(line, (self.pos.col as usize).saturating_sub(1));
            let line = line.as_str();
            let indent: String = line
                .chars()
                .take(caret_at)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!("{pad} |\n{number} | {line}\n{pad} | {indent}^\n"));
        }
        if !self.help.is_empty() {
            out.push_str(&format!("  help: {}\n", self.help));
        }
        if let Some(check) = self.check {
            out.push_str(&format!(
                "  note: this is check {check}: AWS accepts it, but copy jobs would fail; `coffer apply --ignore-check {check}` applies anyway\n"
            ));
        }
        out
    }
}

/// Longest source line shown whole under a diagnostic; longer ones are shown around the caret.
const SHOWN_LINE: usize = 120;

/// `line` cut to about [`SHOWN_LINE`] characters around character `caret` (with `…` where
/// cut), and where the caret lands in what is shown.
fn window(line: &str, caret: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= SHOWN_LINE {
        return (line.to_string(), caret);
    }
    let caret = caret.min(chars.len());
    let start = caret.saturating_sub(SHOWN_LINE / 3);
    let end = (start + SHOWN_LINE).min(chars.len());
    let mut shown = String::new();
    let mut at = caret - start;
    if start > 0 {
        shown.push('…');
        at += 1;
    }
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push('…');
    }
    (shown, at)
}

/// Every backtick-quoted part of `text` longer than [`crate::yaml::SHOWN_CHARS`] characters,
/// cut to that many plus `…`.
fn cut_quoted(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len() < 3 {
        return text.to_string();
    }
    let last = parts.len() - 1;
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            // Odd parts are inside backticks, when their closing backtick exists.
            if i % 2 == 1 && i < last {
                crate::yaml::shorten(part)
            } else {
                (*part).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("`")
}

fn source_line(source: &str, line: u32) -> Option<&str> {
    if line == 0 {
        return None;
    }
    crate::yaml::lines(source).nth(line as usize - 1)
}

/// All diagnostics of one load, sorted by position.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    /// Errors that stop the topology from loading (every error that is not a catalog check).
    pub fn has_blocking_errors(&self) -> bool {
        self.0
            .iter()
            .any(|d| d.severity == Severity::Error && d.check.is_none())
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Warning)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn sort(&mut self) {
        self.0
            .sort_by(|a, b| (a.pos, a.code, &a.message).cmp(&(b.pos, b.code, &b.message)));
        self.0.dedup();
    }

    pub fn render(&self, file: &str, source: &str) -> String {
        self.0.iter().map(|d| d.render(file, source)).collect()
    }
}

/// A count and its noun, the noun in the singular for exactly one: `plural(1, "error",
/// "errors")` is `1 error`, `plural(2, "error", "errors")` is `2 errors`.
pub fn plural<N>(count: N, one: &str, many: &str) -> String
where
    N: fmt::Display + PartialEq + From<u8>,
{
    let noun = if count == N::from(1) { one } else { many };
    format!("{count} {noun}")
}

#[cfg(test)]
mod plural_tests {
    use super::plural;

    #[test]
    fn one_is_singular_everything_else_plural() {
        assert_eq!(plural(0usize, "error", "errors"), "0 errors");
        assert_eq!(plural(1usize, "error", "errors"), "1 error");
        assert_eq!(
            plural(2u32, "backup plan", "backup plans"),
            "2 backup plans"
        );
        assert_eq!(plural(-1i64, "day", "days"), "-1 days");
        assert_eq!(plural(1i64, "day", "days"), "1 day");
    }
}
