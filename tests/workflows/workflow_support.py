"""What the checks of the GitHub Actions examples share (test_workflows.py,
test_workflow_scripts.py, test_release_drill_install.py): the examples' paths, loading a
workflow as GitHub reads it, finding its steps, and running a `run:` script as GitHub does with
a stub `coffer`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "github-actions"
WORKFLOWS = sorted(EXAMPLES.glob("*.yml"))
# The workflows that run coffer (release.yml builds it).
COFFER_WORKFLOWS = [p for p in WORKFLOWS if p.name != "release.yml"]


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans, as GitHub reads workflows: `on` stays a string."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12Loader)


def workflow(name: str) -> dict:
    return load(EXAMPLES / name)


def ids(paths):
    return [p.name for p in paths]


def all_steps(doc: dict):
    for job_id, job in doc["jobs"].items():
        for index, step in enumerate(job.get("steps", [])):
            yield job_id, index, step


def step_named(doc: dict, name: str) -> dict:
    found = [s for _, _, s in all_steps(doc) if s.get("name") == name]
    assert len(found) == 1, f"expected one step named {name!r}, found {len(found)}"
    return found[0]


def only_job(doc: dict) -> dict:
    assert len(doc["jobs"]) == 1
    return next(iter(doc["jobs"].values()))


def uses(step: dict) -> str:
    return step.get("uses", "")


# --------------------------------------------------------------------------------------
# Running a `run:` script with a stub coffer

STUB_COFFER = r"""#!/usr/bin/env bash
# Records its arguments; copies $STUB_JSON to the file after --out; prints $STUB_STDOUT's
# content and $STUB_STDERR; exits $STUB_EXIT.
printf '%s\n' "$*" >> "$STUB_LOG"
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = --out ]; then out="$2"; shift; fi
  shift
done
if [ -n "$out" ] && [ -n "${STUB_JSON:-}" ]; then cp "$STUB_JSON" "$out"; fi
if [ -n "${STUB_STDOUT:-}" ]; then cat "$STUB_STDOUT"; fi
if [ -n "${STUB_STDERR:-}" ]; then printf '%s\n' "$STUB_STDERR" >&2; fi
exit "${STUB_EXIT:-0}"
"""


def plan_json(*changes, delete=0, irreversible=0, digest="d1", fingerprint="f1"):
    return {
        "format_version": 1,
        "topology": "seed",
        "topology_digest": digest,
        "live_fingerprint": fingerprint,
        "summary": {"create": 0, "update": 0, "replace": 0, "delete": delete, "no_op": 0,
                    "blocked": 0, "irreversible": irreversible},
        "changes": list(changes),
        "steps": [],
        "findings": [],
    }


def change(action, kind="vault", flags=()):
    return {"address": f"{kind}.x", "kind": kind, "account": "111222333444",
            "account_name": "source", "region": "eu-west-1", "action": action,
            "before": None, "after": None, "fields": [], "flags": list(flags), "reasons": []}


class Step:
    """Runs one `run:` script as GitHub does (bash -eo pipefail) in a scratch workspace."""

    def __init__(self, tmp_path: Path, workflow_name: str, step_name: str):
        if shutil.which("jq") is None:
            pytest.skip("jq is not on PATH (GitHub's runners have it)")
        doc = workflow(workflow_name)
        step = step_named(doc, step_name)
        self.script = step["run"]
        self.dir = tmp_path
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        stub = bin_dir / "coffer"
        stub.write_text(STUB_COFFER, encoding="utf-8")
        stub.chmod(0o755)
        self.env = {k: str(v) for k, v in doc.get("env", {}).items()}
        self.env.update(
            PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            HOME=str(tmp_path),
            GITHUB_OUTPUT=str(tmp_path / "github-output"),
            GITHUB_STEP_SUMMARY=str(tmp_path / "github-summary"),
            GITHUB_REF_NAME="main",
            STUB_LOG=str(tmp_path / "coffer-calls"),
        )
        for key in ("github-output", "github-summary", "coffer-calls"):
            (tmp_path / key).write_text("", encoding="utf-8")

    def file(self, name: str, content) -> str:
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content),
                        encoding="utf-8")
        return str(path)

    def run(self, **env):
        script = self.dir / "step.sh"
        script.write_text(self.script, encoding="utf-8")
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.dir, env={**self.env, **{k: str(v) for k, v in env.items()}},
            capture_output=True, text=True, timeout=60,
        )
        outputs = dict(
            line.split("=", 1)
            for line in (self.dir / "github-output").read_text(encoding="utf-8").splitlines()
            if "=" in line
        )
        return result, outputs

    def calls(self):
        return (self.dir / "coffer-calls").read_text(encoding="utf-8").splitlines()

    def read(self, name: str) -> str:
        return (self.dir / name).read_text(encoding="utf-8")
