"""Progress of `coffer drill` and `coffer apply` on stderr, end to end: `--progress json` gives
one JSON object per stderr line, the drill's stages in order (backup, copy, restore, verify,
clean up) with the job IDs AWS gives (checked with boto3), while stdout keeps the report alone;
`--quiet` leaves stderr empty; without a terminal, plain lines."""

import json
import re
from datetime import datetime
from typing import Any

from coffer_e2e import Coffer, Result, paginate, topology_variant
from support import BACKUP, SOURCE, Emulator

POLL_SECONDS = "0.05"
SEED_STAGES = [
    ("backup", "backup"),
    ("copy", "copy to vault.central"),
    ("restore", f"restore in backup ({BACKUP})"),
    ("verify", "verify in backup"),
    ("clean_up", "clean up"),
]
APPLY_CALLS = 14


def events(result: Result, diagnostics: int = 0) -> list[dict[str, Any]]:
    """Every stderr line after the first `diagnostics` (the topology file's own diagnostics,
    printed as text before anything runs), each a JSON object with an `event` and an RFC 3339
    `at` (UTC, to the millisecond) that never goes back."""
    lines = result.stderr.splitlines()[diagnostics:]
    assert lines, result
    parsed = []
    for line in lines:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(f"a stderr line is not JSON: {line!r}\n{result}") from None
        assert isinstance(event, dict) and isinstance(event.get("event"), str), line
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["at"]), line
        parsed.append(event)
    moments = [datetime.fromisoformat(e["at"]) for e in parsed]
    assert moments == sorted(moments), [e["at"] for e in parsed]
    return parsed


def of(parsed: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in parsed if e["event"] == kind]


def jobs(emu: Emulator, account: str, operation: str, key: str, field: str) -> list[str]:
    return [job[field] for job in paginate(emu.client("backup", account), operation, key)]


def test_apply_progress_json_is_one_event_per_line_and_stdout_keeps_the_report(emu, coffer: Coffer):
    result = coffer.apply("--progress", "json")
    assert result.code == 0, result
    assert f"Apply complete: {APPLY_CALLS} calls made, 0 skipped." in result.stdout, result
    assert '"event"' not in result.stdout, result

    parsed = events(result)
    assert parsed[0]["event"] == "apply_started" and parsed[0]["steps"] == APPLY_CALLS, parsed[0]
    finished = parsed[-1]
    assert finished["event"] == "apply_finished", finished
    assert (finished["ok"], finished["succeeded"], finished["failed"], finished["not_started"]) == (True, APPLY_CALLS, 0, 0)
    assert finished["seconds"] >= 0, finished
    started = [e["step"] for e in of(parsed, "step_started")]
    succeeded = [e["step"] for e in of(parsed, "step_succeeded")]
    assert len(succeeded) == APPLY_CALLS and sorted(started) == sorted(succeeded), parsed
    # Every step starts (with the AWS call it makes) before it succeeds.
    position = {(e["event"], e.get("step")): i for i, e in enumerate(parsed)}
    for step in succeeded:
        assert position[("step_started", step)] < position[("step_succeeded", step)], step
    assert all(re.fullmatch(r"[A-Z][A-Za-z]+", e["call"]) for e in of(parsed, "step_started")), parsed
    assert {e["event"] for e in parsed} <= {"apply_started", "step_started", "step_succeeded", "apply_finished"}, parsed


def test_drill_progress_json_shows_each_stage_in_order_with_its_job(emu, coffer: Coffer):
    assert coffer.apply("--quiet").code == 0

    result = coffer.run("drill", "--format", "json", "--progress", "json", "--poll-seconds", POLL_SECONDS)
    assert result.code == 0, result
    report = result.json()  # stdout is the report alone
    assert report["ok"] is True, report

    parsed = events(result)
    begun, finished = parsed[0], parsed[-1]
    assert begun["event"] == "drill_started", begun
    assert (begun["drill_id"], begun["topology"], begun["plan"], begun["resource"]) == (
        report["drill_id"],
        "seed",
        report["plan"],
        report["resource"],
    ), begun
    assert finished["event"] == "drill_finished" and finished["ok"] is True, finished

    # Stages start in order (backup before copy before restore), each ending before the next.
    stage_events = [e for e in parsed if e["event"].startswith("stage_")]
    assert [(e["event"], e["stage"], e["name"]) for e in stage_events] == [
        (kind, stage, name) for stage, name in SEED_STAGES for kind in ("stage_started", "stage_completed")
    ], stage_events
    # The report has the same stages, with the times the events gave.
    completed = of(parsed, "stage_completed")
    assert [s["name"] for s in report["stages"]] == [e["name"] for e in completed]
    for stage, event in zip(report["stages"], completed, strict=True):
        assert (stage["seconds"], stage["detail"]) == (event["seconds"], event["detail"]), (stage, event)

    # Each job starts within its stage, with the ID AWS gave it.
    jobs_started = of(parsed, "job_started")
    assert [(e["stage"], e["name"]) for e in jobs_started] == SEED_STAGES[:3], jobs_started
    for job in jobs_started:
        before = parsed[parsed.index(job) - 1]
        assert (before["event"], before["name"]) == ("stage_started", job["name"]), parsed
    backup_job, copy_job, restore_job = (e["job_id"] for e in jobs_started)
    assert jobs(emu, SOURCE, "list_backup_jobs", "BackupJobs", "BackupJobId") == [backup_job]
    assert jobs(emu, SOURCE, "list_copy_jobs", "CopyJobs", "CopyJobId") == [copy_job]
    assert jobs(emu, BACKUP, "list_restore_jobs", "RestoreJobs", "RestoreJobId") == [restore_job]


def test_drill_progress_json_of_a_failing_copy_ends_with_the_failure(emu, coffer: Coffer, tmp_path):
    topology = topology_variant(tmp_path, "central-vault-without-allow", ("      organization: true\n", ""))
    assert coffer.apply("--quiet", "--ignore-check", "CB005", topology=topology).code == 0

    result = coffer.run("drill", "--progress", "json", "--poll-seconds", POLL_SECONDS, topology=topology)
    assert result.code == 1, result
    assert "Drill FAILED: " in result.stdout, result  # the text report, on stdout

    # The file's diagnostic of CB005 comes first, as text, as for every command; then the events.
    diagnostic = result.stderr.split("\n{", 1)[0]
    assert diagnostic.startswith(f"{topology}:79:20: error[E137]: vault `central` does not allow"), result
    assert "note: this is check CB005" in diagnostic, result
    parsed = events(result, diagnostics=diagnostic.count("\n") + 1)
    stage_events = [(e["event"], e["stage"]) for e in parsed if e["event"].startswith("stage_")]
    assert stage_events == [
        ("stage_started", "backup"),
        ("stage_completed", "backup"),
        ("stage_started", "copy"),
        ("stage_failed", "copy"),
        ("stage_started", "clean_up"),
        ("stage_completed", "clean_up"),
    ], stage_events
    (failed,) = of(parsed, "stage_failed")
    assert failed["name"] == "copy to vault.central" and failed["seconds"] >= 0, failed
    assert "does not allow backup:CopyIntoBackupVault" in failed["error"], failed
    assert failed["error"] in result.stdout, result
    assert parsed[-1]["event"] == "drill_finished" and parsed[-1]["ok"] is False, parsed[-1]


def test_quiet_leaves_stderr_empty_and_the_report_on_stdout(emu, coffer: Coffer):
    applied = coffer.apply("--quiet")
    assert applied.code == 0, applied
    assert applied.stderr == "", applied
    assert f"Apply complete: {APPLY_CALLS} calls made" in applied.stdout, applied

    drilled = coffer.run("drill", "--quiet", "--poll-seconds", POLL_SECONDS)
    assert drilled.code == 0, drilled
    assert drilled.stderr == "", drilled
    assert "Drill passed: the backup was copied and restored" in drilled.stdout, drilled

    both = coffer.run("drill", "--quiet", "--progress", "json")
    assert both.code == 1 and "--quiet" in both.stderr and both.stdout == "", both


def test_without_a_terminal_progress_is_plain_lines_on_stderr(emu, coffer: Coffer):
    applied = coffer.apply()
    assert applied.code == 0, applied
    assert sum(line.startswith("  done     ") for line in applied.stderr.splitlines()) == APPLY_CALLS, applied
    assert "  done     " not in applied.stdout, applied

    drilled = coffer.run("drill", "--poll-seconds", POLL_SECONDS)
    assert drilled.code == 0, drilled
    lines = drilled.stderr.splitlines()
    assert lines[0].startswith("drill coffer-drill-"), lines
    names = [name for _, name in SEED_STAGES]
    assert [line.removeprefix("  started  ") for line in lines if line.startswith("  started  ")] == names, lines
    done = [line for line in lines if line.startswith("  done     ")]
    assert [re.sub(r" \(\d+\.\d+s\)$", "", line.removeprefix("  done     ")) for line in done] == names, lines
    assert [line.split(": ", 1)[0].removeprefix("  job      ") for line in lines if line.startswith("  job ")] == names[:3], lines
    assert re.fullmatch(r"drill passed after \d+\.\d+s", lines[-1]), lines
    assert "started" not in drilled.stdout and "Drill passed" in drilled.stdout, drilled
