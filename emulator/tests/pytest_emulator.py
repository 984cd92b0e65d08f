"""pytest plugin: the emulator process for the emulator's tests and the end-to-end tests.

Registered by ``pytest_plugins`` in ``emulator/tests/conftest.py`` and ``tests/conftest.py``. The
emulator runs ``run.py --port 0`` on the seed world and is stopped by PID. A suite's conftest
sets the two options by overriding their fixtures:

- ``emulator_job_delay``: seconds every backup, copy or restore job takes (``--job-delay``);
- ``emulator_per_module``: one emulator per test module (stopped at the end of the module)
  rather than one for the whole session.

``emu`` loads the seed world again before every test, which resets all state (faults, the
request log and the clock included).
"""

from collections.abc import Iterator

import pytest
from support import JOB_DELAY, WORLDS, Emulator, RunningEmulator


def emulator_process(job_delay: float) -> Iterator[RunningEmulator]:
    """A fixture's body: an emulator on the seed world, stopped by PID at teardown."""
    running = RunningEmulator.start("--world", str(WORLDS / "seed.yaml"), "--job-delay", str(job_delay))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def emulator_job_delay() -> float:
    """Seconds each job takes in the emulator (option; the emulator's tests' value by default)."""
    return JOB_DELAY


@pytest.fixture(scope="session")
def emulator_per_module() -> bool:
    """Whether every test module gets an emulator of its own (option; one per session by default)."""
    return False


@pytest.fixture(scope="session")
def session_emulator(emulator_job_delay: float) -> Iterator[RunningEmulator]:
    """The emulator the whole session shares, started when first needed."""
    yield from emulator_process(emulator_job_delay)


@pytest.fixture(scope="module")
def running_emulator(
    request: pytest.FixtureRequest, emulator_per_module: bool, emulator_job_delay: float
) -> Iterator[RunningEmulator]:
    """The module's emulator process: its own with ``emulator_per_module``, else the session's."""
    if emulator_per_module:
        yield from emulator_process(emulator_job_delay)
    else:
        yield request.getfixturevalue("session_emulator")


@pytest.fixture(scope="module")
def emulator(running_emulator: RunningEmulator) -> Emulator:
    """The emulator's handle: admin API, boto3 clients per account, job polling."""
    return Emulator(running_emulator)


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    """The emulator with the seed world freshly loaded (all other state reset)."""
    emulator.load_world()
    return emulator
