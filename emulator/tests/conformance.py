"""Conformance mode: the emulator's tests run against a real AWS sandbox organization.

Off by default. With ``COFFER_CONFORMANCE`` set (a JSON object, or the path of a JSON or YAML
file holding one), no emulator is started: the ``emulator`` / ``emu`` fixtures give an
``AwsSandbox`` handle (aws_sandbox.py) with the interface the tests use (``client``,
``credentials``, ``wait_*_job``, ``load_world``), whose clients talk to AWS: the default
credential chain for the management account, ``sts:AssumeRole`` into the configured role for the
other accounts. The constants of support.py (accounts, Region, organization) come from
:func:`constant`. This module holds the settings and the selection of the tests.

Settings (account IDs are quoted 12-digit strings)::

    {"management": "ID", "source": "ID", "backup": "ID",      # required
     "role": "CofferDeployRole", "region": "eu-west-1",       # defaults shown
     "org_id": "o-...", "org_path": "o-.../r-.../ou-.../",    # optional, else discovered
     "poll_seconds": 30, "job_timeout_seconds": 10800, "cleanup_timeout_seconds": 1800}

Nothing here contacts AWS at import or collection time: the organization is discovered
(``DescribeOrganization``, ``ListParents``) by the session fixture (``aws_sandbox.sandbox_session``).
Tests marked ``emulator_only(reason=...)`` are deselected in conformance mode; in emulator mode
the mark changes nothing. Exercised here only as far as selecting and skipping; never run
against AWS by this project's CI (see emulator/README.md, "Conformance mode").
"""

import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ENV = "COFFER_CONFORMANCE"
MARKER = "emulator_only"
MARKER_HELP = (
    f"{MARKER}(reason='<category>: <detail>'): the test cannot run against real AWS (categories: clock, faults, "
    "request log, admin API, world, launcher, job delay, eventual consistency, emulator-only feature, policy "
    f"engine, unsafe on AWS); deselected when {ENV} is set"
)
TESTS_DIR = Path(__file__).resolve().parent
# Stands for ORG_ID / ORG_PATH until the session fixture has discovered them (see ``publish``).
PLACEHOLDER = "<discovered at session start>"
ACCOUNT_ID_PATTERN = re.compile(r"^\d{12}$")
ROLE_NAME_PATTERN = re.compile(r"^[\w+=,.@-]{1,64}$")
REGION_NAME_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
ORG_ID_PATTERN = re.compile(r"^o-[a-z0-9]{10,32}$")
ORG_PATH_PATTERN = re.compile(r"^o-[a-z0-9]{10,32}/r-[0-9a-z]{4,32}/(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}/)*$")


class ConformanceError(Exception):
    """A conformance-mode problem the user must fix; the message names ``COFFER_CONFORMANCE``."""


class EmulatorOnlyError(RuntimeError):
    """A test reached an emulator-only facility while running against AWS."""

    def __init__(self, facility: str):
        super().__init__(
            f"{facility} exists only in the emulator; mark the test "
            f"@pytest.mark.{MARKER}(reason=...) so that {ENV} deselects it"
        )


# ----------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """The sandbox described by ``COFFER_CONFORMANCE``."""

    management: str
    source: str
    backup: str
    role: str = "CofferDeployRole"
    region: str = "eu-west-1"
    org_id: str | None = None
    org_path: str | None = None
    poll_seconds: float = 30.0
    job_timeout_seconds: float = 10800.0
    cleanup_timeout_seconds: float = 1800.0

    @property
    def accounts(self) -> tuple[str, str, str]:
        return (self.management, self.source, self.backup)


REQUIRED = ("management", "source", "backup")
NUMBERS = ("poll_seconds", "job_timeout_seconds", "cleanup_timeout_seconds")
PATTERNS = {
    "role": ROLE_NAME_PATTERN,
    "region": REGION_NAME_PATTERN,
    "org_id": ORG_ID_PATTERN,
    "org_path": ORG_PATH_PATTERN,
}


def settings() -> Settings | None:
    """The conformance settings, or None when ``COFFER_CONFORMANCE`` is unset or empty."""
    raw = os.environ.get(ENV, "").strip()
    return parse(raw) if raw else None


def enabled() -> bool:
    """Whether the tests run against AWS (``COFFER_CONFORMANCE`` set)."""
    return settings() is not None


@cache
def parse(raw: str) -> Settings:
    """Settings from the variable's value: a JSON object, or the path of a JSON/YAML file."""
    return validate(_document(raw))


def _document(raw: str) -> Any:
    if raw.startswith("{"):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as error:
            raise ConformanceError(f"{ENV} is not valid JSON: {error}") from None
    path = Path(raw).expanduser()
    if not path.is_file():
        raise ConformanceError(f"{ENV}={raw!r} is neither a JSON object nor the path of an existing file")
    text = path.read_text()
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as error:
        raise ConformanceError(f"{ENV}: {path} is not valid JSON: {error}") from None
    except yaml.YAMLError as error:
        raise ConformanceError(f"{ENV}: {path} is not valid YAML: {error}") from None


def validate(document: Any) -> Settings:
    """Check every key of the settings document; the first problem is a ``ConformanceError``."""
    if not isinstance(document, dict):
        raise ConformanceError(f"{ENV} must hold an object with the keys {', '.join(REQUIRED)}")
    known = [f.name for f in fields(Settings)]
    unknown = sorted(set(document) - set(known))
    if unknown:
        raise ConformanceError(f"{ENV}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(known)}")
    missing = [key for key in REQUIRED if key not in document]
    if missing:
        raise ConformanceError(f"{ENV}: missing key(s) {', '.join(missing)} (account IDs of the sandbox)")
    for key in REQUIRED:
        _check_account(key, document[key])
    if len({document[key] for key in REQUIRED}) != len(REQUIRED):
        raise ConformanceError(f"{ENV}: management, source and backup must be three different accounts")
    for key, pattern in PATTERNS.items():
        value = document.get(key)
        if value is not None and not (isinstance(value, str) and pattern.match(value)):
            raise ConformanceError(f"{ENV}: {key} {value!r} does not match {pattern.pattern}")
    for key in NUMBERS:
        value = document.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConformanceError(f"{ENV}: {key} must be a positive number of seconds, not {value!r}")
    return Settings(**document)


def _check_account(key: str, value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ConformanceError(f"{ENV}: {key} must be a quoted string of 12 digits, not the number {value}")
    if not (isinstance(value, str) and ACCOUNT_ID_PATTERN.match(value)):
        raise ConformanceError(f"{ENV}: {key} must be an AWS account ID (12 digits), not {value!r}")


def constant(name: str, emulated: str) -> str:
    """A constant of support.py: ``emulated`` (the seed world's value) in emulator mode, else the
    sandbox's value. ``org_id`` / ``org_path`` not given in the settings are ``PLACEHOLDER``
    until the session fixture has discovered them."""
    current = settings()
    if current is None:
        return emulated
    value = getattr(current, name)
    return value if value is not None else f"<{name.upper()}: {PLACEHOLDER}>"


# ----------------------------------------------------------------------------- pytest glue


def configure(config: pytest.Config) -> None:
    """Register the ``emulator_only`` marker (both modes)."""
    config.addinivalue_line("markers", MARKER_HELP)


def report_header() -> list[str]:
    """The session header line that says the run is against AWS (conformance mode only)."""
    current = settings()
    if current is None:
        return []
    return [
        f"conformance mode ({ENV}): real AWS, no emulator; management {current.management}, "
        f"source {current.source}, backup {current.backup}, role {current.role}, Region {current.region}"
    ]


def reason_of(mark: pytest.Mark) -> str:
    """The mark's reason (keyword or first argument); empty when missing or not a string."""
    reason = mark.kwargs.get("reason", mark.args[0] if mark.args else "")
    return reason if isinstance(reason, str) else ""


_REASONS = pytest.StashKey[Counter[str]]()


def select(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In conformance mode: deselect ``emulator_only`` tests (each mark must give a reason), and
    skip cases whose parameters were computed from an organization value not yet discovered."""
    if not enabled():
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    reasons: Counter[str] = Counter()
    for item in items:
        mark = item.get_closest_marker(MARKER)
        if mark is None:
            kept.append(item)
            continue
        reason = reason_of(mark)
        if not reason:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{MARKER} needs a reason (reason='...')")
        dropped.append(item)
        reasons[reason.split(":", 1)[0]] += 1
    for item in kept:
        if _uses_placeholder(item):
            item.add_marker(
                pytest.mark.skip(
                    reason=f"its parameters name the organization, computed before discovery: give org_id and "
                    f"org_path in {ENV} to run it"
                )
            )
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    config.stash[_REASONS] = reasons


def report_selection(config: pytest.Config) -> list[str]:
    """One line per reason category of the deselected tests (conformance mode only)."""
    reasons = config.stash.get(_REASONS, Counter[str]())
    if not reasons:
        return []
    total = sum(reasons.values())
    lines = [f"conformance mode: {total} emulator-only tests deselected:"]
    lines += [f"  {count:4d}  {reason}" for reason, count in sorted(reasons.items())]
    return lines


def _uses_placeholder(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and PLACEHOLDER in repr(callspec.params)


def publish(org_id: str, org_path: str, modules: Iterable[Any] | None = None) -> None:
    """Give ORG_ID / ORG_PATH their discovered values wherever the tests' modules still hold the
    placeholder (support.py, and test modules that imported the names); a value given in the
    settings must match what was discovered."""
    current = settings()
    assert current is not None
    for name, configured, found in (("org_id", current.org_id, org_id), ("org_path", current.org_path, org_path)):
        if configured is not None and configured != found:
            raise ConformanceError(f"{ENV}: {name} is {configured!r}, but the organization has {found!r}")
    values = {"ORG_ID": org_id, "ORG_PATH": org_path}
    for module in modules if modules is not None else list(sys.modules.values()):
        if not str(getattr(module, "__file__", None) or "").startswith(str(TESTS_DIR)):
            continue
        for name, value in values.items():
            held = getattr(module, name, None)
            if isinstance(held, str) and PLACEHOLDER in held:
                setattr(module, name, value)
