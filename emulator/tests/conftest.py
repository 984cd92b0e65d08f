"""Fixtures: one emulator process for the session (``--port 0``, short job delay), stopped by
PID at teardown, and the seed world reloaded before every test.

Run from the repository root: ``emulator/.venv/bin/python -m pytest emulator/tests -q``.
"""

from collections.abc import Iterator

import pytest
from support import JOB_DELAY, WORLDS, Emulator, RunningEmulator


@pytest.fixture(scope="session")
def running_emulator() -> Iterator[RunningEmulator]:
    running = RunningEmulator.start("--world", str(WORLDS / "seed.yaml"), "--job-delay", str(JOB_DELAY))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def emulator(running_emulator: RunningEmulator) -> Emulator:
    return Emulator(running_emulator)


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    """The session's emulator with the seed world freshly loaded (all other state reset)."""
    emulator.load_world()
    return emulator
