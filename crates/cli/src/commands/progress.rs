//! Progress of `drill` and `apply` on stderr, as it happens: a spinner or a bar on a terminal,
//! plain lines otherwise, one JSON object per line with `--progress json`, nothing with
//! `--quiet`. Stdout keeps the final report only, so scripts that parse it are unaffected.

use std::io::{IsTerminal, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anstream::eprintln;
use coffer_apply::{Event, Report};
use coffer_aws::drill::DrillEvent;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

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

/// A drill event as a JSON line: `{"event":"stage_started","stage":"backup","name":"backup","at":"…"}`.
pub fn drill_json(event: &DrillEvent, at: SystemTime) -> String {
    json_line(event, at)
}

/// A drill event as a plain line.
pub fn drill_line(event: &DrillEvent) -> String {
    match event {
        DrillEvent::DrillStarted {
            drill_id,
            plan,
            resource,
            ..
        } => format!("drill {drill_id}: plan {plan}, resource {resource}"),
        DrillEvent::StageStarted { name, .. } => format!("  started  {name}"),
        DrillEvent::JobStarted { name, job_id, .. } => format!("  job      {name}: {job_id}"),
        DrillEvent::StageCompleted { name, seconds, .. } => {
            format!("  done     {name} ({seconds:.1}s)")
        }
        DrillEvent::StageFailed {
            name,
            seconds,
            error,
            ..
        } => format!("  FAILED   {name} ({seconds:.1}s): {error}"),
        DrillEvent::DrillFinished { ok, seconds } => format!(
            "drill {} after {seconds:.1}s",
            if *ok { "passed" } else { "FAILED" }
        ),
    }
}

/// The drill's progress: on a terminal, a spinner with the stage in progress, its job and its
/// elapsed time, and a line for each stage that ends.
pub struct DrillProgress {
    sink: Sink,
}

impl DrillProgress {
    pub fn new(args: &ProgressArgs) -> DrillProgress {
        let sink = Sink::new(args, || {
            let spinner = ProgressBar::new_spinner();
            spinner.set_style(
                ProgressStyle::with_template("{spinner} {elapsed_precise} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            spinner.set_message("starting the drill");
            spinner.enable_steady_tick(Duration::from_millis(120));
            spinner
        });
        DrillProgress { sink }
    }

    pub fn event(&self, event: &DrillEvent) {
        let at = SystemTime::now();
        self.sink.json(|| drill_json(event, at));
        match &self.sink {
            Sink::Terminal(spinner) => match event {
                DrillEvent::StageStarted { name, .. } => {
                    spinner.reset_elapsed();
                    spinner.set_message(name.clone());
                }
                DrillEvent::JobStarted { name, job_id, .. } => {
                    spinner.set_message(format!("{name}: job {job_id}"));
                }
                DrillEvent::DrillFinished { .. } => spinner.set_message("finishing the report"),
                DrillEvent::DrillStarted { .. }
                | DrillEvent::StageCompleted { .. }
                | DrillEvent::StageFailed { .. } => spinner.println(drill_line(event)),
            },
            Sink::Plain => self.sink.say(&drill_line(event)),
            Sink::Quiet | Sink::Json => {}
        }
    }

    /// Clears the spinner: call it before the report is printed.
    pub fn finish(&self) {
        self.sink.finish();
    }
}

/// An apply event as JSON, `snake_case` like the drill's.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum ApplyJson<'a> {
    ApplyStarted {
        steps: u64,
    },
    StepStarted {
        step: &'a str,
        call: &'a str,
    },
    StepRetrying {
        step: &'a str,
        attempt: u32,
        error: &'a str,
        wait_seconds: f64,
    },
    StepSucceeded {
        step: &'a str,
    },
    StepFailed {
        step: &'a str,
        error: &'a str,
    },
    StepSkipped {
        step: &'a str,
        reason: &'a str,
    },
    ApplyFinished {
        ok: bool,
        succeeded: usize,
        failed: usize,
        not_started: usize,
        skipped: usize,
        seconds: f64,
    },
}

impl<'a> From<&'a Event> for ApplyJson<'a> {
    fn from(event: &'a Event) -> Self {
        match event {
            Event::Started { step, call } => ApplyJson::StepStarted { step, call },
            Event::Retrying {
                step,
                attempt,
                error,
                wait,
            } => ApplyJson::StepRetrying {
                step,
                attempt: *attempt,
                error,
                wait_seconds: wait.as_secs_f64(),
            },
            Event::Succeeded { step } => ApplyJson::StepSucceeded { step },
            Event::Failed { step, error } => ApplyJson::StepFailed { step, error },
            Event::Skipped { step, reason } => ApplyJson::StepSkipped { step, reason },
        }
    }
}

/// An apply event as a JSON line: `{"event":"step_succeeded","step":"…","at":"…"}`.
pub fn apply_json(event: &Event, at: SystemTime) -> String {
    json_line(&ApplyJson::from(event), at)
}

/// An apply event as a plain line; `None` for a step that starts (the bar shows it).
pub fn apply_line(event: &Event) -> Option<String> {
    match event {
        Event::Started { .. } => None,
        Event::Succeeded { step } => Some(format!("  done     {step}")),
        Event::Retrying {
            step,
            attempt,
            error,
            wait,
        } => Some(format!(
            "  retry    {step} (attempt {attempt}, waiting {wait:?}): {error}"
        )),
        Event::Failed { step, error } => Some(format!("  FAILED   {step}: {error}")),
        Event::Skipped { step, reason } => Some(format!("  skipped  {step}: {reason}")),
    }
}

/// The apply's progress: on a terminal, a bar of the steps done.
pub struct ApplyProgress {
    sink: Sink,
    started: std::time::Instant,
}

impl ApplyProgress {
    /// Starts showing a run of `steps` steps.
    pub fn new(args: &ProgressArgs, steps: u64) -> ApplyProgress {
        let sink = Sink::new(args, || {
            let bar = ProgressBar::new(steps);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        let at = SystemTime::now();
        sink.json(|| json_line(&ApplyJson::ApplyStarted { steps }, at));
        ApplyProgress {
            sink,
            started: std::time::Instant::now(),
        }
    }

    pub fn event(&self, event: &Event) {
        let at = SystemTime::now();
        self.sink.json(|| apply_json(event, at));
        if let Sink::Terminal(bar) = &self.sink {
            match event {
                Event::Started { step, call } => bar.set_message(format!("{step} ({call})")),
                Event::Succeeded { .. } => bar.inc(1),
                _ => {}
            }
        }
        if let Some(line) = apply_line(event) {
            self.sink.say(&line);
        }
    }

    /// Clears the bar and, in JSON, sends `apply_finished`: call it before the summary.
    pub fn finish(&self, report: &Report) {
        self.sink.finish();
        let at = SystemTime::now();
        self.sink.json(|| {
            json_line(
                &ApplyJson::ApplyFinished {
                    ok: report.ok(),
                    succeeded: report.succeeded.len(),
                    failed: report.failed.len(),
                    not_started: report.not_started.len(),
                    skipped: report.skipped.len(),
                    seconds: self.started.elapsed().as_secs_f64(),
                },
                at,
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_aws::drill::StageKind;
    use indicatif::ProgressDrawTarget;

    /// A progress bar that draws nowhere.
    fn hidden() -> ProgressBar {
        ProgressBar::with_draw_target(Some(1), ProgressDrawTarget::hidden())
    }

    // 2024-03-01T10:20:30.5Z
    fn at() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_709_288_430_500)
    }

    fn parse(line: &str) -> serde_json::Value {
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

    #[test]
    fn drill_events_are_one_json_object_per_line_with_the_event_first() {
        let started = DrillEvent::StageStarted {
            stage: StageKind::Backup,
            name: "backup".into(),
        };
        assert_eq!(
            drill_json(&started, at()),
            r#"{"event":"stage_started","stage":"backup","name":"backup","at":"2024-03-01T10:20:30.500Z"}"#
        );
        let job = parse(&drill_json(
            &DrillEvent::JobStarted {
                stage: StageKind::Copy,
                name: "copy to vault.central".into(),
                job_id: "copy-1".into(),
            },
            at(),
        ));
        assert_eq!(
            job,
            serde_json::json!({"event": "job_started", "stage": "copy", "name": "copy to vault.central", "job_id": "copy-1", "at": "2024-03-01T10:20:30.500Z"})
        );
        let failed = parse(&drill_json(
            &DrillEvent::StageFailed {
                stage: StageKind::CleanUp,
                name: "clean up".into(),
                seconds: 1.5,
                error: "line one\nline \"two\"".into(),
            },
            at(),
        ));
        assert_eq!(failed["event"], "stage_failed");
        assert_eq!(failed["stage"], "clean_up");
        assert_eq!(failed["seconds"], 1.5);
        assert_eq!(failed["error"], "line one\nline \"two\"");
        let completed = parse(&drill_json(
            &DrillEvent::StageCompleted {
                stage: StageKind::Restore,
                name: "restore in backup (666777888999)".into(),
                seconds: 2.0,
                detail: "restored arn:aws:rds:eu-west-1:666777888999:db:x".into(),
            },
            at(),
        ));
        assert_eq!(completed["event"], "stage_completed");
        assert_eq!(completed["stage"], "restore");
        let finished = parse(&drill_json(
            &DrillEvent::DrillFinished {
                ok: true,
                seconds: 3.25,
            },
            at(),
        ));
        assert_eq!(
            finished,
            serde_json::json!({"event": "drill_finished", "ok": true, "seconds": 3.25, "at": "2024-03-01T10:20:30.500Z"})
        );
        let begun = parse(&drill_json(
            &DrillEvent::DrillStarted {
                drill_id: "coffer-drill-1".into(),
                topology: "seed".into(),
                plan: "orders-daily".into(),
                resource: "arn:aws:rds:eu-west-1:111222333444:db:orders".into(),
            },
            at(),
        ));
        assert_eq!(begun["event"], "drill_started");
        assert_eq!(begun["drill_id"], "coffer-drill-1");
    }

    #[test]
    fn drill_events_as_plain_lines() {
        let lines: Vec<String> = [
            DrillEvent::StageStarted {
                stage: StageKind::Verify,
                name: "verify in backup".into(),
            },
            DrillEvent::JobStarted {
                stage: StageKind::Backup,
                name: "backup".into(),
                job_id: "b-1".into(),
            },
            DrillEvent::StageCompleted {
                stage: StageKind::Backup,
                name: "backup".into(),
                seconds: 12.34,
                detail: "recovery point …".into(),
            },
            DrillEvent::StageFailed {
                stage: StageKind::Copy,
                name: "copy to vault.central".into(),
                seconds: 0.5,
                error: "copy job c-1 FAILED: Access Denied".into(),
            },
        ]
        .iter()
        .map(drill_line)
        .collect();
        assert_eq!(
            lines,
            [
                "  started  verify in backup",
                "  job      backup: b-1",
                "  done     backup (12.3s)",
                "  FAILED   copy to vault.central (0.5s): copy job c-1 FAILED: Access Denied",
            ]
        );
    }

    #[test]
    fn apply_events_are_one_json_object_per_line() {
        let started = Event::Started {
            step: "create key.source-rds".into(),
            call: "kms:CreateKey",
        };
        assert_eq!(
            apply_json(&started, at()),
            r#"{"event":"step_started","step":"create key.source-rds","call":"kms:CreateKey","at":"2024-03-01T10:20:30.500Z"}"#
        );
        let retrying = parse(&apply_json(
            &Event::Retrying {
                step: "s".into(),
                attempt: 2,
                error: "ThrottlingException".into(),
                wait: Duration::from_millis(1_500),
            },
            at(),
        ));
        assert_eq!(
            retrying,
            serde_json::json!({"event": "step_retrying", "step": "s", "attempt": 2, "error": "ThrottlingException", "wait_seconds": 1.5, "at": "2024-03-01T10:20:30.500Z"})
        );
        for (event, tag) in [
            (Event::Succeeded { step: "s".into() }, "step_succeeded"),
            (
                Event::Failed {
                    step: "s".into(),
                    error: "e".into(),
                },
                "step_failed",
            ),
            (
                Event::Skipped {
                    step: "s".into(),
                    reason: "r".into(),
                },
                "step_skipped",
            ),
        ] {
            let line = parse(&apply_json(&event, at()));
            assert_eq!(line["event"], tag, "{line}");
            assert_eq!(line["step"], "s", "{line}");
        }
        let finished = parse(&json_line(
            &ApplyJson::ApplyFinished {
                ok: true,
                succeeded: 3,
                failed: 0,
                not_started: 0,
                skipped: 1,
                seconds: 0.5,
            },
            at(),
        ));
        assert_eq!(finished["event"], "apply_finished");
        assert_eq!(finished["succeeded"], 3);
    }

    #[test]
    fn apply_events_as_plain_lines_leave_started_steps_to_the_bar() {
        assert_eq!(
            apply_line(&Event::Started {
                step: "s".into(),
                call: "kms:CreateKey"
            }),
            None
        );
        assert_eq!(
            apply_line(&Event::Succeeded { step: "s".into() }).as_deref(),
            Some("  done     s")
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
