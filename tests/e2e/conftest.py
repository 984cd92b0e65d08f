"""Fixtures of the end-to-end tests: the coffer binary against the local AWS emulator.

The emulator comes from the emulator's plugin (tests/conftest.py): one per test module
(``--port 0``, job delay 0.2 s), stopped by PID at the end of the module; the seed world is
loaded again (which resets all state, faults, the request log and the clock) before every test.

Build the binary first (``cargo build -p coffer --features test-hooks``: the crash and lock
tests need its hooks), then from the repository root:
``emulator/.venv/bin/python -m pytest tests/e2e -q``.
"""

import pytest
from coffer_e2e import Coffer, coffer_binary
from support import Emulator


@pytest.fixture(scope="session")
def emulator_job_delay() -> float:
    return 0.2


@pytest.fixture(scope="session")
def emulator_per_module() -> bool:
    return True


@pytest.fixture(scope="session")
def coffer_bin():
    binary = coffer_binary()
    if not binary.is_file():
        pytest.fail(
            f"the coffer binary is missing at {binary}: build it with `cargo build -p coffer --features test-hooks` "
            "(it is looked for under $CARGO_TARGET_DIR/debug when that is set, else target/debug)",
            pytrace=False,
        )
    return binary


@pytest.fixture
def coffer(coffer_bin, emu: Emulator) -> Coffer:
    return Coffer(coffer_bin, emu.url)
