"""Fixtures: the emulator plugin (pytest_emulator.py) with its defaults, one emulator process
for the session (``--port 0``, short job delay), stopped by PID at teardown, and the seed world
reloaded before every test.

Run from the repository root: ``emulator/.venv/bin/python -m pytest emulator/tests -q``.
With ``COFFER_CONFORMANCE`` set, no emulator: the tests run against an AWS sandbox
(conformance.py; ``emulator_only`` tests are deselected).
"""

from collections.abc import Iterator

import conformance
import pytest
from aws_sandbox import AwsSandbox, sandbox_session
from support import Emulator

pytest_plugins = ["pytest_emulator"]


def pytest_configure(config: pytest.Config) -> None:
    conformance.configure(config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return conformance.report_header()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    conformance.select(config, items)


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    return conformance.report_selection(config)


@pytest.fixture(scope="session")
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator | AwsSandbox]:
    """The session's emulator handle; in conformance mode the AWS sandbox's (no emulator is started)."""
    if conformance.enabled():
        yield from sandbox_session()
    else:
        yield Emulator(request.getfixturevalue("session_emulator"))
