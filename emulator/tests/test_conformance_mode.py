"""Conformance mode (conformance.py) as far as it can be tested without AWS: which tests it
selects, deselects and skips, its settings and their errors, and that collection never reaches
AWS. Nothing here sends traffic outside 127.0.0.1: every pytest started here loads a guard
plugin that records and refuses any AWS API call, any credential look-up and any connection
that is not to the loopback address, and runs without AWS credentials or configuration.
"""

import ast
import json
import os
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import conformance
import pytest
from aws_sandbox import AwsSandbox

TESTS_DIR = Path(__file__).resolve().parent
REPO = TESTS_DIR.parents[1]
FAKE = {"management": "210987654321", "source": "210987654322", "backup": "210987654323"}
COPY_PRINCIPALS = "emulator/tests/test_copy.py::test_documented_access_policy_principals_allow_the_copy"

GUARD = '''
"""Loaded with -p: records, then refuses, any AWS API call, credential look-up or connection
that is not to the loopback address; writes every collected test with its emulator_only reason
(before any deselection) and the selected tests, under keys that do not depend on the mode
(node ID without parameters, then the parameters' indices: some IDs name account IDs)."""
import json
import os
import socket
from pathlib import Path

import botocore.client
import botocore.credentials
import pytest

OUT = Path(os.environ["COFFER_GUARD_DIR"])


def _record(what):
    with open(OUT / "guard.log", "a") as log:
        log.write(what + "\\n")


def _api_call(self, operation, params):
    _record(f"api {self.meta.service_model.service_name} {operation}")
    raise RuntimeError("guard: no AWS call from the conformance-mode tests")


def _credentials(self, *args, **kwargs):
    _record("credentials")
    return None


_connect = socket.socket.connect


def _loopback_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in ("127.0.0.1", "::1"):
        _record(f"connect {address}")
        raise OSError("guard: connections outside 127.0.0.1 are refused")
    return _connect(self, address)


botocore.client.BaseClient._make_api_call = _api_call
botocore.credentials.CredentialResolver.load_credentials = _credentials
socket.socket.connect = _loopback_connect


def _key(item):
    callspec = getattr(item, "callspec", None)
    indices = "" if callspec is None else str(sorted(callspec.indices.items()))
    return item.nodeid.split("[", 1)[0] + indices


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    collected = {}
    for item in items:
        mark = item.get_closest_marker("emulator_only")
        collected[_key(item)] = None if mark is None else mark.kwargs.get("reason", mark.args[0] if mark.args else "")
    (OUT / "collected.json").write_text(json.dumps(collected))


def pytest_collection_finish(session):
    (OUT / "selected.json").write_text(json.dumps([_key(item) for item in session.items]))
'''


class Run:
    """A pytest run in a subprocess under the guard: its result, the node IDs it listed, and what
    the guard wrote: every collected test (mode-independent key) with its emulator_only reason
    or None, the keys of the selected tests, and the AWS access it refused."""

    def __init__(self, result: subprocess.CompletedProcess[str], out: Path):
        self.result = result
        self.output = result.stdout + result.stderr
        self.ids = [line for line in result.stdout.splitlines() if "::" in line and not line.startswith(" ")]
        self.collected: dict[str, str | None] = _json(out / "collected.json", {})
        self.selected: list[str] = _json(out / "selected.json", [])
        self.guard_log = (out / "guard.log").read_text() if (out / "guard.log").exists() else ""

    @property
    def marked(self) -> dict[str, str]:
        return {key: reason for key, reason in self.collected.items() if reason is not None}


def _json(path: Path, default: Any) -> Any:
    return json.loads(path.read_text()) if path.exists() else default


def _pytest(directory: Path, setting: str | None, *arguments: str) -> Run:
    """``python -m pytest ARGUMENTS`` from the repository root, with ``COFFER_CONFORMANCE`` set
    to ``setting`` (None: unset) and no AWS environment at all."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "coffer_aws_guard.py").write_text(GUARD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != conformance.ENV}
    env.update(
        PYTHONPATH=str(directory),
        COFFER_GUARD_DIR=str(directory),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(directory / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(directory / "no-aws-credentials"),
    )
    if setting is not None:
        env[conformance.ENV] = setting
    command = [sys.executable, "-m", "pytest", "-p", "coffer_aws_guard", "-p", "no:cacheprovider", *arguments]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    return Run(result, directory)


def _collect(directory: Path, setting: str | None) -> Run:
    return _pytest(directory, setting, "--collect-only", "-q", str(TESTS_DIR))


@pytest.fixture(scope="module")
def emulator_mode(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _collect(tmp_path_factory.mktemp("emulator-mode"), None)


@pytest.fixture(scope="module")
def conformance_mode(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _collect(tmp_path_factory.mktemp("conformance-mode"), json.dumps(FAKE))


# ----------------------------------------------------------------------------- selection


def test_conformance_mode_deselects_exactly_the_emulator_only_tests(emulator_mode: Run, conformance_mode: Run) -> None:
    assert conformance_mode.result.returncode == 0, conformance_mode.output
    assert emulator_mode.result.returncode == 0, emulator_mode.output
    assert set(conformance_mode.collected) == set(emulator_mode.collected)  # the same tests, marked alike
    marked = conformance_mode.marked
    assert marked and all(isinstance(reason, str) and reason for reason in marked.values()), marked
    assert set(conformance_mode.selected) == set(conformance_mode.collected) - set(marked)
    assert len(conformance_mode.ids) == len(conformance_mode.selected)
    assert f"({len(marked)} deselected)" in conformance_mode.result.stdout
    assert f"conformance mode: {len(marked)} emulator-only tests deselected:" in conformance_mode.result.stdout


@pytest.mark.parametrize(
    "node",
    [
        "test_faults.py::test_added_latency",
        "test_launcher.py::test_binds_only_127_0_0_1",
        "test_policy_corpus.py::test_the_corpus_has_enough_cases",
        "test_smoke.py::test_smoke_script",
        "test_vaults.py::test_governance_lock_is_removable_at_any_time",
        "test_jobs.py::test_job_moves_through_created_running_completed",
        "test_copy.py::test_documented_access_policy_principals_allow_the_copy[org-path-wildcard]",
        "test_key_policies.py::test_put_key_policy_refuses_a_policy_that_locks_the_caller_out[other-account-only]",
    ],
)
def test_emulator_only_tests_are_not_selected(emulator_mode: Run, conformance_mode: Run, node: str) -> None:
    node_id = f"emulator/tests/{node}"
    assert node_id in emulator_mode.ids
    assert node_id not in conformance_mode.ids


@pytest.mark.parametrize(
    "node",
    [
        "test_key_policies.py::test_same_account_needs_an_allow",
        "test_key_policies.py::test_put_key_policy_refuses_a_policy_that_locks_the_caller_out[deny-put-key-policy]",
        "test_copy.py::test_destination_vault_without_access_policy",
        "test_copy.py::test_documented_access_policy_principals_allow_the_copy[org-id]",
        "test_vaults.py::test_lock_bounds_are_validated[arguments0]",
        "test_vault_access_policies.py::test_another_account_is_refused_whatever_the_policy",
        "test_launcher.py::test_plain_credentials_act_as_management_account",
        "test_assume_role.py::test_missing_role_is_access_denied_with_aws_message",
    ],
)
def test_tests_that_can_run_on_aws_are_selected(conformance_mode: Run, node: str) -> None:
    assert f"emulator/tests/{node}" in conformance_mode.ids


def test_collection_never_reaches_aws(emulator_mode: Run, conformance_mode: Run) -> None:
    """No AWS call, credential look-up or outside connection while collecting (organization
    values are discovered by the session fixture, which collection does not run)."""
    assert conformance_mode.guard_log == ""
    assert emulator_mode.guard_log == ""


def test_without_the_variable_nothing_is_deselected(emulator_mode: Run) -> None:
    summary = emulator_mode.result.stdout.strip().splitlines()[-1]
    assert summary.startswith(f"{len(emulator_mode.ids)} tests collected in "), summary
    assert "conformance mode" not in emulator_mode.output
    assert emulator_mode.marked  # marked tests are collected like the others
    assert set(emulator_mode.selected) == set(emulator_mode.collected)


def test_cases_naming_the_organization_wait_for_discovery(tmp_path: Path) -> None:
    """Parameters computed at import from ORG_ID / ORG_PATH hold a placeholder until the session
    fixture discovers the organization: those cases are skipped, before any fixture runs, unless
    the settings give org_id and org_path."""
    nodes = [f"{COPY_PRINCIPALS}[org-id]", f"{COPY_PRINCIPALS}[org-path]"]
    skipped = _pytest(tmp_path / "discovered", json.dumps(FAKE), "-q", "-rs", *nodes)
    assert skipped.result.returncode == 0, skipped.output
    assert "2 skipped" in skipped.result.stdout
    assert "give org_id and org_path in COFFER_CONFORMANCE" in skipped.result.stdout
    assert skipped.guard_log == ""

    given = {**FAKE, "org_id": "o-abcdefghij", "org_path": "o-abcdefghij/r-ab12/ou-ab12-cdefghij/"}
    planned = _pytest(tmp_path / "given", json.dumps(given), "--setup-plan", "-q", *nodes)
    assert "skipped" not in planned.result.stdout, planned.output
    assert "SETUP    S emulator" in planned.result.stdout
    assert planned.guard_log == ""


def test_a_mark_without_reason_is_refused(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {str(TESTS_DIR)!r})\nimport conformance\n\n\n"
        "def pytest_collection_modifyitems(config, items):\n    conformance.select(config, items)\n"
    )
    (suite / "test_unexplained.py").write_text(
        "import pytest\n\n\n@pytest.mark.emulator_only\ndef test_it():\n    pass\n"
    )
    run = _pytest(tmp_path / "guard", json.dumps(FAKE), "--collect-only", "-q", str(suite))
    assert run.result.returncode == pytest.ExitCode.USAGE_ERROR, run.output
    assert "test_unexplained.py::test_it: @pytest.mark.emulator_only needs a reason" in run.output


def test_marks_sit_on_tests() -> None:
    """An ``emulator_only`` mark on a helper deselects nothing: every function or class it
    decorates in the test modules is a test."""
    for path in sorted(TESTS_DIR.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                marked = any("emulator_only" in ast.unparse(decorator) for decorator in node.decorator_list)
                assert not marked or node.name.startswith(("test_", "Test")), f"{path.name}: {node.name}"


# ----------------------------------------------------------------------------- settings


def test_a_malformed_variable_stops_the_run_naming_it(tmp_path: Path) -> None:
    run = _collect(tmp_path, '{"management": "210987654321", ')
    assert run.result.returncode == pytest.ExitCode.USAGE_ERROR, run.output
    assert "COFFER_CONFORMANCE is not valid JSON" in run.output
    assert run.ids == []
    assert run.guard_log == ""


def _with(**changes: Any) -> str:
    return json.dumps({**FAKE, **changes})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"management": ', "COFFER_CONFORMANCE is not valid JSON"),
        ("[1, 2]", "neither a JSON object nor the path of an existing file"),
        ("no/such/settings.yaml", "neither a JSON object nor the path of an existing file"),
        ('{"management": "210987654321"}', "COFFER_CONFORMANCE: missing key(s) source, backup"),
        (_with(regoin="eu-west-1"), "COFFER_CONFORMANCE: unknown key(s) regoin"),
        (_with(source=210987654322), "source must be a quoted string of 12 digits"),
        (_with(backup="6667778889"), "backup must be an AWS account ID (12 digits)"),
        (_with(backup=FAKE["source"]), "three different accounts"),
        (_with(region="Ireland"), "COFFER_CONFORMANCE: region 'Ireland' does not match"),
        (_with(role="Coffer Deploy"), "COFFER_CONFORMANCE: role 'Coffer Deploy' does not match"),
        (_with(org_id="o-short"), "COFFER_CONFORMANCE: org_id 'o-short' does not match"),
        (_with(poll_seconds=0), "poll_seconds must be a positive number of seconds"),
    ],
    ids=[
        "not-json", "not-an-object", "no-such-file", "missing-accounts", "unknown-key", "unquoted-id",
        "short-id", "same-account", "region", "role", "org-id", "poll-seconds",
    ],
)
def test_malformed_settings_name_the_variable(value: str, message: str) -> None:
    with pytest.raises(conformance.ConformanceError) as excinfo:
        conformance.parse(value)
    assert message in str(excinfo.value)
    assert str(excinfo.value).startswith("COFFER_CONFORMANCE")


def test_settings_from_a_yaml_or_json_file(tmp_path: Path) -> None:
    yaml_file = tmp_path / "sandbox.yaml"
    yaml_file.write_text(
        'management: "210987654321"\nsource: "210987654322"\nbackup: "210987654323"\nregion: eu-central-1\n'
    )
    settings = conformance.parse(str(yaml_file))
    assert settings.accounts == ("210987654321", "210987654322", "210987654323")
    assert (settings.region, settings.role, settings.org_id) == ("eu-central-1", "CofferDeployRole", None)

    json_file = tmp_path / "sandbox.json"
    json_file.write_text(_with(role="ConformanceRole"))
    assert conformance.parse(str(json_file)).role == "ConformanceRole"

    unquoted = tmp_path / "unquoted.yaml"
    unquoted.write_text("management: 210987654321\nsource: 210987654322\nbackup: 210987654323\n")
    with pytest.raises(conformance.ConformanceError, match="management must be a quoted string of 12 digits"):
        conformance.parse(str(unquoted))


def test_constants_follow_the_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(conformance.ENV, raising=False)
    assert conformance.constant("source", "111222333444") == "111222333444"
    monkeypatch.setenv(conformance.ENV, "   ")  # blank: unset
    assert not conformance.enabled()
    assert conformance.constant("region", "eu-west-1") == "eu-west-1"

    monkeypatch.setenv(conformance.ENV, _with(region="us-east-2"))
    assert conformance.enabled()
    assert conformance.constant("source", "111222333444") == FAKE["source"]
    assert conformance.constant("region", "eu-west-1") == "us-east-2"
    assert conformance.PLACEHOLDER in conformance.constant("org_id", "o-coffer0seed")
    monkeypatch.setenv(conformance.ENV, _with(org_id="o-abcdefghij"))
    assert conformance.constant("org_id", "o-coffer0seed") == "o-abcdefghij"


def _module(name: str, **values: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = str(TESTS_DIR / f"{name}.py")
    for key, value in values.items():
        setattr(module, key, value)
    return module


def test_discovered_organization_replaces_the_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(conformance.ENV, json.dumps(FAKE))
    held = conformance.constant("org_id", "o-coffer0seed")
    tests = _module("test_fake", ORG_ID=held, ORG_PATH=conformance.constant("org_path", "x"))
    elsewhere = _module("elsewhere", ORG_ID=held)
    elsewhere.__file__ = "/somewhere/else.py"
    fixed = _module("test_fixed", ORG_ID="o-written0in")

    conformance.publish("o-abcdefghij", "o-abcdefghij/r-ab12/", [tests, elsewhere, fixed])
    assert (tests.ORG_ID, tests.ORG_PATH) == ("o-abcdefghij", "o-abcdefghij/r-ab12/")
    assert elsewhere.ORG_ID == held  # only the tests' own modules
    assert fixed.ORG_ID == "o-written0in"  # only placeholders


def test_configured_organization_must_match_the_discovered_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(conformance.ENV, _with(org_id="o-abcdefghij"))
    with pytest.raises(conformance.ConformanceError, match="org_id is 'o-abcdefghij', but the organization has"):
        conformance.publish("o-zzzzzzzzzz", "o-zzzzzzzzzz/r-zz12/", [])


# ----------------------------------------------------------------------------- the AWS handle


@pytest.mark.parametrize(
    ("call", "facility"),
    [
        (lambda sandbox: sandbox.admin("GET", "requests"), "the admin API"),
        (lambda sandbox: sandbox.load_world("seed-aws-rds.yaml"), "a world other than the seed world"),
        (lambda sandbox: sandbox.load_world(text="region: eu-west-1\n"), "a world other than the seed world"),
    ],
)
def test_emulator_only_facilities_name_the_mark(call: Callable[[Any], Any], facility: str) -> None:
    """A test that reaches an emulator-only facility on AWS is told to mark itself (the handle
    makes no AWS call for this)."""
    sandbox = AwsSandbox(conformance.validate(dict(FAKE)))
    assert sandbox.url is None and sandbox.PLAIN_CREDENTIALS == {}
    with pytest.raises(conformance.EmulatorOnlyError) as excinfo:
        call(sandbox)
    assert facility in str(excinfo.value)
    assert "@pytest.mark.emulator_only(reason=...)" in str(excinfo.value)
