//! Progress of `drill` and `apply` on stderr, as it happens: a spinner or a bar on a terminal,
//! plain lines otherwise, one JSON object per line with `--progress json`, nothing with
//! `--quiet`. Stdout keeps the final report only, so scripts that parse it are unaffected.

mod apply;
mod drill;

use std::io::{IsTerminal, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use anstream::eprintln;
use indicatif::ProgressBar;
use serde::Serialize;

pub use apply::ApplyProgress;
pub use drill::DrillProgress;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// A spinner or a progress bar on a terminal, plain lines otherwise.
    Auto,
    /// One plain line per event.
    Plain,
    /// One JSON object per line (JSON Lines), for CI logs and other tools.
    Json,
}

/// The `--progress` and `--quiet` options of `drill` and `apply`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProgressArgs {
    /// How to show progress on stderr: `auto` (a spinner or bar on a terminal, plain lines
    /// otherwise), `plain` or `json` (one JSON object per line). Stdout has the report only.
    #[arg(long, value_enum, default_value = "auto", value_name = "MODE")]
    pub progress: Mode,
    /// Show no progress on stderr: only the final report (and errors).
    #[arg(long, conflicts_with = "progress")]
    pub quiet: bool,
}

/// Where the events go.
enum Sink {
    Quiet,
    Plain,
    Json,
    Terminal(ProgressBar),
}

impl Sink {
    /// `bar` makes the terminal's progress bar (or spinner), used when stderr is a terminal
    /// and the mode is `auto`.
    fn new(args: &ProgressArgs, bar: impl FnOnce() -> ProgressBar) -> Sink {
        if args.quiet {
            return Sink::Quiet;
        }
        match args.progress {
            Mode::Json => Sink::Json,
            Mode::Plain => Sink::Plain,
            Mode::Auto if std::io::stderr().is_terminal() => Sink::Terminal(bar()),
            Mode::Auto => Sink::Plain,
        }
    }

    /// Prints a plain line: above the bar on a terminal.
    fn say(&self, line: &str) {
        match self {
            Sink::Terminal(bar) => bar.println(line),
            Sink::Plain => eprintln!("{line}"),
            Sink::Quiet | Sink::Json => {}
        }
    }

    fn json(&self, line: impl FnOnce() -> String) {
        if let Sink::Json = self {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "{}", line());
            let _ = stderr.flush();
        }
    }

    fn finish(&self) {
        if let Sink::Terminal(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// `at` in RFC 3339, UTC, to the millisecond: `2024-03-01T10:20:30.500Z`.
pub fn rfc3339(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Days to a civil date (proleptic Gregorian), after Howard Hinnant's `civil_from_days`.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3_600,
        rest / 60 % 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// One event as a JSON line: its fields, then `at`.
#[derive(Serialize)]
struct Line<'a, E: Serialize> {
    #[serde(flatten)]
    event: &'a E,
    at: String,
}

fn json_line<E: Serialize>(event: &E, at: SystemTime) -> String {
    serde_json::to_string(&Line {
        event,
        at: rfc3339(at),
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use indicatif::ProgressDrawTarget;

    /// A progress bar that draws nowhere.
    fn hidden() -> ProgressBar {
        ProgressBar::with_draw_target(Some(1), ProgressDrawTarget::hidden())
    }

    // 2024-03-01T10:20:30.5Z
    pub(super) fn at() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_709_288_430_500)
    }

    /// One JSON object, on one line.
    pub(super) fn parse(line: &str) -> serde_json::Value {
        assert!(!line.contains('\n'), "one line: {line}");
        serde_json::from_str(line).expect("JSON")
    }

    #[test]
    fn timestamps_are_rfc3339_utc_to_the_millisecond() {
        assert_eq!(rfc3339(at()), "2024-03-01T10:20:30.500Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // A leap day, and the end of a century.
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_millis(4_102_444_799_999)),
            "2099-12-31T23:59:59.999Z"
        );
    }

    #[derive(Debug, clap::Parser)]
    struct Command {
        #[command(flatten)]
        progress: ProgressArgs,
    }

    #[test]
    fn options_default_to_auto_and_quiet_excludes_progress() {
        use clap::Parser;
        let parse = |args: &[&str]| {
            Command::try_parse_from(std::iter::once("coffer").chain(args.iter().copied()))
                .map(|c| (c.progress.progress, c.progress.quiet))
        };
        assert_eq!(parse(&[]).expect("parses"), (Mode::Auto, false));
        assert_eq!(
            parse(&["--progress", "json"]).expect("parses"),
            (Mode::Json, false)
        );
        assert_eq!(parse(&["--quiet"]).expect("parses"), (Mode::Auto, true));
        let both = parse(&["--quiet", "--progress", "json"]).expect_err("conflict");
        assert_eq!(both.kind(), clap::error::ErrorKind::ArgumentConflict);
        assert!(parse(&["--progress", "xml"]).is_err());
    }

    #[test]
    fn quiet_wins_and_auto_follows_the_terminal() {
        let args = |progress, quiet| ProgressArgs { progress, quiet };
        assert!(matches!(
            Sink::new(&args(Mode::Json, true), hidden),
            Sink::Quiet
        ));
        assert!(matches!(
            Sink::new(&args(Mode::Json, false), hidden),
            Sink::Json
        ));
        assert!(matches!(
            Sink::new(&args(Mode::Plain, false), hidden),
            Sink::Plain
        ));
        let auto = Sink::new(&args(Mode::Auto, false), hidden);
        if std::io::stderr().is_terminal() {
            assert!(matches!(auto, Sink::Terminal(_)));
        } else {
            assert!(matches!(auto, Sink::Plain));
        }
    }
}
