"""Checks of release.yml, drill.yml, the install block of every workflow that runs coffer,
and plan.yml's skip when a pull request does not change the topology.

Run with: emulator/.venv/bin/python -m pytest tests/workflows -q

The rules every workflow keeps (the GitHub workflow schema, permissions, pinned actions,
shellcheck of every `run:` script, ...) are in test_workflows.py and cover these files too.
Here: what each of them is for, and their important scripts run with stubs (`gh`, `coffer`)
in a scratch directory.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tarfile

import pytest
import workflow_support
from workflow_support import (
    COFFER_WORKFLOWS,
    EXAMPLES,
    all_steps,
    load,
    only_job,
    step_named,
    uses,
    workflow,
)


class Step(workflow_support.Step):
    """workflow_support.Step in a directory created first."""

    def __init__(self, tmp_path, workflow_name, step_name):
        tmp_path.mkdir(parents=True, exist_ok=True)
        super().__init__(tmp_path, workflow_name, step_name)


INSTALL_START = "      # ---- Install coffer:"
INSTALL_END = "      # ---- end of the install block\n"
CHANGED = "steps.changed.outputs.topology == 'true'"


# --------------------------------------------------------------------------------------
# The install block


def install_steps(path):
    """The install block's steps, with plan.yml's "topology changed" condition taken off."""
    doc = load(path)
    (job,) = doc["jobs"].values()
    names = [s.get("name") for s in job["steps"]]
    first = names.index("Download the released coffer")
    last = names.index("Put coffer on PATH")
    steps = json.loads(json.dumps(job["steps"][first:last + 1]))
    for step in steps:
        condition = step.get("if")
        if condition == CHANGED:
            del step["if"]
        elif condition and condition.startswith(f"{CHANGED} && ("):
            step["if"] = condition[len(f"{CHANGED} && ("):-1]
    return steps


def test_every_workflow_that_runs_coffer_installs_it_with_the_same_block():
    blocks = {path.name: install_steps(path) for path in COFFER_WORKFLOWS}
    assert set(blocks) == {"plan.yml", "apply.yml", "drift.yml", "drill.yml"}
    first = blocks["apply.yml"]
    for name, block in blocks.items():
        assert block == first, f"{name}'s install block differs from apply.yml's"
    texts = set()
    for path in COFFER_WORKFLOWS:
        text = path.read_text(encoding="utf-8")
        start = text.index(INSTALL_START)
        texts.add(re.sub(r"\n\s+if: steps\.changed\.outputs\.topology == 'true'(?= *\n)", "",
                         text[start:text.index(INSTALL_END, start)]))
    assert len({re.sub(rf"{re.escape(CHANGED)} && \((.*)\)", r"\1", t) for t in texts}) == 1


def test_the_released_binary_first_then_cargo_install_from_source():
    steps = {s["name"]: s for s in install_steps(EXAMPLES / "apply.yml")}
    download = steps["Download the released coffer"]
    assert "gh release download" in download["run"] and "SHA256SUMS" in download["run"]
    assert "sha256sum --check" in download["run"]
    assert download["env"]["COFFER_REF"] == "${{ vars.COFFER_REF }}"
    fallback = "steps.coffer-release.outputs.installed != 'true'"
    checkout = steps["Check out Coffer's source"]
    assert uses(checkout).startswith("actions/checkout@") and checkout["if"] == fallback
    assert checkout["with"]["ref"] == "${{ vars.COFFER_REF }}"
    assert checkout["with"]["path"] == ".coffer-src"
    assert checkout["with"]["persist-credentials"] is False
    assert steps["Restore the coffer binary"]["if"] == fallback
    build = steps["Build coffer"]
    assert fallback in build["if"] and "cache-hit != 'true'" in build["if"]
    assert "cargo +stable install --locked --path .coffer-src/crates/cli --root .coffer-bin" in build["run"]
    put = steps["Put coffer on PATH"]
    assert "if" not in put and put["id"] == "coffer"
    assert "version=" in put["run"]


TARGET = "x86_64-unknown-linux-gnu"
TAG = "v9.9.9"
ARCHIVE = f"coffer-{TAG}-{TARGET}.tar.gz"

STUB_GH = r"""#!/usr/bin/env bash
# `gh release download TAG --repo R --dir D --pattern A --pattern B`: copies the files of
# $STUB_RELEASE that match the patterns into D, or fails like gh when there is no release.
printf '%s\n' "$*" >> "$STUB_LOG"
if [ "$1 $2" = "release download" ]; then
  [ -n "${STUB_RELEASE:-}" ] || { echo "release not found" >&2; exit 1; }
  dir=""; patterns=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --dir) dir="$2"; shift ;;
      --pattern) patterns+=("$2"); shift ;;
    esac
    shift
  done
  for p in "${patterns[@]}"; do
    [ -f "$STUB_RELEASE/$p" ] || { echo "no assets match the file pattern" >&2; exit 1; }
    cp "$STUB_RELEASE/$p" "$dir/"
  done
  exit 0
fi
if [ "$1" = api ]; then
  [ "${STUB_GH_EXIT:-0}" = 0 ] || exit "$STUB_GH_EXIT"
  cat "$STUB_FILES"
  exit 0
fi
exit 1
"""


def with_gh(step: Step) -> Step:
    stub = step.dir / "bin" / "gh"
    stub.write_text(STUB_GH, encoding="utf-8")
    stub.chmod(0o755)
    return step


def release(tmp_path, *, tamper=False, line=True):
    """A release directory with the archive (a fake `coffer`) and SHA256SUMS."""
    folder = tmp_path / "release"
    folder.mkdir()
    binary = tmp_path / "coffer-built"
    binary.write_text("#!/bin/sh\necho coffer 9.9.9\n", encoding="utf-8")
    binary.chmod(0o755)
    with tarfile.open(folder / ARCHIVE, "w:gz") as archive:
        archive.add(binary, arcname="coffer")
    digest = hashlib.sha256((folder / ARCHIVE).read_bytes()).hexdigest()
    if tamper:
        digest = "0" * 64
    lines = [f"{'1' * 64}  coffer-{TAG}-aarch64-apple-darwin.tar.gz"]
    if line:
        lines.append(f"{digest}  {ARCHIVE}")
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def download_step(tmp_path):
    step = with_gh(Step(tmp_path / "work", "apply.yml", "Download the released coffer"))
    return step


@pytest.fixture
def work(tmp_path):
    (tmp_path / "work").mkdir()
    return tmp_path


ENV = dict(RUNNER_OS="Linux", RUNNER_ARCH="X64", COFFER_REF=TAG, COFFER_REPOSITORY="acme/coffer",
           GITHUB_REPOSITORY="acme/topology")


def test_the_released_binary_is_installed_when_its_checksum_matches(work):
    step = download_step(work)
    result, outputs = step.run(**ENV, STUB_RELEASE=release(work))
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs == {"installed": "true"}
    installed = step.dir / ".coffer-bin/bin/coffer"
    assert subprocess.run([installed], capture_output=True, text=True).stdout == "coffer 9.9.9\n"
    # The stub gh logs its arguments where the stub coffer would (coffer is not run here).
    assert step.calls() == [
        f"release download {TAG} --repo acme/coffer --dir .coffer-download "
        f"--pattern {ARCHIVE} --pattern SHA256SUMS"
    ]
    assert f"{ARCHIVE}: OK" in result.stdout


@pytest.mark.parametrize(("tamper", "line", "message"), [
    (True, True, "coffer checksum mismatch"),
    (False, False, "No checksum for coffer"),
])
def test_a_wrong_or_missing_checksum_fails_and_installs_nothing(work, tamper, line, message):
    step = download_step(work)
    result, outputs = step.run(**ENV, STUB_RELEASE=release(work, tamper=tamper, line=line))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"::error title={message}" in result.stdout
    assert "installed" not in outputs, "no fallback to a build: the job fails"
    assert not (step.dir / ".coffer-bin/bin/coffer").exists()


@pytest.mark.parametrize("env", [
    {"STUB_RELEASE": ""},                                  # no such release (a commit SHA)
    {"RUNNER_OS": "Windows"},                              # no binary for the runner
    {"COFFER_REF": ""},                                    # no version set
])
def test_without_a_released_binary_the_source_build_takes_over(work, env):
    step = download_step(work)
    folder = release(work)
    result, outputs = step.run(**{**ENV, "STUB_RELEASE": folder, **env})
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs == {"installed": "false"}
    assert "::notice title=coffer is built from source::" in result.stdout


def test_a_release_without_the_runners_archive_is_built_from_source(work):
    step = download_step(work)
    folder = release(work)
    (folder / ARCHIVE).unlink()
    result, outputs = step.run(**ENV, STUB_RELEASE=folder)
    assert result.returncode == 0
    assert outputs == {"installed": "false"}


# --------------------------------------------------------------------------------------
# plan.yml: on every pull request, skipping at once when the topology did not change


def test_every_plan_step_after_the_filter_depends_on_it():
    doc = workflow("plan.yml")
    steps = only_job(doc)["steps"]
    assert steps[0]["name"] == "Did the topology change?" and steps[0]["id"] == "changed"
    assert "if" not in steps[0]
    for step in steps[1:]:
        condition = step.get("if", "")
        assert condition.startswith((CHANGED, "${{ " + CHANGED)), (
            f"{step['name']}: every step after the filter is skipped when nothing changed"
        )
        # The rest of the condition is kept whole, in parentheses.
        rest = condition.removeprefix("${{ ").removesuffix(" }}").removeprefix(CHANGED)
        assert rest == "" or (rest.startswith(" && (") and rest.endswith(")")), condition
    assert doc["env"]["PLAN_PATHS"].split() == [".github/workflows/plan.yml"]


def changed_step(tmp_path, files, **env):
    step = with_gh(Step(tmp_path, "plan.yml", "Did the topology change?"))
    step.file("pr-files.txt", "".join(f"{f}\n" for f in files))
    defaults = dict(GITHUB_EVENT_NAME="pull_request", GITHUB_REPOSITORY="acme/topology",
                    PR_NUMBER="7", STUB_FILES=str(step.dir / "pr-files.txt"))
    return step.run(**{**defaults, **env}), step


@pytest.mark.parametrize(("files", "planned"), [
    (["topology.yaml"], "true"),
    (["README.md", "topology.yaml"], "true"),
    ([".github/workflows/plan.yml"], "true"),
    (["README.md", "docs/topology.yaml", "topology.yaml.bak"], "false"),
    ([], "false"),
])
def test_the_filter_plans_only_pull_requests_that_change_the_topology(tmp_path, files, planned):
    (result, outputs), step = changed_step(tmp_path, files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs == {"topology": planned}
    if planned == "false":
        assert "nothing to plan" in step.read("github-summary")


def test_the_filter_takes_directories_from_plan_paths(tmp_path):
    (result, outputs), _ = changed_step(tmp_path, ["policies/vault.json"],
                                        PLAN_PATHS="policies/\n")
    assert result.returncode == 0 and outputs == {"topology": "true"}
    (result, outputs), _ = changed_step(tmp_path / "b", ["policies-old/vault.json"],
                                        PLAN_PATHS="policies/\n")
    assert outputs == {"topology": "false"}


def test_the_filter_plans_when_run_by_hand_or_when_the_files_are_unknown(tmp_path):
    (result, outputs), _ = changed_step(tmp_path, [], GITHUB_EVENT_NAME="workflow_dispatch")
    assert result.returncode == 0 and outputs == {"topology": "true"}
    (result, outputs), _ = changed_step(tmp_path / "b", [], STUB_GH_EXIT="1")
    assert result.returncode == 0 and outputs == {"topology": "true"}
    assert "::warning" in result.stdout


# --------------------------------------------------------------------------------------
# release.yml


def test_release_runs_on_version_tags_and_builds_linux_and_macos():
    doc = workflow("release.yml")
    assert doc["on"] == {"push": {"tags": ["v*"]}}
    build = doc["jobs"]["build"]
    targets = [row["target"] for row in build["strategy"]["matrix"]["include"]]
    assert any("linux" in t for t in targets) and any("apple-darwin" in t for t in targets)
    assert {"x86_64-unknown-linux-gnu", "aarch64-apple-darwin"} <= set(targets)
    assert build["strategy"]["fail-fast"] is False
    assert build["permissions"] == {"contents": "read"}
    compile_step = step_named(doc, "Build")["run"]
    assert "--release" in compile_step and "--locked" in compile_step and "-p coffer" in compile_step
    assert '--target "$TARGET"' in compile_step
    assert uses(step_named(doc, "Upload the package")).startswith("actions/upload-artifact@")
    publish = doc["jobs"]["release"]
    assert publish["needs"] == "build", "published only after every build succeeded"
    assert publish["permissions"] == {"contents": "write"}
    verify = step_named(doc, "Verify the checksums and write SHA256SUMS")
    assert int(verify["env"]["TARGETS"]) == len(targets)
    assert "gh release create" in step_named(doc, "Publish the release")["run"]


def test_release_refuses_a_tag_that_is_not_the_version(tmp_path):
    step = Step(tmp_path, "release.yml", "Check the tag is the version")
    step.file("Cargo.toml", '[workspace]\n\n[workspace.package]\nversion = "1.2.3"\n')
    result, _ = step.run(GITHUB_REF_NAME="v1.2.3")
    assert result.returncode == 0, result.stdout + result.stderr
    result, _ = step.run(GITHUB_REF_NAME="v1.2.4")
    assert result.returncode == 1 and "::error title=Tag and version differ::" in result.stdout


def packed(tmp_path, target):
    step = Step(tmp_path, "release.yml", "Pack with its checksum")
    binary = step.dir / f"target/{target}/release/coffer"
    binary.parent.mkdir(parents=True)
    binary.write_text(f"#!/bin/sh\necho {target}\n", encoding="utf-8")
    result, _ = step.run(GITHUB_REF_NAME=TAG, TARGET=target)
    assert result.returncode == 0, result.stdout + result.stderr
    return step.dir / "dist"


def test_each_package_carries_its_checksum_and_sha256sums_gathers_them(tmp_path):
    targets = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "aarch64-apple-darwin",
               "x86_64-apple-darwin"]
    verify = Step(tmp_path / "publish", "release.yml", "Verify the checksums and write SHA256SUMS")
    dist = verify.dir / "dist"
    dist.mkdir()
    for target in targets:
        for file in packed(tmp_path / target, target).iterdir():
            (dist / file.name).write_bytes(file.read_bytes())
    with tarfile.open(dist / f"coffer-{TAG}-{targets[0]}.tar.gz") as archive:
        assert archive.getnames() == ["coffer"]
    result, _ = verify.run(TARGETS="4")
    assert result.returncode == 0, result.stdout + result.stderr
    sums = (dist / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    assert sorted(line.split()[1] for line in sums) == sorted(
        f"coffer-{TAG}-{t}.tar.gz" for t in targets)
    assert (dist / "SHA256SUMS").read_text(encoding="utf-8") in verify.read("github-summary")

    # A package changed after its build, or one missing, stops the release.
    victim = dist / f"coffer-{TAG}-{targets[1]}.tar.gz"
    victim.write_bytes(victim.read_bytes() + b"x")
    result, _ = verify.run(TARGETS="4")
    assert result.returncode != 0
    victim.unlink()
    result, _ = verify.run(TARGETS="4")
    assert result.returncode == 1 and "Packages missing" in result.stdout


def test_publishing_creates_the_release_or_replaces_its_files(tmp_path):
    step = Step(tmp_path, "release.yml", "Publish the release")
    gh = step.dir / "bin" / "gh"
    gh.write_text('#!/usr/bin/env bash\nprintf \'%s\\n\' "$*" >> "$STUB_LOG"\n'
                  '[ "$1 $2" != "release view" ] || exit "${STUB_VIEW_EXIT:-1}"\n', encoding="utf-8")
    gh.chmod(0o755)
    step.file("dist/SHA256SUMS", "x\n")
    result, _ = step.run(GITHUB_REF_NAME=TAG, GITHUB_REPOSITORY="acme/coffer", STUB_VIEW_EXIT="1")
    assert result.returncode == 0, result.stderr
    calls = step.calls()
    assert calls[0].startswith(f"release view {TAG}")
    assert calls[1].startswith(f"release create {TAG} dist/SHA256SUMS --repo acme/coffer --verify-tag")
    (step.dir / "coffer-calls").write_text("", encoding="utf-8")
    step.run(GITHUB_REF_NAME=TAG, GITHUB_REPOSITORY="acme/coffer", STUB_VIEW_EXIT="0")
    assert step.calls()[1] == f"release upload {TAG} dist/SHA256SUMS --repo acme/coffer --clobber"


# --------------------------------------------------------------------------------------
# drill.yml


def test_drill_runs_weekly_and_by_hand_with_the_drill_role():
    doc = workflow("drill.yml")
    (schedule,) = doc["on"]["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert minute.isdigit() and hour.isdigit() and (day, month) == ("*", "*")
    assert weekday.isdigit(), "weekly: one day of the week"
    assert set(doc["on"]["workflow_dispatch"]["inputs"]) == {"plan", "resource"}
    job = only_job(doc)
    assert job["permissions"] == {"contents": "read", "id-token": "write", "issues": "write"}
    assert job["timeout-minutes"] >= 120, "drills take long"
    assert doc["concurrency"] == {"group": "coffer-drill", "cancel-in-progress": False}
    aws = [s for _, _, s in all_steps(doc) if uses(s).startswith("aws-actions/")]
    assert [s["with"]["role-to-assume"] for s in aws] == ["${{ vars.COFFER_DRILL_ROLE_ARN }}"]
    assert "CofferDrillRole" in doc["env"]["COFFER_ROLE"]


def test_drill_files_one_issue_on_failure_and_closes_it_when_a_drill_passes():
    doc = workflow("drill.yml")
    issue = step_named(doc, "Open, update or close the drill issue")
    assert issue["if"] == "${{ !cancelled() }}", "also when coffer could not even run"
    script = issue["with"]["script"]
    for needle in ("labels: label", "i.title === title", "issues.create(", "createComment(",
                   "state: 'closed'", "fs.existsSync('drill.md')"):
        assert needle in script
    assert doc["env"]["DRILL_LABEL"] == "coffer:drill"
    gate = step_named(doc, "Fail when the drill failed")
    assert gate["if"] == "steps.drill.outputs.exitcode != '0'" and "exit 1" in gate["run"]
    assert only_job(doc)["steps"][-1] is gate


@pytest.mark.parametrize(("code", "word"), [(0, "passed"), (1, "failed")])
def test_drill_step_writes_the_report_and_defers_failure_to_the_gate(tmp_path, code, word):
    step = Step(tmp_path, "drill.yml", "Run the drill")
    report = "drill of plan orders-daily: backup ok, copy to vault.central ok, restore ok\n"
    result, outputs = step.run(STUB_EXIT=code, STUB_STDOUT=step.file("stub.txt", report),
                               STUB_STDERR="error: restore failed" if code else "",
                               DRILL_PLAN="", DRILL_RESOURCE="", RUN_ID="5",
                               RUN_URL="https://example.invalid/run/5", SHA="abc")
    assert result.returncode == 0, "the issue is filed first; the last step fails the job"
    assert outputs == {"exitcode": str(code)}
    assert step.calls() == ["drill -f topology.yaml"]
    body = step.read("drill.md")
    assert body.startswith("<!-- coffer-drill: topology.yaml -->\n### Coffer drill " + word)
    assert "copy to vault.central ok" in body
    assert ("error: restore failed" in body) == bool(code)
    assert word in step.read("github-summary")


def test_drill_passes_the_plan_and_resource_inputs(tmp_path):
    step = Step(tmp_path, "drill.yml", "Run the drill")
    step.run(STUB_EXIT=0, DRILL_PLAN="orders-daily", DRILL_RESOURCE="arn:aws:rds:x:1:db:orders",
             RUN_ID="5", RUN_URL="u", SHA="s")
    assert step.calls() == [
        "drill -f topology.yaml --plan orders-daily --resource arn:aws:rds:x:1:db:orders"
    ]
