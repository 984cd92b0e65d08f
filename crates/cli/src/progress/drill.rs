//! The drill's progress: stages and jobs as they start and end.

use std::time::{Duration, SystemTime};

use coffer_aws::drill::DrillEvent;
use indicatif::{ProgressBar, ProgressStyle};

use super::{ProgressArgs, Sink, json_line};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::tests::{at, parse};
    use coffer_aws::drill::StageKind;

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
}
