"""Fixtures of the end-to-end tests: the coffer binary against the local AWS emulator.

One emulator per test module (``--port 0``, job delay 0.2 s), stopped by PID at the end of the
module; the seed world is loaded again (which resets all state, faults, the request log and
the clock) before every test.

Build the binary first (``cargo build -p coffer``), then from the repository root:
``emulator/.venv/bin/python -m pytest tests/e2e -q``.
"""

from collections.abc import Iterator

import pytest
from coffer_e2e import Coffer, coffer_binary
from support import WORLDS, Emulator, RunningEmulator

JOB_DELAY = "0.2"


@pytest.fixture(scope="session")
def coffer_bin():
    binary = coffer_binary()
    if not binary.is_file():
        pytest.fail(
            f"the coffer binary is missing at {binary}: build it with `cargo build -p coffer` "
            "(it is looked for under $CARGO_TARGET_DIR/debug when that is set, else target/debug)",
            pytrace=False,
        )
    return binary


@pytest.fixture(scope="module")
def running_emulator() -> Iterator[RunningEmulator]:
    running = RunningEmulator.start("--world", str(WORLDS / "seed.yaml"), "--job-delay", JOB_DELAY)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def emulator(running_emulator: RunningEmulator) -> Emulator:
    return Emulator(running_emulator)


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    """The module's emulator with the seed world freshly loaded (everything else reset)."""
    emulator.load_world()
    return emulator


@pytest.fixture
def coffer(coffer_bin, emu: Emulator) -> Coffer:
    return Coffer(coffer_bin, emu.url)
