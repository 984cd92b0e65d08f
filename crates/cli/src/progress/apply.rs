//! The apply's progress: a bar of the steps done, a line or a JSON object per event.

use std::time::SystemTime;

use coffer_apply::{Event, Report};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::{ProgressArgs, Sink, json_line};

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
    use std::time::Duration;

    use super::*;
    use crate::progress::tests::{at, parse};

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
}
