"""The important `run:` scripts of the GitHub Actions examples, run as GitHub runs them with a
stub `coffer` (exit codes 0, 1 and 2; stale plans): the outputs they set, the files they write
and when they fail.

Run with: emulator/.venv/bin/python -m pytest tests/workflows -q
"""

from __future__ import annotations

import json

import pytest
from workflow_support import EXAMPLES, Step, change, plan_json, workflow


@pytest.mark.parametrize(
    ("plan", "code", "destroy", "irreversible"),
    [
        (plan_json(), 0, "false", "false"),
        (plan_json(change("create")), 2, "false", "false"),
        (plan_json(change("delete"), delete=1), 2, "true", "false"),
        (plan_json(change("delete", "selection", ["needs_allow_delete"])), 2, "true", "false"),
        (plan_json(change("replace", "vault")), 2, "true", "false"),
        (plan_json(change("replace", "selection")), 2, "false", "false"),
        (plan_json(change("update", "vault_lock", ["irreversible"]), irreversible=1), 2,
         "false", "true"),
    ],
)
def test_plan_step_sets_labels_from_plan_json_and_treats_exit_2_as_success(
    tmp_path, plan, code, destroy, irreversible
):
    step = Step(tmp_path, "plan.yml", "Plan")
    result, outputs = step.run(
        STUB_EXIT=code,
        STUB_JSON=step.file("stub-plan.json", plan),
        STUB_STDOUT=step.file("stub-plan.md", "### Coffer plan: `seed`\n"),
        HEAD_SHA="abc123", PR_NUMBER="7", COFFER_COMMIT="c0ffee",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs == {"exitcode": str(code), "destroy": destroy, "irreversible": irreversible}
    assert step.calls() == [
        "plan -f topology.yaml --format markdown --out plan.json --detailed-exitcode"
    ]
    assert step.read("plan.md") == "### Coffer plan: `seed`\n"
    assert "### Coffer plan" in step.read("github-summary")
    assert json.loads(step.read("plan-meta.json"))["head_sha"] == "abc123"


def test_plan_step_defers_exit_1_to_the_gate(tmp_path):
    step = Step(tmp_path, "plan.yml", "Plan")
    result, outputs = step.run(STUB_EXIT=1, STUB_STDERR="error: cannot assume role")
    assert result.returncode == 0, "the comment is posted first; the last step fails the job"
    assert outputs == {"exitcode": "1"}
    assert "::error" in result.stdout and "cannot assume role" in step.read("plan-stderr.txt")


SARIF_STUB = '{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "coffer"}}, "results": []}]}\n'


@pytest.mark.parametrize(
    ("validate", "plan", "expected"),
    [
        ("0", "0", ["check -f topology.yaml --live --format sarif"]),
        ("0", "2", ["check -f topology.yaml --live --format sarif"]),
        ("0", "1", ["check -f topology.yaml --format sarif"]),
        ("0", "", ["check -f topology.yaml --format sarif"]),
        ("1", "", ["check -f topology.yaml --format sarif"]),
    ],
    ids=["no-changes", "changes", "plan-failed", "plan-skipped", "not-valid"],
)
@pytest.mark.parametrize("code", [0, 2, 1])
def test_check_step_writes_the_sarif_live_after_a_plan_else_static(tmp_path, validate, plan,
                                                                  expected, code):
    step = Step(tmp_path, "plan.yml", "Check (SARIF for code scanning)")
    result, outputs = step.run(VALIDATE_EXIT=validate, PLAN_EXIT=plan, STUB_EXIT=code,
                               STUB_STDOUT=step.file("stub.sarif", SARIF_STUB))
    assert result.returncode == 0, "findings (2) and failures (1) never fail this step"
    assert step.calls() == expected
    assert outputs == {"exitcode": str(code), "sarif": "true"}
    assert json.loads(step.read("coffer.sarif"))["version"] == "2.1.0"


def test_check_step_falls_back_to_static_checks_and_skips_the_upload_without_sarif(tmp_path):
    step = Step(tmp_path, "plan.yml", "Check (SARIF for code scanning)")
    # e.g. the live read failed (exit 1, nothing on stdout), and so did the static run.
    result, outputs = step.run(VALIDATE_EXIT="0", PLAN_EXIT="2", STUB_EXIT=1,
                               STUB_STDERR="error: cannot assume role")
    assert result.returncode == 0
    assert step.calls() == ["check -f topology.yaml --live --format sarif",
                            "check -f topology.yaml --format sarif"]
    assert outputs == {"exitcode": "1"}, "no sarif=true: the upload step is skipped"
    assert "::warning" in result.stdout
    assert "cannot assume role" in result.stderr


def test_plan_comment_carries_the_marker_and_the_markdown_plan(tmp_path):
    step = Step(tmp_path, "plan.yml", "Write the PR comment")
    step.file("plan.md", "### Coffer plan: `seed`\n\n| create |\n")
    env = dict(COMMENT_MARKER="<!-- coffer-plan: topology.yaml -->", VALIDATE_EXIT="0",
               PLAN_EXIT="2", DESTROY="true", IRREVERSIBLE="false", HEAD_SHA="abc123",
               RUN_ID="42", RUN_URL="https://example.invalid/run/42")
    result, _ = step.run(**env)
    assert result.returncode == 0, result.stderr
    comment = step.read("comment.md")
    assert comment.startswith("<!-- coffer-plan: topology.yaml -->\n### Coffer plan: `seed`")
    assert "**deletes**" in comment and "coffer:allow-delete" in comment
    assert "irreversible" not in comment

    step.file("validate.txt", "topology.yaml:3:1: error[E001]: unknown field\n")
    result, _ = step.run(**{**env, "VALIDATE_EXIT": "1", "PLAN_EXIT": ""})
    assert result.returncode == 0
    comment = step.read("comment.md")
    assert "is not valid" in comment and "error[E001]" in comment and "| create |" not in comment


def test_plan_comment_reports_a_failure_before_coffer_planned(tmp_path):
    # e.g. the AWS credentials step failed: validate ran, plan did not.
    step = Step(tmp_path, "plan.yml", "Write the PR comment")
    result, _ = step.run(COMMENT_MARKER="<!-- m -->", VALIDATE_EXIT="0", PLAN_EXIT="",
                         RUN_URL="https://example.invalid/run/42")
    assert result.returncode == 0, result.stderr
    comment = step.read("comment.md")
    assert "could not be planned" in comment and "https://example.invalid/run/42" in comment


def test_plan_comment_is_cut_to_fit_github(tmp_path):
    step = Step(tmp_path, "plan.yml", "Write the PR comment")
    step.file("plan.md", "x" * 200_000)
    result, _ = step.run(COMMENT_MARKER="<!-- m -->", VALIDATE_EXIT="0", PLAN_EXIT="2")
    assert result.returncode == 0
    assert len(step.read("comment.md")) < 65_536


def reviewed(step: Step, plan: dict):
    step.file("reviewed/plan.json", plan)


@pytest.mark.parametrize(
    ("plan", "env", "ok"),
    [
        (plan_json(change("create")), {}, True),
        (plan_json(change("delete"), delete=1), {}, False),
        (plan_json(change("delete"), delete=1), {"ALLOW_DELETE": "true"}, True),
        (plan_json(change("replace", "vault")), {}, False),
        (plan_json(change("update", "vault_lock", ["irreversible"])), {"ALLOW_DELETE": "true"},
         False),
        (plan_json(change("update", "vault_lock", ["irreversible"])),
         {"CONFIRM_IRREVERSIBLE": "true"}, True),
    ],
)
def test_apply_needs_approval_labels_for_deletions_and_irreversible_changes(
    tmp_path, plan, env, ok
):
    step = Step(tmp_path, "apply.yml", "Check deletions and irreversible changes are approved")
    reviewed(step, plan)
    result, _ = step.run(**{"ALLOW_DELETE": "false", "CONFIRM_IRREVERSIBLE": "false", **env})
    assert (result.returncode == 0) == ok, result.stdout
    if not ok:
        assert "::error" in result.stdout and "re-run this job" in result.stdout


@pytest.mark.parametrize(
    ("fresh", "reason"),
    [
        (plan_json(change("create")), None),
        (plan_json(change("create"), digest="d2"), "is not the one the plan was made from"),
        (plan_json(change("create"), fingerprint="f2"), "AWS changed since the plan was made"),
        (plan_json(change("update")), "differs from the reviewed plan"),
    ],
)
def test_apply_refuses_a_reviewed_plan_that_differs_from_a_fresh_one(tmp_path, fresh, reason):
    step = Step(tmp_path, "apply.yml", "Compare the reviewed plan with a fresh plan")
    reviewed(step, plan_json(change("create")))
    result, _ = step.run(STUB_JSON=step.file("stub-fresh.json", fresh))
    assert step.calls() == ["plan -f topology.yaml --format json --out fresh-plan.json"]
    if reason is None:
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        assert result.returncode == 1
        assert "::error title=The reviewed plan is stale::" in result.stdout
        assert reason in result.stdout and "Re-run the plan" in result.stdout
        assert "Nothing was applied" in step.read("github-summary")


@pytest.mark.parametrize(
    ("code", "stderr", "expected"),
    [
        (0, "", None),
        (1, "error: the topology file changed since this plan was made", "is stale"),
        (1, "error: AWS changed since this plan was made (or the plan was already applied)",
         "is stale"),
        (1, "error: apply failed after 2 of 5 calls.", "coffer apply failed"),
    ],
)
def test_apply_step_applies_the_reviewed_plan_and_explains_refusals(tmp_path, code, stderr,
                                                                     expected):
    step = Step(tmp_path, "apply.yml", "Apply")
    result, _ = step.run(STUB_EXIT=code, STUB_STDERR=stderr, ALLOW_DELETE="false",
                         CONFIRM_IRREVERSIBLE="true", REVIEWED_RUN_URL="https://example.invalid")
    assert step.calls() == [
        "apply -f topology.yaml reviewed/plan.json --auto-approve --confirm-irreversible"
    ]
    if expected is None:
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        assert result.returncode == 1
        assert expected in result.stdout
        if expected == "is stale":
            assert "Re-run the plan" in result.stdout


@pytest.mark.parametrize(("code", "ok"), [(0, True), (2, True), (1, False), (101, False)])
def test_drift_step_fails_only_when_coffer_fails(tmp_path, code, ok):
    step = Step(tmp_path, "drift.yml", "Detect drift")
    report = "### Coffer drift: `seed`\n\n| status |\n|---|\n| modified |\n"
    result, outputs = step.run(STUB_EXIT=code, STUB_STDOUT=step.file("stub.md", report),
                               DRIFT_FAIL_ON="", RUN_ID="9", RUN_URL="https://example.invalid",
                               SHA="abc")
    assert step.calls() == ["drift -f topology.yaml --format markdown"]
    assert outputs["exitcode"] == str(code)
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    if code == 2:
        issue = step.read("issue.md")
        assert issue.startswith("<!-- coffer-drift: topology.yaml -->\n### Coffer drift")
        assert "modified" in step.read("github-summary")


def test_drift_passes_fail_on_when_the_variable_is_set(tmp_path):
    step = Step(tmp_path, "drift.yml", "Detect drift")
    step.run(STUB_EXIT=0, STUB_STDOUT=step.file("stub.md", "none\n"), DRIFT_FAIL_ON="warning")
    assert step.calls() == ["drift -f topology.yaml --format markdown --fail-on warning"]


def test_plan_and_drift_read_with_the_read_only_role_and_apply_does_not():
    for name in ("plan.yml", "drift.yml"):
        env = workflow(name).get("env", {})
        assert "CofferReadRole" in str(env.get("COFFER_ROLE", "")), f"{name} must set COFFER_ROLE to the read-only role"
    apply_text = (EXAMPLES / "apply.yml").read_text(encoding="utf-8")
    assert "COFFER_ROLE" not in apply_text, "apply.yml must assume the topology's own role"
