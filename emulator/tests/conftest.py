"""Fixtures: one emulator process for the session (``--port 0``, short job delay), stopped by
PID at teardown, and the seed world reloaded before every test.

Run from the repository root: ``emulator/.venv/bin/python -m pytest emulator/tests -q``.
With ``COFFER_CONFORMANCE`` set, no emulator: the tests run against an AWS sandbox
(conformance.py; ``emulator_only`` tests are deselected).
"""

from collections.abc import Iterator

import conformance
import pytest
from support import JOB_DELAY, WORLDS, Emulator, RunningEmulator


def pytest_configure(config: pytest.Config) -> None:
    conformance.configure(config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return conformance.report_header()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    conformance.select(config, items)


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    return conformance.report_selection(config)


@pytest.fixture(scope="session")
def running_emulator() -> Iterator[RunningEmulator]:
    running = RunningEmulator.start("--world", str(WORLDS / "seed.yaml"), "--job-delay", str(JOB_DELAY))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator | conformance.AwsSandbox]:
    """The emulator's handle; in conformance mode the AWS sandbox's (no emulator is started)."""
    if conformance.enabled():
        yield from conformance.sandbox_session()
    else:
        yield Emulator(request.getfixturevalue("running_emulator"))


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    """The session's emulator with the seed world freshly loaded (all other state reset)."""
    emulator.load_world()
    return emulator
